//! Pre-warming a session's ECMAScript host when a document is entered: the
//! page's expressions, conditions and inline scripts are compiled into the
//! host's cache (VoiceXML 2.0 §5.1, §5.3.12), so the first dialog turns run
//! cached code instead of parsing, and the page's inline grammars prepare
//! their semantic interpretation (SISR 1.0) in the host's context. Compiling
//! has no side effects on the scopes; nothing is evaluated here.
//!
//! The walk is bounded: it stops when the host's cache has no free slot (a
//! large page never evicts what the session already uses), and nested
//! content deeper than [`MAX_DEPTH`] is skipped.

use crate::script::{Scope, ScriptHost};
use crate::vxml::model::{
    Catch, Computed, Dialog, Document, Expr, Filled, FormItem, GrammarRef, GrammarSource, Init,
    Link, LogPart, Prompt, PromptNode, ScriptSource, Stmt,
};

/// Deepest nesting of executable or speech content the walk follows.
const MAX_DEPTH: usize = 64;

/// Compiles the code of `doc` into `host`'s cache: document-level scripts in
/// `doc_scope` (`Application` for a root document), form-level ones in the
/// dialog scope, the rest as they are evaluated. Returns how many texts were
/// offered before the cache filled.
pub(super) fn prewarm(host: &mut ScriptHost, doc: &Document, doc_scope: Scope) -> usize {
    // Grammars first: they cost a cache slot of their own (the SISR prelude),
    // never one of the expression cache's.
    grammars(host, doc);
    let mut w = Warmer { host, offered: 0 };
    w.document(doc, doc_scope);
    w.offered
}

/// Prepares the semantic interpretation of every inline grammar of `doc`
/// (document and item `<link>`s, form, item and menu choice grammars);
/// returns how many need the script path.
fn grammars(host: &mut ScriptHost, doc: &Document) -> usize {
    let ctx = host.context();
    let mut scripted = 0;
    let mut warm = |list: &[GrammarRef]| {
        for g in list {
            if let GrammarSource::Inline(inline) = &g.source
                && inline.compiled.prewarm_semantics(ctx)
            {
                scripted += 1;
            }
        }
    };
    let links = |warm: &mut dyn FnMut(&[GrammarRef]), list: &[Link]| {
        list.iter().for_each(|l| warm(&l.grammars));
    };
    links(&mut warm, &doc.links);
    for d in &doc.dialogs {
        match d {
            Dialog::Form(f) => {
                warm(&f.grammars);
                links(&mut warm, &f.links);
                for item in &f.items {
                    let c = item.common();
                    warm(&c.grammars);
                    links(&mut warm, &c.links);
                }
            }
            Dialog::Menu(m) => m.choices.iter().for_each(|c| warm(&c.grammars)),
        }
    }
    scripted
}

struct Warmer<'a> {
    host: &'a mut ScriptHost,
    offered: usize,
}

/// Whether the walk goes on (`false` once the cache is full).
type Go = bool;

