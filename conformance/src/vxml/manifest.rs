//! The W3C VoiceXML implementation-report manifest (`manifest.xml`): which
//! tests a suite holds, the assertion each checks, its start document and
//! its dependencies.
//!
//! Layout as W3C ships it: `<tests><test id=".."><assert id="N" spec="1.3.5"
//! conf_level=".." exec_manual="0|1" abs_uri="0|1">text</assert><start
//! uri="N/N.txml" type=".."/><dep id=".." uri=".." type=".."/></test></tests>`.
//! Element and attribute names are matched without regard to case, and an
//! `assert` element may also stand on its own carrying `start`/`dep` children.

use serde::{Deserialize, Serialize};
use vxp_interpreter::xml::{self, Element};

/// Why a manifest cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The manifest is not well-formed XML.
    #[error("manifest.xml:{}:{}: {}", .0.pos.line, .0.pos.column, .0.message)]
    Xml(xml::XmlError),
    /// A test has no start document.
    #[error("manifest.xml:{line}: test `{id}` has no <start uri=...>")]
    NoStart {
        /// The test's id.
        id: String,
        /// Line of the test element.
        line: u32,
    },
}

/// A resource a test needs besides its start document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependency {
    /// Path relative to the suite root.
    pub uri: String,
    /// The declared type (`vxml`, `grxml`, `ircgi`, ...).
    pub kind: String,
}

impl Dependency {
    /// True for a server-side script the suite's own server would run.
    pub fn is_server_script(&self) -> bool {
        self.kind.to_ascii_lowercase().ends_with("ircgi")
            || self.uri.to_ascii_lowercase().ends_with(".ircgi")
    }
}

/// One test of the suite: one assertion, one start document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestCase {
    /// The test (assertion) id.
    pub id: String,
    /// The specification section the assertion comes from (`1.3.5`).
    pub spec: String,
    /// The conformance level, as written.
    pub conf_level: String,
    /// True when a human must run the test.
    pub manual: bool,
    /// True when the test needs absolute URIs for its server.
    pub abs_uri: bool,
    /// The assertion text.
    pub description: String,
    /// The start document, relative to the suite root.
    pub start: String,
    /// Other documents and scripts the test uses.
    pub deps: Vec<Dependency>,
}

fn attr<'a>(e: &'a Element, name: &str) -> Option<&'a str> {
    e.attrs
        .iter()
        .find(|a| a.name.local.eq_ignore_ascii_case(name))
        .map(|a| a.value.as_str())
}

fn is(e: &Element, local: &str) -> bool {
    e.name.local.eq_ignore_ascii_case(local)
}

fn flag(e: &Element, name: &str) -> bool {
    attr(e, name).is_some_and(|v| v.trim() == "1" || v.trim().eq_ignore_ascii_case("true"))
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Parses a manifest into its tests, in document order.
pub fn parse(src: &str) -> Result<Vec<TestCase>, ManifestError> {
    let root = xml::parse(src).map_err(ManifestError::Xml)?;
    let mut tests = Vec::new();
    collect(&root, &mut tests, 0)?;
    Ok(tests)
}

/// Manifests nest at most a few levels (`tests` → `test` → `assert`).
const MAX_NESTING: usize = 8;

fn collect(e: &Element, out: &mut Vec<TestCase>, depth: usize) -> Result<(), ManifestError> {
    for child in e.elements() {
        let holds_start = child.elements().any(|c| is(c, "start"));
        if (is(child, "test") || is(child, "assert")) && holds_start {
            out.push(test_case(child)?);
        } else if depth < MAX_NESTING {
            collect(child, out, depth + 1)?;
        }
    }
    Ok(())
}

fn test_case(t: &Element) -> Result<TestCase, ManifestError> {
    let assert = t.elements().find(|c| is(c, "assert")).unwrap_or(t);
    let id = attr(assert, "id")
        .or_else(|| attr(t, "id"))
        .unwrap_or_default()
        .to_owned();
    let start = t
        .elements()
        .find(|c| is(c, "start"))
        .and_then(|s| attr(s, "uri"))
        .ok_or_else(|| ManifestError::NoStart {
            id: id.clone(),
            line: t.pos.line,
        })?;
    let description = if std::ptr::eq(assert, t) {
        t.children
            .iter()
            .filter_map(|n| match n {
                xml::Node::Text(x) => Some(x.text.as_str()),
                xml::Node::Element(_) => None,
            })
            .collect::<String>()
    } else {
        assert.deep_text()
    };
    Ok(TestCase {
        id,
        spec: attr(assert, "spec").unwrap_or_default().to_owned(),
        conf_level: attr(assert, "conf_level").unwrap_or_default().to_owned(),
        manual: flag(assert, "exec_manual") || flag(t, "exec_manual"),
        abs_uri: flag(assert, "abs_uri") || flag(t, "abs_uri"),
        description: collapse(&description),
        start: start.trim().to_owned(),
        deps: t
            .elements()
            .filter(|c| is(c, "dep"))
            .filter_map(|d| {
                Some(Dependency {
                    uri: attr(d, "uri")?.trim().to_owned(),
                    kind: attr(d, "type").unwrap_or_default().to_owned(),
                })
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_w3c_layout() {
        let src = r#"<?xml version="1.0"?>
<tests>
  <test id="a">
    <assert id="12" spec="1.3.5" conf_level="0" exec_manual="0" abs_uri="1">
      A field   collects input.</assert>
    <start uri="12/12.txml" type="text/xml"/>
    <dep id="d1" uri="12/12a.txml" type="text/xml"/>
    <dep id="d2" uri="12/echo.ircgi" type="application/x-ircgi"/>
  </test>
  <ASSERT id="13" spec="2.1" exec_manual="1">Manual.<START uri="13/13.txml"/></ASSERT>
</tests>"#;
        let tests = parse(src).expect("valid manifest");
        assert_eq!(tests.len(), 2);
        let t = &tests[0];
        assert_eq!(t.id, "12");
        assert_eq!(t.spec, "1.3.5");
        assert!(t.abs_uri && !t.manual);
        assert_eq!(t.description, "A field collects input.");
        assert_eq!(t.start, "12/12.txml");
        assert_eq!(t.deps.len(), 2);
        assert!(!t.deps[0].is_server_script());
        assert!(t.deps[1].is_server_script());
        assert!(tests[1].manual);
        assert_eq!(tests[1].description, "Manual.");
    }

    #[test]
    fn missing_start_is_an_error() {
        let err = parse(r#"<tests><test id="x"><assert id="x"/><start/></test></tests>"#)
            .expect_err("no uri");
        assert!(matches!(err, ManifestError::NoStart { .. }));
    }
}
