//! Keeps script-built data and document-supplied source from overflowing the
//! worker's native stack.
//!
//! boa bounds recursion of ECMAScript calls ([`super::ScriptLimits`]), but a
//! few built-ins and the parser recurse in Rust on the shape of their input:
//! `String([[[…]]])` (`Array.prototype.join` calling `toString` on each
//! nested array), `JSON.stringify` of a deeply nested object, `flat(Infinity)`,
//! and parsing `((((…))))`. A loop can build such data in a few hundred
//! thousand iterations, and a stack overflow aborts the whole process, every
//! session with it. So this module
//!
//! - wraps `Array.prototype.join`, `toString` and `toLocaleString` with one
//!   shared nesting counter, so the mutual recursion through them throws a
//!   `RangeError` past [`MAX_NATIVE_DEPTH`] levels;
//! - checks the nesting depth of the value given to `JSON.stringify` before
//!   the engine walks it;
//! - clamps the depth argument of `Array.prototype.flat`;
//! - removes `Proxy` (a chain of trap-less proxies recurses natively);
//! - rejects source text (expressions, scripts) whose bracket nesting or run
//!   of prefix operators exceeds [`MAX_SOURCE_NESTING`] before the parser sees it.

use std::collections::HashMap;

use boa_engine::object::FunctionObjectBuilder;
use boa_engine::object::builtins::JsArray;
use boa_engine::property::{PropertyDescriptor, PropertyKey};
use boa_engine::{
    Context, Finalize, JsNativeError, JsObject, JsResult, JsString, JsValue, NativeFunction, Trace,
    js_string,
};
use boa_gc::{Gc, GcRefCell};

use super::error::{ScriptError, ScriptErrorKind};

/// Deepest nesting the guarded built-ins accept.
pub(crate) const MAX_NATIVE_DEPTH: usize = 256;
/// Deepest bracket nesting, or longest run of prefix operators, accepted in
/// source text.
pub(crate) const MAX_SOURCE_NESTING: usize = 256;

#[derive(Trace, Finalize)]
struct Counted {
    original: JsObject,
    depth: Gc<GcRefCell<usize>>,
}

#[derive(Trace, Finalize)]
struct Original(JsObject);

/// Installs the guarded built-ins in `context`'s realm.
pub(crate) fn install(context: &mut Context) -> JsResult<()> {
    let depth = Gc::new(GcRefCell::new(0usize));
    let array_prototype = context.intrinsics().constructors().array().prototype();
    for name in ["join", "toString", "toLocaleString"] {
        let original = method(&array_prototype, name, context)?;
        let length = original
            .get(js_string!("length"), context)?
            .to_length(context)?;
        let function = NativeFunction::from_copy_closure_with_captures(
            |this, args, counted: &Counted, context| {
                let current = *counted.depth.borrow();
                if current >= MAX_NATIVE_DEPTH {
                    return Err(JsNativeError::range()
                        .with_message("array nesting is too deep to convert to a string")
                        .into());
                }
                *counted.depth.borrow_mut() = current + 1;
                let result = counted.original.call(this, args, context);
                *counted.depth.borrow_mut() = current;
                result
            },
            Counted {
                original,
                depth: depth.clone(),
            },
        );
        replace(&array_prototype, name, function, length as usize, context)?;
    }

    let flat = method(&array_prototype, "flat", context)?;
    let function = NativeFunction::from_copy_closure_with_captures(
        |this, args, original: &Original, context| match args.first() {
            Some(d) if !d.is_undefined() && d.to_number(context)? > MAX_NATIVE_DEPTH as f64 => {
                original
                    .0
                    .call(this, &[JsValue::from(MAX_NATIVE_DEPTH as f64)], context)
            }
            _ => original.0.call(this, args, context),
        },
        Original(flat),
    );
    replace(&array_prototype, "flat", function, 0, context)?;

    let json = context.intrinsics().objects().json();
    let stringify = method(&json, "stringify", context)?;
    let function = NativeFunction::from_copy_closure_with_captures(
        |this, args, original: &Original, context| {
            if let Some(value) = args.first() {
                check_depth(value, context)?;
            }
            original.0.call(this, args, context)
        },
        Original(stringify),
    );
    replace(&json, "stringify", function, 3, context)?;

    // A chain of proxies without traps forwards [[Get]] natively, one Rust
    // frame per proxy; VoiceXML applications (ECMA-262 3rd edition) have no
    // use for Proxy, so it is not offered.
    context
        .global_object()
        .delete_property_or_throw(js_string!("Proxy"), context)?;
    Ok(())
}

