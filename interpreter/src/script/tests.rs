//! Behaviour of the script host: scopes (VoiceXML 2.0 §5.1), evaluation,
//! `<script>` declarations, runtime limits, errors and values.

use super::*;

fn host() -> ScriptHost {
    ScriptHost::new(ScriptLimits::default()).expect("host")
}

/// A host inside a document's dialog, as the interpreter sets it up.
fn in_dialog() -> ScriptHost {
    let mut h = host();
    h.enter(Scope::Application);
    h.enter(Scope::Document);
    h.enter(Scope::Dialog);
    h.enter(Scope::Anonymous);
    h
}

fn s(h: &mut ScriptHost, expr: &str) -> String {
    h.eval_string(expr).expect(expr)
}

#[test]
fn evaluates_an_expression() {
    let mut h = host();
    assert_eq!(s(&mut h, "'Hello ' + 'x' + (1+2)"), "Hello x3");
    assert!(h.eval_bool("1 < 2").unwrap());
    assert!(!h.eval_bool("''").unwrap());
}

#[test]
fn expression_with_trailing_semicolon_still_evaluates() {
    let mut h = in_dialog();
    h.declare(Scope::Dialog, "x", JsValue::from(4)).unwrap();
    assert_eq!(s(&mut h, "x * 2;"), "8");
}

#[test]
fn statement_lists_in_expressions_yield_their_completion_value() {
    let mut h = in_dialog();
    assert_eq!(s(&mut h, "var t = 2; t * 3"), "6");
    // The statement list ran in its own function: nothing leaked into a scope.
    assert!(!h.is_declared("t"));
}

#[test]
fn evaluation_works_outside_executable_content() {
    let mut h = host();
    h.enter(Scope::Application);
    h.enter(Scope::Document);
    h.declare(Scope::Document, "d", JsValue::from(5)).unwrap();
    assert_eq!(s(&mut h, "d + 1"), "6");
    assert!(!h.is_declared("dialog"));
}

#[test]
fn inner_scope_shadows_outer() {
    let mut h = in_dialog();
    h.declare(Scope::Application, "x", h.string("app")).unwrap();
    h.declare(Scope::Document, "x", h.string("doc")).unwrap();
    assert_eq!(s(&mut h, "x"), "doc");
    assert_eq!(s(&mut h, "application.x"), "app");
    assert_eq!(s(&mut h, "document.x"), "doc");
    h.declare(Scope::Anonymous, "x", h.string("anon")).unwrap();
    assert_eq!(s(&mut h, "x"), "anon");
    assert_eq!(s(&mut h, "dialog.x"), "undefined");
}

#[test]
fn assignment_goes_to_the_declaring_scope() {
    let mut h = in_dialog();
    h.declare(Scope::Document, "count", JsValue::from(1))
        .unwrap();
    h.assign("count", JsValue::from(2)).unwrap();
    assert_eq!(s(&mut h, "document.count"), "2");
    let anonymous = h.scope_object(Scope::Anonymous).unwrap().clone();
    assert!(!h.has_own(&anonymous, "count"));
    h.assign("document.count", JsValue::from(3)).unwrap();
    assert_eq!(s(&mut h, "count"), "3");
}

#[test]
fn assigning_an_undeclared_variable_is_a_reference_error() {
    let mut h = in_dialog();
    let err = h.assign("nope", JsValue::from(1)).unwrap_err();
    assert_eq!(err.kind, ScriptErrorKind::Reference);
    let err = h.assign("document.nope", JsValue::from(1)).unwrap_err();
    assert_eq!(err.kind, ScriptErrorKind::Reference);
    assert!(!h.is_declared("document.nope"));
    let err = h.clear("nope").unwrap_err();
    assert_eq!(err.kind, ScriptErrorKind::Reference);
}

