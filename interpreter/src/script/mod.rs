//! The embedded ECMAScript host of a VoiceXML session (VoiceXML 2.0 §5.1,
//! VoiceXML 2.1, ECMA-327/ECMA-262 through boa).
//!
//! One [`ScriptHost`] per session owns one boa [`Context`]. It keeps the
//! VoiceXML variable scopes (§5.1.2) as plain, prototype-less JS objects, one
//! per level:
//!
//! ```text
//! session  ─ application ─ document ─ dialog ─ anonymous
//! (outermost)                                  (innermost)
//! ```
//!
//! Each scope object holds its own variables plus a non-enumerable property
//! named after the scope that refers to itself, so `document.x` and `x`
//! resolve exactly as the specification's nested scopes do. Expressions run
//! inside `with` statements over these objects; the scope objects are
//! passed as arguments at every call, so entering or leaving a scope never
//! invalidates compiled code.
//!
//! Every distinct expression and `<script>` text is parsed and compiled once
//! into a function and cached (bounded, least recently used eviction):
//! evaluating it again is a function call, not a parse.
//!
//! ```text
//! let mut host = ScriptHost::new(ScriptLimits::default())?;
//! host.set_session(&info)?;
//! host.enter(Scope::Application);           // root document loaded
//! host.enter(Scope::Document);              // leaf document loaded
//! host.run_script(src, Scope::Document)?;   // document-level <script>
//! host.enter(Scope::Dialog);                // form entered
//! host.declare(Scope::Dialog, "city", JsValue::undefined())?;
//! if host.eval_bool("city == undefined")? { … }
//! ```
//!
//! The host is not `Send`: boa's garbage collector is per thread, so a
//! session's host lives on the worker thread that created it.

mod compile;
mod dom;
mod error;
mod guard;
mod session;
mod value;

#[cfg(test)]
mod tests;

use std::fmt;

use boa_engine::object::ObjectInitializer;
use boa_engine::object::builtins::JsArray;
use boa_engine::property::{Attribute, PropertyDescriptor};
use boa_engine::{JsString, js_string};

/// The engine types the host's API speaks in, so callers need not name boa.
pub use boa_engine::{Context, JsObject, JsValue};
pub use error::{ScriptError, ScriptErrorKind};
pub use session::{CcxmlDialog, Originator, Redirect, SessionInfo};

use compile::{Cache, CodeKind};

/// A VoiceXML variable scope (VoiceXML 2.0 §5.1.2), outermost first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Read-only variables of the whole call (`session.connection.*`).
    Session,
    /// Variables of the application root document, kept across its leaf documents.
    Application,
    /// Variables of the current document.
    Document,
    /// Variables of the current form or menu.
    Dialog,
    /// Variables of the executable content being run (a `<block>`, a
    /// `<filled>`, a catch handler).
    Anonymous,
}

impl Scope {
    /// Every scope, outermost first.
    pub const ALL: [Scope; 5] = [
        Scope::Session,
        Scope::Application,
        Scope::Document,
        Scope::Dialog,
        Scope::Anonymous,
    ];

    /// The variable that names this scope's object (`anonymous` has none).
    pub const fn variable(self) -> Option<&'static str> {
        match self {
            Scope::Session => Some("session"),
            Scope::Application => Some("application"),
            Scope::Document => Some("document"),
            Scope::Dialog => Some("dialog"),
            Scope::Anonymous => None,
        }
    }

    const fn index(self) -> usize {
        self as usize
    }
}

/// Bounds that stop a runaway script and bound the host's memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScriptLimits {
    /// Loop iterations one function activation may run before the script is
    /// stopped (counts all loops of the activation together).
    pub loop_iterations: u64,
    /// Deepest call nesting.
    pub recursion: usize,
    /// Most values on the engine's operand stack.
    pub stack_size: usize,
    /// Most compiled expressions and scripts kept per host.
    pub cache_entries: usize,
}

