//! Results of a VoiceXML conformance run: the JSON report (one result per
//! assertion), the Markdown table grouped by spec section with the closing
//! line, and the comparison of two runs that guards CI.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Table, closing_line};

/// The outcome of one test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The application said "pass" and ended.
    Pass,
    /// It said "fail", ended otherwise, or ran out of steps.
    Fail,
    /// Not run: manual, or needs a server-side script.
    Skip,
}

impl Verdict {
    fn label(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "FAIL",
            Self::Skip => "skip",
        }
    }
}

/// The result for one assertion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestResult {
    /// The test id.
    pub id: String,
    /// The spec section.
    pub spec: String,
    /// The assertion text.
    pub description: String,
    /// The verdict.
    pub verdict: Verdict,
    /// Why it failed or was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Wall time the test took.
    #[serde(default)]
    pub duration_ms: u64,
}

/// A whole run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The suite run.
    pub suite: String,
    /// One result per test, in manifest order.
    pub results: Vec<TestResult>,
}

/// Sorts spec sections numerically where they are numbers (`2.10` after `2.9`).
fn section_order(a: &str, b: &str) -> Ordering {
    let key = |s: &str| -> Vec<(u32, String)> {
        s.split('.')
            .map(|p| (p.parse::<u32>().unwrap_or(u32::MAX), p.to_owned()))
            .collect()
    };
    key(a).cmp(&key(b))
}

/// The group a spec section is shown under: its first two levels.
fn group_of(spec: &str) -> String {
    let parts: Vec<&str> = spec.split('.').take(2).collect();
    if parts.is_empty() || spec.is_empty() {
        "unspecified".to_owned()
    } else {
        parts.join(".")
    }
}

impl Report {
    /// Tests that passed.
    pub fn passed(&self) -> usize {
        self.count(Verdict::Pass)
    }

    /// Tests that failed.
    pub fn failed(&self) -> usize {
        self.count(Verdict::Fail)
    }

    /// Tests skipped.
    pub fn skipped(&self) -> usize {
        self.count(Verdict::Skip)
    }

    fn count(&self, v: Verdict) -> usize {
        self.results.iter().filter(|r| r.verdict == v).count()
    }

    /// `N passed, M failed[, K skipped]`.
    pub fn closing_line(&self) -> String {
        closing_line(self.passed(), self.failed(), self.skipped())
    }

    /// The JSON report.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the report holds only strings and numbers")
    }

    /// Reads a JSON report.
    pub fn from_json(s: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(s)
    }

    /// Markdown: a summary per section, then each section's tests, then the
    /// closing line.
    pub fn to_markdown(&self) -> String {
        let mut groups: BTreeMap<String, Vec<&TestResult>> = BTreeMap::new();
        for r in &self.results {
            groups.entry(group_of(&r.spec)).or_default().push(r);
        }
        let mut order: Vec<&String> = groups.keys().collect();
        order.sort_by(|a, b| section_order(a, b));
        let mut summary = Table::new(&["Section", "Tests", "Passed", "Failed", "Skipped"]);
        for g in &order {
            let rs = &groups[*g];
            let n = |v: Verdict| rs.iter().filter(|r| r.verdict == v).count().to_string();
            summary.push(vec![
                (*g).clone(),
                rs.len().to_string(),
                n(Verdict::Pass),
                n(Verdict::Fail),
                n(Verdict::Skip),
            ]);
        }
        let mut out = format!("## Summary\n\n{}\n", summary.to_markdown());
        for g in order {
            let mut rs = groups[g].clone();
            rs.sort_by(|a, b| section_order(&a.spec, &b.spec));
            let mut table = Table::new(&["Test", "Spec", "Assertion", "Result", "Reason"]);
            for r in rs {
                table.push(vec![
                    r.id.clone(),
                    r.spec.clone(),
                    r.description.clone(),
                    r.verdict.label().to_owned(),
                    r.reason.clone().unwrap_or_default(),
                ]);
            }
            out.push_str(&format!("## Section {g}\n\n{}\n", table.to_markdown()));
        }
        out.push_str(&self.closing_line());
        out.push('\n');
        out
    }
}

/// One test whose result differs between two runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The test id.
    pub id: String,
    /// Its verdict in the base run (`None`: not in it).
    pub before: Option<Verdict>,
    /// Its verdict in the new run (`None`: not in it).
    pub after: Option<Verdict>,
}

