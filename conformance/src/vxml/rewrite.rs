//! The native rewrite of the W3C conformance markup (namespace
//! `http://www.w3.org/2002/vxml-conformance`, prefix `conf`) into plain
//! VoiceXML, doing what the IR suite's stylesheet does: `conf:pass` and
//! `conf:fail` become a spoken verdict and `<exit/>`, `conf:speech`,
//! `conf:dtmf` and friends become requests the tester (here the
//! [`super::answer::Answerer`]) acts on, `conf:grammar` and `conf:phrase`
//! become a grammar and the words of a city.

use std::sync::Arc;

use vxp_interpreter::xml::{self, Attribute, Element, Name, Node, Pos, Text};

/// The namespace of the conformance markup.
pub const CONF_NS: &str = "http://www.w3.org/2002/vxml-conformance";
/// The VoiceXML namespace the rewritten elements are put in.
pub const VXML_NS: &str = "http://www.w3.org/2001/vxml";

/// Why a test document cannot be rewritten.
#[derive(Debug, thiserror::Error)]
pub enum RewriteError {
    /// The document is not well-formed XML.
    #[error("{}:{}: {}", .0.pos.line, .0.pos.column, .0.message)]
    Xml(xml::XmlError),
    /// A `conf:` element the rewrite does not know.
    #[error("{line}:{column}: unknown conformance element <conf:{name}>")]
    Unknown {
        /// Local name.
        name: String,
        /// Line of the element.
        line: u32,
        /// Column of the element.
        column: u32,
    },
    /// An utterance token outside the suite's table.
    #[error("{line}:{column}: unknown utterance token `{token}`")]
    Token {
        /// The token.
        token: String,
        /// Line of the element.
        line: u32,
        /// Column of the element.
        column: u32,
    },
}

/// The words the suite's utterance tokens stand for.
pub fn words_of(token: &str) -> Option<&'static str> {
    Some(match token.trim() {
        "alpha" => "Chicago",
        "bravo" => "San Francisco",
        "charlie" => "New York",
        "delta" => "London",
        "echo" => "Tokyo",
        "foxtrot" => "Truth or Consequences",
        "golf" => "Hackensack",
        "hotel" => "Standardsville",
        "help" => "help",
        "cancel" => "cancel",
        "exit" => "exit",
        "yes" => "yes",
        _ => return None,
    })
}

// The requests use the IR stylesheet's wording, so documents a suite ships
// already transformed are answered the same way.

/// The prompt asking the tester to stay silent.
pub const ASK_NOINPUT: &str = "No input expected. Say nothing";
/// The prompt asking for an utterance no grammar matches.
pub const ASK_NOMATCH: &str = "Say something unrecognizable";
/// The prompt asking the tester to hang up.
pub const ASK_HANGUP: &str = "Hang up now";
/// The prompt asking for a recording containing a word (`'Chicago'.` follows).
pub const ASK_RECORDING_WORD: &str = "Recite a sentence containing the word '";
/// The prompt asking for a recording without any of the suite's words.
pub const ASK_RECORDING: &str = "Recite your favorite nursery rhyme";

/// Rewrites a `.txml` test document into VoiceXML text.
pub fn rewrite(src: &str) -> Result<String, RewriteError> {
    let mut root = xml::parse(src).map_err(RewriteError::Xml)?;
    rewrite_children(&mut root)?;
    root.ns_decls.retain(|(_, uri)| uri != CONF_NS);
    Ok(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}\n",
        root.to_xml()
    ))
}

fn name(local: &str) -> Name {
    Name {
        ns: Some(Arc::from(VXML_NS)),
        local: local.into(),
        prefix: None,
    }
}

fn el(local: &str, pos: Pos, attrs: &[(&str, &str)], children: Vec<Node>) -> Element {
    Element {
        name: name(local),
        attrs: attrs
            .iter()
            .map(|(k, v)| Attribute {
                name: Name {
                    ns: None,
                    local: (*k).into(),
                    prefix: None,
                },
                value: (*v).into(),
                pos,
            })
            .collect(),
        ns_decls: Vec::new(),
        children,
        pos,
    }
}

fn text(s: &str, pos: Pos) -> Node {
    Node::Text(Text {
        text: s.into(),
        pos,
    })
}

fn prompt(s: &str, pos: Pos, extra: &[(&str, &str)]) -> Node {
    Node::Element(el("prompt", pos, extra, vec![text(s, pos)]))
}

