//! Property lookup (VoiceXML 2.0 §6.3): a property set on a form item
//! overrides the form's, which overrides the document's, the application
//! root's, the platform's, and finally the defaults of §6.3 listed here.
//! Vendor properties (e.g. `com.genesyslab.*`) are kept as strings for the
//! platform.

use std::time::Duration;

use crate::vxml::model::Property;

/// Defaults of the standard properties (§6.3.1–§6.3.6), in the form a
/// document would write them.
const DEFAULTS: &[(&str, &str)] = &[
    ("confidencelevel", "0.5"),
    ("sensitivity", "0.5"),
    ("speedvsaccuracy", "0.5"),
    ("completetimeout", "0ms"),
    ("incompletetimeout", "0ms"),
    ("maxspeechtimeout", "60s"),
    ("interdigittimeout", "5s"),
    ("termtimeout", "0s"),
    ("termchar", "#"),
    ("bargein", "true"),
    ("bargeintype", "speech"),
    ("timeout", "5s"),
    ("inputmodes", "dtmf voice"),
    ("universals", "none"),
    ("maxnbest", "1"),
    ("recordutterance", "false"),
    ("recordutterancetype", "audio/x-wav"),
    ("fetchaudiodelay", "2s"),
    ("fetchaudiominimum", "5s"),
    ("fetchtimeout", "30s"),
    ("documentfetchhint", "safe"),
    ("grammarfetchhint", "prefetch"),
    ("scriptfetchhint", "prefetch"),
    ("audiofetchhint", "prefetch"),
    ("datafetchhint", "safe"),
    ("com.genesyslab.externalevents.enable", "false"),
    ("com.genesyslab.externalevents.queue", "false"),
];

/// The default of a standard property, if it has one.
pub(crate) fn default_of(name: &str) -> Option<&'static str> {
    DEFAULTS.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

/// Parses a CSS2 time designation (`5s`, `300ms`, `1.5s`); a bare number is
/// taken as milliseconds, as several platforms (GVP among them) accept.
pub(crate) fn parse_time(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (num, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1000.0)
    } else {
        (s, 1.0)
    };
    let v: f64 = num.trim().parse().ok()?;
    if !v.is_finite() || !(0.0..=1.0e12).contains(&v) {
        return None;
    }
    Some(Duration::from_micros((v * scale * 1000.0).round() as u64))
}

/// Parses a property boolean.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s.trim() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// Parses a 0.0–1.0 value (confidencelevel, sensitivity, speedvsaccuracy).
pub(crate) fn parse_fraction(s: &str) -> Option<f32> {
    let v: f32 = s.trim().parse().ok()?;
    (0.0..=1.0).contains(&v).then_some(v)
}

/// A stack of property scopes, innermost last. Each layer borrows the
/// property list of an element of a compiled document.
#[derive(Debug, Default)]
pub(crate) struct PropertyStack<'a> {
    layers: Vec<&'a [Property]>,
}

impl<'a> PropertyStack<'a> {
    /// Adds an inner scope.
    pub(crate) fn push(&mut self, layer: &'a [Property]) {
        self.layers.push(layer);
    }