impl Warmer<'_> {
    fn expr(&mut self, e: &Expr) -> Go {
        self.offered += 1;
        self.host.precompile_expression(&e.src)
    }

    fn opt(&mut self, e: Option<&Expr>) -> Go {
        e.is_none_or(|e| self.expr(e))
    }

    fn computed<T>(&mut self, c: Option<&Computed<T>>) -> Go {
        match c {
            Some(Computed::Dynamic(e)) => self.expr(e),
            _ => true,
        }
    }

    fn script(&mut self, s: &ScriptSource, scope: Scope) -> Go {
        match s {
            ScriptSource::Inline(e) => {
                self.offered += 1;
                self.host.precompile_script(&e.src, scope)
            }
            ScriptSource::SrcExpr(e) => self.expr(e),
            ScriptSource::Src(_) => true,
        }
    }

    fn document(&mut self, doc: &Document, scope: Scope) -> Go {
        self.init(&doc.init, scope)
            && doc.dialogs.iter().all(|d| self.dialog(d))
            && self.catches(&doc.catches)
    }

    fn init(&mut self, list: &[Init], scope: Scope) -> Go {
        list.iter().all(|i| match i {
            Init::Var(v) => self.opt(v.expr.as_ref()),
            Init::Script(s) => self.script(&s.source, scope),
            Init::Data(_) => true,
        })
    }

    fn dialog(&mut self, d: &Dialog) -> Go {
        match d {
            Dialog::Form(f) => {
                self.init(&f.init, Scope::Dialog)
                    && f.items.iter().all(|i| self.item(i))
                    && self.filled(&f.filled)
                    && self.catches(&f.catches)
            }
            Dialog::Menu(m) => {
                self.init(&m.init, Scope::Dialog)
                    && self.prompts(&m.prompts)
                    && m.choices.iter().all(|c| self.nodes(&c.content, 0))
                    && self.catches(&m.catches)
            }
        }
    }

    fn item(&mut self, item: &FormItem) -> Go {
        let c = item.common();
        let own = match item {
            FormItem::Block(b) => self.stmts(&b.body, 0),
            _ => true,
        };
        self.opt(c.cond.as_ref())
            && self.opt(c.expr.as_ref())
            && self.prompts(&c.prompts)
            && own
            && self.filled(&c.filled)
            && self.catches(&c.catches)
    }

    fn filled(&mut self, list: &[Filled]) -> Go {
        list.iter().all(|f| self.stmts(&f.body, 0))
    }

    fn catches(&mut self, list: &[Catch]) -> Go {
        list.iter()
            .all(|c| self.opt(c.cond.as_ref()) && self.stmts(&c.body, 0))
    }

    fn prompts(&mut self, list: &[std::sync::Arc<Prompt>]) -> Go {
        list.iter().all(|p| self.prompt(p, 0))
    }

    fn prompt(&mut self, p: &Prompt, depth: usize) -> Go {
        self.opt(p.cond.as_ref()) && self.nodes(&p.content, depth)
    }

    fn nodes(&mut self, list: &[PromptNode], depth: usize) -> Go {
        if depth > MAX_DEPTH {
            return true;
        }
        let d = depth + 1;
        list.iter().all(|n| match n {
            PromptNode::Value(e) => self.expr(e),
            PromptNode::Audio(a) => self.computed(Some(&a.src)) && self.nodes(&a.fallback, d),
            PromptNode::SayAs(s) => self.nodes(&s.content, d),
            PromptNode::Prosody(s) => self.nodes(&s.content, d),
            PromptNode::Voice(s) => self.nodes(&s.content, d),
            PromptNode::Emphasis(s) => self.nodes(&s.content, d),
            PromptNode::Paragraph(s) | PromptNode::Sentence(s) => self.nodes(&s.content, d),
            PromptNode::Enumerate(e) => self.nodes(&e.template, d),
            PromptNode::Foreach(f) => self.expr(&f.array) && self.nodes(&f.content, d),
            _ => true,
        })
    }

    fn stmts(&mut self, list: &[Stmt], depth: usize) -> Go {
        if depth > MAX_DEPTH {
            return true;
        }
        let d = depth + 1;
        list.iter().all(|s| match s {
            Stmt::Assign(a) => self.expr(&a.expr),
            Stmt::Var(v) => self.opt(v.expr.as_ref()),
            Stmt::If(i) => i
                .branches
                .iter()
                .all(|b| self.opt(b.cond.as_ref()) && self.stmts(&b.body, d)),
            Stmt::Foreach(f) => self.expr(&f.array) && self.stmts(&f.body, d),
            Stmt::Log(l) => {
                l.content.iter().all(|p| match p {
                    LogPart::Value(e) => self.expr(e),
                    LogPart::Text(_) => true,
                }) && self.opt(l.expr.as_ref())
            }
            Stmt::Exit(e) => self.opt(e.expr.as_ref()),
            Stmt::Throw(t) => self.computed(Some(&t.event)) && self.computed(t.message.as_ref()),
            Stmt::Prompt(p) => self.prompt(p, d),
            Stmt::Script(s) => self.script(&s.source, Scope::Anonymous),
            _ => true,
        })
    }
}