/// Where a `conf:` element stands, which decides what its request becomes
/// (as the IR stylesheet does: no tapering in `block`, `noinput`, `nomatch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    /// In `block`, `noinput` or `nomatch`: one prompt.
    Executable,
    /// Anywhere else (fields, menus, other handlers): prompts tapered over
    /// the prompt counter.
    Field,
    /// Inside a `<prompt>` (or its speech markup): words only.
    Prompt,
}

/// Recursion follows the parsed tree, whose depth the XML parser bounds.
fn rewrite_children(e: &mut Element) -> Result<(), RewriteError> {
    rewrite_in(e, Context::Executable)
}

fn rewrite_in(e: &mut Element, outer: Context) -> Result<(), RewriteError> {
    let vxml = e.name.ns.as_deref() == Some(VXML_NS);
    let context = if outer == Context::Prompt || (vxml && e.name.local == "prompt") {
        Context::Prompt
    } else if vxml && matches!(e.name.local.as_str(), "block" | "noinput" | "nomatch") {
        Context::Executable
    } else {
        Context::Field
    };
    let old = std::mem::take(&mut e.children);
    let mut out = Vec::with_capacity(old.len());
    for node in old {
        match node {
            Node::Element(c) if c.name.ns.as_deref() == Some(CONF_NS) => {
                out.extend(replace(&c, context)?);
            }
            Node::Element(mut c) => {
                rewrite_in(&mut c, context)?;
                out.push(Node::Element(c));
            }
            text @ Node::Text(_) => out.push(text),
        }
    }
    e.children = out;
    Ok(())
}

fn token_words(c: &Element, attr: &str) -> Result<&'static str, RewriteError> {
    let token = c.attr(attr).unwrap_or_default();
    words_of(token).ok_or_else(|| RewriteError::Token {
        token: token.to_owned(),
        line: c.pos.line,
        column: c.pos.column,
    })
}

/// A request: words inside a prompt, one prompt in `block`, `noinput` and
/// `nomatch`, prompts tapering over the prompt counter elsewhere.
fn request(base: &str, pos: Pos, context: Context) -> Vec<Node> {
    match context {
        Context::Prompt => return vec![text(&format!(" {base}. "), pos)],
        Context::Executable => return vec![prompt(&format!("{base}."), pos, &[])],
        Context::Field => {}
    }
    [("1", ""), ("2", " again"), ("3", " one more time")]
        .iter()
        .map(|(count, suffix)| prompt(&format!("{base}{suffix}."), pos, &[("count", count)]))
        .collect()
}

/// Silence and nomatch requests taper wherever a prompt can stand.
fn taper_unless_prompt(context: Context) -> Context {
    match context {
        Context::Prompt => Context::Prompt,
        Context::Executable | Context::Field => Context::Field,
    }
}

/// A hang-up request is asked once.
fn single(context: Context) -> Context {
    match context {
        Context::Prompt => Context::Prompt,
        Context::Executable | Context::Field => Context::Executable,
    }
}

fn replace(c: &Element, context: Context) -> Result<Vec<Node>, RewriteError> {
    let pos = c.pos;
    let exit = || Node::Element(el("exit", pos, &[], Vec::new()));
    Ok(match c.name.local.as_str() {
        // The log carries the verdict where no prompt can play any more
        // (after the caller hung up).
        "pass" => vec![
            Node::Element(el(
                "log",
                pos,
                &[("label", "conf:pass")],
                vec![text("pass", pos)],
            )),
            prompt("pass", pos, &[]),
            exit(),
        ],
        "fail" => {
            let mut nodes = vec![prompt("fail", pos, &[])];
            let reason = c.attr("reason");
            let expr = c.attr("expr");
            let mut log = Vec::new();
            if let Some(r) = reason {
                log.push(text(r, pos));
                nodes.push(prompt(r, pos, &[]));
            }
            if let Some(x) = expr {
                log.push(Node::Element(el("value", pos, &[("expr", x)], Vec::new())));
                nodes.push(Node::Element(el(
                    "prompt",
                    pos,
                    &[],
                    vec![Node::Element(el("value", pos, &[("expr", x)], Vec::new()))],
                )));
            }
            nodes.insert(
                1,
                Node::Element(el("log", pos, &[("label", "conf:fail")], log)),
            );
            nodes.push(exit());
            nodes
        }
        "comment" => vec![Node::Element(el(
            "log",
            pos,
            &[("label", "conf:comment")],
            vec![text(&c.deep_text(), pos)],
        ))],
        "speech" => request(&format!("Say '{}'", token_words(c, "value")?), pos, context),
        "dtmf" => request(
            &format!("Press '{}'", c.attr("value").unwrap_or_default()),
            pos,
            context,
        ),
        "noinput" => request(ASK_NOINPUT, pos, taper_unless_prompt(context)),
        "nomatch" => request(ASK_NOMATCH, pos, taper_unless_prompt(context)),
        "hangup" => request(ASK_HANGUP, pos, single(context)),
        "recording" => match c.attr("value").map(str::trim) {
            Some(token) if token != "nonspeech" => request(
                &format!("{ASK_RECORDING_WORD}{}'", token_words(c, "value")?),
                pos,
                taper_unless_prompt(context),
            ),
            _ => request(ASK_RECORDING, pos, taper_unless_prompt(context)),
        },
        "phrase" => vec![text(token_words(c, "utterance")?, pos)],
        "grammar" => vec![Node::Element(grammar(c)?)],
        other => {
            return Err(RewriteError::Unknown {
                name: other.to_owned(),
                line: pos.line,
                column: pos.column,
            });
        }
    })
}

