//! The W3C SRGS 1.0 test set, run from `../shared/conformance/srgs-1.0/test`
//! relative to the workspace root: every file must pass except the listed
//! exceptions (`vxp_conformance::srgs::EXCEPTIONS` and `CASE_EXCEPTIONS`).

use std::path::PathBuf;

#[test]
fn w3c_srgs_test_set_passes() {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance/srgs-1.0/test");
    if !dir.is_dir() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "the SRGS test set is missing at {}",
            dir.display()
        );
        return;
    }
    let report = vxp_conformance::srgs::run_dir(&dir).expect("test folder is readable");
    assert!(report.passed() > 200, "{}", report.render());
    assert_eq!(report.failures(), Vec::<&str>::new(), "{}", report.render());
    assert_eq!(
        report.skipped(),
        vxp_conformance::srgs::EXCEPTIONS.len(),
        "every listed exception is in the set"
    );
}
