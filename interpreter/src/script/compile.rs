//! Compiles expressions, `<script>` bodies and `<assign>` targets once into
//! functions over the VoiceXML scope chain (VoiceXML 2.0 §5.1.2, §5.3.12), and
//! keeps them in a bounded cache.
//!
//! Each compiled function takes the five scope objects (session to
//! anonymous) and a sixth argument (the declaration target of a script, or
//! the value of an assignment), and runs its body inside nested `with`
//! statements over them, so name lookup walks the chain innermost first
//! exactly as nested ECMAScript scopes would. The functions are made with
//! the intrinsic `Function` constructor (no `Script` record stays alive per
//! entry), as if written:
//!
//! ```text
//! function ($vxp$0,…,$vxp$4,$vxp$t) {with($vxp$0)…with($vxp$4){return(
//! city == 'Paris'
//! );}}
//! ```
//!
//! A `<script>` is parsed on its own first (so its syntax errors carry
//! positions inside the script, and top-level `return` or stray braces are
//! rejected), which also yields its declared names: the host pre-declares
//! `var` names on the target scope object before the first run, the body
//! copies function declarations onto it at entry (they are hoisted, so they
//! exist even if the script throws later) and `let`/`const`/`class` names at
//! the end. Functions so exported close over the chain, so they see later
//! changes of the variables they name.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::rc::Rc;

use boa_engine::ast::StatementListItem;
use boa_engine::ast::declaration::Declaration;
use boa_engine::ast::operations::{bound_names, var_declared_names};
use boa_engine::ast::scope::Scope as AstScope;
use boa_engine::interner::Sym;
use boa_engine::parser::Parser;
use boa_engine::{Context, JsObject, JsString, Source};

use super::Scope;
use super::error::{ScriptError, ScriptErrorKind};

/// What a piece of source text is compiled as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CodeKind {
    /// An `expr`/`cond` attribute: the function returns its value.
    Expression,
    /// A `<script>` body run in the given scope.
    Script(Scope),
    /// The `name` of an `<assign>` that is not a plain dotted path.
    Assignment,
}

impl CodeKind {
    const COUNT: usize = 7;

    fn slot(self) -> usize {
        match self {
            CodeKind::Expression => 0,
            CodeKind::Assignment => 1,
            CodeKind::Script(s) => 2 + s as usize,
        }
    }
}

/// A compiled function and, for scripts, the names it declares.
#[derive(Debug)]
pub(crate) struct Compiled {
    /// The function to call with the chain arguments.
    pub(crate) function: JsObject,
    /// `var`, function and lexical names a script declares on its scope.
    pub(crate) declared: Box<[JsString]>,
}

#[derive(Debug)]
struct Entry {
    code: Rc<Compiled>,
    last_use: u64,
}

/// Compiled code per kind and source text, least recently used evicted.
#[derive(Debug)]
pub(crate) struct Cache {
    maps: [HashMap<Box<str>, Entry>; CodeKind::COUNT],
    capacity: usize,
    clock: u64,
    len: usize,
}

impl Cache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            maps: Default::default(),
            capacity: capacity.max(1),
            clock: 0,
            len: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The compiled form of `source` as `kind`, compiling it on first use.
    pub(crate) fn compile(
        &mut self,
        kind: CodeKind,
        source: &str,
        context: &mut Context,
    ) -> Result<Rc<Compiled>, ScriptError> {
        self.clock += 1;
        if let Some(entry) = self.maps[kind.slot()].get_mut(source) {
            entry.last_use = self.clock;
            return Ok(entry.code.clone());
        }
        super::guard::check_source(source)?;
        let code = Rc::new(compile(kind, source, context)?);
        if self.len >= self.capacity {
            self.evict();
        }
        self.maps[kind.slot()].insert(
            source.into(),
            Entry {
                code: code.clone(),
                last_use: self.clock,
            },
        );
        self.len += 1;
        Ok(code)
    }

    /// Compiles `source` as `kind` into a free slot, evicting nothing.
    /// Returns false when the cache is full. Code that fails to compile is
    /// not cached: its error surfaces when it is run.
    pub(crate) fn precompile(
        &mut self,
        kind: CodeKind,
        source: &str,
        context: &mut Context,
    ) -> bool {
        if self.maps[kind.slot()].contains_key(source) {
            return true;
        }
        if self.len >= self.capacity {
            return false;
        }
        if super::guard::check_source(source).is_err() {
            return true;
        }
        if let Ok(code) = compile(kind, source, context) {
            self.clock += 1;
            self.maps[kind.slot()].insert(
                source.into(),
                Entry {
                    code: Rc::new(code),
                    last_use: self.clock,
                },
            );
            self.len += 1;
        }
        true
    }

    /// Drops the least recently used entry. A linear scan: it runs only
    /// when new code was just compiled, which costs far more.
    fn evict(&mut self) {
        let oldest = self
            .maps
            .iter()
            .enumerate()
            .flat_map(|(i, m)| m.iter().map(move |(k, e)| (e.last_use, i, k)))
            .min_by_key(|(last_use, _, _)| *last_use)
            .map(|(_, i, k)| (i, k.clone()));
        if let Some((i, key)) = oldest
            && let Some(map) = self.maps.get_mut(i)
            && map.remove(&key).is_some()
        {
            self.len -= 1;
        }
    }
}

