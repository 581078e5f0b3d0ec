//! Compiler tests: every element kind (snapshot), every validation error with
//! its line and column, limits, and realistic pages.

use std::sync::Arc;
use std::time::Duration;

use url::Url;

use super::{CompileError, CompileOptions, compile, compile_tree, compile_with};
use crate::vxml::model::*;
use crate::xml::Pos;

const EVERY_ELEMENT: &str = include_str!("testdata/every-element.vxml");
const REALISTIC: &str = include_str!("testdata/realistic-50k.vxml");

fn url() -> Url {
    Url::parse("http://example.com/app/page.vxml").expect("valid URL")
}

/// Wraps `body` in a `<vxml>` element; `body` starts on line 2.
fn page(body: &str) -> String {
    format!(
        "<vxml version=\"2.1\" xmlns=\"http://www.w3.org/2001/vxml\" xmlns:gvp=\"{GVP_NS}\">\n{body}\n</vxml>"
    )
}

fn ok(body: &str) -> Arc<Document> {
    compile(page(body), &url()).unwrap_or_else(|e| panic!("{e}"))
}

fn err(body: &str) -> CompileError {
    compile(page(body), &url()).expect_err("the page must be rejected")
}

fn form(doc: &Document, i: usize) -> &Form {
    match doc.dialogs.get(i) {
        Some(Dialog::Form(f)) => f,
        other => panic!("dialog {i} is not a form: {other:?}"),
    }
}

#[test]
fn every_element_snapshot() {
    let doc = compile(EVERY_ELEMENT, &url()).unwrap_or_else(|e| panic!("{e}"));
    insta::assert_yaml_snapshot!(doc);
}

#[test]
fn documents_are_shareable() {
    fn assert_send_sync<T: std::marker::Send + Sync>() {}
    assert_send_sync::<Document>();
    assert_send_sync::<CompileError>();
}

#[test]
fn document_level_structure() {
    let doc = compile(EVERY_ELEMENT, &url()).expect("compiles");
    assert_eq!(doc.version, "2.1");
    assert_eq!(doc.lang.as_deref(), Some("en-US"));
    assert_eq!(
        doc.application.as_ref().map(Url::as_str),
        Some("http://example.com/app/root.vxml")
    );
    let kinds: Vec<&str> = doc
        .init
        .iter()
        .map(|i| match i {
            Init::Var(_) => "var",
            Init::Script(_) => "script",
            Init::Data(_) => "data",
        })
        .collect();
    assert_eq!(kinds, ["var", "script", "data"]);
    assert_eq!(doc.dialogs.len(), 3);
    assert_eq!(doc.dialog_position("other"), Some(1));
    assert_eq!(doc.dialog("main").map(Dialog::scope), Some(Scope::Document));
    assert_eq!(doc.dialog("main").map(|d| d.init().len()), Some(1));
    assert_eq!(doc.dialog("other").map(|d| d.catches().len()), Some(1));
    assert_eq!(doc.dialog("main").map(|d| d.properties().len()), Some(0));
    assert_eq!(doc.dialogs.get(2).map(Dialog::id), Some("__vxp_dialog_3"));
    let catch = doc.catches.first().expect("catch");
    assert_eq!(catch.events, ["error.badfetch", "connection.disconnect"]);
    assert_eq!(catch.count, 2);
    assert_eq!(
        doc.catches.get(1).map(|c| c.events.clone()),
        Some(vec!["error".to_owned()])
    );
    assert_eq!(
        catch.loc.to_string(),
        "http://example.com/app/page.vxml:15:3"
    );
}