#[test]
fn assign_sets_properties_of_declared_objects() {
    let mut h = in_dialog();
    h.eval("0").unwrap();
    h.run_script("var order = {items: [1, 2]};", Scope::Dialog)
        .unwrap();
    h.assign("order.total", JsValue::from(9)).unwrap();
    h.assign("order.items[1]", JsValue::from(5)).unwrap();
    assert_eq!(s(&mut h, "order.total + ':' + order.items"), "9:1,5");
}

#[test]
fn redeclaring_in_the_same_scope_assigns() {
    let mut h = in_dialog();
    h.declare(Scope::Dialog, "a", JsValue::from(1)).unwrap();
    h.declare(Scope::Dialog, "a", JsValue::from(2)).unwrap();
    assert_eq!(s(&mut h, "a"), "2");
    assert!(
        h.declare(Scope::Dialog, "not valid", JsValue::from(1))
            .is_err()
    );
}

#[test]
fn variables_vanish_when_their_scope_is_left() {
    let mut h = in_dialog();
    h.declare(Scope::Dialog, "d", JsValue::from(1)).unwrap();
    h.declare(Scope::Anonymous, "a", JsValue::from(1)).unwrap();
    h.exit(Scope::Anonymous);
    assert!(h.is_declared("d"));
    assert!(!h.is_declared("a"));
    h.exit(Scope::Dialog);
    assert!(!h.is_declared("d"));
    assert!(!h.is_declared("dialog"));
    let err = h.eval("d").unwrap_err();
    assert_eq!(err.kind, ScriptErrorKind::Reference);
    assert!(h.declare(Scope::Dialog, "x", JsValue::from(1)).is_err());
}

#[test]
fn entering_a_document_resets_deeper_scopes_and_keeps_the_application() {
    let mut h = in_dialog();
    h.declare(Scope::Application, "root", JsValue::from(1))
        .unwrap();
    h.declare(Scope::Document, "leaf", JsValue::from(1))
        .unwrap();
    h.declare(Scope::Dialog, "form", JsValue::from(1)).unwrap();
    h.enter(Scope::Document);
    assert!(h.is_declared("root"));
    assert!(!h.is_declared("leaf"));
    assert!(!h.is_declared("form"));
    assert!(!h.is_active(Scope::Dialog));
    h.enter(Scope::Application);
    assert!(!h.is_declared("root"));
}

#[test]
fn scope_names_refer_to_the_scope_objects() {
    let mut h = in_dialog();
    assert!(h.eval_bool("session !== application").unwrap());
    assert!(h.eval_bool("typeof dialog == 'object'").unwrap());
    h.run_script("var v = 1;", Scope::Document).unwrap();
    assert!(h.eval_bool("document.v === v").unwrap());
    assert_eq!(s(&mut h, "Object.keys(document).join()"), "v");
}

#[test]
fn subdialog_chain_shares_only_the_session() {
    let mut h = in_dialog();
    h.declare(Scope::Session, "callwide", JsValue::from(1))
        .unwrap();
    h.declare(Scope::Document, "caller", JsValue::from(1))
        .unwrap();
    h.push_chain();
    h.enter(Scope::Application);
    h.enter(Scope::Document);
    assert!(h.is_declared("callwide"));
    assert!(!h.is_declared("caller"));
    h.declare(Scope::Document, "callee", JsValue::from(1))
        .unwrap();
    assert!(h.pop_chain());
    assert!(h.is_declared("caller"));
    assert!(!h.is_declared("callee"));
    assert!(h.is_active(Scope::Anonymous));
    assert!(!h.pop_chain());
}