impl Default for ScriptLimits {
    fn default() -> Self {
        Self {
            // A VoiceXML page's scripts loop over result arrays and small data
            // documents; a million iterations is far beyond that and stops a
            // `while(true){}` within tens of milliseconds.
            loop_iterations: 1_000_000,
            // Bounded well below what a 2 MiB worker stack can hold even when
            // native functions (getters, Array callbacks) re-enter the VM.
            recursion: 256,
            stack_size: 16 * 1024,
            cache_entries: 64,
        }
    }
}

/// One recognition candidate for `application.lastresult$` (VoiceXML 2.0 §5.1.5).
#[derive(Debug, Clone)]
pub struct RecognitionResult {
    /// The words (or DTMF digits) recognized.
    pub utterance: String,
    /// Confidence from 0.0 to 1.0.
    pub confidence: f64,
    /// `"dtmf"` or `"voice"`.
    pub inputmode: String,
    /// The semantic interpretation (a SISR result built in this host's context).
    pub interpretation: JsValue,
    /// The name of the last `<mark>` played before barge-in, if any.
    pub markname: Option<String>,
    /// Milliseconds into the mark, if any.
    pub marktime: Option<f64>,
}

/// The ECMAScript environment of one VoiceXML session.
pub struct ScriptHost {
    context: Context,
    /// Scope objects indexed by [`Scope::index`]; `None` when not active.
    levels: [Option<JsObject>; 5],
    /// Application..anonymous levels saved by [`ScriptHost::push_chain`].
    saved_chains: Vec<[Option<JsObject>; 4]>,
    /// Stands in for inactive levels in the `with` chain: empty, frozen, and
    /// never reachable by name.
    placeholder: JsObject,
    cache: Cache,
    dom: Option<dom::DomPrototypes>,
}

impl fmt::Debug for ScriptHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let active: Vec<Scope> = Scope::ALL
            .into_iter()
            .filter(|s| self.levels[s.index()].is_some())
            .collect();
        f.debug_struct("ScriptHost")
            .field("active_scopes", &active)
            .field("saved_chains", &self.saved_chains.len())
            .field("cached_code", &self.cache.len())
            .finish_non_exhaustive()
    }
}

impl ScriptHost {
    /// A host with a fresh context and an active, empty session scope.
    pub fn new(limits: ScriptLimits) -> Result<ScriptHost, ScriptError> {
        let mut context = Context::builder()
            .build()
            .map_err(|e| ScriptError::new(ScriptErrorKind::Native, e.to_string()))?;
        let runtime = context.runtime_limits_mut();
        runtime.set_loop_iteration_limit(limits.loop_iterations);
        runtime.set_recursion_limit(limits.recursion);
        runtime.set_stack_size_limit(limits.stack_size);
        runtime.set_backtrace_limit(8);
        guard::install(&mut context).map_err(|e| ScriptError::from_js(&e, &mut context))?;
        let placeholder = JsObject::with_null_proto();
        placeholder
            .set_integrity_level(boa_engine::object::IntegrityLevel::Frozen, &mut context)
            .map_err(|e| ScriptError::from_js(&e, &mut context))?;
        let mut host = ScriptHost {
            context,
            levels: [None, None, None, None, None],
            saved_chains: Vec::new(),
            placeholder,
            cache: Cache::new(limits.cache_entries),
            dom: None,
        };
        host.enter(Scope::Session);
        Ok(host)
    }

    /// The engine context, for code that runs its own scripts in this session
    /// (SISR tags of the grammar engine).
    pub fn context(&mut self) -> &mut Context {
        &mut self.context
    }

    /// The object of `scope`, when that scope is active.
    pub fn scope_object(&self, scope: Scope) -> Option<&JsObject> {
        self.levels[scope.index()].as_ref()
    }

    /// Whether `scope` is active.
    pub fn is_active(&self, scope: Scope) -> bool {
        self.levels[scope.index()].is_some()
    }

    /// Starts a fresh, empty `scope` and discards every deeper one.
    ///
    /// Entering [`Scope::Document`] for a new document resets document,
    /// dialog and anonymous variables; entering [`Scope::Application`] when
    /// the application root changes resets the application scope too.
    pub fn enter(&mut self, scope: Scope) {
        self.enter_as(scope, scope.variable());
    }