#[test]
fn form_items_names_and_order() {
    let doc = compile(EVERY_ELEMENT, &url()).expect("compiles");
    let main = form(&doc, 0);
    let names: Vec<&str> = main.items.iter().map(FormItem::name).collect();
    assert_eq!(
        names,
        [
            "welcome", "account", "color", "start", "msg", "pin", "widget", "agent"
        ]
    );
    assert_eq!(main.item_position("msg"), Some(4));
    let anon = form(&doc, 2);
    assert_eq!(anon.items.first().map(FormItem::name), Some("__vxp_item_1"));
    assert!(anon.items.first().is_some_and(|i| i.common().anonymous));
    let Some(FormItem::Transfer(t)) = main.item("agent") else {
        panic!("agent is a transfer");
    };
    assert_eq!(t.transfer_type, TransferType::Consultation);
    assert_eq!(t.method, Some(TransferMethod::Refer));
    assert_eq!(t.connectwhen, Some(ConnectWhen::Answered));
    assert_eq!(t.maxtime, Some(Duration::ZERO));
    let Some(FormItem::Record(r)) = main.item("msg") else {
        panic!("msg is a record");
    };
    assert!(r.beep && !r.dtmfterm && r.modal);
    assert_eq!(r.finalsilence, Some(Duration::from_millis(1500)));
}