#[test]
fn script_declarations_land_in_the_scope_of_the_script() {
    let mut h = host();
    h.enter(Scope::Application);
    h.enter(Scope::Document);
    h.run_script(
        "var greeting = 'hi'; function greet(who) { return greeting + ' ' + who; }",
        Scope::Document,
    )
    .unwrap();
    h.enter(Scope::Dialog);
    h.run_script("var local = greet('dialog');", Scope::Dialog)
        .unwrap();
    assert!(h.has_own(&h.scope_object(Scope::Document).unwrap().clone(), "greet"));
    assert!(h.has_own(&h.scope_object(Scope::Dialog).unwrap().clone(), "local"));
    assert!(!h.has_own(&h.scope_object(Scope::Dialog).unwrap().clone(), "greeting"));
    assert_eq!(s(&mut h, "local"), "hi dialog");
    assert_eq!(s(&mut h, "document.greet('x')"), "hi x");
}

#[test]
fn functions_see_later_changes_of_the_variables_they_use() {
    let mut h = in_dialog();
    h.run_script(
        "var n = 1; function current() { return n; }",
        Scope::Document,
    )
    .unwrap();
    h.assign("n", JsValue::from(42)).unwrap();
    assert_eq!(s(&mut h, "current()"), "42");
    h.run_script("n = n + 1;", Scope::Anonymous).unwrap();
    assert_eq!(s(&mut h, "current()"), "43");
    // A dialog-level variable of the same name shadows only for code that
    // resolves names from the dialog; the function still reads its own scope.
    h.declare(Scope::Dialog, "n", JsValue::from(0)).unwrap();
    assert_eq!(s(&mut h, "current() + ':' + n"), "43:0");
}

#[test]
fn script_var_without_initializer_keeps_the_value() {
    let mut h = in_dialog();
    h.declare(Scope::Document, "kept", JsValue::from(7))
        .unwrap();
    h.run_script("var kept;", Scope::Document).unwrap();
    assert_eq!(s(&mut h, "kept"), "7");
}

#[test]
fn script_in_executable_content_declares_in_the_anonymous_scope() {
    let mut h = in_dialog();
    h.run_script(
        "var temp = 3; for (var i = 0; i < 3; i++) { temp += i; }",
        Scope::Anonymous,
    )
    .unwrap();
    assert_eq!(s(&mut h, "temp"), "6");
    h.exit(Scope::Anonymous);
    assert!(!h.is_declared("temp"));
    assert!(!h.is_declared("i"));
}

#[test]
fn script_let_and_const_become_scope_variables() {
    let mut h = in_dialog();
    h.run_script("let a = 1; const b = a + 1;", Scope::Dialog)
        .unwrap();
    assert_eq!(s(&mut h, "dialog.a + dialog.b"), "3");
}

#[test]
fn functions_are_declared_even_when_the_script_throws_later() {
    let mut h = in_dialog();
    let err = h
        .run_script(
            "function early() { return 1; } throw new Error('late');",
            Scope::Document,
        )
        .unwrap_err();
    assert_eq!(err.message, "late");
    assert_eq!(s(&mut h, "early()"), "1");
}

#[test]
fn cached_code_is_reused_and_bounded() {
    let mut h = ScriptHost::new(ScriptLimits {
        cache_entries: 4,
        ..ScriptLimits::default()
    })
    .unwrap();
    for i in 0..10 {
        h.eval(&format!("{i} + 1")).unwrap();
    }
    assert_eq!(h.cache.len(), 4);
    h.eval("1 + 1").unwrap();
    h.eval("1 + 1").unwrap();
    assert_eq!(h.cache.len(), 4);
}

#[test]
fn syntax_errors_are_reported_with_their_position() {
    let mut h = in_dialog();
    let err = h
        .run_script("var a = 1;\nvar = ;", Scope::Document)
        .unwrap_err();
    assert_eq!(err.kind, ScriptErrorKind::Syntax);
    assert_eq!(err.source_pos.map(|p| p.0), Some(2));
    let err = h.eval("1 +* 2").unwrap_err();
    assert_eq!(err.kind, ScriptErrorKind::Syntax);
    let err = h.run_script("return 1;", Scope::Document).unwrap_err();
    assert_eq!(err.kind, ScriptErrorKind::Syntax);
    let err = h.run_script("} foo(); {", Scope::Document).unwrap_err();
    assert_eq!(err.kind, ScriptErrorKind::Syntax);
}

