//! Running a CCXML suite: each test is one session (its start document and
//! its scenario) on a [`SessionDriver`], isolated on its own thread, judged
//! by the value the session exits with (CCXML 1.0 §6.2.10 `<exit expr>`).

use std::time::Duration;

use url::Url;

use crate::vxml::report::{Report, Verdict};
use crate::vxml::run::run_selected;
use crate::vxml::server::ServerError;
use crate::vxml::{Suite, TestCase};

/// How a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEnding {
    /// `<exit>`: the value of its `expr` (`None` without one) and the
    /// `namelist` variables as `name=value` pairs.
    Exit {
        /// The evaluated `expr`, as a string.
        value: Option<String>,
        /// The `namelist` variables, in order.
        values: Vec<(String, String)>,
    },
    /// The session was killed (`ccxml.kill` without a handler).
    Killed,
    /// The bound of simulated time passed before the session ended.
    TimedOut,
    /// The session ended on an error: an unhandled `error.*` event, a start
    /// document that cannot be fetched or parsed, a scenario that cannot be
    /// read.
    Error(String),
}

/// What happened in one session, as far as the verdict needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionOutcome {
    /// How the session ended.
    pub ending: SessionEnding,
    /// `<log>` output, in order (reported with a failure).
    pub logs: Vec<String>,
}

/// Runs one CCXML session to its end.
pub trait SessionDriver: Sync {
    /// Runs a session whose initial document is `start`, against the
    /// simulated telephony of `scenario` (TOML; `None`: an inbound call at
    /// t=0 and nothing else), ending it after `max_time` of simulated time.
    fn run_session(
        &self,
        start: &Url,
        scenario: Option<&str>,
        max_time: Duration,
    ) -> SessionOutcome;
}

/// Options of a run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Test ids or spec sections to run (a section selects its subsections);
    /// empty runs everything.
    pub filter: Vec<String>,
    /// Tests run in parallel.
    pub jobs: usize,
    /// Bound on each session's simulated time.
    pub max_time: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            filter: Vec::new(),
            jobs: 1,
            max_time: Duration::from_secs(120),
        }
    }
}

/// True when the suite holds CCXML tests (start documents ending `.ccxml`),
/// so a front end can pick the runner from the manifest.
pub fn is_ccxml_suite(suite: &Suite) -> bool {
    !suite.tests.is_empty()
        && suite
            .tests
            .iter()
            .all(|t| t.start.to_ascii_lowercase().ends_with(".ccxml"))
}

/// The scenario of a test: its dependency ending `.toml` (or whose type
/// names a scenario), as text.
pub fn scenario_of<'a>(suite: &'a Suite, test: &TestCase) -> Option<Result<&'a str, String>> {
    let dep = test.deps.iter().find(|d| {
        d.uri.to_ascii_lowercase().ends_with(".toml")
            || d.kind.to_ascii_lowercase().contains("scenario")
    })?;
    Some(match suite.files.get(&dep.uri) {
        Some(bytes) => {
            std::str::from_utf8(bytes).map_err(|_| format!("scenario {} is not UTF-8", dep.uri))
        }
        None => Err(format!("scenario {} is not in the suite", dep.uri)),
    })
}

/// Runs the selected tests of `suite` on `driver`.
pub fn run_suite(
    suite: &Suite,
    driver: &dyn SessionDriver,
    options: &RunOptions,
) -> Result<Report, ServerError> {
    run_selected(suite, &options.filter, options.jobs, |test, base| {
        if !suite.files.contains_key(&test.start) {
            return (
                Verdict::Fail,
                Some(format!("start document {} is not in the suite", test.start)),
            );
        }
        match (base.join(&test.start), scenario_of(suite, test).transpose()) {
            (Ok(start), Ok(scenario)) => {
                judge(&driver.run_session(&start, scenario, options.max_time))
            }
            (Err(e), _) => (Verdict::Fail, Some(format!("bad start uri: {e}"))),
            (_, Err(e)) => (Verdict::Fail, Some(e)),
        }
    })
}

