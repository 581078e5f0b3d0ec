//! SISR 1.0 semantic interpretation of a parse (SISR §2–§7), and the
//! VoiceXML 2.0 §3.1.6 mapping of an interpretation onto form items.
//!
//! A parse is turned into one ECMAScript function: each matched rule becomes
//! an inner function whose body is the rule's tags in order, interleaved with
//! the calls to the rules it referenced, so `out`, `rules`, `rules.latest()`
//! and `meta` are ordinary locals. The function is strict and called in the
//! session's context: tag variables stay local and nothing is added to the
//! global scope.
//!
//! The function's text depends only on which rules and tags matched in which
//! order (its *structure*); the matched texts are passed in an array (`__t`).
//! Each structure is compiled once per boa `Context` and kept in a bounded
//! cache in the context's host data, with the prelude helpers (compiled once
//! per context and passed as arguments), so a repeated interpretation is a
//! cache lookup and a call.
//!
//! A rule in which no tag ran has the text it matched as its value (SISR
//! §7.1); `semantics/1.0-literals` tags make their text the rule's value.
//!
//! Before any of that, a parse whose tags all have the common forms
//! (`out = "x"`, `out.a = 5`, `out.p = rules.R`, `out = rules.latest()`,
//! `out.said = meta.current().text`, …) is evaluated natively by the `fast`
//! module, which gives the same value without running ECMAScript; any other
//! tag sends the whole parse to the script.

use std::collections::HashMap;
use std::fmt::Write as _;

use boa_engine::object::builtins::JsArray;
use boa_engine::{Context, JsObject, JsValue, Source, js_string};

use super::matcher::ParseNode;

mod fast;

/// A tag script failed; the interpreter raises `error.semantic`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("semantic interpretation failed: {message}")]
pub struct SemanticError {
    /// What went wrong, with the script's own message.
    pub message: String,
}

/// A form item as the §3.1.6 mapping sees it.
#[derive(Debug, Clone, Copy)]
pub struct FieldSlot<'a> {
    /// The field's `name`.
    pub name: &'a str,
    /// The field's `slot` attribute, if any (defaults to the name).
    pub slot: Option<&'a str>,
}

/// Evaluates to `[__rules, __meta]`: the constructors of a rule's `rules`
/// and `meta` objects, kept out of the global scope.
const PRELUDE: &str = r#"(function () {
"use strict";
function __rules() {
  var r = {}; var last;
  Object.defineProperty(r, "latest", { value: function () { return last; }, enumerable: false });
  Object.defineProperty(r, "__set", { value: function (k, v) { r[k] = v; last = v; }, enumerable: false });
  return r;
}
function __meta(text) {
  var m = {}; var last;
  var cur = { text: text, score: 1.0 };
  Object.defineProperty(m, "current", { value: function () { return cur; }, enumerable: false });
  Object.defineProperty(m, "latest", { value: function () { return last; }, enumerable: false });
  Object.defineProperty(m, "__set", { value: function (k, t) { m[k] = { text: t, score: 1.0 }; last = m[k]; }, enumerable: false });
  return m;
}
return [__rules, __meta];
})()"#;

/// How many compiled structures one context keeps; past it the cache is
/// emptied, so a grammar producing ever new structures costs memory bounded
/// by this and falls back to compiling per interpretation.
const CACHE_CAPACITY: usize = 256;

/// Per-context compiled programs, stored in the boa `Context`'s host data.
#[derive(Default)]
struct ProgramCache {
    /// The prelude's `__rules` and `__meta` constructors, once compiled.
    prelude: Option<[JsValue; 2]>,
    /// Compiled interpretation functions keyed by their structure text.
    programs: HashMap<String, JsObject>,
}

/// Evaluates the tags of `parse` (SISR 1.0) and returns the root rule's value.
pub(crate) fn interpret(parse: &ParseNode, ctx: &mut Context) -> Result<JsValue, SemanticError> {
    if !has_tags(parse) {
        // Without any tag every rule's value is its text: no script to run.
        return Ok(JsValue::from(js_string!(parse.text().as_str())));
    }
    if let Some(v) = fast::interpret(parse, ctx) {
        return Ok(v);
    }
    interpret_script(parse, ctx)
}