    /// [`ScriptHost::enter`] with the scope's object named `variable` instead
    /// of the VoiceXML name: CCXML (§8) runs its `ccxml` and `transition`
    /// scopes on the document and anonymous levels.
    pub fn enter_as(&mut self, scope: Scope, variable: Option<&str>) {
        let object = JsObject::with_null_proto();
        if let Some(name) = variable {
            object
                .define_property_or_throw(
                    JsString::from(name),
                    PropertyDescriptor::builder()
                        .value(object.clone())
                        .writable(false)
                        .enumerable(false)
                        .configurable(false),
                    &mut self.context,
                )
                .expect("defining a property on a fresh extensible object cannot fail");
        }
        self.levels[scope.index()] = Some(object);
        for deeper in &mut self.levels[scope.index() + 1..] {
            *deeper = None;
        }
    }

    /// Leaves `scope`: its variables and every deeper scope's vanish.
    pub fn exit(&mut self, scope: Scope) {
        for level in &mut self.levels[scope.index()..] {
            *level = None;
        }
    }

    /// Starts a subdialog's fresh scope chain: only the session scope stays
    /// visible until the matching [`ScriptHost::pop_chain`].
    pub fn push_chain(&mut self) {
        let [_, app, doc, dialog, anon] = &mut self.levels;
        self.saved_chains
            .push([app.take(), doc.take(), dialog.take(), anon.take()]);
    }

    /// Returns from a subdialog: restores the chain saved by the matching
    /// [`ScriptHost::push_chain`]. Returns false (and changes nothing) when
    /// no chain is saved.
    pub fn pop_chain(&mut self) -> bool {
        let Some([app, doc, dialog, anon]) = self.saved_chains.pop() else {
            return false;
        };
        self.levels = [self.levels[0].take(), app, doc, dialog, anon];
        true
    }

    /// Declares `name` in `scope` with `value` (`<var>`, form item
    /// variables). Declaring an existing variable of the same scope assigns it.
    pub fn declare(&mut self, scope: Scope, name: &str, value: JsValue) -> Result<(), ScriptError> {
        if !is_identifier(name) {
            return Err(ScriptError::new(
                ScriptErrorKind::Syntax,
                format!("'{name}' is not a valid variable name"),
            ));
        }
        let object = self.active(scope)?.clone();
        object
            .create_data_property_or_throw(JsString::from(name), value, &mut self.context)
            .map_err(|e| ScriptError::from_js(&e, &mut self.context))?;
        Ok(())
    }

    /// Assigns an already declared variable (`<assign>`). `name` may be
    /// qualified (`document.x`, `application.lastresult$`, `obj.prop`); an
    /// undeclared variable is a [`ScriptErrorKind::Reference`] error.
    pub fn assign(&mut self, name: &str, value: JsValue) -> Result<(), ScriptError> {
        let Some(path) = split_path(name) else {
            return self.assign_compiled(name, value);
        };
        let (last, parents) = path
            .split_last()
            .expect("split_path never returns an empty path");
        let target = if parents.is_empty() {
            match self.holder_of(last) {
                Some(holder) => holder,
                None => return Err(undeclared(name)),
            }
        } else {
            let parent = self
                .resolve_path(parents)?
                .ok_or_else(|| undeclared(name))?;
            let Some(parent) = parent.as_object() else {
                return Err(ScriptError::new(
                    ScriptErrorKind::Type,
                    format!("cannot set '{last}' on a non-object in '{name}'"),
                ));
            };
            if self.is_scope_object(&parent) && !self.has_own(&parent, last) {
                return Err(undeclared(name));
            }
            parent
        };
        target
            .set(JsString::from(*last), value, true, &mut self.context)
            .map_err(|e| ScriptError::from_js(&e, &mut self.context))?;
        Ok(())
    }

    /// Sets a declared variable to `undefined` (`<clear>`).
    pub fn clear(&mut self, name: &str) -> Result<(), ScriptError> {
        self.assign(name, JsValue::undefined())
    }

