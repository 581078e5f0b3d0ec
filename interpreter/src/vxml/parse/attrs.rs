//! Typed reading of attribute values: booleans, enumerations, integers, time
//! designations (VoiceXML 2.0 §6.5), URI references resolved against the
//! in-scope `xml:base`, name lists, fetch attributes (§6.1.1), and the
//! "exactly one of" rules between alternative attributes.

use std::sync::Arc;
use std::time::Duration;

use url::Url;

use super::CompileError;
use crate::vxml::model::{
    Computed, Enctype, Expr, FetchAttrs, FetchAudio, FetchHint, Loc, Method, Submission, Target,
};
use crate::xml;

/// An element being compiled, with what is needed to report errors on it.
#[derive(Clone)]
pub(super) struct El<'a> {
    /// The element.
    pub e: &'a xml::Element,
    /// The document URL.
    pub url: Arc<Url>,
    /// The base URL in effect for this element (its own `xml:base` applied).
    pub base: &'a Url,
}

impl<'a> El<'a> {
    pub fn loc(&self) -> Loc {
        Loc::new(self.url.clone(), self.e.pos)
    }

    /// `<name>` as written, for messages.
    pub fn tag(&self) -> String {
        format!("<{}>", self.e.name.qualified())
    }

    pub fn err(&self, message: impl Into<String>) -> CompileError {
        CompileError::new(&self.url, self.e.pos, message)
    }

