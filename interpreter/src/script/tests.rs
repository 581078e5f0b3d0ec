//! Behaviour of the script host: scopes, evaluation, limits, values.

use super::*;

fn host() -> ScriptHost {
    ScriptHost::new(ScriptLimits::default()).expect("host")
}

#[test]
fn evaluates_an_expression() {
    let mut h = host();
    assert_eq!(h.eval_string("'Hello ' + 'x' + (1+2)").unwrap(), "Hello x3");
}