impl Change {
    /// A test that passed and now fails or is skipped.
    pub fn is_regression(&self) -> bool {
        self.before == Some(Verdict::Pass)
            && matches!(self.after, Some(Verdict::Fail | Verdict::Skip))
    }
}

/// The changes from `base` to `new`, in the new run's order, then removed tests.
pub fn compare(base: &Report, new: &Report) -> Vec<Change> {
    let before: BTreeMap<&str, Verdict> = base
        .results
        .iter()
        .map(|r| (r.id.as_str(), r.verdict))
        .collect();
    let after: BTreeMap<&str, Verdict> = new
        .results
        .iter()
        .map(|r| (r.id.as_str(), r.verdict))
        .collect();
    let mut changes: Vec<Change> = new
        .results
        .iter()
        .filter(|r| before.get(r.id.as_str()) != Some(&r.verdict))
        .map(|r| Change {
            id: r.id.clone(),
            before: before.get(r.id.as_str()).copied(),
            after: Some(r.verdict),
        })
        .collect();
    changes.extend(
        base.results
            .iter()
            .filter(|r| !after.contains_key(r.id.as_str()))
            .map(|r| Change {
                id: r.id.clone(),
                before: Some(r.verdict),
                after: None,
            }),
    );
    changes
}

/// One line per change, regressions marked.
pub fn render_changes(changes: &[Change]) -> String {
    let v = |x: Option<Verdict>| x.map_or("absent", Verdict::label);
    let mut out = String::new();
    for c in changes {
        out.push_str(&format!(
            "{}{}: {} -> {}\n",
            if c.is_regression() { "REGRESSION " } else { "" },
            c.id,
            v(c.before),
            v(c.after)
        ));
    }
    let regressions = changes.iter().filter(|c| c.is_regression()).count();
    out.push_str(&format!(
        "{} changed, {} regressions\n",
        changes.len(),
        regressions
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(id: &str, spec: &str, verdict: Verdict) -> TestResult {
        TestResult {
            id: id.into(),
            spec: spec.into(),
            description: format!("assertion {id}"),
            verdict,
            reason: (verdict != Verdict::Pass).then(|| "why".to_owned()),
            duration_ms: 1,
        }
    }

    fn report(results: Vec<TestResult>) -> Report {
        Report {
            suite: "s".into(),
            results,
        }
    }

    #[test]
    fn markdown_groups_by_section_and_closes() {
        let r = report(vec![
            result("a", "2.10.1", Verdict::Pass),
            result("b", "2.9", Verdict::Fail),
            result("c", "1", Verdict::Skip),
        ]);
        let md = r.to_markdown();
        let s1 = md.find("## Section 1\n").expect("section 1");
        let s29 = md.find("## Section 2.9\n").expect("2.9");
        let s210 = md.find("## Section 2.10\n").expect("2.10");
        assert!(s1 < s29 && s29 < s210, "{md}");
        assert!(
            md.contains("| b | 2.9 | assertion b | FAIL | why |"),
            "{md}"
        );
        assert!(md.ends_with("1 passed, 1 failed, 1 skipped\n"), "{md}");
        assert_eq!(Report::from_json(&r.to_json()).expect("json"), r);
    }

    #[test]
    fn compare_flags_regressions() {
        let base = report(vec![
            result("a", "1", Verdict::Pass),
            result("b", "1", Verdict::Fail),
            result("c", "1", Verdict::Pass),
        ]);
        let new = report(vec![
            result("a", "1", Verdict::Fail),
            result("b", "1", Verdict::Pass),
            result("d", "1", Verdict::Pass),
        ]);
        let changes = compare(&base, &new);
        assert_eq!(changes.len(), 4);
        assert_eq!(
            changes
                .iter()
                .filter(|c| c.is_regression())
                .map(|c| c.id.as_str())
                .collect::<Vec<_>>(),
            ["a"]
        );
        let text = render_changes(&changes);
        assert!(text.starts_with("REGRESSION a: pass -> FAIL\nb: FAIL -> pass\nd: absent -> pass\nc: pass -> absent\n"), "{text}");
        assert!(text.ends_with("4 changed, 1 regressions\n"));
    }
}