    /// Whether `name` (possibly qualified like `dialog.x`) resolves to a
    /// declared variable in the current scope chain.
    pub fn is_declared(&mut self, name: &str) -> bool {
        match split_path(name) {
            Some(path) => {
                let (last, parents) = path
                    .split_last()
                    .expect("split_path never returns an empty path");
                if parents.is_empty() {
                    return self.holder_of(last).is_some();
                }
                match self.resolve_path(parents) {
                    Ok(Some(v)) => match v.as_object() {
                        Some(o) => o
                            .has_property(JsString::from(*last), &mut self.context)
                            .unwrap_or(false),
                        None => false,
                    },
                    _ => false,
                }
            }
            None => self.eval(name).is_ok(),
        }
    }

    /// The value of `name` (possibly qualified) in the current scope chain,
    /// or `None` when it is not declared.
    pub fn lookup(&mut self, name: &str) -> Option<JsValue> {
        match split_path(name) {
            Some(path) => self.resolve_path(&path).ok().flatten(),
            None => self.eval(name).ok(),
        }
    }

    /// Evaluates an ECMAScript expression against the current scope chain.
    pub fn eval(&mut self, expr: &str) -> Result<JsValue, ScriptError> {
        // `turns`, `document.x`: read directly when every step resolves to
        // an object property; anything that would throw or read a primitive
        // runs the compiled code, which gives the script's own error.
        if let Some(value) = self.read_plain_path(expr) {
            return value;
        }
        let code = self
            .cache
            .compile(CodeKind::Expression, expr, &mut self.context)?;
        let args = self.chain_args(Scope::Anonymous, None);
        code.function
            .call(&JsValue::undefined(), &args, &mut self.context)
            .map_err(|e| ScriptError::from_js(&e, &mut self.context))
    }

    /// How many compiled expressions and scripts the cache holds.
    pub fn compiled_count(&self) -> usize {
        self.cache.len()
    }

    /// Compiles `expr` into the cache without evaluating it, so its first
    /// evaluation is a call. Only a free cache slot is used (nothing cached
    /// is evicted); a syntax error is not reported here but when the
    /// expression is evaluated. Returns false when the cache is full. A
    /// plain variable path (`turns`, `document.x`) is not compiled: it is
    /// read directly.
    pub fn precompile_expression(&mut self, expr: &str) -> bool {
        // A plain variable path is read without code (see `eval`); its
        // compiled form would only take a slot.
        if expr.split('.').all(is_plain_name)
            && !expr.split('.').next().is_some_and(is_reserved_word)
        {
            return true;
        }
        self.cache
            .precompile(CodeKind::Expression, expr, &mut self.context)
    }

    /// [`ScriptHost::precompile_expression`] for a `<script>` body run in
    /// `scope`: parsed and compiled, not run.
    pub fn precompile_script(&mut self, source: &str, scope: Scope) -> bool {
        self.cache
            .precompile(CodeKind::Script(scope), source, &mut self.context)
    }

    /// Evaluates `expr` and converts the result with ToBoolean (`cond`).
    pub fn eval_bool(&mut self, expr: &str) -> Result<bool, ScriptError> {
        Ok(self.eval(expr)?.to_boolean())
    }

    /// Evaluates `expr` and converts the result with ToString.
    pub fn eval_string(&mut self, expr: &str) -> Result<String, ScriptError> {
        let value = self.eval(expr)?;
        self.to_string_checked(&value)
    }

    /// Runs a `<script>` body in `scope`, the scope of the element that
    /// contains it: its top-level `var` and function declarations become
    /// variables of that scope, and its functions resolve names through the
    /// scope chain when called, so they see later assignments.
    pub fn run_script(&mut self, source: &str, scope: Scope) -> Result<(), ScriptError> {
        let target = self.active(scope)?.clone();
        let code = self
            .cache
            .compile(CodeKind::Script(scope), source, &mut self.context)?;
        for name in code.declared.iter() {
            let present = target
                .has_own_property(name.clone(), &mut self.context)
                .map_err(|e| ScriptError::from_js(&e, &mut self.context))?;
            if !present {
                target
                    .create_data_property_or_throw(
                        name.clone(),
                        JsValue::undefined(),
                        &mut self.context,
                    )
                    .map_err(|e| ScriptError::from_js(&e, &mut self.context))?;
            }
        }
        let args = self.chain_args(scope, Some(target));
        code.function
            .call(&JsValue::undefined(), &args, &mut self.context)
            .map_err(|e| ScriptError::from_js(&e, &mut self.context))?;
        Ok(())
    }