#[test]
fn errors_keep_their_kind_and_message() {
    let mut h = in_dialog();
    let err = h.eval("undefinedThing + 1").unwrap_err();
    assert_eq!(err.kind, ScriptErrorKind::Reference);
    assert!(err.message.contains("undefinedThing"), "{err}");
    let err = h.eval("null.x").unwrap_err();
    assert_eq!(err.kind, ScriptErrorKind::Type);
    let err = h
        .run_script("throw {message: 'custom failure'};", Scope::Anonymous)
        .unwrap_err();
    assert_eq!(err.kind, ScriptErrorKind::Thrown);
    assert_eq!(err.message, "custom failure");
    let err = h
        .run_script("throw 'plain';", Scope::Anonymous)
        .unwrap_err();
    assert_eq!(err.message, "plain");
    let err = h
        .run_script("throw new RangeError('r');", Scope::Anonymous)
        .unwrap_err();
    assert_eq!(
        (err.kind, err.message.as_str()),
        (ScriptErrorKind::Native, "r")
    );
}

#[test]
fn endless_loop_becomes_a_runtime_limit_error() {
    let mut h = in_dialog();
    let err = h
        .run_script("while (true) {}", Scope::Anonymous)
        .unwrap_err();
    assert_eq!(err.kind, ScriptErrorKind::RuntimeLimit);
    let err = h
        .run_script(
            "try { for (;;) {} } catch (e) { var caught = 1; }",
            Scope::Anonymous,
        )
        .unwrap_err();
    assert_eq!(err.kind, ScriptErrorKind::RuntimeLimit);
    // The host stays usable afterwards.
    assert_eq!(s(&mut h, "1 + 1"), "2");
}

#[test]
fn deep_recursion_becomes_a_runtime_limit_error() {
    let mut h = in_dialog();
    h.run_script("function down(n) { return down(n + 1); }", Scope::Document)
        .unwrap();
    let err = h.eval("down(0)").unwrap_err();
    assert_eq!(err.kind, ScriptErrorKind::RuntimeLimit);
    // Recursion through native callbacks re-enters the engine from Rust.
    h.run_script(
        "function viaMap(n) { return [n].map(function (x) { return viaMap(x + 1); }); }",
        Scope::Document,
    )
    .unwrap();
    let err = h.eval("viaMap(0)").unwrap_err();
    assert_eq!(err.kind, ScriptErrorKind::RuntimeLimit);
    assert_eq!(s(&mut h, "'ok'"), "ok");
}

#[test]
fn lookup_reads_declared_variables_only() {
    let mut h = in_dialog();
    h.declare(Scope::Dialog, "city", h.string("Paris")).unwrap();
    let v = h.lookup("city").unwrap();
    assert_eq!(h.to_display_string(&v), "Paris");
    assert!(h.lookup("dialog.city").is_some());
    assert!(h.lookup("town").is_none());
    assert!(h.lookup("town.name").is_none());
    assert!(h.lookup("Math").is_some());
}

#[test]
fn clear_sets_undefined() {
    let mut h = in_dialog();
    h.declare(Scope::Dialog, "f", JsValue::from(1)).unwrap();
    h.clear("f").unwrap();
    assert!(h.eval_bool("f === undefined").unwrap());
    assert!(h.is_declared("f"));
}