    pub fn opt(&self, name: &str) -> Option<&'a str> {
        self.e.attr(name)
    }

    pub fn req(&self, name: &str) -> Result<&'a str, CompileError> {
        self.opt(name)
            .ok_or_else(|| self.err(format!("{} needs a '{name}' attribute", self.tag())))
    }

    /// A required attribute that must not be empty or blank.
    pub fn req_nonempty(&self, name: &str) -> Result<&'a str, CompileError> {
        let v = self.req(name)?;
        if v.trim().is_empty() {
            return Err(self.err(format!("'{name}' of {} must not be empty", self.tag())));
        }
        Ok(v)
    }

    pub fn expr_src(&self, src: &str) -> Expr {
        Expr {
            src: Arc::from(src),
            loc: self.loc(),
        }
    }

    /// An expression attribute, kept as written: even an empty one is left to
    /// the session, which reports a bad expression as `error.semantic`.
    pub fn expr(&self, name: &str) -> Option<Expr> {
        self.opt(name).map(|v| self.expr_src(v))
    }

    pub fn req_expr(&self, name: &str) -> Result<Expr, CompileError> {
        self.req(name).map(|v| self.expr_src(v))
    }

    /// At most one of `names` may be present: its index, if any.
    pub fn which(&self, names: &[&str]) -> Result<Option<usize>, CompileError> {
        let mut found = None;
        for (i, n) in names.iter().enumerate() {
            if self.opt(n).is_some() {
                if let Some(j) = found {
                    let first: &str = names.get(j).copied().unwrap_or_default();
                    return Err(self.err(format!(
                        "{} cannot have both '{first}' and '{n}'",
                        self.tag()
                    )));
                }
                found = Some(i);
            }
        }
        Ok(found)
    }

    /// Exactly one of `names` must be present: its index.
    pub fn exactly_one(&self, names: &[&str]) -> Result<usize, CompileError> {
        self.which(names)?
            .ok_or_else(|| self.err(format!("{} needs {}", self.tag(), one_of(names))))
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>, CompileError> {
        match self.opt(name).map(str::trim) {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(v) => Err(self.err(format!(
                "'{name}' of {} must be true or false, not '{v}'",
                self.tag()
            ))),
        }
    }

    /// An attribute whose value is one of a fixed set of keywords.
    pub fn keyword<T: Copy>(
        &self,
        name: &str,
        choices: &[(&str, T)],
    ) -> Result<Option<T>, CompileError> {
        let Some(v) = self.opt(name) else {
            return Ok(None);
        };
        let v = v.trim();
        choices
            .iter()
            .find(|(k, _)| *k == v)
            .map(|(_, t)| Some(*t))
            .ok_or_else(|| {
                let names: Vec<&str> = choices.iter().map(|(k, _)| *k).collect();
                self.err(format!(
                    "'{name}' of {} must be {}, not '{v}'",
                    self.tag(),
                    one_of_values(&names)
                ))
            })
    }

    /// A positive integer such as `count`.
    pub fn positive(&self, name: &str) -> Result<Option<u32>, CompileError> {
        let Some(v) = self.opt(name) else {
            return Ok(None);
        };
        match v.trim().parse::<u32>() {
            Ok(n) if n >= 1 => Ok(Some(n)),
            _ => Err(self.err(format!(
                "'{name}' of {} must be a whole number of at least 1, not '{v}'",
                self.tag()
            ))),
        }
    }

    /// A non-negative integer such as `maxage`.
    pub fn non_negative(&self, name: &str) -> Result<Option<u64>, CompileError> {
        let Some(v) = self.opt(name) else {
            return Ok(None);
        };
        v.trim().parse::<u64>().map(Some).map_err(|_| {
            self.err(format!(
                "'{name}' of {} must be a whole number of seconds, not '{v}'",
                self.tag()
            ))
        })
    }

    /// A time designation (`5s`, `300ms`, `1.5s`).
    pub fn duration(&self, name: &str) -> Result<Option<Duration>, CompileError> {
        let Some(v) = self.opt(name) else {
            return Ok(None);
        };
        parse_duration(v).map(Some).ok_or_else(|| {
            self.err(format!(
                "'{name}' of {} must be a time such as 5s or 300ms, not '{v}'",
                self.tag()
            ))
        })
    }

    /// A URI reference resolved against the base URL.
    pub fn url(&self, name: &str) -> Result<Option<Url>, CompileError> {
        let Some(v) = self.opt(name) else {
            return Ok(None);
        };
        self.resolve(name, v).map(Some)
    }

    pub fn resolve(&self, name: &str, v: &str) -> Result<Url, CompileError> {
        let v = v.trim();
        if v.is_empty() {
            return Err(self.err(format!("'{name}' of {} must not be empty", self.tag())));
        }
        self.base.join(v).map_err(|e| {
            self.err(format!(
                "'{name}' of {} is not a usable URI ('{v}': {e})",
                self.tag()
            ))
        })
    }

    /// A dialog or document reference (`next`, `src` of a subdialog).
    pub fn target(&self, name: &str) -> Result<Option<Target>, CompileError> {
        let Some(v) = self.opt(name) else {
            return Ok(None);
        };
        let v = v.trim();
        if let Some(id) = v.strip_prefix('#') {
            if id.is_empty() {
                return Err(self.err(format!(
                    "'{name}' of {} names no dialog after '#'",
                    self.tag()
                )));
            }
            return Ok(Some(Target::Dialog(id.to_owned())));
        }
        self.resolve(name, v).map(|u| Some(Target::Url(u)))
    }

    /// A literal attribute or its `…expr` alternative; at most one may be given.
    pub fn computed_str(
        &self,
        literal: &str,
        expr: &str,
    ) -> Result<Option<Computed<String>>, CompileError> {
        Ok(match self.which(&[literal, expr])? {
            None => None,
            Some(0) => Some(Computed::Static(self.req(literal)?.trim().to_owned())),
            Some(_) => Some(Computed::Dynamic(self.req_expr(expr)?)),
        })
    }

    /// A literal target or its expression alternative; at most one may be given.
    pub fn computed_target(
        &self,
        literal: &str,
        expr: &str,
    ) -> Result<Option<Computed<Target>>, CompileError> {
        Ok(match self.which(&[literal, expr])? {
            None => None,
            Some(0) => self.target(literal)?.map(Computed::Static),
            Some(_) => Some(Computed::Dynamic(self.req_expr(expr)?)),
        })
    }

    /// A literal URI or its expression alternative; at most one may be given.
    pub fn computed_url(
        &self,
        literal: &str,
        expr: &str,
    ) -> Result<Option<Computed<Url>>, CompileError> {
        Ok(match self.which(&[literal, expr])? {
            None => None,
            Some(0) => self.url(literal)?.map(Computed::Static),
            Some(_) => Some(Computed::Dynamic(self.req_expr(expr)?)),
        })
    }

    /// A space-separated list of names.
    pub fn namelist(&self, name: &str) -> Vec<String> {
        self.opt(name)
            .map(|v| v.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default()
    }

    /// The fetch attributes of VoiceXML 2.0 §6.1.1.
    pub fn fetch(&self) -> Result<FetchAttrs, CompileError> {
        let fetchaudio = match self.opt("fetchaudio") {
            None => None,
            Some(v) if v.trim().is_empty() => Some(FetchAudio::Off),
            Some(v) => Some(FetchAudio::Url(self.resolve("fetchaudio", v)?)),
        };
        Ok(FetchAttrs {
            timeout: self.duration("fetchtimeout")?,
            hint: self.keyword(
                "fetchhint",
                &[("prefetch", FetchHint::Prefetch), ("safe", FetchHint::Safe)],
            )?,
            maxage: self.non_negative("maxage")?,
            maxstale: self.non_negative("maxstale")?,
            fetchaudio,
        })
    }

    /// `namelist`, `method` and `enctype` (VoiceXML 2.0 §5.3.8).
    pub fn submission(&self) -> Result<Submission, CompileError> {
        let method = match self.opt("method").map(str::trim) {
            None => Method::Get,
            Some(m) if m.eq_ignore_ascii_case("get") => Method::Get,
            Some(m) if m.eq_ignore_ascii_case("post") => Method::Post,
            Some(m) => {
                return Err(self.err(format!(
                    "'method' of {} must be get or post, not '{m}'",
                    self.tag()
                )));
            }
        };
        let enctype = match self.opt("enctype").map(str::trim) {
            None | Some("application/x-www-form-urlencoded") => Enctype::UrlEncoded,
            Some("multipart/form-data") => Enctype::Multipart,
            Some(e) => {
                return Err(self.err(format!(
                    "'enctype' of {} must be application/x-www-form-urlencoded or multipart/form-data, not '{e}'",
                    self.tag()
                )));
            }
        };
        Ok(Submission {
            namelist: self.namelist("namelist"),
            method,
            enctype,
        })
    }
}

/// "one of 'a', 'b' or 'c'".
pub(super) fn one_of(names: &[&str]) -> String {
    match names {
        [one] => format!("a '{one}' attribute"),
        _ => format!("exactly one of {}", quoted_list(names, "or")),
    }
}

fn one_of_values(names: &[&str]) -> String {
    quoted_list(names, "or").replace('\'', "")
}

fn quoted_list(names: &[&str], conj: &str) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} {conj} {last}", rest.join(", ")),
    }
}

