//! Running a suite: each test in its own session on its own thread, driven
//! through a [`DialogDriver`] (the platform's text driver) with the
//! [`Answerer`] playing the tester, and judged by what the application said:
//! a test passes when it says "pass" and ends; it fails on "fail", on any
//! other ending, or on reaching the step limit.

use std::sync::Arc;
use std::time::Instant;

use url::Url;

use super::answer::Answerer;
use super::manifest::TestCase;
use super::report::{Report, TestResult, Verdict};
use super::server::{ServerError, SuiteServer};
use super::suite::Suite;

/// How a dialog ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogEnding {
    /// `<exit>` or the end of the application.
    Exit,
    /// `<disconnect>`.
    Disconnect,
    /// The caller hung up.
    Hangup,
    /// An uncaught error or a driver limit.
    Error,
}

/// What happened in one dialog, as far as the verdict needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialogOutcome {
    /// The words of each prompt played, in order.
    pub prompts: Vec<String>,
    /// Errors the session or driver reported (uncaught events, limits).
    pub errors: Vec<String>,
    /// `<log>` output as `label: text` (or the text alone without a label).
    pub logs: Vec<String>,
    /// How the dialog ended.
    pub ending: DialogEnding,
}

/// Runs one test document through a dialog platform.
pub trait DialogDriver: Sync {
    /// Runs a session starting at `start` to its end, telling `answerer`
    /// every prompt played and asking it for each input, ending the call
    /// after `max_steps` steps.
    fn run_dialog(&self, start: &Url, answerer: &mut Answerer, max_steps: u32) -> DialogOutcome;
}

/// Options of a run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Test ids or spec sections to run (a section selects its subsections);
    /// empty runs everything.
    pub filter: Vec<String>,
    /// Tests run in parallel.
    pub jobs: usize,
    /// Bound on driver steps per test.
    pub max_steps: u32,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            filter: Vec::new(),
            jobs: 1,
            max_steps: 400,
        }
    }
}

/// True when `test` is selected by `filter`.
pub fn selected(test: &TestCase, filter: &[String]) -> bool {
    filter.is_empty()
        || filter.iter().any(|f| {
            let f = f.trim();
            test.id == f || test.spec == f || test.spec.starts_with(&format!("{f}."))
        })
}

/// Runs the selected tests of `suite` on `driver`.
pub fn run_suite(
    suite: &Suite,
    driver: &dyn DialogDriver,
    options: &RunOptions,
) -> Result<Report, ServerError> {
    run_selected(suite, &options.filter, options.jobs, |test, base| {
        if let Some(dep) = test.deps.iter().find(|d| d.is_server_script()) {
            // The suite's `.ircgi` files describe what its server computes; the
            // loopback server serves files only, so such tests cannot run.
            return (
                Verdict::Skip,
                Some(format!("needs the server-side script {}", dep.uri)),
            );
        }
        if let Err(e) = check_start(suite, &test.start) {
            return (Verdict::Fail, Some(e));
        }
        match base.join(&test.start) {
            Ok(start) => {
                let mut answerer = Answerer::new();
                judge(&driver.run_dialog(&start, &mut answerer, options.max_steps))
            }
            Err(e) => (Verdict::Fail, Some(format!("bad start uri: {e}"))),
        }
    })
}

/// The frame every suite kind shares: serves `suite`'s files on a loopback
/// server, runs the tests `filter` selects `jobs` at a time, skips manual
/// tests, and times each verdict `verdict(test, base_url)` gives.
pub(crate) fn run_selected(
    suite: &Suite,
    filter: &[String],
    jobs: usize,
    verdict: impl Fn(&TestCase, &Url) -> (Verdict, Option<String>) + Sync,
) -> Result<Report, ServerError> {
    let server = SuiteServer::start(Arc::new(suite.files.clone()))?;
    let base = server.base_url();
    let tests: Vec<&TestCase> = suite.tests.iter().filter(|t| selected(t, filter)).collect();
    let results = crate::run_parallel(&tests, jobs, |test| {
        let span = tracing::info_span!("conformance_test", suite = %suite.name, id = %test.id);
        let _entered = span.enter();
        let started = Instant::now();
        let (verdict, reason) = if test.manual {
            (
                Verdict::Skip,
                Some("manual test (exec_manual=1)".to_owned()),
            )
        } else {
            verdict(test, &base)
        };
        TestResult {
            id: test.id.clone(),
            spec: test.spec.clone(),
            description: test.description.clone(),
            verdict,
            reason,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        }
    });
    drop(server);
    Ok(Report {
        suite: suite.name.clone(),
        results,
    })
}

/// The start document exists and rewrites (so a broken test says why rather
/// than failing on a fetch error).
fn check_start(suite: &Suite, start: &str) -> Result<(), String> {
    let Some(bytes) = suite.files.get(start) else {
        return Err(format!("start document {start} is not in the suite"));
    };
    if start.ends_with(".txml") {
        super::rewrite::rewrite(&String::from_utf8_lossy(bytes))
            .map_err(|e| format!("{start}:{e}"))?;
    }
    Ok(())
}

fn is_word(text: &str, word: &str) -> bool {
    text.split(|c: char| !c.is_alphanumeric())
        .any(|w| w.eq_ignore_ascii_case(word))
}