#[test]
fn shadow_variables_and_last_result() {
    let mut h = in_dialog();
    h.set_shadow(
        Scope::Dialog,
        "city$",
        &[
            ("utterance", h.string("paris")),
            ("confidence", JsValue::from(0.8)),
        ],
    )
    .unwrap();
    assert_eq!(
        s(&mut h, "city$.utterance + ' ' + city$.confidence"),
        "paris 0.8"
    );
    let interpretation = h.new_object(&[("city", h.string("Paris"))]);
    let results = [
        RecognitionResult {
            utterance: "paris".into(),
            confidence: 0.9,
            inputmode: "voice".into(),
            interpretation: interpretation.into(),
            markname: None,
            marktime: None,
        },
        RecognitionResult {
            utterance: "pars".into(),
            confidence: 0.4,
            inputmode: "voice".into(),
            interpretation: h.string("pars"),
            markname: Some("m1".into()),
            marktime: Some(120.0),
        },
    ];
    h.set_last_result(&results).unwrap();
    assert_eq!(
        s(
            &mut h,
            "[application.lastresult$.length, lastresult$[0].utterance, \
             application.lastresult$.interpretation.city, lastresult$.inputmode, \
             lastresult$[1].markname, lastresult$[1].marktime, \
             lastresult$.markname === undefined].join('|')"
        ),
        "2|paris|Paris|voice|m1|120|true"
    );
    h.set_last_result(&[]).unwrap();
    assert!(
        h.eval_bool("application.lastresult$ === undefined")
            .unwrap()
    );
}

#[test]
fn last_message_for_gvp_receive() {
    let mut h = in_dialog();
    h.set_last_message("cti", "application/x-www-form-urlencoded", "Result=SUCCESS")
        .unwrap();
    assert_eq!(
        s(
            &mut h,
            "application.lastmessage$.sourcetype + ' ' + lastmessage$.contenttype + ' ' + lastmessage$.content"
        ),
        "cti application/x-www-form-urlencoded Result=SUCCESS"
    );
}

fn sample_session() -> SessionInfo {
    SessionInfo {
        local_uri: "sip:dialog@mcp:5090".into(),
        remote_uri: "sip:5551234@gw".into(),
        originator: Originator::Remote,
        protocol_name: "sip".into(),
        protocol_version: "2.0".into(),
        sip_headers: [
            ("From".to_owned(), vec!["<sip:5551234@gw>;tag=1".to_owned()]),
            (
                "Via".to_owned(),
                vec!["SIP/2.0/UDP a".to_owned(), "SIP/2.0/UDP b".to_owned()],
            ),
        ]
        .into_iter()
        .collect(),
        request_uri: [("voicexml".to_owned(), "http://app/Main.vxml".to_owned())]
            .into_iter()
            .collect(),
        redirect: vec![Redirect {
            uri: "sip:800@gw".into(),
            reason: Some("unconditional".into()),
            ..Redirect::default()
        }],
        aai: Some("order=42".into()),
        uuid: Some("0A1B2C".into()),
        userdata: [("Customer".to_owned(), "gold".to_owned())]
            .into_iter()
            .collect(),
        ccxml: None,
    }
}

#[test]
fn session_variables_come_from_the_session_info() {
    let mut h = in_dialog();
    h.set_session(&sample_session()).unwrap();
    let shown = s(
        &mut h,
        "[session.connection.local.uri, session.connection.remote.uri, \
          session.connection.originator === session.connection.remote, \
          session.connection.protocol.name, session.connection.protocol.version, \
          session.connection.protocol.sip.headers.From, \
          session.connection.protocol.sip.headers.Via.length, \
          session.connection.protocol.sip.requesturi.voicexml, \
          session.connection.redirect[0].uri, session.connection.redirect[0].reason, \
          session.connection.aai, session.connection.uuid, \
          session.com.genesyslab.userdata.Customer].join('|')",
    );
    assert_eq!(
        shown,
        "sip:dialog@mcp:5090|sip:5551234@gw|true|sip|2.0|<sip:5551234@gw>;tag=1|2|\
         http://app/Main.vxml|sip:800@gw|unconditional|order=42|0A1B2C|gold"
    );
}