    /// Declares `name` in `scope` as an object with `props` (field shadow
    /// variables such as `city$` with `utterance`, `confidence`, ...).
    pub fn set_shadow(
        &mut self,
        scope: Scope,
        name: &str,
        props: &[(&str, JsValue)],
    ) -> Result<(), ScriptError> {
        let object = self.new_object(props);
        self.declare(scope, name, object.into())
    }

    /// Sets `application.lastresult$` (VoiceXML 2.0 §5.1.5): an array of the
    /// candidates, best first, whose own `utterance`, `confidence`,
    /// `inputmode`, `interpretation`, `markname` and `marktime` repeat the
    /// first candidate's. An empty slice makes it `undefined`.
    pub fn set_last_result(&mut self, results: &[RecognitionResult]) -> Result<(), ScriptError> {
        if results.is_empty() {
            return self.declare(Scope::Application, "lastresult$", JsValue::undefined());
        }
        let mut items = Vec::with_capacity(results.len());
        for r in results {
            let mut init = ObjectInitializer::new(&mut self.context);
            for (k, v) in result_props(r) {
                init.property(k, v, Attribute::all());
            }
            items.push(init.build().into());
        }
        let array = self.new_array(items);
        if let Some(first) = results.first() {
            for (k, v) in result_props(first) {
                array
                    .create_data_property_or_throw(k, v, &mut self.context)
                    .map_err(|e| ScriptError::from_js(&e, &mut self.context))?;
            }
        }
        self.declare(Scope::Application, "lastresult$", array.into())
    }

    /// Sets `application.lastmessage$` for `<gvp:receive>`: an object with
    /// `sourcetype`, `contenttype` and `content`.
    pub fn set_last_message(
        &mut self,
        sourcetype: &str,
        contenttype: &str,
        content: &str,
    ) -> Result<(), ScriptError> {
        let message = self.new_object(&[
            ("sourcetype", JsString::from(sourcetype).into()),
            ("contenttype", JsString::from(contenttype).into()),
            ("content", JsString::from(content).into()),
        ]);
        self.declare(Scope::Application, "lastmessage$", message.into())
    }

    /// A new ordinary object with `props` as enumerable data properties.
    pub fn new_object(&mut self, props: &[(&str, JsValue)]) -> JsObject {
        let mut init = ObjectInitializer::new(&mut self.context);
        for (k, v) in props {
            init.property(property_key(k), v.clone(), Attribute::all());
        }
        init.build()
    }

    /// A new array holding `items`.
    pub fn new_array(&mut self, items: impl IntoIterator<Item = JsValue>) -> JsObject {
        JsArray::from_iter(items, &mut self.context).into()
    }

    /// A JS string value.
    pub fn string(&self, s: &str) -> JsValue {
        JsString::from(s).into()
    }

    /// ToString of `value` as the prompt queue and logs show it; a value
    /// whose conversion throws is shown by its type.
    pub fn to_display_string(&mut self, value: &JsValue) -> String {
        error::display(value, &mut self.context)
    }

    /// ToString of `value`, failing when the conversion throws.
    pub fn to_string_checked(&mut self, value: &JsValue) -> Result<String, ScriptError> {
        value
            .to_string(&mut self.context)
            .map(|s| s.to_std_string_escaped())
            .map_err(|e| ScriptError::from_js(&e, &mut self.context))
    }

    /// Runs boa's collector for this thread's heap. Every context on the
    /// thread shares that heap, so this costs time in proportion to all of
    /// them; the engine also collects on its own as allocation grows.
    pub fn collect_garbage(&mut self) {
        boa_engine::gc::force_collect();
    }