    /// The effective raw value of `name`: innermost scope first (the last
    /// `<property>` with that name in a scope wins), then the default.
    pub(crate) fn raw(&self, name: &str) -> Option<&'a str> {
        for layer in self.layers.iter().rev() {
            if let Some(p) = layer.iter().rev().find(|p| p.name == name) {
                return Some(p.value.as_str());
            }
        }
        default_of(name)
    }

    /// A time property; an unparsable value falls back to the default.
    pub(crate) fn time(&self, name: &str) -> Duration {
        self.raw(name)
            .and_then(parse_time)
            .or_else(|| default_of(name).and_then(parse_time))
            .unwrap_or_default()
    }

    /// A boolean property; an unparsable value falls back to the default.
    pub(crate) fn flag(&self, name: &str) -> bool {
        self.raw(name)
            .and_then(parse_bool)
            .or_else(|| default_of(name).and_then(parse_bool))
            .unwrap_or(false)
    }

    /// A 0.0–1.0 property.
    pub(crate) fn fraction(&self, name: &str) -> f32 {
        self.raw(name)
            .and_then(parse_fraction)
            .or_else(|| default_of(name).and_then(parse_fraction))
            .unwrap_or(0.5)
    }

    /// The `termchar` property: empty means no terminating character.
    pub(crate) fn termchar(&self) -> Option<char> {
        let v = self.raw("termchar").unwrap_or("#").trim();
        v.chars().next()
    }

    /// Effective vendor properties (names with a dot that the VoiceXML
    /// defaults do not define, e.g. `com.genesyslab.*`), innermost value
    /// winning, in first-seen order.
    pub(crate) fn vendor(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for layer in &self.layers {
            for p in layer.iter() {
                if !p.name.contains('.') || default_of(&p.name).is_some() {
                    continue;
                }
                match out.iter_mut().find(|(n, _)| *n == p.name) {
                    Some(slot) => slot.1 = p.value.clone(),
                    None => out.push((p.name.clone(), p.value.clone())),
                }
            }
        }
        out
    }

    /// `maxnbest`, at least 1.
    pub(crate) fn maxnbest(&self) -> usize {
        self.raw("maxnbest")
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(1)
            .clamp(1, 100)
    }

    /// The `universals` property as a list (`all` expands to help, exit,
    /// cancel).
    pub(crate) fn universals(&self) -> Vec<&'static str> {
        let v = self.raw("universals").unwrap_or("none");
        let mut out = Vec::new();
        for w in v.split_whitespace() {
            match w {
                "all" => return vec!["cancel", "exit", "help"],
                "help" => out.push("help"),
                "exit" => out.push("exit"),
                "cancel" => out.push("cancel"),
                _ => {}
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vxml::model::Loc;
    use std::sync::Arc;

    fn props(list: &[(&str, &str)]) -> Vec<Property> {
        let url = Arc::new(url::Url::parse("file:///t.vxml").expect("static URL"));
        list.iter()
            .map(|(n, v)| Property {
                name: n.to_string(),
                value: v.to_string(),
                loc: Loc::new(url.clone(), crate::xml::Pos::new(1, 1)),
            })
            .collect()
    }

    #[test]
    fn time_designations() {
        assert_eq!(parse_time("5s"), Some(Duration::from_secs(5)));
        assert_eq!(parse_time("300ms"), Some(Duration::from_millis(300)));
        assert_eq!(parse_time("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_time("250"), Some(Duration::from_millis(250)));
        assert_eq!(parse_time("-1s"), None);
        assert_eq!(parse_time("soon"), None);
    }

    #[test]
    fn inner_scope_wins_and_defaults_apply() {
        let doc = props(&[("timeout", "3s")]);
        let field = props(&[("timeout", "8s"), ("termchar", "")]);
        let mut st = PropertyStack::default();
        st.push(&doc);
        assert_eq!(st.time("timeout"), Duration::from_secs(3));
        st.push(&field);
        assert_eq!(st.time("timeout"), Duration::from_secs(8));
        assert_eq!(st.termchar(), None);
        assert_eq!(st.time("interdigittimeout"), Duration::from_secs(5));
        assert!(st.flag("bargein"));
        assert!(!st.flag("com.genesyslab.externalevents.enable"));
        assert_eq!(st.raw("com.example.vendor"), None);
        let vendor = props(&[
            ("com.genesyslab.x", "1"),
            ("com.genesyslab.externalevents.enable", "true"),
        ]);
        let inner = props(&[("com.genesyslab.x", "2")]);
        st.push(&vendor);
        st.push(&inner);
        assert_eq!(
            st.vendor(),
            vec![("com.genesyslab.x".to_string(), "2".to_string())]
        );
    }

    #[test]
    fn bad_values_fall_back_to_defaults() {
        let doc = props(&[
            ("timeout", "forever"),
            ("confidencelevel", "7"),
            ("universals", "all"),
        ]);
        let mut st = PropertyStack::default();
        st.push(&doc);
        assert_eq!(st.time("timeout"), Duration::from_secs(5));
        assert_eq!(st.fraction("confidencelevel"), 0.5);
        assert_eq!(st.universals(), vec!["cancel", "exit", "help"]);
    }
}