#[test]
fn session_variables_are_read_only() {
    let mut h = in_dialog();
    h.set_session(&sample_session()).unwrap();
    h.run_script("session.connection.aai = 'changed';", Scope::Anonymous)
        .unwrap();
    assert_eq!(s(&mut h, "session.connection.aai"), "order=42");
    let err = h.assign("session.connection.aai", JsValue::from(1));
    assert!(err.is_err());
}

#[test]
fn json_round_trip() {
    let mut h = in_dialog();
    let json = serde_json::json!({"a": 1, "b": [true, null, "x"], "c": {"d": 2.5}});
    let v = h.from_json(&json);
    h.declare(Scope::Dialog, "j", v.clone()).unwrap();
    assert_eq!(s(&mut h, "j.b[2] + j.c.d"), "x2.5");
    assert_eq!(h.to_json(&v), json);
    let cyclic = h
        .eval("(function(){ var o = {}; o.self = o; return o; })()")
        .unwrap();
    let out = h.to_json(&cyclic);
    assert!(out.is_object());
}

#[test]
fn namelist_values_flatten_for_submit() {
    let mut h = in_dialog();
    let v = h
        .eval("({city: 'Paris', stay: {nights: 3, smoking: false}, tags: ['a', 'b'], f: function(){} })")
        .unwrap();
    let fields = h.serialize_for_submit("trip", &v).unwrap();
    let expected: Vec<(String, String)> = [
        ("trip.city", "Paris"),
        ("trip.stay.nights", "3"),
        ("trip.stay.smoking", "false"),
        ("trip.tags.0", "a"),
        ("trip.tags.1", "b"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(fields, expected);
    let n = h.eval("1.5").unwrap();
    assert_eq!(
        h.serialize_for_submit("n", &n).unwrap(),
        vec![("n".to_owned(), "1.5".to_owned())]
    );
    let u = JsValue::undefined();
    assert_eq!(
        h.serialize_for_submit("u", &u).unwrap(),
        vec![("u".to_owned(), String::new())]
    );
    let cyclic = h
        .eval("(function(){ var o = {v: 1}; o.self = o; return o; })()")
        .unwrap();
    let fields = h.serialize_for_submit("c", &cyclic).unwrap();
    assert!(fields.len() < 100);
}

#[test]
fn sisr_code_can_run_in_the_context() {
    let mut h = in_dialog();
    let v = h
        .context()
        .eval(boa_engine::Source::from_bytes("({drink: 'coke'})"))
        .unwrap();
    h.declare(Scope::Dialog, "out", v).unwrap();
    assert_eq!(s(&mut h, "out.drink"), "coke");
}

#[test]
fn deeply_nested_data_cannot_overflow_the_native_stack() {
    let mut h = in_dialog();
    let build = "var a = []; for (var i = 0; i < 100000; i++) { a = [a]; }";
    h.run_script(build, Scope::Dialog).unwrap();
    for expr in ["String(a)", "a.join()", "JSON.stringify(a)"] {
        let err = h.eval(expr).unwrap_err();
        assert_eq!(err.kind, ScriptErrorKind::Native, "{expr}: {err}");
    }
    assert_eq!(s(&mut h, "a.flat(Infinity).length"), "1");
    h.run_script(
        "var o = {}; for (var i = 0; i < 100000; i++) { o = {o: o}; }",
        Scope::Dialog,
    )
    .unwrap();
    assert!(h.eval("JSON.stringify(o)").is_err());
    // Ordinary nesting still works.
    h.run_script(
        "var ok = []; for (var i = 0; i < 100; i++) { ok = [ok, i]; }",
        Scope::Dialog,
    )
    .unwrap();
    assert_eq!(s(&mut h, "String(ok).length > 100"), "true");
    assert_eq!(
        s(&mut h, "JSON.stringify({a: [1, {b: 2}]})"),
        r#"{"a":[1,{"b":2}]}"#
    );
    assert_eq!(s(&mut h, "[[1, [2]], 3].flat(Infinity).join('-')"), "1-2-3");
    assert!(h.eval_bool("typeof Proxy == 'undefined'").unwrap());
}

#[test]
fn deeply_nested_source_is_rejected_before_parsing() {
    let mut h = in_dialog();
    let deep = "(".repeat(100_000) + "1" + &")".repeat(100_000);
    assert_eq!(h.eval(&deep).unwrap_err().kind, ScriptErrorKind::Syntax);
    let unary = "-".repeat(100_000) + "1";
    assert_eq!(h.eval(&unary).unwrap_err().kind, ScriptErrorKind::Syntax);
    let script = "var x = ".to_owned() + &"[".repeat(100_000);
    assert_eq!(
        h.run_script(&script, Scope::Anonymous).unwrap_err().kind,
        ScriptErrorKind::Syntax
    );
    // Brackets inside strings and comments do not count.
    let text = format!("'{}' // {}", "(".repeat(1000), "[".repeat(1000));
    assert_eq!(s(&mut h, &text).len(), 1000);
}

#[test]
fn session_variables_snapshot() {
    let mut h = in_dialog();
    h.set_session(&sample_session()).unwrap();
    let session = h.lookup("session").unwrap();
    insta::assert_json_snapshot!("session_variables", h.to_json(&session));
}

#[test]
fn plain_variable_paths_read_what_the_compiled_code_reads() {
    let mut h = in_dialog();
    h.run_script(
        "var app = 1; var obj = {a: {b: 'deep'}, s: 'text'}; var shadowed = 'app';",
        Scope::Application,
    )
    .unwrap();
    h.declare(Scope::Dialog, "shadowed", h.string("dialog"))
        .unwrap();
    h.declare(Scope::Anonymous, "n", JsValue::from(7)).unwrap();
    h.run_script(
        "var counter = 0; var g = {}; Object.defineProperty(g, 'tick', {get: function () { counter++; return counter; }}); \
         Object.defineProperty(g, 'bad', {get: function () { throw new Error('no'); }});",
        Scope::Document,
    )
    .unwrap();
    let compiled_before = h.compiled_count();
    for expr in [
        "app",
        "n",
        "shadowed",
        "application.shadowed",
        "dialog.shadowed",
        "obj.a.b",
        "obj.missing",
        "obj.s.length",
        "undefined",
        "NaN",
        "Math.PI",
        "document.counter",
    ] {
        let plain = h.eval(expr).unwrap();
        let compiled = h.eval(&format!("({expr})")).unwrap();
        assert!(
            plain.strict_equals(&compiled)
                || (plain.as_number().is_some_and(f64::is_nan)
                    && compiled.as_number().is_some_and(f64::is_nan)),
            "{expr}: {} vs {}",
            plain.display(),
            compiled.display()
        );
    }
    // Each plain read runs the getter once.
    assert_eq!(s(&mut h, "g.tick"), "1");
    assert_eq!(s(&mut h, "counter"), "1");
    let err = h.eval("g.bad").unwrap_err();
    assert!(err.to_string().contains("no"), "{err}");
    // Undeclared names and reads through undefined give the script's errors.
    assert_eq!(
        h.eval("nosuch").unwrap_err().kind,
        h.eval("(nosuch)").unwrap_err().kind
    );
    assert_eq!(
        h.eval("obj.missing.x").unwrap_err().kind,
        h.eval("(obj.missing.x)").unwrap_err().kind
    );
    // A variable named like a literal does not hide the literal.
    h.declare(Scope::Dialog, "true", JsValue::from(0)).unwrap();
    assert!(h.eval_bool("true").unwrap());
    // Only the parenthesized forms and the fallbacks were compiled.
    assert!(h.compiled_count() > compiled_before);
    assert!(h.precompile_expression("a.plain.path"));
    let count = h.compiled_count();
    assert!(h.precompile_expression("n"));
    assert_eq!(h.compiled_count(), count);
}