    fn active(&self, scope: Scope) -> Result<&JsObject, ScriptError> {
        self.levels[scope.index()].as_ref().ok_or_else(|| {
            ScriptError::new(
                ScriptErrorKind::InactiveScope,
                format!("the {scope:?} scope is not active"),
            )
        })
    }

    /// The arguments of compiled code: the scope objects up to `upto`
    /// (placeholders for inactive or deeper levels), then the declaration
    /// target of a script.
    fn chain_args(&self, upto: Scope, target: Option<JsObject>) -> [JsValue; 6] {
        let level = |i: usize| -> JsValue {
            match self.levels[i].as_ref() {
                Some(o) if i <= upto.index() => o.clone().into(),
                _ => self.placeholder.clone().into(),
            }
        };
        [
            level(0),
            level(1),
            level(2),
            level(3),
            level(4),
            target.map_or(JsValue::undefined(), JsValue::from),
        ]
    }

    fn has_own(&mut self, object: &JsObject, name: &str) -> bool {
        object
            .has_own_property(JsString::from(name), &mut self.context)
            .unwrap_or(false)
    }

    fn is_scope_object(&self, object: &JsObject) -> bool {
        self.levels
            .iter()
            .flatten()
            .any(|level| JsObject::equals(level, object))
    }

    /// The innermost object of the chain (scopes, then the global object)
    /// that holds `name`.
    fn holder_of(&mut self, name: &str) -> Option<JsObject> {
        let key = JsString::from(name);
        for level in self.levels.iter().rev().flatten() {
            if level
                .has_own_property(key.clone(), &mut self.context)
                .unwrap_or(false)
            {
                return Some(level.clone());
            }
        }
        let global = self.context.global_object();
        global
            .has_property(key, &mut self.context)
            .unwrap_or(false)
            .then_some(global)
    }

    /// The value of `expr` when it is a dotted path of ASCII identifiers
    /// (not reserved words) whose first name is declared and each step of
    /// which reads an object: what the `with` chain of the compiled code
    /// resolves, since the scope objects have no prototype. `None` sends
    /// the expression to the compiled code.
    fn read_plain_path(&mut self, expr: &str) -> Option<Result<JsValue, ScriptError>> {
        if !expr.split('.').all(is_plain_name) {
            return None;
        }
        let mut parts = expr.split('.');
        let head = parts.next()?;
        if is_reserved_word(head) {
            return None;
        }
        let holder = self.holder_of(head)?;
        // A getter that throws has run once: its error is the expression's.
        let read = |object: &JsObject, name: &str, ctx: &mut Context| {
            object
                .get(JsString::from(name), ctx)
                .map_err(|e| ScriptError::from_js(&e, ctx))
        };
        let mut value = match read(&holder, head, &mut self.context) {
            Ok(v) => v,
            Err(e) => return Some(Err(e)),
        };
        for step in parts {
            let object = value.as_object()?;
            value = match read(&object, step, &mut self.context) {
                Ok(v) => v,
                Err(e) => return Some(Err(e)),
            };
        }
        Some(Ok(value))
    }

    /// Follows a dotted path: `Ok(None)` when its first name is undeclared
    /// or a step reads through `undefined`/`null`.
    fn resolve_path(&mut self, path: &[&str]) -> Result<Option<JsValue>, ScriptError> {
        let Some((head, rest)) = path.split_first() else {
            return Ok(None);
        };
        let Some(holder) = self.holder_of(head) else {
            return Ok(None);
        };
        let mut value = holder
            .get(JsString::from(*head), &mut self.context)
            .map_err(|e| ScriptError::from_js(&e, &mut self.context))?;
        for step in rest {
            let Some(object) = value.as_object() else {
                return Ok(None);
            };
            value = object
                .get(JsString::from(*step), &mut self.context)
                .map_err(|e| ScriptError::from_js(&e, &mut self.context))?;
        }
        Ok(Some(value))
    }