const PARAMS: &str = "$vxp$0,$vxp$1,$vxp$2,$vxp$3,$vxp$4,$vxp$t";

fn with_chain(upto: Scope, out: &mut String) {
    for i in 0..=upto as usize {
        let _ = write!(out, "with($vxp${i})");
    }
}

fn compile(kind: CodeKind, source: &str, context: &mut Context) -> Result<Compiled, ScriptError> {
    match kind {
        CodeKind::Expression => compile_expression(source, context),
        CodeKind::Assignment => {
            let mut body = String::new();
            with_chain(Scope::Anonymous, &mut body);
            body.push_str("{(\n");
            body.push_str(source);
            body.push_str("\n)=$vxp$t;}");
            let function = make_function(&body, context)?;
            Ok(Compiled {
                function,
                declared: Box::default(),
            })
        }
        CodeKind::Script(scope) => compile_script(source, scope, context),
    }
}

fn compile_expression(source: &str, context: &mut Context) -> Result<Compiled, ScriptError> {
    let mut body = String::new();
    with_chain(Scope::Anonymous, &mut body);
    let head = body.len();
    body.push_str("{return(\n");
    body.push_str(source);
    body.push_str("\n);}");
    let function = match make_function(&body, context) {
        Ok(f) => f,
        Err(e) if e.kind == ScriptErrorKind::Syntax => {
            // Not a lone expression (`x;`, `a = 1; b`): evaluate it as a
            // program for its completion value, as engines that ran `expr`
            // through eval did. This path parses on every call, so only
            // such texts pay for it; a real syntax error surfaces then.
            let literal =
                serde_json::to_string(source).expect("serializing a string to JSON cannot fail");
            body.truncate(head);
            let _ = write!(body, "{{return eval({literal});}}");
            make_function(&body, context)?
        }
        Err(e) => return Err(e),
    };
    Ok(Compiled {
        function,
        declared: Box::default(),
    })
}

fn compile_script(
    source: &str,
    scope: Scope,
    context: &mut Context,
) -> Result<Compiled, ScriptError> {
    let names = declared_names(source, context)?;
    let mut body = String::new();
    with_chain(scope, &mut body);
    body.push('{');
    for f in &names.functions {
        let _ = write!(body, "$vxp$t.{f}={f};");
    }
    body.push('\n');
    body.push_str(source);
    body.push_str("\n;");
    for l in &names.lexical {
        let _ = write!(body, "$vxp$t.{l}={l};");
    }
    body.push('}');
    let function = make_function(&body, context)?;
    let declared = names
        .vars
        .iter()
        .chain(&names.functions)
        .chain(&names.lexical)
        .map(|n| JsString::from(n.as_str()))
        .collect();
    Ok(Compiled { function, declared })
}

/// The names a script declares at its top level.
#[derive(Debug, Default)]
struct DeclaredNames {
    vars: Vec<String>,
    functions: Vec<String>,
    lexical: Vec<String>,
}

fn declared_names(source: &str, context: &mut Context) -> Result<DeclaredNames, ScriptError> {
    let script = Parser::new(Source::from_bytes(source))
        .parse_script(&AstScope::new_global(), context.interner_mut())
        .map_err(|e| ScriptError::syntax(&e))?;
    let mut vars: Vec<Sym> = var_declared_names(script.statements())
        .into_iter()
        .collect();
    vars.sort_unstable();
    let mut functions = Vec::new();
    let mut lexical = Vec::new();
    for item in script.statements().statements() {
        let StatementListItem::Declaration(declaration) = item else {
            continue;
        };
        match declaration.as_ref() {
            Declaration::FunctionDeclaration(f) => functions.push(f.name().sym()),
            Declaration::GeneratorDeclaration(f) => functions.push(f.name().sym()),
            Declaration::AsyncFunctionDeclaration(f) => functions.push(f.name().sym()),
            Declaration::AsyncGeneratorDeclaration(f) => functions.push(f.name().sym()),
            Declaration::ClassDeclaration(c) => lexical.push(c.name().sym()),
            Declaration::Lexical(l) => lexical.extend(bound_names(l)),
        }
    }
    let interner = context.interner();
    let resolve = |syms: &[Sym]| -> Vec<String> {
        syms.iter()
            .map(|s| interner.resolve_expect(*s).to_string())
            .collect()
    };
    Ok(DeclaredNames {
        vars: resolve(&vars),
        functions: resolve(&functions),
        lexical: resolve(&lexical),
    })
}

/// A function of the chain parameters with `body`, made by the intrinsic
/// `Function` constructor. Unlike evaluating a wrapping script, this keeps no
/// `Script` record alive beside the function: about a third of the memory
/// per cached entry.
fn make_function(body: &str, context: &mut Context) -> Result<JsObject, ScriptError> {
    let constructor = context.intrinsics().constructors().function().constructor();
    constructor
        .construct(
            &[JsString::from(PARAMS).into(), JsString::from(body).into()],
            None,
            context,
        )
        .map_err(|e| ScriptError::from_js(&e, context))
}