/// Script for one `conf:key`: a value, or an object built from nested keys.
/// Recursion follows the parsed tree, whose depth the XML parser bounds.
fn key_script(k: &Element, path: &str, script: &mut String) {
    let name = k.attr("name").unwrap_or("value");
    let here = format!("{path}.{name}");
    match k.attr("value") {
        Some(v) => script.push_str(&format!(" {here}={};", js_string(v))),
        None => {
            script.push_str(&format!(" {here}=new Object();"));
            for child in k.elements().filter(|c| c.name.is(CONF_NS, "key")) {
                key_script(child, &here, script);
            }
        }
    }
}

/// ECMAScript string literal for a tag.
fn js_string(s: &str) -> String {
    let mut out = String::from("'");
    for ch in s.chars() {
        match ch {
            '\'' | '\\' => {
                out.push('\\');
                out.push(ch);
            }
            '\n' => out.push_str("\\n"),
            _ => out.push(ch),
        }
    }
    out.push('\'');
    out
}

fn grammar(c: &Element) -> Result<Element, RewriteError> {
    let pos = c.pos;
    let words = token_words(c, "utterance")?;
    let keys: Vec<&Element> = c.elements().filter(|k| k.name.is(CONF_NS, "key")).collect();
    let tag = if !keys.is_empty() {
        let mut script = String::from("out=new Object();");
        for k in keys {
            key_script(k, "out", &mut script);
        }
        Some(script)
    } else {
        c.attr("interp").map(|i| format!("out={};", js_string(i)))
    };
    let mut item = vec![text(words, pos)];
    if let Some(t) = tag {
        item.push(Node::Element(el("tag", pos, &[], vec![text(&t, pos)])));
    }
    let rule = el(
        "rule",
        pos,
        &[("id", "conf_root"), ("scope", "public")],
        vec![Node::Element(el("item", pos, &[], item))],
    );
    let mut g = el(
        "grammar",
        pos,
        &[
            ("version", "1.0"),
            ("root", "conf_root"),
            ("mode", "voice"),
            ("tag-format", "semantics/1.0"),
        ],
        vec![Node::Element(rule)],
    );
    // Attributes the test sets on conf:grammar (scope, weight, ...) carry over.
    for a in &c.attrs {
        let local = a.name.local.as_str();
        if a.name.ns.is_none() && !matches!(local, "utterance" | "interp") {
            g.attrs.retain(|x| x.name.local != local);
            g.attrs.push(a.clone());
        }
    }
    Ok(g)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = r#"<vxml version="2.1" xmlns="http://www.w3.org/2001/vxml" xmlns:conf="http://www.w3.org/2002/vxml-conformance">"#;

    fn doc(body: &str) -> String {
        format!("{HEAD}{body}</vxml>")
    }

    #[test]
    fn pass_and_fail() {
        let out = rewrite(&doc(
            r#"<form><block><conf:pass/></block><block><conf:fail reason="bad" expr="x"/></block></form>"#,
        ))
        .expect("rewrite");
        assert!(
            out.contains(r#"<log label="conf:pass">pass</log><prompt>pass</prompt><exit/>"#),
            "{out}"
        );
        assert!(out.contains(
            r#"<prompt>fail</prompt><log label="conf:fail">bad<value expr="x"/></log><prompt>bad</prompt><prompt><value expr="x"/></prompt><exit/>"#
        ), "{out}");
        assert!(!out.contains("vxml-conformance"), "{out}");
    }

    #[test]
    fn speech_tapers_in_field_only() {
        let out = rewrite(&doc(
            r#"<form><field name="f"><conf:speech value="bravo"/></field><block><conf:dtmf value="12"/></block></form>"#,
        ))
        .expect("rewrite");
        assert!(out.contains(r#"<prompt count="1">Say 'San Francisco'.</prompt><prompt count="2">Say 'San Francisco' again.</prompt><prompt count="3">Say 'San Francisco' one more time.</prompt>"#), "{out}");
        assert!(out.contains("<prompt>Press '12'.</prompt>"), "{out}");
        let out = rewrite(&doc(
            r##"<menu><prompt>Pick. <conf:dtmf value="2"/></prompt><choice dtmf="2" next="#a"/></menu>"##,
        ))
        .expect("rewrite");
        assert!(out.contains("<prompt>Pick.  Press '2'. </prompt>"), "{out}");
    }

    #[test]
    fn grammar_with_interp_and_keys() {
        let out = rewrite(&doc(
            r#"<form><field name="f"><conf:grammar utterance="alpha" interp="x'y"/><conf:grammar utterance="delta"><conf:key name="a" value="1"/><conf:key name="b" value="2"/></conf:grammar><conf:grammar utterance="echo"><conf:key name="o"><conf:key name="p" value="3"/></conf:key></conf:grammar></field></form>"#,
        ))
        .expect("rewrite");
        assert!(
            out.contains(r#"<item>Chicago<tag>out='x\'y';</tag></item>"#),
            "{out}"
        );
        assert!(
            out.contains("<item>London<tag>out=new Object(); out.a='1'; out.b='2';</tag></item>"),
            "{out}"
        );
        assert!(out.contains(r#"root="conf_root""#), "{out}");
        assert!(
            out.contains(
                "<item>Tokyo<tag>out=new Object(); out.o=new Object(); out.o.p='3';</tag></item>"
            ),
            "{out}"
        );
    }

    #[test]
    fn phrase_comment_and_requests() {
        let out = rewrite(&doc(
            r#"<form><block><prompt><conf:phrase utterance="foxtrot"/></prompt><conf:comment>note</conf:comment><conf:noinput/><conf:nomatch/><conf:hangup/><conf:recording/><conf:recording value="golf"/></block></form>"#,
        ))
        .expect("rewrite");
        assert!(
            out.contains("<prompt>Truth or Consequences</prompt>"),
            "{out}"
        );
        assert!(
            out.contains(r#"<log label="conf:comment">note</log>"#),
            "{out}"
        );
        for ask in [ASK_NOINPUT, ASK_NOMATCH, ASK_HANGUP, ASK_RECORDING] {
            assert!(out.contains(ask), "{out}");
        }
        assert!(
            out.contains(r#"<prompt count="2">No input expected. Say nothing again.</prompt>"#),
            "{out}"
        );
        assert!(out.contains("<prompt>Hang up now.</prompt>"), "{out}");
        assert!(
            out.contains(
                r#"<prompt count="1">Recite a sentence containing the word 'Hackensack'.</prompt>"#
            ),
            "{out}"
        );
    }

    #[test]
    fn unknown_markup_is_reported() {
        let err = rewrite(&doc("<form><block><conf:bogus/></block></form>")).expect_err("unknown");
        assert!(matches!(err, RewriteError::Unknown { ref name, .. } if name == "bogus"));
        let err = rewrite(&doc(
            r#"<form><block><conf:speech value="zulu"/></block></form>"#,
        ))
        .expect_err("token");
        assert!(matches!(err, RewriteError::Token { .. }));
    }

    #[test]
    fn keeps_prolog_comments_and_cdata_safe() {
        let src = concat!(
            "<?xml version=\"1.0\"?>\n<!-- header -->\n",
            r#"<vxml version="2.0" xmlns="http://www.w3.org/2001/vxml" xmlns:conf="http://www.w3.org/2002/vxml-conformance">"#,
            "<script><![CDATA[ var a = 1 < 2; ]]></script><form><block><conf:pass/></block></form></vxml>"
        );
        let out = rewrite(src).expect("rewrite");
        assert!(out.contains("var a = 1 &lt; 2;"), "{out}");
        vxp_interpreter::xml::parse(&out).expect("the output is well-formed");
    }
}