    /// `<assign>` to a name that is not a dotted path (`a[0]`): compiled as
    /// an assignment expression, so the engine resolves it.
    fn assign_compiled(&mut self, name: &str, value: JsValue) -> Result<(), ScriptError> {
        let code = self
            .cache
            .compile(CodeKind::Assignment, name, &mut self.context)?;
        let args = self.chain_args(Scope::Anonymous, None);
        let [a, b, c, d, e, _] = args;
        code.function
            .call(
                &JsValue::undefined(),
                &[a, b, c, d, e, value],
                &mut self.context,
            )
            .map_err(|e| ScriptError::from_js(&e, &mut self.context))?;
        Ok(())
    }
}

/// Runs boa's collector over the calling thread's heap: every session host
/// living on this thread at once. A worker that owns a bounded number of
/// sessions calls it while none of them has input waiting, so collections
/// happen between dialog steps instead of inside one (boa also collects on
/// its own when allocation passes its threshold, stalling whichever step is
/// allocating then).
pub fn collect_thread_garbage() {
    boa_engine::gc::force_collect();
}

/// The key for `name`: a static string for the shadow variables' property
/// names (set on every recognition), else a new one.
fn property_key(name: &str) -> JsString {
    match name {
        "utterance" => js_string!("utterance"),
        "confidence" => js_string!("confidence"),
        "inputmode" => js_string!("inputmode"),
        "interpretation" => js_string!("interpretation"),
        "markname" => js_string!("markname"),
        "marktime" => js_string!("marktime"),
        other => JsString::from(other),
    }
}

/// The properties of one `lastresult$` candidate. The names are static
/// strings: this runs on every recognition.
fn result_props(r: &RecognitionResult) -> [(JsString, JsValue); 6] {
    [
        (
            js_string!("utterance"),
            JsString::from(r.utterance.as_str()).into(),
        ),
        (js_string!("confidence"), r.confidence.into()),
        (
            js_string!("inputmode"),
            JsString::from(r.inputmode.as_str()).into(),
        ),
        (js_string!("interpretation"), r.interpretation.clone()),
        (
            js_string!("markname"),
            r.markname
                .as_deref()
                .map_or(JsValue::undefined(), |m| JsString::from(m).into()),
        ),
        (
            js_string!("marktime"),
            r.marktime.map_or(JsValue::undefined(), JsValue::from),
        ),
    ]
}

fn undeclared(name: &str) -> ScriptError {
    ScriptError::new(
        ScriptErrorKind::Reference,
        format!("'{name}' is not declared"),
    )
}

/// Whether `s` is an ECMAScript IdentifierName (letters, digits, `_`, `$`,
/// not starting with a digit).
pub(crate) fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_alphabetic() || c == '_' || c == '$' => {}
        _ => return false,
    }
    chars.all(|c| c.is_alphanumeric() || c == '_' || c == '$')
}

/// An ASCII IdentifierName, as written (no escapes, no spaces).
fn is_plain_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_' || b == b'$')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$')
}

/// ECMAScript reserved words and literals: as an expression they are never
/// a variable reference.
fn is_reserved_word(s: &str) -> bool {
    matches!(
        s,
        "await"
            | "break"
            | "case"
            | "catch"
            | "class"
            | "const"
            | "continue"
            | "debugger"
            | "default"
            | "delete"
            | "do"
            | "else"
            | "enum"
            | "export"
            | "extends"
            | "false"
            | "finally"
            | "for"
            | "function"
            | "if"
            | "implements"
            | "import"
            | "in"
            | "instanceof"
            | "interface"
            | "let"
            | "new"
            | "null"
            | "package"
            | "private"
            | "protected"
            | "public"
            | "return"
            | "static"
            | "super"
            | "switch"
            | "this"
            | "throw"
            | "true"
            | "try"
            | "typeof"
            | "var"
            | "void"
            | "while"
            | "with"
            | "yield"
            | "arguments"
            | "eval"
    )
}

/// Splits `a.b.c` into its identifiers; `None` for anything else.
fn split_path(name: &str) -> Option<Vec<&str>> {
    let parts: Vec<&str> = name.split('.').map(str::trim).collect();
    parts.iter().all(|p| is_identifier(p)).then_some(parts)
}
