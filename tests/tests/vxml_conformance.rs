//! Runs VXP's own VoiceXML conformance suite (`conformance/vxml/`, W3C
//! implementation-report layout) in-process on the text driver and compares
//! the result with the committed baseline (`conformance/vxml/baseline.json`):
//! a test that passes in the baseline must still pass.
//!
//! After a behaviour change that makes more tests pass, refresh the baseline
//! from a real run:
//! `vxp conformance run conformance/vxml --report conformance/vxml/baseline.json`.

use std::path::PathBuf;

use vxp_conformance::vxml::{RunOptions, Suite, Verdict, run_suite};
use vxp_platform::conformance_driver::TextDialogDriver;

fn suite_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../conformance/vxml")
}

#[test]
fn own_suite_keeps_every_baseline_pass() {
    let dir = suite_dir();
    let suite = Suite::load(&dir).expect("the suite loads");
    assert!(
        suite.tests.len() >= 400,
        "suite has {} tests",
        suite.tests.len()
    );
    let options = RunOptions {
        jobs: 2,
        ..RunOptions::default()
    };
    let report = run_suite(&suite, &TextDialogDriver::default(), &options).expect("suite runs");
    assert_eq!(report.results.len(), suite.tests.len());

    vxp_tests::assert_no_regression(&dir, &report);
    let rate = report.passed() as f64 / report.results.len() as f64;
    assert!(
        rate >= 0.95,
        "pass rate {rate:.3}: {}",
        report.closing_line()
    );
}

#[test]
fn zip_of_the_suite_runs_like_the_folder() {
    // A zip as W3C ships it: the suite in a top folder of the archive. One
    // section (with dependencies fetched from the suite server) is enough to
    // show the layout is understood.
    let dir = suite_dir();
    let suite = Suite::load(&dir).expect("the suite loads");
    let zip_path = std::env::temp_dir().join(format!("vxp-vxml-suite-{}.zip", std::process::id()));
    {
        use std::io::Write as _;
        let file = std::fs::File::create(&zip_path).expect("create zip");
        let mut zip = zip_writer(file);
        let opts = zip::write::SimpleFileOptions::default();
        for (name, bytes) in &suite.files {
            zip.start_file(format!("vxml-ir/{name}"), opts)
                .expect("entry");
            zip.write_all(bytes).expect("write");
        }
        zip.finish().expect("finish");
    }
    let zipped = Suite::load(&zip_path).expect("zip loads");
    std::fs::remove_file(&zip_path).ok();
    assert_eq!(zipped.tests, suite.tests);
    let options = RunOptions {
        filter: vec!["21-data".into()],
        ..RunOptions::default()
    };
    let verdicts = |s: &Suite| -> Vec<(String, Verdict)> {
        run_suite(s, &TextDialogDriver::default(), &options)
            .expect("runs")
            .results
            .into_iter()
            .map(|r| (r.id, r.verdict))
            .collect()
    };
    let from_zip = verdicts(&zipped);
    assert!(from_zip.len() >= 10, "{from_zip:?}");
    assert!(
        from_zip.iter().all(|(_, v)| *v == Verdict::Pass),
        "{from_zip:?}"
    );
    assert_eq!(from_zip, verdicts(&suite));
}

fn zip_writer(file: std::fs::File) -> zip::ZipWriter<std::fs::File> {
    zip::ZipWriter::new(file)
}
