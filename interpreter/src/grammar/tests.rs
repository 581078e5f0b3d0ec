//! Behaviour of the grammar engine as a whole: both front ends, linking,
//! matching several grammars, and hostile input.

use std::time::{Duration, Instant};

use url::Url;

use super::*;

fn url() -> Url {
    Url::parse("http://app.example/g/main.grxml").expect("url")
}

fn xml_grammar(src: &str) -> Result<Grammar, GrammarError> {
    let tree = xml::parse(src).map_err(|e| GrammarError::new(&url(), Some(e.pos), e.message))?;
    Grammar::from_xml(&tree, &url())
}

fn abnf(src: &str) -> Result<Grammar, GrammarError> {
    Grammar::from_abnf(src, &url())
}

fn words(g: &Grammar, input: &str) -> Recognition {
    recognize(
        &[Candidate {
            grammar: g,
            key: 0,
            weight: 1.0,
        }],
        Input::Words(input),
        3,
    )
}

fn parse(g: &Grammar, input: &str) -> Option<String> {
    match words(g, input) {
        Recognition::Match { hypotheses, .. } => hypotheses.first().map(Hypothesis::parse_string),
        _ => None,
    }
}

#[test]
fn xml_inline_in_every_accepted_namespace() {
    for ns in [SRGS_NS, VXML_NS] {
        let g = xml_grammar(&format!(
            r##"<grammar xmlns="{ns}" root="r"><rule id="r">hello <ruleref uri="#w"/></rule><rule id="w"><one-of><item>world</item><item>there</item></one-of></rule></grammar>"##
        ))
        .expect("compiles");
        assert_eq!(
            parse(&g, "Hello   THERE").as_deref(),
            Some(r#"$r["hello",$w["there"]]"#)
        );
    }
    let g =
        xml_grammar(r#"<grammar root="r"><rule id="r">"San Francisco" please</rule></grammar>"#)
            .expect("no namespace");
    assert_eq!(
        parse(&g, "san francisco please").as_deref(),
        Some(r#"$r["San Francisco","please"]"#)
    );
}

#[test]
fn abnf_forms_parse_to_the_same_model() {
    let g = abnf(
        "#ABNF 1.0 UTF-8;\nlanguage en-US;\nmode voice;\nroot $cmd;\ntag-format <semantics/1.0>;\n\
         public $cmd = /5/ (open | close) [the] $obj {out = 1} | quit;\n\
         $obj = file | window<1-2> | $GARBAGE stop;\n",
    )
    .expect("compiles");
    assert_eq!(g.mode(), Mode::Voice);
    assert_eq!(g.root_rule(), Some("cmd"));
    assert_eq!(g.tag_format(), Some("semantics/1.0"));
    assert_eq!(
        parse(&g, "open the window window").as_deref(),
        Some(r#"$cmd["open","the",$obj["window","window"],{!{out = 1}!}]"#)
    );
    assert_eq!(
        parse(&g, "close blah blah stop").as_deref(),
        Some(r#"$cmd["close",$obj["stop"],{!{out = 1}!}]"#)
    );
    assert_eq!(parse(&g, "quit").as_deref(), Some(r#"$cmd["quit"]"#));
    assert_eq!(words(&g, "open the"), Recognition::Prefix);
    assert_eq!(
        words(&g, "open sesame"),
        Recognition::Prefix,
        "GARBAGE could still end in stop"
    );
    assert_eq!(words(&g, "quit now"), Recognition::NoMatch);
}

#[test]
fn prefix_and_extendable() {
    let g = abnf("#ABNF 1.0;\nroot $r;\n$r = one two [three];").expect("compiles");
    assert_eq!(words(&g, "one"), Recognition::Prefix);
    match words(&g, "one two") {
        Recognition::Match { extendable, .. } => assert!(extendable),
        other => panic!("{other:?}"),
    }
    match words(&g, "one two three") {
        Recognition::Match { extendable, .. } => assert!(!extendable),
        other => panic!("{other:?}"),
    }
    assert_eq!(words(&g, "one two three four"), Recognition::NoMatch);
}

#[test]
fn weights_pick_among_ambiguous_alternatives() {
    let g = xml_grammar(
        r##"<grammar xmlns="http://www.w3.org/2001/06/grammar" root="r"><rule id="r"><one-of>
            <item weight="1"><ruleref uri="#a"/></item><item weight="5"><ruleref uri="#b"/></item>
        </one-of></rule><rule id="a">boston</rule><rule id="b">boston</rule></grammar>"##,
    )
    .expect("compiles");
    assert_eq!(parse(&g, "boston").as_deref(), Some(r#"$r[$b["boston"]]"#));
    // N-best: the other reading follows, scored by relative weight.
    match words(&g, "boston") {
        Recognition::Match { hypotheses, .. } => {
            let got: Vec<(String, f32)> = hypotheses
                .iter()
                .map(|h| (h.parse_string(), h.confidence))
                .collect();
            assert_eq!(
                got,
                vec![
                    (r#"$r[$b["boston"]]"#.to_owned(), 1.0),
                    (r#"$r[$a["boston"]]"#.to_owned(), 0.2)
                ]
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn several_grammars_keep_caller_order_and_modes() {
    let field = abnf("#ABNF 1.0;\nroot $r;\n$r = yes | no;").expect("field");
    let form = abnf("#ABNF 1.0;\nroot $r;\n$r = yes | help;").expect("form");
    let keys = Grammar::builtin("builtin:dtmf/boolean", "en-US").expect("dtmf");
    let cands = [
        Candidate {
            grammar: &keys,
            key: 9,
            weight: 1.0,
        },
        Candidate {
            grammar: &field,
            key: 1,
            weight: 1.0,
        },
        Candidate {
            grammar: &form,
            key: 2,
            weight: 1.0,
        },
    ];
    match recognize(&cands, Input::Words("yes"), 5) {
        Recognition::Match { hypotheses, .. } => {
            let keys: Vec<usize> = hypotheses.iter().map(|h| h.key).collect();
            assert_eq!(keys, vec![1, 2], "voice grammars only, in precedence order");
        }
        other => panic!("{other:?}"),
    }
    match recognize(&cands, Input::Words("yes"), 1) {
        Recognition::Match { hypotheses, .. } => assert_eq!(hypotheses.len(), 1),
        other => panic!("{other:?}"),
    }
    match recognize(&cands, Input::Dtmf("1"), 5) {
        Recognition::Match { hypotheses, .. } => {
            assert_eq!(hypotheses.len(), 1);
            assert_eq!(hypotheses[0].key, 9);
            assert_eq!(hypotheses[0].mode, Mode::Dtmf);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn dtmf_grammars_match_keys() {
    let g = xml_grammar(
        r##"<grammar xmlns="http://www.w3.org/2001/06/grammar" mode="dtmf" root="pin">
            <rule id="pin"><item repeat="4"><ruleref uri="#d"/></item> <item repeat="0-1">pound</item></rule>
            <rule id="d"><one-of><item>0</item><item>1</item><item>2</item><item>3</item><item>4</item>
            <item>5</item><item>6</item><item>7</item><item>8</item><item>9</item></one-of></rule></grammar>"##,
    )
    .expect("compiles");
    let c = [Candidate {
        grammar: &g,
        key: 0,
        weight: 1.0,
    }];
    assert_eq!(recognize(&c, Input::Dtmf("12"), 1), Recognition::Prefix);
    assert!(matches!(
        recognize(&c, Input::Dtmf("1234"), 1),
        Recognition::Match {
            extendable: true,
            ..
        }
    ));
    assert!(matches!(
        recognize(&c, Input::Dtmf("1234#"), 1),
        Recognition::Match {
            extendable: false,
            ..
        }
    ));
    assert_eq!(
        recognize(&c, Input::Words("one two"), 1),
        Recognition::NoMatch
    );
    assert_eq!(recognize(&c, Input::Dtmf("12a"), 1), Recognition::NoMatch);
}

#[test]
fn external_references_are_linked_from_fetched_grammars() {
    let main = xml_grammar(
        r#"<grammar xmlns="http://www.w3.org/2001/06/grammar" root="r"><rule id="r">call <ruleref uri="names.gram#first"/> <ruleref uri="names.gram"/></rule></grammar>"#,
    )
    .expect("compiles");
    let names_url = url().join("names.gram").expect("url");
    assert_eq!(main.external_refs(), vec![names_url.clone()]);
    assert!(!main.is_linked());
    assert_eq!(
        words(&main, "call bob"),
        Recognition::NoMatch,
        "unlinked refs never match"
    );
    let err = main.link(&|_| None).expect_err("missing grammar");
    assert!(err.message.contains("not loaded"), "{err}");

    let names = Grammar::from_bytes(
        b"#ABNF 1.0;\nlanguage en-US;\nroot $last;\npublic $first = bob | alice;\npublic $last = smith;\n$secret = x;",
        Some("application/srgs"),
        &names_url,
    )
    .expect("names");
    let linked = main
        .link(&|u| (u == &names_url).then(|| names.clone()))
        .expect("links");
    assert!(linked.is_linked());
    assert_eq!(
        parse(&linked, "call alice smith").as_deref(),
        Some(r#"$r["call",$<names.gram#first>["alice"],$<names.gram>["smith"]]"#)
    );
    let alt = names.with_root("first").expect("public rule");
    assert_eq!(parse(&alt, "bob").as_deref(), Some(r#"$first["bob"]"#));
    assert!(names.with_root("secret").is_err(), "private rule");
    assert!(names.with_root("nope").is_err());
}

#[test]
fn from_bytes_sniffs_syntax_and_encoding() {
    let u = url();
    let src = "<?xml version=\"1.0\"?><grammar xmlns=\"http://www.w3.org/2001/06/grammar\" version=\"1.0\" xml:lang=\"ko\" root=\"r\"><rule id=\"r\">예</rule></grammar>";
    let utf16: Vec<u8> = std::iter::once(0xFEFF_u16)
        .chain(src.encode_utf16())
        .flat_map(u16::to_le_bytes)
        .collect();
    let g = Grammar::from_bytes(&utf16, None, &u).expect("utf-16 xml");
    assert_eq!(parse(&g, "예").as_deref(), Some(r#"$r["예"]"#));
    let g = Grammar::from_bytes(b"#ABNF 1.0;\nlanguage en;\nroot $r;\n$r = hi;", None, &u)
        .expect("abnf");
    assert_eq!(g.rule_count(), 1);
}

#[test]
fn errors_carry_position_and_display_as_url_line_column() {
    let err = abnf("#ABNF 1.0;\nroot $r;\n$r = a (b | c;\n").expect_err("syntax");
    assert_eq!(err.pos.map(|p| p.line), Some(3), "{err}");
    assert!(
        err.to_string()
            .starts_with("http://app.example/g/main.grxml:3:"),
        "{err}"
    );

    let err = abnf("#ABNF 1.0;\nroot $r;\n$r = a;\n$r = b;").expect_err("duplicate");
    assert!(err.message.contains("more than once"), "{err}");

    let err = abnf("#ABNF 1.0;\nroot $missing;\n$r = a;").expect_err("undefined root");
    assert!(err.message.contains("root rule 'missing'"), "{err}");

    let err = xml_grammar(
        r##"<grammar xmlns="http://www.w3.org/2001/06/grammar" root="r">
  <rule id="r">a <ruleref uri="#nope"/></rule></grammar>"##,
    )
    .expect_err("unknown rule");
    assert_eq!(err.pos.map(|p| p.line), Some(2), "{err}");
    assert!(err.message.contains("'nope'"), "{err}");

    let err = abnf("#ABNF 1.0;\nroot $a;\n$a = $b x;\n$b = [$c] y;\n$c = $a;").expect_err("cycle");
    assert!(err.message.contains("left-recursive"), "{err}");

    let err = xml_grammar(r#"<grammar xmlns="http://www.w3.org/2001/06/grammar" root="r"><rule id="r"><item repeat="5-2">a</item></rule></grammar>"#)
        .expect_err("repeat");
    assert!(err.message.contains("maximum below"), "{err}");

    assert!(abnf("$r = a;").is_err(), "no header");
    assert!(abnf("#ABNF 1.0;\n$r = a | ;").is_err(), "empty alternative");
    assert!(
        abnf("#ABNF 1.0;\nmode dtmf;\n$r = *;").is_err(),
        "reserved character"
    );
    assert!(
        abnf(&format!(
            "#ABNF 1.0;\n$r = {}a{};",
            "(".repeat(300),
            ")".repeat(300)
        ))
        .is_err()
    );
}

#[test]
fn right_recursion_is_allowed() {
    let g = abnf("#ABNF 1.0;\nroot $r;\n$r = x [$r];").expect("right recursion");
    assert_eq!(parse(&g, "x x").as_deref(), Some(r#"$r["x",$r["x"]]"#));
}

#[test]
fn special_rules() {
    let g = abnf("#ABNF 1.0;\nroot $r;\n$r = $NULL go $GARBAGE now | $VOID never;").expect("ok");
    assert_eq!(parse(&g, "go now").as_deref(), Some(r#"$r["go","now"]"#));
    assert_eq!(
        parse(&g, "go um er now").as_deref(),
        Some(r#"$r["go","now"]"#)
    );
    assert_eq!(words(&g, "never"), Recognition::NoMatch);
    assert!(abnf("#ABNF 1.0;\n$NULL = a;").is_err());
}

#[test]
fn hundred_thousand_alternatives_compile_and_match_quickly() {
    let mut src = String::from("#ABNF 1.0;\nroot $r;\n$r = ");
    for i in 0..100_000 {
        if i > 0 {
            src.push_str(" | ");
        }
        src.push_str(&format!("w{i} x{}", i % 7));
    }
    src.push(';');
    let g = abnf(&src).expect("compiles");
    assert_eq!(
        parse(&g, "w99999 x4").as_deref(),
        Some(r#"$r["w99999","x4"]"#)
    );
    assert_eq!(words(&g, "w99999 x3"), Recognition::NoMatch);
    assert_eq!(words(&g, "w5"), Recognition::Prefix);
    assert_eq!(words(&g, "nothing"), Recognition::NoMatch);
}

#[test]
fn long_dtmf_strings_are_bounded() {
    let rec = Grammar::from_abnf("#ABNF 1.0;\nmode dtmf;\nroot $r;\n$r = 1 [$r];", &url())
        .expect("recursive");
    let rep = Grammar::from_abnf(
        "#ABNF 1.0;\nmode dtmf;\nroot $r;\n$r = (1 | 1 1)<0-> [2];",
        &url(),
    )
    .expect("repeat");
    let start = Instant::now();
    for g in [&rec, &rep] {
        let c = [Candidate {
            grammar: g,
            key: 0,
            weight: 1.0,
        }];
        // 1,000 keys exceed the input bound: a nomatch, at once.
        assert_eq!(
            recognize(&c, Input::Dtmf(&"1".repeat(1000)), 1),
            Recognition::NoMatch
        );
        // The longest accepted input matches the repeat; the deeply
        // right-recursive derivation exceeds the nesting bound and does not.
        let longest = "1".repeat(MAX_INPUT_TOKENS);
        let r = recognize(&c, Input::Dtmf(&longest), 1);
        if std::ptr::eq(g, &rep) {
            assert!(matches!(r, Recognition::Match { .. }), "{r:?}");
        } else {
            assert_eq!(r, Recognition::NoMatch);
        }
    }
    assert!(start.elapsed() < Duration::from_secs(20));
}

#[test]
fn nested_repeats_of_nullable_items_stay_polynomial() {
    let g = abnf("#ABNF 1.0;\nroot $r;\n$r = ((a | [a] | $NULL)<0-> [a])<0-100>;").expect("ok");
    let input = vec!["a"; 60].join(" ");
    assert!(matches!(words(&g, &input), Recognition::Match { .. }));
}

#[test]
fn builtin_type_and_uri_entry_points() {
    let g =
        Grammar::builtin_type("digits?minlength=3;maxlength=5", Mode::Dtmf, "en-US").expect("type");
    let c = [Candidate {
        grammar: &g,
        key: 0,
        weight: 1.0,
    }];
    let mut ctx = boa_engine::Context::default();
    match recognize(&c, Input::Dtmf("1234"), 1) {
        Recognition::Match {
            hypotheses,
            extendable,
        } => {
            assert!(extendable);
            let v = hypotheses[0].interpret(&mut ctx).expect("value");
            assert_eq!(
                v.as_string().map(|s| s.to_std_string_escaped()).as_deref(),
                Some("1234")
            );
        }
        other => panic!("{other:?}"),
    }
    let b = Grammar::builtin("builtin:grammar/boolean", "en-US").expect("voice");
    assert_eq!(b.mode(), Mode::Voice);
    let c = [Candidate {
        grammar: &b,
        key: 0,
        weight: 1.0,
    }];
    match recognize(&c, Input::Words("yes"), 1) {
        Recognition::Match { hypotheses, .. } => {
            assert_eq!(
                hypotheses[0]
                    .interpret(&mut ctx)
                    .expect("value")
                    .as_boolean(),
                Some(true)
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(Grammar::builtin("builtin:dtmf/unknown", "en-US").is_err());
}

#[test]
fn grammars_are_shareable_across_sessions() {
    fn shareable<T: Send + Sync + Clone + std::fmt::Debug>() {}
    shareable::<Grammar>();
    let g = abnf("#ABNF 1.0;\nroot $r;\n$r = hi;").expect("compiles");
    let copy = g.clone();
    let handle = std::thread::spawn(move || parse(&copy, "hi"));
    assert_eq!(
        handle.join().expect("thread").as_deref(),
        Some(r#"$r["hi"]"#)
    );
    assert!(format!("{g:?}").contains("rules: 1"));
}

/// A deterministic stand-in for the fuzz targets: every truncation of some
/// seed grammars, and each position replaced by syntax characters, must
/// compile or fail cleanly, and compiled results must match without panic.
#[test]
fn mutated_grammars_never_panic() {
    let seeds = [
        "#ABNF 1.0 UTF-8;\nlanguage en-US;\nmode voice;\nroot $a;\ntag-format <semantics/1.0>;\nmeta 'in.1' is 'x';\npublic $a = /2/ (hi | \"new york\"!en) [$b] <0-3 /0.5/> {out=1} | $<x.gram#r>~<application/srgs> $GARBAGE;\n$b = {!{ t }!} b<2->;\n",
        "<?xml version=\"1.0\"?><grammar xmlns=\"http://www.w3.org/2001/06/grammar\" version=\"1.0\" xml:lang=\"en\" mode=\"dtmf\" root=\"a\"><meta name=\"n\" content=\"c\"/><rule id=\"a\" scope=\"public\"><one-of><item weight=\"2\" repeat=\"1-3\" repeat-prob=\".5\">1 2<tag>out=1</tag></item><item><ruleref uri=\"#b\"/><ruleref special=\"NULL\"/></item></one-of></rule><rule id=\"b\"><token>star</token> pound \"3\"</rule></grammar>",
    ];
    let u = url();
    let specials = [
        "", "$", "<", ">", "(", ")", "[", "]", "{", "}", "|", "\"", ";", "/", "!", "é", "#", "-",
    ];
    for seed in seeds {
        let boundaries: Vec<usize> = (0..=seed.len())
            .filter(|&i| seed.is_char_boundary(i))
            .collect();
        for (k, &i) in boundaries.iter().enumerate() {
            let next = boundaries.get(k + 1).copied().unwrap_or(seed.len());
            let mut variants = vec![seed[..i].to_owned()];
            for s in specials {
                variants.push(format!("{}{s}{}", &seed[..i], &seed[next..]));
            }
            for v in variants {
                if let Ok(g) = Grammar::from_bytes(v.as_bytes(), None, &u) {
                    let c = [Candidate {
                        grammar: &g,
                        key: 0,
                        weight: 1.0,
                    }];
                    let _ = recognize(&c, Input::Words("hi new york b b"), 2);
                    let _ = recognize(&c, Input::Dtmf("12*#3"), 2);
                }
            }
        }
    }
}

#[test]
fn deeply_nested_xml_items_compile_and_match() {
    let depth = 80;
    let src = format!(
        r#"<grammar xmlns="http://www.w3.org/2001/06/grammar" root="r"><rule id="r">{}deep{}</rule></grammar>"#,
        r#"<one-of><item weight="2"><item repeat="1-2">"#.repeat(depth),
        "</item></item></one-of>".repeat(depth)
    );
    let g = xml_grammar(&src).expect("compiles");
    assert_eq!(parse(&g, "deep").as_deref(), Some(r#"$r["deep"]"#));
    assert_eq!(
        parse(&g, "deep deep deep").as_deref(),
        Some(r#"$r["deep","deep","deep"]"#)
    );
}