/// Parses a time designation: a non-negative decimal number followed by `s`
/// or `ms` (VoiceXML 2.0 §6.5, from CSS2), surrounding whitespace allowed.
/// Exact to the nanosecond; `None` for anything else, including values
/// beyond `Duration`'s range.
pub fn parse_duration(v: &str) -> Option<Duration> {
    let v = v.trim();
    let (number, nanos_per_unit): (&str, u64) = if let Some(n) = v.strip_suffix("ms") {
        (n, 1_000_000)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1_000_000_000)
    } else {
        return None;
    };
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    // Fractional digits beyond nanosecond resolution cannot matter.
    let mut frac_nanos: u64 = 0;
    let mut scale = nanos_per_unit;
    for b in frac.bytes() {
        scale /= 10;
        if scale == 0 {
            break;
        }
        frac_nanos += u64::from(b - b'0') * scale;
    }
    let units_per_sec = 1_000_000_000 / nanos_per_unit;
    let secs = whole / units_per_sec;
    let rem_nanos = (whole % units_per_sec) * nanos_per_unit + frac_nanos;
    Some(Duration::from_secs(secs) + Duration::from_nanos(rem_nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_designations() {
        assert_eq!(parse_duration("5s"), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration("300ms"), Some(Duration::from_millis(300)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration(" .25s "), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("2.5ms"), Some(Duration::from_micros(2500)));
        assert_eq!(parse_duration("0s"), Some(Duration::ZERO));
        assert_eq!(parse_duration("1500ms"), Some(Duration::from_millis(1500)));
        assert_eq!(
            parse_duration("18446744073709551615ms"),
            Some(Duration::from_millis(u64::MAX))
        );
        for bad in [
            "",
            "5",
            "s",
            "ms",
            "-1s",
            "1.2.3s",
            "5 s",
            "5sec",
            "1e3ms",
            ".s",
            "99999999999999999999s",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn lists_read_naturally() {
        assert_eq!(one_of(&["src"]), "a 'src' attribute");
        assert_eq!(
            one_of(&["next", "expr", "nextitem"]),
            "exactly one of 'next', 'expr' or 'nextitem'"
        );
    }
}