/// Evaluates the tags of `parse` by running the generated script, whatever
/// their forms.
fn interpret_script(parse: &ParseNode, ctx: &mut Context) -> Result<JsValue, SemanticError> {
    let mut program = String::from("(function (__rules, __meta, __t) {\n\"use strict\";\n");
    let mut texts = Vec::new();
    let mut next = 0usize;
    let (root, _) = emit_rule(parse, &mut program, &mut next, &mut texts);
    let _ = writeln!(program, "return {root}();\n}})");

    // Taken out while in use: a tag script cannot reach this code again, and
    // the cache is put back whatever the outcome.
    let mut cache = ctx
        .remove_data::<ProgramCache>()
        .map(|b| *b)
        .unwrap_or_default();
    let result = run(&mut cache, program, texts, ctx);
    ctx.insert_data(cache);
    result
}

impl super::Grammar {
    /// Prepares `ctx` to interpret this grammar's parses (SISR §2): when
    /// some `semantics/1.0` tag is not a form [`interpret`] evaluates
    /// natively, the script prelude is compiled now, so the first
    /// recognition only compiles the structure it met. Runs nothing and
    /// changes no scope. Returns whether the grammar has such a tag.
    pub fn prewarm_semantics(&self, ctx: &mut Context) -> bool {
        let super::Kind::Srgs(compiled) = &*self.inner else {
            return false;
        };
        let needs_script = compiled.exprs.iter().any(|e| {
            matches!(e, super::model::Expr::Tag { text, format: super::model::TagFormat::Script }
                if !fast::is_native(text))
        });
        if needs_script {
            let mut cache = ctx
                .remove_data::<ProgramCache>()
                .map(|b| *b)
                .unwrap_or_default();
            if cache.prelude.is_none() {
                match compile_prelude(ctx) {
                    Ok(p) => cache.prelude = Some(p),
                    Err(e) => tracing::debug!("SISR prelude not precompiled: {e}"),
                }
            }
            ctx.insert_data(cache);
        }
        needs_script
    }
}

/// Looks up or compiles the structure `program` and calls it with `texts`.
fn run(
    cache: &mut ProgramCache,
    program: String,
    texts: Vec<String>,
    ctx: &mut Context,
) -> Result<JsValue, SemanticError> {
    let err = |e: boa_engine::JsError| SemanticError {
        message: e.to_string(),
    };
    let [rules, meta] = match &cache.prelude {
        Some(p) => p.clone(),
        None => {
            let p = compile_prelude(ctx).map_err(err)?;
            cache.prelude = Some(p.clone());
            p
        }
    };
    let function = match cache.programs.get(&program) {
        Some(f) => f.clone(),
        None => {
            let f = ctx
                .eval(Source::from_bytes(program.as_bytes()))
                .map_err(err)?
                .as_object()
                .filter(JsObject::is_callable)
                .ok_or_else(|| SemanticError {
                    message: "a tag ends the interpretation function early".to_owned(),
                })?;
            if cache.programs.len() >= CACHE_CAPACITY {
                cache.programs.clear();
            }
            cache.programs.insert(program, f.clone());
            f
        }
    };
    let texts = JsArray::from_iter(
        texts.iter().map(|t| JsValue::from(js_string!(t.as_str()))),
        ctx,
    );
    function
        .call(&JsValue::undefined(), &[rules, meta, texts.into()], ctx)
        .map_err(err)
}

/// Evaluates the prelude into its two constructors.
fn compile_prelude(ctx: &mut Context) -> boa_engine::JsResult<[JsValue; 2]> {
    let pair = ctx.eval(Source::from_bytes(PRELUDE))?;
    let pair = pair
        .as_object()
        .ok_or_else(|| boa_engine::JsNativeError::typ().with_message("prelude"))?;
    Ok([pair.get(0, ctx)?, pair.get(1, ctx)?])
}

fn has_tags(node: &ParseNode) -> bool {
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        match n {
            ParseNode::Tag { .. } => return true,
            ParseNode::Rule { children, .. } => stack.extend(children),
            ParseNode::Token(_) => {}
        }
    }
    false
}

fn js_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

/// Writes the function for one matched rule (and, first, those of the rules
/// it references), pushing the rule's text onto `texts`; returns the
/// function's name and the index of its text in `texts`.
fn emit_rule(
    node: &ParseNode,
    program: &mut String,
    next: &mut usize,
    texts: &mut Vec<String>,
) -> (String, usize) {
    let name = format!("__r{next}");
    *next += 1;
    let text = texts.len();
    texts.push(node.text());
    let ParseNode::Rule { children, .. } = node else {
        // Only rules become functions; a bare token or tag is its own text.
        let _ = writeln!(program, "function {name}() {{ return __t[{text}]; }}");
        return (name, text);
    };
    let mut body = String::new();
    let mut ran_tag = false;
    for c in children {
        match c {
            ParseNode::Token(_) => {}
            ParseNode::Tag { text, literal } => {
                ran_tag = true;
                if *literal {
                    let _ = writeln!(body, "out = {};", js_str(text.trim()));
                } else {
                    let _ = writeln!(body, "{};", text);
                }
            }
            ParseNode::Rule { rule, .. } => {
                let (f, t) = emit_rule(c, program, next, texts);
                let _ = writeln!(
                    body,
                    "rules.__set({r}, {f}()); meta.__set({r}, __t[{t}]);",
                    r = js_str(rule),
                );
            }
        }
    }
    let result = if ran_tag {
        "out"
    } else {
        "meta.current().text"
    };
    let _ = writeln!(
        program,
        "function {name}() {{\nvar out = {{}}; var rules = __rules(); var meta = __meta(__t[{text}]);\n{body}return {result};\n}}"
    );
    (name, text)
}