#[test]
fn generated_names_avoid_explicit_ones() {
    let doc = ok(r#"<form id="__vxp_dialog_2"><block name="__vxp_item_2"/><block/></form><form/>"#);
    let f = form(&doc, 0);
    let names: Vec<&str> = f.items.iter().map(FormItem::name).collect();
    assert_eq!(names, ["__vxp_item_2", "__vxp_item_2_"]);
    assert_eq!(doc.dialogs.get(1).map(Dialog::id), Some("__vxp_dialog_2_"));
}

#[test]
fn implicit_prompts_and_whitespace() {
    let doc = ok(
        "<form><block>\n   Hello \n\t <value expr=\"name\"/>  , welcome.\n  <assign name=\"x\" expr=\"1\"/>\n  Bye  </block></form>",
    );
    let Some(FormItem::Block(b)) = form(&doc, 0).items.first() else {
        panic!("block");
    };
    let [Stmt::Prompt(p1), Stmt::Assign(_), Stmt::Prompt(p2)] = b.body.as_slice() else {
        panic!("unexpected body {:?}", b.body);
    };
    assert!(p1.implicit);
    let texts: Vec<String> = p1
        .content
        .iter()
        .map(|n| match n {
            PromptNode::Text(t) => t.text.clone(),
            PromptNode::Value(e) => format!("{{{}}}", e.src),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(texts, ["Hello ", "{name}", " , welcome."]);
    assert!(matches!(p2.content.as_slice(), [PromptNode::Text(t)] if t.text == "Bye"));
    assert_eq!(p1.loc.pos, Pos::new(2, 14));
}

#[test]
fn field_bare_content_forms_prompts() {
    let doc = ok(
        r#"<form><field name="f">Say <emphasis>it</emphasis><grammar src="g.grxml"/><prompt count="2">Again</prompt></field></form>"#,
    );
    let f = form(&doc, 0).items.first().expect("field").common();
    assert_eq!(f.prompts.len(), 2);
    assert!(
        f.prompts
            .first()
            .is_some_and(|p| p.implicit && p.count == 1)
    );
    assert!(
        f.prompts
            .get(1)
            .is_some_and(|p| !p.implicit && p.count == 2)
    );
}

#[test]
fn base_and_lang_are_inherited() {
    let doc = ok(
        r#"<form xml:lang="de-DE" xml:base="http://other.example/x/">
<field name="f"><prompt>Hallo</prompt><grammar xml:base="sub/" src="g.grxml"/>
<link next="n.vxml"><grammar src="l.grxml"/></link></field></form>"#,
    );
    let f = form(&doc, 0).items.first().expect("field").common();
    assert_eq!(f.lang.as_deref(), Some("de-DE"));
    assert_eq!(
        f.prompts.first().and_then(|p| p.lang.as_deref()),
        Some("de-DE")
    );
    let g = f.grammars.first().expect("grammar");
    assert!(
        matches!(&g.source, GrammarSource::Src(u) if u.as_str() == "http://other.example/x/sub/g.grxml")
    );
    assert_eq!(g.lang.as_deref(), Some("de-DE"));
    let link = f.links.first().expect("link");
    assert!(
        matches!(&link.action, LinkAction::Goto(Computed::Static(Target::Url(u))) if u.as_str() == "http://other.example/x/n.vxml")
    );
}

#[test]
fn targets_and_computed_values() {
    let doc = ok(r##"<form id="a"><block>
<goto next="#a"/><goto expr="'#a'"/><goto nextitem="b"/><goto expritem="'b'"/>
<throw event="e" message="m"/><submit next="s.jsp" namelist="x y"/>
</block><field name="b"/></form>"##);
    let Some(FormItem::Block(b)) = form(&doc, 0).items.first() else {
        panic!("block");
    };
    let gotos: Vec<&GotoTarget> = b
        .body
        .iter()
        .filter_map(|s| match s {
            Stmt::Goto(g) => Some(&g.target),
            _ => None,
        })
        .collect();
    assert!(matches!(gotos.as_slice(), [
        GotoTarget::Dialog(Computed::Static(Target::Dialog(a))),
        GotoTarget::Dialog(Computed::Dynamic(_)),
        GotoTarget::Item(Computed::Static(item)),
        GotoTarget::Item(Computed::Dynamic(_)),
    ] if a == "a" && item == "b"));
    assert!(
        b.body
            .iter()
            .any(|s| matches!(s, Stmt::Submit(s) if s.submission.namelist == ["x", "y"]))
    );
}

#[test]
fn inline_grammars_are_kept() {
    let doc = compile(EVERY_ELEMENT, &url()).expect("compiles");
    let main = form(&doc, 0);
    let xml = main.grammars.first().expect("form grammar");
    assert!(
        matches!(&xml.source, GrammarSource::Inline(InlineGrammar { form: InlineForm::Xml(e), .. }) if e.name.local == "grammar")
    );
    assert_eq!(xml.root.as_deref(), Some("r"));
    let field = main.item("account").expect("field").common();
    let abnf = field.grammars.get(1).expect("abnf grammar");
    assert!(
        matches!(&abnf.source, GrammarSource::Inline(InlineGrammar { form: InlineForm::Text(t), .. }) if t.starts_with("#ABNF"))
    );
    assert_eq!(abnf.mode, Some(GrammarMode::Dtmf));
    assert!((field.grammars.first().expect("src").weight - 0.5).abs() < f32::EPSILON);
}

#[test]
fn grammar_errors_fail_the_page_at_their_position() {
    let e = err(
        "<form><field name=\"f\">\n  <grammar root=\"r\"><rule id=\"r\"><ruleref uri=\"#nope\"/></rule></grammar></field></form>",
    );
    assert_eq!((e.pos.line, e.pos.column), (3, 34), "{e}");
    assert!(e.message.starts_with("in this grammar: "), "{e}");

    let e = err(
        "<form><field name=\"f\"><grammar mode=\"dtmf\">\n  #ABNF 1.0;\n  root $d;\n  public $d = 1 | ;\n</grammar></field></form>",
    );
    assert_eq!(e.pos.line, 5, "{e}");
    assert!(e.message.starts_with("in this grammar: "), "{e}");

    let e = err(
        "<form><field name=\"f\"><grammar type=\"application/x-jsgf\">public x = b;</grammar></field></form>",
    );
    assert!(e.message.contains("must be SRGS ABNF"), "{e}");
}

#[test]
fn compile_tree_matches_compile() {
    let tree = crate::xml::parse(EVERY_ELEMENT).expect("well-formed");
    let a = compile_tree(tree, &url()).expect("tree compiles");
    let b = compile(EVERY_ELEMENT, &url()).expect("bytes compile");
    assert_eq!(a, b);
}

#[test]
fn pages_without_namespace_and_in_utf16() {
    let doc = compile(
        "<vxml version=\"2.0\"><form><block>Hi</block></form></vxml>",
        &url(),
    )
    .expect("no xmlns");
    assert_eq!(doc.version, "2.0");
    let src = page("<form><block>Grüße</block></form>");
    let mut bytes = vec![0xFF, 0xFE];
    for u in src.encode_utf16() {
        bytes.extend_from_slice(&u.to_le_bytes());
    }
    let doc = compile(&bytes, &url()).expect("utf-16");
    assert_eq!(doc.dialogs.len(), 1);

    let declared = format!("<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n{src}");
    let mut bytes = Vec::new();
    for u in declared.encode_utf16() {
        bytes.extend_from_slice(&u.to_be_bytes());
    }
    let doc = compile(&bytes, &url()).expect("utf-16 big-endian without a byte order mark");
    let Some(FormItem::Block(b)) = form(&doc, 0).items.first() else {
        panic!("block");
    };
    assert!(
        matches!(b.body.as_slice(), [Stmt::Prompt(p)] if matches!(p.content.as_slice(), [PromptNode::Text(t)] if t.text == "Grüße"))
    );
    assert_eq!(b.common.loc.pos, Pos::new(3, 7));

    let latin1 = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><vxml version=\"2.1\"><form><block>Gr\xFC\xDFe</block></form></vxml>";
    let doc = compile(latin1, &url()).expect("latin-1");
    assert_eq!(doc.dialogs.len(), 1);
}

#[test]
fn expressions_are_left_to_the_session() {
    let doc = ok(
        r#"<form><block><assign name="x" expr=""/><if cond="((("><log expr=")"/></if></block></form>"#,
    );
    let Some(FormItem::Block(b)) = form(&doc, 0).items.first() else {
        panic!("block");
    };
    assert!(
        matches!(b.body.as_slice(), [Stmt::Assign(a), Stmt::If(i)] if a.expr.src.is_empty() && i.branches.len() == 1)
    );
}

#[test]
fn missing_fragment_targets_wait_for_run_time() {
    // VoiceXML 2.0 §5.3.7: error.badfetch is thrown when the transition executes, where the
    // document's own handlers can catch it, not when the page loads.
    let doc = ok(r##"<form><block><goto next="#nosuchdialog"/></block></form>
        <menu><choice next="#nowhere">x</choice></menu>"##);
    assert_eq!(doc.dialogs.len(), 2);
}

#[test]
fn object_data_is_relative_to_codebase() {
    let doc = ok(
        r#"<form><object name="o" classid="c" codebase="http://lib.example/objs/" data="d.bin"/></form>"#,
    );
    let Some(FormItem::Object(o)) = form(&doc, 0).items.first() else {
        panic!("object");
    };
    assert_eq!(
        o.data.as_ref().map(Url::as_str),
        Some("http://lib.example/objs/d.bin")
    );
}

#[test]
fn foreign_elements_are_ignored() {
    let doc =
        ok(r#"<x:thing xmlns:x="urn:x"/><form><x:a xmlns:x="urn:x"><block/></x:a><block/></form>"#);
    assert_eq!(form(&doc, 0).items.len(), 1);
}

/// Each case: the page body, the text where the error must point, and words
/// the message must contain.
const ERRORS: &[(&str, &str, &str)] = &[
    (
        r#"<form><block><goto next="a.vxml" expr="'b'"/></block></form>"#,
        "<goto",
        "both 'next' and 'expr'",
    ),
    (
        r#"<form><block><goto/></block></form>"#,
        "<goto",
        "exactly one of 'next', 'expr', 'nextitem' or 'expritem'",
    ),
    (
        r#"<form><block><goto nextitem="x" expritem="'y'"/></block></form>"#,
        "<goto",
        "both",
    ),
    (r#"<form><blok/></form>"#, "<blok", "not a VoiceXML element"),
    (r#"<block/>"#, "<block", "not allowed inside <vxml>"),
    (
        r#"<form><field name="f"><assign name="x" expr="1"/></field></form>"#,
        "<assign",
        "not allowed inside <field>",
    ),
    (
        r#"<form><block><assign name="x"/></block></form>"#,
        "<assign",
        "needs a 'expr' attribute",
    ),
    (
        r#"<form><block><var/></block></form>"#,
        "<var",
        "needs a 'name' attribute",
    ),
    (
        r##"<form id="a"/><menu id="a"><choice next="#a">A</choice></menu>"##,
        "<menu",
        "dialog id 'a' is already used",
    ),
    (
        r#"<form><field name="f"/><record name="f"/></form>"#,
        "<record",
        "name 'f' is already used",
    ),
    (
        r#"<form><field name="a.b"/></form>"#,
        "<field",
        "cannot name a form item",
    ),
    (
        r#"<form><field name="f" modal="yes"/></form>"#,
        "<field",
        "'modal' of <field> must be true or false, not 'yes'",
    ),
    (
        r#"<form><field name="f"><prompt timeout="5 seconds">x</prompt></field></form>"#,
        "<prompt",
        "must be a time such as 5s or 300ms",
    ),
    (
        r#"<form><record name="r" maxtime="-1s"/></form>"#,
        "<record",
        "'maxtime' of <record>",
    ),
    (
        r#"<form><field name="f"><nomatch count="two"/></field></form>"#,
        "<nomatch",
        "'count' of <nomatch> must be a whole number",
    ),
    (
        r#"<form><field name="f"><prompt count="0">x</prompt></field></form>"#,
        "<prompt",
        "at least 1",
    ),
    (
        r#"<form id="f"><block><goto nextitem="nope"/></block></form>"#,
        "<goto",
        "form 'f' has no item with that name",
    ),
    (
        r#"<form><block><gvp:dance/></block></form>"#,
        "<gvp:dance",
        "not a GVP extension element",
    ),
    (
        r#"<form><block><gvp:send/></block></form>"#,
        "<gvp:send",
        "exactly one of 'body' or 'namelist'",
    ),
    (
        r#"<form><block><gvp:receive maxtime="forever"/></block></form>"#,
        "<gvp:receive",
        "'maxtime'",
    ),
    (
        r#"<form><block><throw/></block></form>"#,
        "<throw",
        "exactly one of 'event' or 'eventexpr'",
    ),
    (
        r#"<form><block><throw event="a" message="m" messageexpr="'m'"/></block></form>"#,
        "<throw",
        "both 'message' and 'messageexpr'",
    ),
    (
        r#"<form><block><return event="e" namelist="x"/></block></form>"#,
        "<return",
        "both 'event' and 'namelist'",
    ),
    (
        r#"<form><block><exit expr="1" namelist="x"/></block></form>"#,
        "<exit",
        "both 'expr' and 'namelist'",
    ),
    (
        r#"<form><block><submit/></block></form>"#,
        "<submit",
        "exactly one of 'next' or 'expr'",
    ),
    (
        r#"<form><transfer name="t" bridge="true" type="blind"/></form>"#,
        "<transfer",
        "both 'bridge' and 'type'",
    ),
    (
        r#"<form><transfer name="t" dest="tel:1" destexpr="'x'"/></form>"#,
        "<transfer",
        "both 'dest' and 'destexpr'",
    ),
    (
        r#"<form><transfer name="t" type="warm"/></form>"#,
        "<transfer",
        "must be blind, bridge or consultation, not 'warm'",
    ),
    (
        r#"<form><transfer name="t" gvp:connectwhen="later"/></form>"#,
        "<transfer",
        "answered or immediate",
    ),
    (
        r#"<form><subdialog name="s"/></form>"#,
        "<subdialog",
        "'src' or 'srcexpr'",
    ),
    (
        r#"<form><field name="f"><filled mode="any"/></field></form>"#,
        "<filled",
        "cannot have 'mode' or 'namelist'",
    ),
    (
        r#"<form><filled mode="some"/></form>"#,
        "<filled",
        "must be all or any",
    ),
    (
        r#"<form><block><else/></block></form>"#,
        "<else",
        "only allowed inside <if>",
    ),
    (
        r#"<form><block><if cond="a"><else/><elseif cond="b"/></if></block></form>"#,
        "<elseif",
        "cannot follow <else>",
    ),
    (
        r#"<form><block><if/></block></form>"#,
        "<if",
        "needs a 'cond' attribute",
    ),
    (
        r#"<script src="a.js">var a;</script>"#,
        "<script",
        "both a 'src'/'srcexpr' and inline code",
    ),
    (r#"<script/>"#, "<script", "needs inline code"),
    (
        r#"<form><field name="f"><grammar/></field></form>"#,
        "<grammar",
        "needs inline rules",
    ),
    (
        r#"<form><field name="f"><grammar src="a" srcexpr="b"/></field></form>"#,
        "<grammar",
        "both 'src' and 'srcexpr'",
    ),
    (
        r#"<form><field name="f"><grammar src="a" mode="touch"/></field></form>"#,
        "<grammar",
        "must be voice or dtmf",
    ),
    (
        r#"<form><field name="f"><grammar src="a" weight="heavy"/></field></form>"#,
        "<grammar",
        "'weight'",
    ),
    (
        r#"<form>hello</form>"#,
        "hello",
        "text 'hello' is not allowed directly inside <form>",
    ),
    (
        r#"<form><field name="f"><prompt><audio/></prompt></field></form>"#,
        "<audio",
        "exactly one of 'src' or 'expr'",
    ),
    (
        r#"<form><field name="f"><prompt><break time="long"/></prompt></field></form>"#,
        "<break",
        "'time' of <break>",
    ),
    (
        r#"<form><field name="f"><prompt><break strength="huge"/></prompt></field></form>"#,
        "<break",
        "x-weak",
    ),
    (
        r#"<form><field name="f"><prompt><goto next="a"/></prompt></field></form>"#,
        "<goto",
        "not allowed inside a prompt",
    ),
    (
        r#"<form><field name="f"><prompt><mark/></prompt></field></form>"#,
        "<mark",
        "'name' or 'nameexpr'",
    ),
    (
        r#"<form><field name="f"><prompt><value/></prompt></field></form>"#,
        "<value",
        "needs a 'expr' attribute",
    ),
    (
        r#"<form><field name="f"><prompt bargeintype="loud">x</prompt></field></form>"#,
        "<prompt",
        "speech or hotword",
    ),
    (
        r#"<menu id="m"><prompt>Choose</prompt></menu>"#,
        "<menu",
        "has no <choice>",
    ),
    (
        r#"<menu><choice>x</choice></menu>"#,
        "<choice",
        "exactly one of 'next', 'expr', 'event' or 'eventexpr'",
    ),
    (
        r#"<menu><choice next="a.vxml" message="m">x</choice></menu>"#,
        "<choice",
        "only go with 'event'",
    ),
    (
        r#"<menu accept="fuzzy"><choice next="a.vxml">x</choice></menu>"#,
        "<menu",
        "exact or approximate",
    ),
    (
        r#"<link next="a.vxml"/>"#,
        "<link",
        "needs a <grammar> or a 'dtmf' attribute",
    ),
    (
        r#"<form><field name="f"><option/></field></form>"#,
        "<option",
        "needs text to say or a 'dtmf'",
    ),
    (
        r#"<form><subdialog name="s" src="a.vxml"><param name="p" expr="1" value="2"/></subdialog></form>"#,
        "<param",
        "both 'expr' and 'value'",
    ),
    (
        r#"<form><subdialog name="s" src="a.vxml" method="put"/></form>"#,
        "<subdialog",
        "get or post",
    ),
    (
        r#"<data src="a.xml" fetchhint="later"/>"#,
        "<data",
        "prefetch or safe",
    ),
    (
        r#"<data src="a.xml" maxage="soon"/>"#,
        "<data",
        "'maxage' of <data>",
    ),
    (r#"<data/>"#, "<data", "'src' or 'srcexpr'"),
    (r#"<form xml:base="http://[bad"/>"#, "<form", "xml:base"),
    (
        r#"<form><block><audio src="http://[bad"/></block></form>"#,
        "<audio",
        "not a usable URI",
    ),
    (r#"<meta content="x"/>"#, "<meta", "'name' or 'http-equiv'"),
    (
        r#"<property name="x"/>"#,
        "<property",
        "needs a 'value' attribute",
    ),
    (
        r#"<form><block><foreach item="x"/></block></form>"#,
        "<foreach",
        "needs a 'array' attribute",
    ),
    (
        r#"<form><block><log><audio src="a.wav"/></log></block></form>"#,
        "<audio",
        "not allowed inside <log>",
    ),
    (
        r#"<form><block><ssml:voice xmlns:ssml="http://www.w3.org/2001/10/synthesis"><ssml:shout/></ssml:voice></block></form>"#,
        "<ssml:shout",
        "not an SSML element",
    ),
];

#[test]
fn validation_errors_name_line_and_column() {
    for (body, at, words) in ERRORS {
        let e = err(body);
        let offset = body
            .find(at)
            .unwrap_or_else(|| panic!("marker {at} in {body}"));
        let before = body.get(..offset).unwrap_or_default();
        let line = 2 + before.matches('\n').count();
        let column = before
            .rsplit('\n')
            .next()
            .unwrap_or_default()
            .chars()
            .count()
            + 1;
        assert_eq!(
            (e.pos.line as usize, e.pos.column as usize),
            (line, column),
            "{body}: {e}"
        );
        assert!(e.message.contains(words), "{body}: {e}");
        assert!(
            e.to_string().starts_with(&format!(
                "http://example.com/app/page.vxml:{line}:{column}: "
            )),
            "{e}"
        );
    }
}

#[test]
fn document_level_errors() {
    let e = compile("<form/>", &url()).expect_err("root");
    assert!(e.message.contains("root element must be <vxml>"), "{e}");
    let e = compile("<vxml/>", &url()).expect_err("version");
    assert!(e.message.contains("'version'"), "{e}");
    let e = compile("<vxml version=\"3.0\"/>", &url()).expect_err("version");
    assert!(e.message.contains("not version '3.0'"), "{e}");
    let e = compile("<vxml version=\"2.1\">\n  <form>\n</vxml>", &url()).expect_err("malformed");
    assert_eq!(e.pos.line, 3, "{e}");
    assert!(e.message.contains("does not match"), "{e}");
    let e = compile(b"<vxml version=\"2.1\">\xFF</vxml>", &url()).expect_err("bytes");
    assert!(e.message.contains("not valid UTF-8"), "{e}");
    let e = compile("", &url()).expect_err("empty");
    assert!(e.message.contains("no root element"), "{e}");
}

#[test]
fn nesting_is_bounded() {
    let deep = format!(
        "<form><block>{}{}</block></form>",
        "<if cond=\"a\">".repeat(200),
        "</if>".repeat(200)
    );
    let e = err(&deep);
    assert!(e.message.contains("nested deeper than"), "{e}");
    let fine = format!(
        "<form><block>{}{}</block></form>",
        "<if cond=\"a\">".repeat(50),
        "</if>".repeat(50)
    );
    ok(&fine);
}

#[test]
fn ten_megabyte_page_is_rejected_before_parsing_by_default() {
    let block = "<block><log expr=\"'x'\"/></block>\n";
    let body = format!(
        "<form>{}</form>",
        block.repeat(10 * 1024 * 1024 / block.len() + 1)
    );
    let src = page(&body);
    assert!(src.len() > 10 * 1024 * 1024);
    // Rejected before parsing: the error points at the first byte.
    let e = compile(&src, &url()).expect_err("too large");
    assert!(
        e.message.contains("more than the limit of 4194304 bytes"),
        "{e}"
    );
    assert_eq!(e.pos, Pos::new(1, 1));

    let options = CompileOptions {
        max_size: 16 * 1024 * 1024,
        ..CompileOptions::default()
    };
    let doc = compile_with(src.as_bytes(), &url(), &options).expect("compiles with a raised limit");
    assert_eq!(
        form(&doc, 0).items.len(),
        10 * 1024 * 1024 / block.len() + 1
    );
}

#[test]
fn realistic_page() {
    assert!(REALISTIC.len() > 50_000);
    let doc = compile(REALISTIC, &url()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(doc.dialogs.len(), 17);
    let Some(Dialog::Menu(menu)) = doc.dialogs.first() else {
        panic!("menu first");
    };
    assert_eq!(menu.choices.len(), 16);
    let svc = form(&doc, 3);
    assert_eq!(svc.id, "svc3");
    assert_eq!(svc.items.len(), 6);
    assert!(
        matches!(svc.item("agent3"), Some(FormItem::Transfer(t)) if t.method == Some(TransferMethod::Bridge))
    );
}

#[test]
fn errors_never_panic_on_truncated_or_mutated_pages() {
    // Every prefix of a real page is either a valid page or an error.
    let src = EVERY_ELEMENT.as_bytes();
    for end in (0..src.len()).step_by(7) {
        let _ = compile(src.get(..end).unwrap_or_default(), &url());
    }
    // Replacing each attribute value in turn with junk never panics.
    let mut s = EVERY_ELEMENT.to_owned();
    let quotes: Vec<usize> = s.match_indices("=\"").map(|(i, _)| i + 2).collect();
    for &q in quotes.iter().rev() {
        s.insert_str(q, "%%bad ");
        let _ = compile(&s, &url());
    }
}