#[cfg(test)]
mod tests {
    use url::Url;

    use super::prewarm;
    use crate::script::{Scope, ScriptHost, ScriptLimits};
    use crate::vxml::parse;

    const PAGE: &str = r#"<?xml version="1.0"?>
<vxml version="2.1" xmlns="http://www.w3.org/2001/vxml">
  <var name="n" expr="1 + 1"/>
  <script>var ran = true; counter = 7;</script>
  <form id="f">
    <var name="greeting" expr="'hi ' + n"/>
    <block cond="n &gt; 0">
      <if cond="n == 2"><log>two <value expr="n * 10"/></log>
      <else/><assign name="n" expr="n - 1"/></if>
      <prompt>Hello <value expr="greeting"/></prompt>
    </block>
  </form>
</vxml>"#;

    fn page() -> std::sync::Arc<crate::vxml::model::Document> {
        let url = Url::parse("http://example.test/p.vxml").expect("a valid URL");
        parse::compile(PAGE, &url).expect("the page compiles")
    }

    #[test]
    fn every_expression_and_script_of_the_page_is_compiled_without_running() {
        let mut host = ScriptHost::new(ScriptLimits::default()).expect("a host");
        host.enter(Scope::Application);
        host.enter(Scope::Document);
        let offered = prewarm(&mut host, &page(), Scope::Document);
        // 1 + 1, the script, 'hi ' + n, n > 0, n == 2, n * 10, n - 1, greeting
        // (offered, but a plain variable is read without compiled code)
        assert_eq!(offered, 8);
        assert_eq!(host.compiled_count(), 7);
        // Compiled, not run: the script's variables do not exist yet.
        assert!(!host.is_declared("ran"));
        assert!(!host.is_declared("counter"));
        host.run_script("var ran = true; counter = 7;", Scope::Document)
            .expect("the cached script runs");
        assert_eq!(host.compiled_count(), 7);
        assert!(host.is_declared("ran"));
    }

    #[test]
    fn inline_grammars_with_script_tags_are_counted() {
        let grammar = |tag: &str| {
            format!(
                r#"<grammar mode="dtmf" root="r" xmlns="http://www.w3.org/2001/06/grammar"><rule id="r">1<tag>{tag}</tag></rule></grammar>"#
            )
        };
        let page = format!(
            r#"<?xml version="1.0"?>
<vxml version="2.1" xmlns="http://www.w3.org/2001/vxml">
  <link next="other.vxml">{}</link>
  <form id="f">
    <field name="a">{}</field>
    <field name="b">{}</field>
  </form>
</vxml>"#,
            grammar("out = 'native'"),
            grammar("out.n = 1"),
            grammar("var x = 2; out = x * 2"),
        );
        let url = Url::parse("http://example.test/g.vxml").expect("a valid URL");
        let doc = parse::compile(&page, &url).expect("the page compiles");
        let mut host = ScriptHost::new(ScriptLimits::default()).expect("a host");
        assert_eq!(super::grammars(&mut host, &doc), 1);
    }

    #[test]
    fn a_full_cache_stops_the_walk_and_evicts_nothing() {
        let limits = ScriptLimits {
            cache_entries: 3,
            ..ScriptLimits::default()
        };
        let mut host = ScriptHost::new(limits).expect("a host");
        host.enter(Scope::Document);
        host.eval("40 + 2").expect("evaluates");
        let offered = prewarm(&mut host, &page(), Scope::Document);
        assert_eq!(host.compiled_count(), 3);
        assert_eq!(
            offered, 3,
            "the walk stops at the first text that finds no room"
        );
        // The entry in use before pre-warming is still cached.
        assert!(host.precompile_expression("40 + 2"));
        assert_eq!(host.compiled_count(), 3);
    }
}