/// Which form items an interpretation fills (VoiceXML 2.0 §3.1.6). For a
/// field-level grammar (`field_level`, one entry in `fields`), an object
/// with a property named by the slot gives that property, anything else
/// the whole interpretation. For a form-level grammar, each field whose
/// slot (a name or a dotted path) names a defined property of the object
/// gets that property's value. Returns (index into `fields`, value).
pub fn map_to_fields(
    interp: &JsValue,
    fields: &[FieldSlot<'_>],
    field_level: bool,
    ctx: &mut Context,
) -> Vec<(usize, JsValue)> {
    let mut out = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        let slot = f.slot.unwrap_or(f.name);
        match slot_value(interp, slot, ctx) {
            Some(v) => out.push((i, v)),
            None if field_level => out.push((i, interp.clone())),
            None => {}
        }
    }
    out
}

/// The defined value at dotted `path` inside an object interpretation.
fn slot_value(interp: &JsValue, path: &str, ctx: &mut Context) -> Option<JsValue> {
    let mut cur = interp.clone();
    for part in path.split('.') {
        let obj = cur.as_object()?;
        if obj.is_array() {
            return None;
        }
        let v = obj.get(js_string!(part), ctx).ok()?;
        if v.is_undefined() {
            return None;
        }
        cur = v;
    }
    Some(cur)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grammar::{Candidate, Grammar, Input, Recognition, recognize};
    use url::Url;

    fn hyp(src: &str, input: &str) -> crate::grammar::Hypothesis {
        let url = Url::parse("file:///t.grxml").expect("url");
        let tree = crate::xml::parse(src).expect("xml");
        let g = Grammar::from_xml(&tree, &url).expect("grammar");
        let c = [Candidate {
            grammar: &g,
            key: 0,
            weight: 1.0,
        }];
        match recognize(&c, Input::Words(input), 1) {
            Recognition::Match { mut hypotheses, .. } => hypotheses.remove(0),
            other => panic!("no match: {other:?}"),
        }
    }

    fn json(v: &JsValue, ctx: &mut Context) -> String {
        v.to_json(ctx)
            .expect("json")
            .map(|j| j.to_string())
            .unwrap_or_default()
    }

    const PIZZA: &str = r##"<grammar xmlns="http://www.w3.org/2001/06/grammar" root="order" tag-format="semantics/1.0">
      <rule id="order">i want a <ruleref uri="#size"/> <ruleref uri="#topping"/> pizza
        <tag>out.size = rules.size; out.topping = rules.latest(); out.said = meta.current().text;</tag></rule>
      <rule id="size"><one-of><item>small<tag>out = "S"</tag></item><item>large<tag>out = "L"</tag></item></one-of></rule>
      <rule id="topping"><one-of><item>cheese</item><item>ham</item></one-of></rule>
    </grammar>"##;

    /// [`PIZZA`] with a root tag the native path does not read, so the
    /// script runs.
    const PIZZA_SCRIPT: &str = r##"<grammar xmlns="http://www.w3.org/2001/06/grammar" root="order" tag-format="semantics/1.0">
      <rule id="order">i want a <ruleref uri="#size"/> <ruleref uri="#topping"/> pizza
        <tag>var size = rules.size; out.size = size; out.topping = rules.latest(); out.said = meta.current().text;</tag></rule>
      <rule id="size"><one-of><item>small<tag>out = "S"</tag></item><item>large<tag>out = "L"</tag></item></one-of></rule>
      <rule id="topping"><one-of><item>cheese</item><item>ham</item></one-of></rule>
    </grammar>"##;

    #[test]
    fn script_tags_build_the_interpretation() {
        for grammar in [PIZZA, PIZZA_SCRIPT] {
            let mut ctx = Context::default();
            let h = hyp(grammar, "I want a large ham pizza");
            let v = h.interpret(&mut ctx).expect("interpretation");
            assert_eq!(
                v.to_json(&mut ctx).expect("json"),
                Some(
                    serde_json::json!({"size": "L", "topping": "ham", "said": "i want a large ham pizza"})
                )
            );
            // Tag variables did not leak into the global scope.
            let leaked = ctx
                .eval(Source::from_bytes(
                    "typeof rules + typeof out + typeof __rules + typeof size",
                ))
                .expect("eval");
            assert_eq!(
                leaked
                    .to_string(&mut ctx)
                    .expect("string")
                    .to_std_string_escaped(),
                "undefinedundefinedundefinedundefined"
            );
        }
    }

    #[test]
    fn default_interpretation_is_the_text() {
        let mut ctx = Context::default();
        let h = hyp(
            r##"<grammar xmlns="http://www.w3.org/2001/06/grammar" root="r"><rule id="r">hello <item repeat="0-1">world</item></rule></grammar>"##,
            "hello world",
        );
        let v = h.interpret(&mut ctx).expect("interpretation");
        assert_eq!(json(&v, &mut ctx), r#""hello world""#);
    }

    #[test]
    fn literal_tags_are_values() {
        let mut ctx = Context::default();
        let h = hyp(
            r##"<grammar xmlns="http://www.w3.org/2001/06/grammar" root="r" tag-format="semantics/1.0-literals"><rule id="r"><one-of><item>yes<tag>true_value</tag></item><item>no<tag>false_value</tag></item></one-of></rule></grammar>"##,
            "no",
        );
        let v = h.interpret(&mut ctx).expect("interpretation");
        assert_eq!(json(&v, &mut ctx), r#""false_value""#);
    }

    #[test]
    fn throwing_tag_is_a_semantic_error() {
        let mut ctx = Context::default();
        let h = hyp(
            r##"<grammar xmlns="http://www.w3.org/2001/06/grammar" root="r"><rule id="r">boom<tag>throw new Error("bad tag")</tag></rule></grammar>"##,
            "boom",
        );
        let e = h.interpret(&mut ctx).expect_err("throws");
        assert!(e.message.contains("bad tag"), "{e}");
        let h = hyp(
            r##"<grammar xmlns="http://www.w3.org/2001/06/grammar" root="r"><rule id="r">boom<tag>undeclared = 1</tag></rule></grammar>"##,
            "boom",
        );
        assert!(
            h.interpret(&mut ctx).is_err(),
            "strict mode: no implicit globals"
        );
    }

    #[test]
    fn maps_objects_onto_fields() {
        let mut ctx = Context::default();
        let v = ctx
            .eval(Source::from_bytes(
                r#"({size: "L", drink: {kind: "cola"}})"#,
            ))
            .expect("object");
        let fields = [
            FieldSlot {
                name: "size",
                slot: None,
            },
            FieldSlot {
                name: "beverage",
                slot: Some("drink.kind"),
            },
            FieldSlot {
                name: "crust",
                slot: None,
            },
        ];
        let got = map_to_fields(&v, &fields, false, &mut ctx);
        let got: Vec<(usize, String)> = got
            .into_iter()
            .map(|(i, v)| (i, json(&v, &mut ctx)))
            .collect();
        assert_eq!(
            got,
            vec![(0, r#""L""#.to_owned()), (1, r#""cola""#.to_owned())]
        );

        let scalar = JsValue::from(js_string!("yes"));
        let one = [FieldSlot {
            name: "confirm",
            slot: None,
        }];
        assert_eq!(map_to_fields(&scalar, &one, true, &mut ctx).len(), 1);
        assert!(map_to_fields(&scalar, &one, false, &mut ctx).is_empty());
    }

    fn cached_programs(ctx: &Context) -> usize {
        ctx.get_data::<ProgramCache>()
            .map_or(0, |c| c.programs.len())
    }

    fn recognize_one(g: &Grammar, input: &str) -> crate::grammar::Hypothesis {
        let c = [Candidate {
            grammar: g,
            key: 0,
            weight: 1.0,
        }];
        match recognize(&c, Input::Words(input), 1) {
            Recognition::Match { mut hypotheses, .. } => hypotheses.remove(0),
            other => panic!("no match: {other:?}"),
        }
    }

    #[test]
    fn one_cached_function_serves_different_tokens() {
        let mut ctx = Context::default();
        let url = Url::parse("file:///t.grxml").expect("url");
        let g = Grammar::from_xml(&crate::xml::parse(PIZZA_SCRIPT).expect("xml"), &url)
            .expect("grammar");
        let ham = recognize_one(&g, "i want a large ham pizza")
            .interpret(&mut ctx)
            .expect("ham");
        let cheese = recognize_one(&g, "i want a large cheese pizza")
            .interpret(&mut ctx)
            .expect("cheese");
        assert_eq!(cached_programs(&ctx), 1, "same structure, one function");
        assert_eq!(
            ham.to_json(&mut ctx).expect("json"),
            Some(
                serde_json::json!({"size": "L", "topping": "ham", "said": "i want a large ham pizza"})
            )
        );
        assert_eq!(
            cheese.to_json(&mut ctx).expect("json"),
            Some(
                serde_json::json!({"size": "L", "topping": "cheese", "said": "i want a large cheese pizza"})
            )
        );
        // Another tag ran: another structure.
        recognize_one(&g, "i want a small ham pizza")
            .interpret(&mut ctx)
            .expect("small");
        assert_eq!(cached_programs(&ctx), 2);
    }

    #[test]
    fn cache_is_bounded_and_nothing_leaks() {
        let mut ctx = Context::default();
        let globals = "Object.getOwnPropertyNames(globalThis).join()";
        let before = ctx.eval(Source::from_bytes(globals)).expect("globals");
        let items: String = (0..CACHE_CAPACITY + 44)
            .map(|i| format!("<item>w{i}<tag>var v = {i}; out = v * 2;</tag></item>"))
            .collect();
        let src = format!(
            r##"<grammar xmlns="http://www.w3.org/2001/06/grammar" root="r" tag-format="semantics/1.0"><rule id="r"><one-of>{items}</one-of></rule></grammar>"##
        );
        let url = Url::parse("file:///t.grxml").expect("url");
        let g = Grammar::from_xml(&crate::xml::parse(&src).expect("xml"), &url).expect("grammar");
        for round in 0..2 {
            for i in 0..CACHE_CAPACITY + 44 {
                let v = recognize_one(&g, &format!("w{i}"))
                    .interpret(&mut ctx)
                    .expect("value");
                assert_eq!(
                    v.to_number(&mut ctx).expect("number"),
                    (i * 2) as f64,
                    "round {round}"
                );
                assert!(cached_programs(&ctx) <= CACHE_CAPACITY);
            }
        }
        assert!(cached_programs(&ctx) > 0);
        let after = ctx.eval(Source::from_bytes(globals)).expect("globals");
        assert_eq!(json(&before, &mut ctx), json(&after, &mut ctx));
    }

    #[test]
    fn prewarming_compiles_the_prelude_only_for_script_tags() {
        let url = Url::parse("file:///t.grxml").expect("url");
        let compile =
            |src: &str| Grammar::from_xml(&crate::xml::parse(src).expect("xml"), &url).expect("g");
        let mut ctx = Context::default();
        assert!(!compile(PIZZA).prewarm_semantics(&mut ctx));
        assert!(ctx.get_data::<ProgramCache>().is_none());
        let scripted = compile(PIZZA_SCRIPT);
        assert!(scripted.prewarm_semantics(&mut ctx));
        assert!(
            ctx.get_data::<ProgramCache>()
                .is_some_and(|c| c.prelude.is_some())
        );
        // Nothing else was compiled, and interpretation still works.
        assert_eq!(cached_programs(&ctx), 0);
        let v = recognize_one(&scripted, "i want a small cheese pizza")
            .interpret(&mut ctx)
            .expect("value");
        assert_eq!(
            v.to_json(&mut ctx).expect("json"),
            Some(
                serde_json::json!({"size": "S", "topping": "cheese", "said": "i want a small cheese pizza"})
            )
        );
    }

    #[test]
    fn a_cached_throwing_tag_still_reports() {
        let mut ctx = Context::default();
        let h = hyp(
            r##"<grammar xmlns="http://www.w3.org/2001/06/grammar" root="r"><rule id="r"><item repeat="1-3">boom</item><tag>if (meta.current().text.length > 4) throw new Error("too long: " + meta.current().text)</tag></rule></grammar>"##,
            "boom boom",
        );
        for _ in 0..2 {
            let e = h.interpret(&mut ctx).expect_err("throws");
            assert!(e.message.contains("too long: boom boom"), "{e}");
        }
        assert_eq!(cached_programs(&ctx), 1);
        // A syntax error in a tag is reported and not cached.
        let bad = hyp(
            r##"<grammar xmlns="http://www.w3.org/2001/06/grammar" root="r"><rule id="r">oops<tag>out = (</tag></rule></grammar>"##,
            "oops",
        );
        assert!(bad.interpret(&mut ctx).is_err());
        assert_eq!(cached_programs(&ctx), 1);
    }
}