/// The verdict for a dialog: "pass" said and the dialog ended normally.
pub fn judge(outcome: &DialogOutcome) -> (Verdict, Option<String>) {
    let logged_fail = outcome.logs.iter().find(|l| l.starts_with("conf:fail"));
    if let Some(log) = logged_fail.filter(|_| !outcome.prompts.iter().any(|p| is_word(p, "fail"))) {
        return (Verdict::Fail, Some(format!("logged {log}")));
    }
    if let Some(i) = outcome.prompts.iter().position(|p| is_word(p, "fail")) {
        let said: Vec<&str> = outcome
            .prompts
            .iter()
            .skip(i)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect();
        return (Verdict::Fail, Some(format!("said: {}", said.join(" / "))));
    }
    let passed = outcome.prompts.iter().any(|p| is_word(p, "pass"))
        || outcome.logs.iter().any(|l| l == "conf:pass: pass");
    match (passed, outcome.ending) {
        (true, DialogEnding::Exit | DialogEnding::Disconnect | DialogEnding::Hangup) => {
            (Verdict::Pass, None)
        }
        (true, DialogEnding::Error) => (
            Verdict::Fail,
            Some(format!(
                "said pass, then ended with an error: {}",
                outcome.errors.join("; ")
            )),
        ),
        (false, ending) => {
            let last = outcome
                .prompts
                .last()
                .map(|p| format!("; last prompt: {}", p.trim()))
                .unwrap_or_default();
            let errors = if outcome.errors.is_empty() {
                String::new()
            } else {
                format!(": {}", outcome.errors.join("; "))
            };
            (
                Verdict::Fail,
                Some(format!(
                    "ended ({}) without saying pass{errors}{last}",
                    match ending {
                        DialogEnding::Exit => "exit",
                        DialogEnding::Disconnect => "disconnect",
                        DialogEnding::Hangup => "hangup",
                        DialogEnding::Error => "error",
                    }
                )),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vxml::answer::{Answer, WaitKind};

    fn outcome(prompts: &[&str], ending: DialogEnding) -> DialogOutcome {
        DialogOutcome {
            prompts: prompts.iter().map(|s| (*s).to_owned()).collect(),
            errors: Vec::new(),
            logs: Vec::new(),
            ending,
        }
    }

    #[test]
    fn judges_pass_fail_and_other_endings() {
        assert_eq!(
            judge(&outcome(&["Say 'Chicago'.", "pass"], DialogEnding::Exit)).0,
            Verdict::Pass
        );
        let (v, r) = judge(&outcome(&["fail", "wrong value", "3"], DialogEnding::Exit));
        assert_eq!(v, Verdict::Fail);
        assert_eq!(r.as_deref(), Some("said: fail / wrong value / 3"));
        let (v, r) = judge(&outcome(&["hello"], DialogEnding::Exit));
        assert_eq!(v, Verdict::Fail);
        assert_eq!(
            r.as_deref(),
            Some("ended (exit) without saying pass; last prompt: hello")
        );
        assert_eq!(
            judge(&outcome(&["passing"], DialogEnding::Exit)).0,
            Verdict::Fail
        );
        assert_eq!(
            judge(&outcome(&["pass"], DialogEnding::Error)).0,
            Verdict::Fail
        );
    }

    /// A stand-in platform: plays the start URL's file name as a prompt
    /// sequence and answers like a tester would.
    struct Fake;

    impl DialogDriver for Fake {
        fn run_dialog(&self, start: &Url, answerer: &mut Answerer, _: u32) -> DialogOutcome {
            answerer.handle_prompt("Press '5'.");
            let answer = answerer.poll_answer(WaitKind::Input);
            let said =
                if start.path().ends_with("1/1.txml") && answer == Some(Answer::Dtmf("5".into())) {
                    "pass"
                } else {
                    "fail"
                };
            outcome(&[said], DialogEnding::Exit)
        }
    }

    #[test]
    fn runs_selected_tests_in_parallel_and_skips() {
        let manifest = r#"<tests>
<test id="1"><assert id="1" spec="2.1">a</assert><start uri="1/1.txml"/></test>
<test id="2"><assert id="2" spec="2.1.1">b</assert><start uri="2/2.txml"/></test>
<test id="3"><assert id="3" spec="3" exec_manual="1">c</assert><start uri="3/3.txml"/></test>
<test id="4"><assert id="4" spec="4">d</assert><start uri="4/4.txml"/><dep uri="4/x.ircgi" type="ircgi"/></test>
<test id="5"><assert id="5" spec="5">e</assert><start uri="5/5.txml"/></test>
</tests>"#;
        let doc = b"<vxml xmlns='http://www.w3.org/2001/vxml'/>".to_vec();
        let mut files = std::collections::BTreeMap::new();
        files.insert("manifest.xml".to_owned(), manifest.as_bytes().to_vec());
        files.insert("1/1.txml".to_owned(), doc.clone());
        files.insert("2/2.txml".to_owned(), doc);
        let suite = Suite::from_files("t".into(), files).expect("suite");
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
                ("2", Verdict::Fail),
                ("3", Verdict::Skip),
                ("4", Verdict::Skip),
                ("5", Verdict::Fail)
            ]
        );
        assert!(
            report.results[4]
                .reason
                .as_deref()
                .is_some_and(|r| r.contains("not in the suite"))
        );
        let only = RunOptions {
            filter: vec!["2.1".into()],
            ..RunOptions::default()
        };
        assert_eq!(
            run_suite(&suite, &Fake, &only).expect("run").results.len(),
            2
        );
    }
}