fn method(object: &JsObject, name: &str, context: &mut Context) -> JsResult<JsObject> {
    object
        .get(JsString::from(name), context)?
        .as_object()
        .filter(JsObject::is_callable)
        .ok_or_else(|| {
            JsNativeError::typ()
                .with_message(format!("built-in {name} is missing"))
                .into()
        })
}

fn replace(
    object: &JsObject,
    name: &str,
    function: NativeFunction,
    length: usize,
    context: &mut Context,
) -> JsResult<()> {
    let function = FunctionObjectBuilder::new(context.realm(), function)
        .name(JsString::from(name))
        .length(length)
        .build();
    object.define_property_or_throw(
        JsString::from(name),
        PropertyDescriptor::builder()
            .value(function)
            .writable(true)
            .enumerable(false)
            .configurable(true),
        context,
    )?;
    Ok(())
}

/// Throws a `RangeError` when `value` nests objects deeper than
/// [`MAX_NATIVE_DEPTH`]. Walks with an explicit stack; a shared object is
/// walked again only when reached at a greater depth, so the walk is bounded
/// by objects × depth limit.
fn check_depth(value: &JsValue, context: &mut Context) -> JsResult<()> {
    let mut deepest: HashMap<JsObject, usize> = HashMap::new();
    let mut stack: Vec<(JsObject, usize)> = Vec::new();
    if let Some(o) = value.as_object() {
        stack.push((o.clone(), 1));
    }
    while let Some((object, depth)) = stack.pop() {
        if depth > MAX_NATIVE_DEPTH {
            return Err(JsNativeError::range()
                .with_message("value nests too deeply to serialize")
                .into());
        }
        match deepest.get(&object) {
            Some(&seen) if seen >= depth => continue,
            _ => {
                deepest.insert(object.clone(), depth);
            }
        }
        let children: Vec<JsValue> = if let Ok(array) = JsArray::from_object(object.clone()) {
            let len = array.length(context)?;
            let mut items = Vec::new();
            for i in 0..len {
                items.push(array.get(i, context)?);
            }
            items
        } else {
            let mut items = Vec::new();
            for key in object.own_property_keys(context)? {
                if matches!(key, PropertyKey::Symbol(_)) {
                    continue;
                }
                items.push(object.get(key, context)?);
            }
            items
        };
        for child in children {
            if let Some(o) = child.as_object()
                && !o.is_callable()
            {
                stack.push((o.clone(), depth + 1));
            }
        }
    }
    Ok(())
}

/// Rejects source text nested deeper than the parser can take on a worker
/// stack: brackets (outside strings and comments) or a run of prefix
/// operators deeper than [`MAX_SOURCE_NESTING`].
pub(crate) fn check_source(source: &str) -> Result<(), ScriptError> {
    let too_deep = || {
        Err(ScriptError::new(
            ScriptErrorKind::Syntax,
            format!("the code nests more than {MAX_SOURCE_NESTING} levels deep"),
        ))
    };
    let mut depth = 0usize;
    let mut prefix_run = 0usize;
    let mut chars = source.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' | '`' => {
                while let Some(d) = chars.next() {
                    if d == '\\' {
                        chars.next();
                    } else if d == c {
                        break;
                    }
                }
                prefix_run = 0;
            }
            '/' if chars.peek() == Some(&'/') => {
                for d in chars.by_ref() {
                    if d == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut star = false;
                for d in chars.by_ref() {
                    if star && d == '/' {
                        break;
                    }
                    star = d == '*';
                }
            }
            '(' | '[' | '{' => {
                depth += 1;
                if depth > MAX_SOURCE_NESTING {
                    return too_deep();
                }
                prefix_run = 0;
            }
            ')' | ']' | '}' => {
                depth = depth.saturating_sub(1);
                prefix_run = 0;
            }
            '!' | '-' | '+' | '~' => {
                prefix_run += 1;
                if prefix_run > MAX_SOURCE_NESTING {
                    return too_deep();
                }
            }
            c if c.is_whitespace() => {}
            _ => prefix_run = 0,
        }
    }
    Ok(())
}