/// The verdict for a session: it passes only by exiting with `'pass'`.
pub fn judge(outcome: &SessionOutcome) -> (Verdict, Option<String>) {
    let detail = |values: &[(String, String)]| {
        if values.is_empty() {
            String::new()
        } else {
            let pairs: Vec<String> = values.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!(" ({})", pairs.join(", "))
        }
    };
    let last_log = || {
        outcome
            .logs
            .last()
            .map(|l| format!("; last log: {l}"))
            .unwrap_or_default()
    };
    match &outcome.ending {
        SessionEnding::Exit { value, values } if value.as_deref() == Some("pass") => {
            (Verdict::Pass, None)
        }
        SessionEnding::Exit {
            value: Some(v),
            values,
        } if v == "fail" => (
            Verdict::Fail,
            Some(format!("exit 'fail'{}", detail(values))),
        ),
        SessionEnding::Exit { value, values } => (
            Verdict::Fail,
            Some(format!(
                "exit with {}{}{}",
                value
                    .as_deref()
                    .map_or_else(|| "no value".to_owned(), |v| format!("'{v}'")),
                detail(values),
                last_log()
            )),
        ),
        SessionEnding::Killed => (Verdict::Fail, Some(format!("session killed{}", last_log()))),
        SessionEnding::TimedOut => (
            Verdict::Fail,
            Some(format!("timed out (simulated time bound){}", last_log())),
        ),
        SessionEnding::Error(e) => (Verdict::Fail, Some(format!("ended on an error: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn exit(value: Option<&str>, values: &[(&str, &str)]) -> SessionOutcome {
        SessionOutcome {
            ending: SessionEnding::Exit {
                value: value.map(str::to_owned),
                values: values
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            },
            logs: vec!["hello".to_owned()],
        }
    }

    #[test]
    fn judges_by_exit_value_only() {
        assert_eq!(judge(&exit(Some("pass"), &[])), (Verdict::Pass, None));
        assert_eq!(
            judge(&exit(Some("fail"), &[("reason", "no event")])),
            (
                Verdict::Fail,
                Some("exit 'fail' (reason=no event)".to_owned())
            )
        );
        assert_eq!(
            judge(&exit(None, &[])).1.as_deref(),
            Some("exit with no value; last log: hello")
        );
        assert_eq!(judge(&exit(Some("passed"), &[])).0, Verdict::Fail);
        let ended = |ending| SessionOutcome {
            ending,
            logs: Vec::new(),
        };
        assert_eq!(
            judge(&ended(SessionEnding::TimedOut)).1.as_deref(),
            Some("timed out (simulated time bound)")
        );
        assert_eq!(judge(&ended(SessionEnding::Killed)).0, Verdict::Fail);
        assert_eq!(
            judge(&ended(SessionEnding::Error("error.semantic".into())))
                .1
                .as_deref(),
            Some("ended on an error: error.semantic")
        );
    }

    /// A stand-in platform: passes a test when its start document says
    /// `ok` and, if it names a scenario, that scenario was handed over.
    struct Fake;

    impl SessionDriver for Fake {
        fn run_session(
            &self,
            start: &Url,
            scenario: Option<&str>,
            max_time: Duration,
        ) -> SessionOutcome {
            assert_eq!(max_time, Duration::from_secs(120));
            let path = start.path();
            let value = match (
                path.ends_with("1/1.ccxml"),
                path.ends_with("2/2.ccxml"),
                scenario,
            ) {
                (true, _, None) => "pass",
                (_, true, Some(s)) if s.contains("[inbound]") => "pass",
                _ => "fail",
            };
            exit(Some(value), &[])
        }
    }

    fn suite() -> Suite {
        let manifest = r#"<tests>
<test id="1"><assert id="1" spec="6.2.1">a</assert><start uri="1/1.ccxml"/></test>
<test id="2"><assert id="2" spec="10.4.1">b</assert><start uri="2/2.ccxml"/><dep uri="2/scenario.toml" type="application/x-vxp-scenario+toml"/></test>
<test id="3"><assert id="3" spec="10.4.2">c</assert><start uri="3/3.ccxml"/><dep uri="3/scenario.toml" type="x"/></test>
<test id="4"><assert id="4" spec="7" exec_manual="1">d</assert><start uri="4/4.ccxml"/></test>
<test id="5"><assert id="5" spec="9.2.3">e</assert><start uri="5/5.ccxml"/></test>
</tests>"#;
        let doc = b"<ccxml version='1.0'/>".to_vec();
        let mut files = BTreeMap::new();
        files.insert("manifest.xml".to_owned(), manifest.as_bytes().to_vec());
        for n in 1..=4 {
            files.insert(format!("{n}/{n}.ccxml"), doc.clone());
        }
        files.insert(
            "2/scenario.toml".to_owned(),
            b"[inbound]\nremote = \"a\"\n".to_vec(),
        );
        Suite::from_files("t".into(), files).expect("suite")
    }

    #[test]
    fn runs_tests_with_their_scenarios() {
        let suite = suite();
        assert!(is_ccxml_suite(&suite));
        let options = RunOptions {
            jobs: 3,
            ..RunOptions::default()
        };
        let report = run_suite(&suite, &Fake, &options).expect("run");
        let verdicts: Vec<(&str, Verdict)> = report
            .results
            .iter()
            .map(|r| (r.id.as_str(), r.verdict))
            .collect();
        assert_eq!(
            verdicts,
            [
                ("1", Verdict::Pass),
                ("2", Verdict::Pass),
                ("3", Verdict::Fail),
                ("4", Verdict::Skip),
                ("5", Verdict::Fail)
            ]
        );
        assert_eq!(
            report.results[2].reason.as_deref(),
            Some("scenario 3/scenario.toml is not in the suite")
        );
        assert_eq!(
            report.results[4].reason.as_deref(),
            Some("start document 5/5.ccxml is not in the suite")
        );
        let only = RunOptions {
            filter: vec!["10.4".into()],
            ..RunOptions::default()
        };
        assert_eq!(
            run_suite(&suite, &Fake, &only).expect("run").results.len(),
            2
        );
    }

    #[test]
    fn a_voicexml_suite_is_not_ccxml() {
        let mut files = BTreeMap::new();
        files.insert(
            "manifest.xml".to_owned(),
            br#"<tests><test id="1"><assert id="1" spec="1">x</assert><start uri="1/1.txml"/></test></tests>"#.to_vec(),
        );
        let suite = Suite::from_files("v".into(), files).expect("suite");
        assert!(!is_ccxml_suite(&suite));
    }

    /// VXP's own suite (`conformance/ccxml/`): enough tests, every start
    /// document a CCXML 1.0 document, every dependency present, every
    /// assertion tied to a section of the Recommendation.
    #[test]
    fn own_suite_is_complete_and_well_formed() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ccxml");
        let suite = Suite::load(&dir).expect("the suite loads");
        assert!(is_ccxml_suite(&suite));
        assert!(suite.tests.len() >= 170, "{} tests", suite.tests.len());
        for t in &suite.tests {
            assert!(!t.description.is_empty(), "test {} has no assertion", t.id);
            let section = t.spec.split('.').next().unwrap_or_default();
            assert!(
                ["4", "6", "7", "8", "9", "10"].contains(&section),
                "test {} cites section {}",
                t.id,
                t.spec
            );
            let src = suite.files.get(&t.start).expect("start document present");
            let root = vxp_interpreter::xml::parse(&String::from_utf8_lossy(src))
                .unwrap_or_else(|e| panic!("{}: {e:?}", t.start));
            assert_eq!(root.name.local, "ccxml", "{}", t.start);
            assert_eq!(
                root.name.ns.as_deref(),
                Some("http://www.w3.org/2002/09/ccxml"),
                "{}",
                t.start
            );
            for dep in &t.deps {
                assert!(suite.files.contains_key(&dep.uri), "{} missing", dep.uri);
            }
        }
        let sections: std::collections::BTreeSet<&str> = suite
            .tests
            .iter()
            .filter_map(|t| t.spec.split('.').next())
            .collect();
        assert_eq!(sections.len(), 6, "{sections:?}");
    }
}
