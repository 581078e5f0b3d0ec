//! A read-only DOM Level 2 Core subset over a fetched XML document, the
//! value of the variable a `<data>` element declares (VoiceXML 2.1 §5,
//! "Using `<data>`": documentElement, getElementsByTagName, getAttribute,
//! childNodes, nodeValue, ...).
//!
//! The XML tree is copied once into a flat arena in document order (so the
//! descendants of a node are one contiguous range), shared by reference.
//! JS objects are made lazily: a node's wrapper exists only once a script
//! reaches it, and is then reused, so `a.firstChild === a.firstChild` holds
//! and a loop over `childNodes.item(i)` builds each list once. A 1 MB
//! document costs its arena plus the wrappers a script actually touches.
//!
//! All node properties are getters on one shared prototype without setters:
//! assignments to them are ignored (sloppy mode) or throw (strict mode), and
//! node lists are frozen arrays.

use std::collections::HashMap;
use std::rc::Rc;

use boa_engine::object::IntegrityLevel;
use boa_engine::object::builtins::JsArray;
use boa_engine::property::PropertyDescriptor;
use boa_engine::{
    Context, Finalize, JsData, JsNativeError, JsObject, JsResult, JsString, JsValue,
    NativeFunction, Trace, js_string,
};
use boa_gc::{Gc, GcRefCell};

use super::ScriptHost;
use crate::xml;

const ELEMENT_NODE: i32 = 1;
const ATTRIBUTE_NODE: i32 = 2;
const TEXT_NODE: i32 = 3;
const DOCUMENT_NODE: i32 = 9;

/// One node of the arena.
#[derive(Debug)]
struct Node {
    parent: Option<u32>,
    /// Index of this node in its parent's `children`.
    position: u32,
    /// One past the last descendant: descendants are `self+1..end`.
    end: u32,
    children: Vec<u32>,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Document,
    Element {
        name: xml::Name,
        attrs: Vec<xml::Attribute>,
    },
    Text(String),
}

/// A document flattened in document order; node 0 is the document node.
#[derive(Debug)]
struct Tree {
    nodes: Vec<Node>,
}

impl Tree {
    /// Copies `root` without recursion (depth is bounded by the XML parser,
    /// but the walk does not rely on it).
    fn build(root: &xml::Element) -> Tree {
        let mut nodes = vec![Node {
            parent: None,
            position: 0,
            end: 0,
            children: vec![1],
            kind: Kind::Document,
        }];
        nodes.push(element_node(root, 0, 0));
        let mut stack: Vec<(&xml::Element, u32, usize)> = vec![(root, 1, 0)];
        while let Some(top) = stack.last_mut() {
            let (element, index, next) = *top;
            match element.children.get(next) {
                Some(child) => {
                    top.2 += 1;
                    let child_index = nodes.len() as u32;
                    let position = next as u32;
                    let parent = nodes
                        .get_mut(index as usize)
                        .expect("a parent is pushed before its children");
                    parent.children.push(child_index);
                    match child {
                        xml::Node::Element(e) => {
                            nodes.push(element_node(e, index, position));
                            stack.push((e, child_index, 0));
                        }
                        xml::Node::Text(t) => nodes.push(Node {
                            parent: Some(index),
                            position,
                            end: child_index + 1,
                            children: Vec::new(),
                            kind: Kind::Text(t.text.to_string()),
                        }),
                    }
                }
                None => {
                    let end = nodes.len() as u32;
                    if let Some(node) = nodes.get_mut(index as usize) {
                        node.end = end;
                    }
                    stack.pop();
                }
            }
        }
        let end = nodes.len() as u32;
        if let Some(document) = nodes.first_mut() {
            document.end = end;
        }
        Tree { nodes }
    }

    fn node(&self, index: u32) -> Option<&Node> {
        self.nodes.get(index as usize)
    }
}

fn element_node(e: &xml::Element, parent: u32, position: u32) -> Node {
    Node {
        parent: Some(parent),
        position,
        end: 0,
        children: Vec::with_capacity(e.children.len()),
        kind: Kind::Element {
            name: e.name.clone(),
            attrs: e.attrs.clone(),
        },
    }
}

/// What a wrapper stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Node(u32),
    Attr { element: u32, index: u32 },
}

/// Wrappers and node lists already made for one document.
#[derive(Trace, Finalize)]
struct Made {
    nodes: HashMap<u32, JsObject>,
    child_lists: HashMap<u32, JsObject>,
}

/// The native data of a DOM wrapper object.
#[derive(Trace, Finalize, JsData)]
struct DomRef {
    #[unsafe_ignore_trace]
    tree: Rc<Tree>,
    #[unsafe_ignore_trace]
    target: Target,
    made: Gc<GcRefCell<Made>>,
    shared: Gc<Shared>,
}

/// Objects every wrapper of a host uses.
#[derive(Trace, Finalize)]
struct Shared {
    prototype: JsObject,
    /// `NodeList.item(i)` / `NamedNodeMap.item(i)`.
    item: JsObject,
    /// `NamedNodeMap.getNamedItem(name)`.
    named_item: JsObject,
}

/// The per-host DOM objects, made on the first `<data>`.
#[derive(Debug)]
pub(crate) struct DomPrototypes {
    shared: Gc<Shared>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Shared")
    }
}

impl ScriptHost {
    /// The `Document` object of `doc`, for the variable a `<data>` declares.
    pub fn dom_value(&mut self, doc: &xml::Element) -> JsValue {
        let shared = match &self.dom {
            Some(p) => p.shared.clone(),
            None => {
                let shared = Gc::new(make_shared(&mut self.context));
                self.dom = Some(DomPrototypes {
                    shared: shared.clone(),
                });
                shared
            }
        };
        let made = Gc::new(GcRefCell::new(Made {
            nodes: HashMap::new(),
            child_lists: HashMap::new(),
        }));
        let here = Here {
            tree: Rc::new(Tree::build(doc)),
            made,
            shared,
        };
        here.wrap(Target::Node(0)).into()
    }
}

type Getter = fn(&Here, Target, &mut Context) -> JsResult<JsValue>;
type Method = fn(&Here, Target, &[JsValue], &mut Context) -> JsResult<JsValue>;

fn make_shared(context: &mut Context) -> Shared {
    let prototype = JsObject::with_object_proto(context.intrinsics());
    let realm = context.realm().clone();
    let getters: [(&str, Getter); 24] = [
        ("nodeName", node_name),
        ("nodeType", node_type),
        ("nodeValue", node_value),
        ("parentNode", parent_node),
        ("childNodes", child_nodes),
        ("firstChild", first_child),
        ("lastChild", last_child),
        ("previousSibling", previous_sibling),
        ("nextSibling", next_sibling),
        ("attributes", attributes),
        ("ownerDocument", owner_document),
        ("namespaceURI", namespace_uri),
        ("localName", local_name),
        ("prefix", prefix),
        ("documentElement", document_element),
        ("tagName", tag_name),
        ("data", node_value),
        ("length", text_length),
        ("name", attr_name),
        ("value", node_value),
        ("specified", attr_specified),
        ("ownerElement", owner_element),
        ("textContent", text_content),
        ("text", text_content),
    ];
    for (name, getter) in getters {
        let function = NativeFunction::from_copy_closure_with_captures(
            |this, _args, getter: &GetterBox, context| {
                let (here, target) = Here::of(this)?;
                (getter.0)(&here, target, context)
            },
            GetterBox(getter),
        )
        .to_js_function(&realm);
        prototype
            .define_property_or_throw(
                JsString::from(name),
                PropertyDescriptor::builder()
                    .get(function)
                    .enumerable(true)
                    .configurable(false),
                context,
            )
            .expect("defining an accessor on a fresh object cannot fail");
    }
    let methods: [(&str, Method); 9] = [
        ("getElementsByTagName", elements_by_tag_name),
        ("getElementsByTagNameNS", elements_by_tag_name_ns),
        ("getAttribute", get_attribute),
        ("getAttributeNS", get_attribute_ns),
        ("getAttributeNode", get_attribute_node),
        ("hasAttribute", has_attribute),
        ("hasAttributeNS", has_attribute_ns),
        ("hasAttributes", has_attributes),
        ("hasChildNodes", has_child_nodes),
    ];
    for (name, method) in methods {
        let function = NativeFunction::from_copy_closure_with_captures(
            |this, args, method: &MethodBox, context| {
                let (here, target) = Here::of(this)?;
                (method.0)(&here, target, args, context)
            },
            MethodBox(method),
        )
        .to_js_function(&realm);
        prototype
            .define_property_or_throw(
                JsString::from(name),
                PropertyDescriptor::builder()
                    .value(function)
                    .writable(false)
                    .enumerable(false)
                    .configurable(false),
                context,
            )
            .expect("defining a method on a fresh object cannot fail");
    }
    prototype
        .set_integrity_level(IntegrityLevel::Frozen, context)
        .expect("freezing an ordinary object cannot fail");
    let item = NativeFunction::from_fn_ptr(list_item)
        .to_js_function(&realm)
        .into();
    let named_item = NativeFunction::from_fn_ptr(named_item)
        .to_js_function(&realm)
        .into();
    Shared {
        prototype,
        item,
        named_item,
    }
}

#[derive(Trace, Finalize)]
struct GetterBox(#[unsafe_ignore_trace] Getter);

#[derive(Trace, Finalize)]
struct MethodBox(#[unsafe_ignore_trace] Method);

/// A document's arena and wrapper caches, as seen from one wrapper.
struct Here {
    tree: Rc<Tree>,
    made: Gc<GcRefCell<Made>>,
    shared: Gc<Shared>,
}

impl Here {
    fn of(this: &JsValue) -> JsResult<(Here, Target)> {
        let data = this
            .as_object()
            .and_then(|o| {
                o.downcast_ref::<DomRef>().map(|d| {
                    (
                        Here {
                            tree: d.tree.clone(),
                            made: d.made.clone(),
                            shared: d.shared.clone(),
                        },
                        d.target,
                    )
                })
            })
            .ok_or_else(|| JsNativeError::typ().with_message("not a DOM node"))?;
        Ok(data)
    }

    /// The wrapper of `target`, made once per node.
    fn wrap(&self, target: Target) -> JsObject {
        if let Target::Node(i) = target
            && let Some(existing) = self.made.borrow().nodes.get(&i)
        {
            return existing.clone();
        }
        let object = JsObject::from_proto_and_data(
            self.shared.prototype.clone(),
            DomRef {
                tree: self.tree.clone(),
                target,
                made: self.made.clone(),
                shared: self.shared.clone(),
            },
        );
        if let Target::Node(i) = target {
            self.made.borrow_mut().nodes.insert(i, object.clone());
        }
        object
    }

    fn wrap_node(&self, index: Option<u32>) -> JsValue {
        index.map_or(JsValue::null(), |i| self.wrap(Target::Node(i)).into())
    }

    /// A frozen array of wrappers with an `item(i)` method (a NodeList).
    fn list(&self, targets: impl Iterator<Item = Target>, context: &mut Context) -> JsObject {
        self.list_with(targets, &[("item", &self.shared.item)], context)
    }

    /// A frozen array of wrappers with `methods` as hidden properties.
    fn list_with(
        &self,
        targets: impl Iterator<Item = Target>,
        methods: &[(&str, &JsObject)],
        context: &mut Context,
    ) -> JsObject {
        let items: Vec<JsValue> = targets.map(|t| self.wrap(t).into()).collect();
        let array: JsObject = JsArray::from_iter(items, context).into();
        for (name, function) in methods {
            array
                .define_property_or_throw(
                    JsString::from(*name),
                    PropertyDescriptor::builder()
                        .value((*function).clone())
                        .writable(false)
                        .enumerable(false)
                        .configurable(false),
                    context,
                )
                .expect("defining a property on a fresh array cannot fail");
        }
        array
            .set_integrity_level(IntegrityLevel::Frozen, context)
            .expect("freezing an ordinary array cannot fail");
        array
    }

    fn node(&self, target: Target) -> Option<&Node> {
        match target {
            Target::Node(i) => self.tree.node(i),
            Target::Attr { .. } => None,
        }
    }

    fn attr(&self, target: Target) -> Option<&xml::Attribute> {
        match target {
            Target::Attr { element, index } => match &self.tree.node(element)?.kind {
                Kind::Element { attrs, .. } => attrs.get(index as usize),
                _ => None,
            },
            Target::Node(_) => None,
        }
    }

    fn element(&self, target: Target) -> Option<(&xml::Name, &[xml::Attribute])> {
        match &self.node(target)?.kind {
            Kind::Element { name, attrs } => Some((name, attrs)),
            _ => None,
        }
    }

    /// Elements below `target` in document order whose name passes `keep`.
    fn descendants(&self, target: Target, keep: impl Fn(&xml::Name) -> bool) -> Vec<Target> {
        let (Target::Node(start), Some(node)) = (target, self.node(target)) else {
            return Vec::new();
        };
        (start + 1..node.end)
            .filter(|&i| match self.tree.node(i).map(|n| &n.kind) {
                Some(Kind::Element { name, .. }) => keep(name),
                _ => false,
            })
            .map(Target::Node)
            .collect()
    }
}

fn string(s: &str) -> JsValue {
    JsString::from(s).into()
}

fn opt_string(s: Option<&str>) -> JsValue {
    s.map_or(JsValue::null(), string)
}

fn arg_string(args: &[JsValue], i: usize, context: &mut Context) -> JsResult<Option<String>> {
    match args.get(i) {
        None => Ok(None),
        Some(v) if v.is_null_or_undefined() => Ok(None),
        Some(v) => Ok(Some(v.to_string(context)?.to_std_string_escaped())),
    }
}

fn node_name(here: &Here, target: Target, _: &mut Context) -> JsResult<JsValue> {
    if let Some(a) = here.attr(target) {
        return Ok(string(&a.name.qualified()));
    }
    Ok(match here.node(target).map(|n| &n.kind) {
        Some(Kind::Document) => string("#document"),
        Some(Kind::Element { name, .. }) => string(&name.qualified()),
        Some(Kind::Text(_)) => string("#text"),
        None => JsValue::null(),
    })
}

fn tag_name(here: &Here, target: Target, _: &mut Context) -> JsResult<JsValue> {
    Ok(here
        .element(target)
        .map_or(JsValue::undefined(), |(name, _)| string(&name.qualified())))
}

fn node_type(here: &Here, target: Target, _: &mut Context) -> JsResult<JsValue> {
    if here.attr(target).is_some() {
        return Ok(ATTRIBUTE_NODE.into());
    }
    Ok(match here.node(target).map(|n| &n.kind) {
        Some(Kind::Document) => DOCUMENT_NODE.into(),
        Some(Kind::Element { .. }) => ELEMENT_NODE.into(),
        Some(Kind::Text(_)) => TEXT_NODE.into(),
        None => JsValue::null(),
    })
}

fn node_value(here: &Here, target: Target, _: &mut Context) -> JsResult<JsValue> {
    if let Some(a) = here.attr(target) {
        return Ok(string(&a.value));
    }
    Ok(match here.node(target).map(|n| &n.kind) {
        Some(Kind::Text(t)) => string(t),
        _ => JsValue::null(),
    })
}

fn text_length(here: &Here, target: Target, _: &mut Context) -> JsResult<JsValue> {
    Ok(match here.node(target).map(|n| &n.kind) {
        Some(Kind::Text(t)) => (t.encode_utf16().count() as f64).into(),
        _ => JsValue::undefined(),
    })
}

fn text_content(here: &Here, target: Target, _: &mut Context) -> JsResult<JsValue> {
    if let Some(a) = here.attr(target) {
        return Ok(string(&a.value));
    }
    let (Target::Node(start), Some(node)) = (target, here.node(target)) else {
        return Ok(JsValue::null());
    };
    if matches!(node.kind, Kind::Document) {
        return Ok(JsValue::null());
    }
    let mut out = String::new();
    for i in start..node.end {
        if let Some(Kind::Text(t)) = here.tree.node(i).map(|n| &n.kind) {
            out.push_str(t);
        }
    }
    Ok(string(&out))
}

fn parent_node(here: &Here, target: Target, _: &mut Context) -> JsResult<JsValue> {
    if here.attr(target).is_some() {
        return Ok(JsValue::null());
    }
    Ok(here.wrap_node(here.node(target).and_then(|n| n.parent)))
}

fn child_nodes(here: &Here, target: Target, context: &mut Context) -> JsResult<JsValue> {
    let Target::Node(index) = target else {
        return Ok(here.list(std::iter::empty(), context).into());
    };
    if let Some(list) = here.made.borrow().child_lists.get(&index) {
        return Ok(list.clone().into());
    }
    let children = here
        .node(target)
        .map(|n| n.children.clone())
        .unwrap_or_default();
    let list = here.list(children.into_iter().map(Target::Node), context);
    here.made
        .borrow_mut()
        .child_lists
        .insert(index, list.clone());
    Ok(list.into())
}

fn first_child(here: &Here, target: Target, _: &mut Context) -> JsResult<JsValue> {
    Ok(here.wrap_node(here.node(target).and_then(|n| n.children.first().copied())))
}

fn last_child(here: &Here, target: Target, _: &mut Context) -> JsResult<JsValue> {
    Ok(here.wrap_node(here.node(target).and_then(|n| n.children.last().copied())))
}

fn sibling(here: &Here, target: Target, offset: isize) -> Option<u32> {
    let node = here.node(target)?;
    let parent = here.tree.node(node.parent?)?;
    let position = (node.position as usize).checked_add_signed(offset)?;
    parent.children.get(position).copied()
}

fn previous_sibling(here: &Here, target: Target, _: &mut Context) -> JsResult<JsValue> {
    Ok(here.wrap_node(sibling(here, target, -1)))
}

fn next_sibling(here: &Here, target: Target, _: &mut Context) -> JsResult<JsValue> {
    Ok(here.wrap_node(sibling(here, target, 1)))
}

fn attributes(here: &Here, target: Target, context: &mut Context) -> JsResult<JsValue> {
    let (Target::Node(element), Some((_, attrs))) = (target, here.element(target)) else {
        return Ok(JsValue::null());
    };
    let map = here.list_with(
        (0..attrs.len() as u32).map(|index| Target::Attr { element, index }),
        &[
            ("item", &here.shared.item),
            ("getNamedItem", &here.shared.named_item),
        ],
        context,
    );
    Ok(map.into())
}

fn owner_document(here: &Here, target: Target, _: &mut Context) -> JsResult<JsValue> {
    Ok(if target == Target::Node(0) {
        JsValue::null()
    } else {
        here.wrap(Target::Node(0)).into()
    })
}

fn owner_element(here: &Here, target: Target, _: &mut Context) -> JsResult<JsValue> {
    Ok(match target {
        Target::Attr { element, .. } => here.wrap(Target::Node(element)).into(),
        Target::Node(_) => JsValue::undefined(),
    })
}

fn name_of(here: &Here, target: Target) -> Option<&xml::Name> {
    here.attr(target)
        .map(|a| &a.name)
        .or_else(|| here.element(target).map(|(n, _)| n))
}

fn namespace_uri(here: &Here, target: Target, _: &mut Context) -> JsResult<JsValue> {
    Ok(opt_string(
        name_of(here, target).and_then(|n| n.ns.as_deref()),
    ))
}

fn local_name(here: &Here, target: Target, _: &mut Context) -> JsResult<JsValue> {
    Ok(opt_string(name_of(here, target).map(|n| n.local.as_str())))
}

fn prefix(here: &Here, target: Target, _: &mut Context) -> JsResult<JsValue> {
    Ok(opt_string(
        name_of(here, target).and_then(|n| n.prefix.as_deref()),
    ))
}

fn document_element(here: &Here, target: Target, _: &mut Context) -> JsResult<JsValue> {
    Ok(if target == Target::Node(0) {
        here.wrap(Target::Node(1)).into()
    } else {
        JsValue::undefined()
    })
}

fn attr_name(here: &Here, target: Target, _: &mut Context) -> JsResult<JsValue> {
    Ok(here
        .attr(target)
        .map_or(JsValue::undefined(), |a| string(&a.name.qualified())))
}

fn attr_specified(here: &Here, target: Target, _: &mut Context) -> JsResult<JsValue> {
    Ok(if here.attr(target).is_some() {
        true.into()
    } else {
        JsValue::undefined()
    })
}

fn elements_by_tag_name(
    here: &Here,
    target: Target,
    args: &[JsValue],
    context: &mut Context,
) -> JsResult<JsValue> {
    let name = arg_string(args, 0, context)?.unwrap_or_default();
    let found = here.descendants(target, |n| name == "*" || n.qualified() == name);
    Ok(here.list(found.into_iter(), context).into())
}

fn elements_by_tag_name_ns(
    here: &Here,
    target: Target,
    args: &[JsValue],
    context: &mut Context,
) -> JsResult<JsValue> {
    let ns = arg_string(args, 0, context)?;
    let local = arg_string(args, 1, context)?.unwrap_or_default();
    let found = here.descendants(target, |n| {
        let ns_ok = match ns.as_deref() {
            Some("*") => true,
            Some("") | None => n.ns.is_none(),
            Some(uri) => n.ns.as_deref() == Some(uri),
        };
        ns_ok && (local == "*" || n.local == local)
    });
    Ok(here.list(found.into_iter(), context).into())
}

fn find_attr<'a>(attrs: &'a [xml::Attribute], name: &str) -> Option<(usize, &'a xml::Attribute)> {
    attrs
        .iter()
        .enumerate()
        .find(|(_, a)| a.name.qualified() == name)
}

fn find_attr_ns<'a>(
    attrs: &'a [xml::Attribute],
    ns: Option<&str>,
    local: &str,
) -> Option<&'a xml::Attribute> {
    attrs
        .iter()
        .find(|a| a.name.local == local && a.name.ns.as_deref() == ns.filter(|s| !s.is_empty()))
}

fn get_attribute(
    here: &Here,
    target: Target,
    args: &[JsValue],
    context: &mut Context,
) -> JsResult<JsValue> {
    let name = arg_string(args, 0, context)?.unwrap_or_default();
    // DOM Level 2 returns "" for a missing attribute; browsers (and most
    // VoiceXML platforms' DOMs) return null, which scripts test against.
    Ok(here
        .element(target)
        .and_then(|(_, attrs)| find_attr(attrs, &name))
        .map_or(JsValue::null(), |(_, a)| string(&a.value)))
}

fn get_attribute_ns(
    here: &Here,
    target: Target,
    args: &[JsValue],
    context: &mut Context,
) -> JsResult<JsValue> {
    let ns = arg_string(args, 0, context)?;
    let local = arg_string(args, 1, context)?.unwrap_or_default();
    Ok(here
        .element(target)
        .and_then(|(_, attrs)| find_attr_ns(attrs, ns.as_deref(), &local))
        .map_or(JsValue::null(), |a| string(&a.value)))
}

fn get_attribute_node(
    here: &Here,
    target: Target,
    args: &[JsValue],
    context: &mut Context,
) -> JsResult<JsValue> {
    let name = arg_string(args, 0, context)?.unwrap_or_default();
    let (Target::Node(element), Some((_, attrs))) = (target, here.element(target)) else {
        return Ok(JsValue::null());
    };
    Ok(match find_attr(attrs, &name) {
        Some((index, _)) => here
            .wrap(Target::Attr {
                element,
                index: index as u32,
            })
            .into(),
        None => JsValue::null(),
    })
}

fn has_attribute(
    here: &Here,
    target: Target,
    args: &[JsValue],
    context: &mut Context,
) -> JsResult<JsValue> {
    let name = arg_string(args, 0, context)?.unwrap_or_default();
    Ok(here
        .element(target)
        .is_some_and(|(_, attrs)| find_attr(attrs, &name).is_some())
        .into())
}

fn has_attribute_ns(
    here: &Here,
    target: Target,
    args: &[JsValue],
    context: &mut Context,
) -> JsResult<JsValue> {
    let ns = arg_string(args, 0, context)?;
    let local = arg_string(args, 1, context)?.unwrap_or_default();
    Ok(here
        .element(target)
        .is_some_and(|(_, attrs)| find_attr_ns(attrs, ns.as_deref(), &local).is_some())
        .into())
}

fn has_attributes(
    here: &Here,
    target: Target,
    _: &[JsValue],
    _: &mut Context,
) -> JsResult<JsValue> {
    Ok(here
        .element(target)
        .is_some_and(|(_, attrs)| !attrs.is_empty())
        .into())
}

fn has_child_nodes(
    here: &Here,
    target: Target,
    _: &[JsValue],
    _: &mut Context,
) -> JsResult<JsValue> {
    Ok(here
        .node(target)
        .is_some_and(|n| !n.children.is_empty())
        .into())
}

/// `list.item(i)`: the i-th entry, or null out of range.
fn list_item(this: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let Some(list) = this.as_object() else {
        return Ok(JsValue::null());
    };
    let index = args
        .first()
        .cloned()
        .unwrap_or_default()
        .to_number(context)?;
    if !(index >= 0.0 && index.fract() == 0.0 && index < f64::from(u32::MAX)) {
        return Ok(JsValue::null());
    }
    let value = list.get(index as u32, context)?;
    Ok(if value.is_undefined() {
        JsValue::null()
    } else {
        value
    })
}

/// `attributes.getNamedItem(name)`: the attribute node named `name`, or null.
fn named_item(this: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let Some(map) = this.as_object() else {
        return Ok(JsValue::null());
    };
    let name = arg_string(args, 0, context)?.unwrap_or_default();
    let length = map.get(js_string!("length"), context)?.to_length(context)?;
    for i in 0..length {
        let attr = map.get(i, context)?;
        let Ok((here, target)) = Here::of(&attr) else {
            continue;
        };
        if here
            .attr(target)
            .is_some_and(|a| a.name.qualified() == name)
        {
            return Ok(attr);
        }
    }
    Ok(JsValue::null())
}

#[cfg(test)]
mod tests {
    use crate::script::{Scope, ScriptHost, ScriptLimits};
    use crate::xml;

    const ACCOUNTS: &str = r#"<?xml version="1.0"?>
<accounts xmlns:x="urn:x">
  <account id="1" type="gold"><name>Alice</name><balance>10.50</balance></account>
  <account id="2"><name>Bob</name><x:note x:lang="en">hi</x:note></account>
</accounts>"#;

    fn with_doc(src: &str) -> ScriptHost {
        let mut h = ScriptHost::new(ScriptLimits::default()).unwrap();
        h.enter(Scope::Application);
        h.enter(Scope::Document);
        let tree = xml::parse(src).unwrap();
        let doc = h.dom_value(&tree);
        h.declare(Scope::Document, "d", doc).unwrap();
        h
    }

    fn s(h: &mut ScriptHost, expr: &str) -> String {
        h.eval_string(expr).expect(expr)
    }

    #[test]
    fn navigates_elements_attributes_and_text() {
        let mut h = with_doc(ACCOUNTS);
        assert_eq!(s(&mut h, "d.nodeName + ' ' + d.nodeType"), "#document 9");
        assert_eq!(s(&mut h, "d.documentElement.tagName"), "accounts");
        assert_eq!(s(&mut h, "d.getElementsByTagName('account').length"), "2");
        assert_eq!(
            s(
                &mut h,
                "d.getElementsByTagName('account').item(1).getAttribute('id')"
            ),
            "2"
        );
        assert_eq!(
            s(
                &mut h,
                "d.getElementsByTagName('name')[0].firstChild.nodeValue"
            ),
            "Alice"
        );
        assert_eq!(
            s(
                &mut h,
                "d.getElementsByTagName('balance').item(0).firstChild.data"
            ),
            "10.50"
        );
        assert!(
            h.eval_bool("d.getElementsByTagName('account')[1].getAttribute('type') === null")
                .unwrap()
        );
        assert!(
            h.eval_bool("d.getElementsByTagName('account')[0].hasAttribute('type')")
                .unwrap()
        );
        assert_eq!(
            s(
                &mut h,
                "d.getElementsByTagName('account')[0].getAttributeNode('type').value"
            ),
            "gold"
        );
        assert_eq!(s(&mut h, "d.getElementsByTagName('*').length"), "7");
        assert!(
            h.eval_bool("d.getElementsByTagName('missing').item(0) === null")
                .unwrap()
        );
    }

    #[test]
    fn tree_links_are_consistent_and_wrappers_are_reused() {
        let mut h = with_doc(ACCOUNTS);
        h.run_script(
            "var root = d.documentElement; var acc = d.getElementsByTagName('account')[0];",
            Scope::Document,
        )
        .unwrap();
        assert!(
            h.eval_bool("root.parentNode === d && d.parentNode === null")
                .unwrap()
        );
        assert!(
            h.eval_bool("acc.parentNode === root && acc.ownerDocument === d")
                .unwrap()
        );
        assert!(h.eval_bool("root.firstChild === root.firstChild").unwrap());
        assert!(h.eval_bool("root.childNodes === root.childNodes").unwrap());
        assert!(
            h.eval_bool("acc.firstChild.nextSibling.previousSibling === acc.firstChild")
                .unwrap()
        );
        assert!(h.eval_bool("acc.lastChild.nextSibling === null").unwrap());
        assert_eq!(
            s(
                &mut h,
                "acc.firstChild.nodeName + ',' + acc.lastChild.nodeName"
            ),
            "name,balance"
        );
        assert!(
            h.eval_bool("acc.hasChildNodes() && !acc.firstChild.firstChild.hasChildNodes()")
                .unwrap()
        );
        assert_eq!(s(&mut h, "acc.firstChild.firstChild.nodeType"), "3");
        assert_eq!(s(&mut h, "acc.textContent"), "Alice10.50");
    }

    #[test]
    fn child_nodes_walk_like_a_node_list() {
        let mut h = with_doc(ACCOUNTS);
        h.run_script(
            "var names = []; var kids = d.documentElement.childNodes; \
             for (var i = 0; i < kids.length; i++) { \
               if (kids.item(i).nodeType == 1) names.push(kids.item(i).getAttribute('id')); }",
            Scope::Document,
        )
        .unwrap();
        assert_eq!(s(&mut h, "names.join()"), "1,2");
        assert!(
            h.eval_bool("d.documentElement.childNodes.item(99) === null")
                .unwrap()
        );
    }

    #[test]
    fn attributes_map() {
        let mut h = with_doc(ACCOUNTS);
        h.run_script(
            "var attrs = d.getElementsByTagName('account')[0].attributes;",
            Scope::Document,
        )
        .unwrap();
        assert_eq!(s(&mut h, "attrs.length"), "2");
        assert_eq!(
            s(&mut h, "attrs.item(0).name + '=' + attrs[0].nodeValue"),
            "id=1"
        );
        assert_eq!(s(&mut h, "attrs.getNamedItem('type').value"), "gold");
        assert!(h.eval_bool("attrs.getNamedItem('nope') === null").unwrap());
        assert_eq!(s(&mut h, "attrs[0].nodeType"), "2");
        assert!(
            h.eval_bool("attrs[0].ownerElement.getAttribute('id') == '1'")
                .unwrap()
        );
        assert!(
            h.eval_bool("d.getElementsByTagName('account')[0].hasAttributes()")
                .unwrap()
        );
    }

    #[test]
    fn namespaces() {
        let mut h = with_doc(ACCOUNTS);
        assert_eq!(
            s(&mut h, "d.getElementsByTagNameNS('urn:x', 'note').length"),
            "1"
        );
        assert_eq!(
            s(&mut h, "d.getElementsByTagNameNS('*', 'note').length"),
            "1"
        );
        assert_eq!(
            s(&mut h, "d.getElementsByTagNameNS('urn:x', '*').length"),
            "1"
        );
        assert_eq!(s(&mut h, "d.getElementsByTagName('x:note').length"), "1");
        h.run_script(
            "var note = d.getElementsByTagNameNS('urn:x', 'note')[0];",
            Scope::Document,
        )
        .unwrap();
        assert_eq!(
            s(
                &mut h,
                "[note.namespaceURI, note.localName, note.prefix, note.nodeName].join()"
            ),
            "urn:x,note,x,x:note"
        );
        assert_eq!(s(&mut h, "note.getAttributeNS('urn:x', 'lang')"), "en");
        assert!(h.eval_bool("note.hasAttributeNS('urn:x', 'lang')").unwrap());
        assert!(
            h.eval_bool("d.documentElement.namespaceURI === null")
                .unwrap()
        );
    }

    #[test]
    fn writes_are_ignored() {
        let mut h = with_doc(ACCOUNTS);
        h.run_script(
            "d.documentElement.tagName = 'changed'; d.documentElement.childNodes[0] = null; \
             d.documentElement.childNodes.push && (function(){ try { d.documentElement.childNodes.push(1); } catch (e) {} })();",
            Scope::Document,
        )
        .unwrap();
        assert_eq!(s(&mut h, "d.documentElement.tagName"), "accounts");
        assert_eq!(s(&mut h, "d.documentElement.childNodes.length"), "5");
        let err = h
            .run_script(
                "(function(){ 'use strict'; d.documentElement.tagName = 'x'; })()",
                Scope::Document,
            )
            .unwrap_err();
        assert_eq!(err.kind, crate::script::ScriptErrorKind::Type);
    }

    #[test]
    fn calling_a_dom_method_on_a_plain_object_is_a_type_error() {
        let mut h = with_doc(ACCOUNTS);
        let err = h.eval("d.getElementsByTagName.call({}, 'x')").unwrap_err();
        assert_eq!(err.kind, crate::script::ScriptErrorKind::Type);
    }

    #[test]
    fn a_megabyte_document_stays_lazy() {
        let mut src = String::from("<rows>");
        let mut i = 0;
        while src.len() < 1_000_000 {
            src.push_str(&format!("<row n=\"{i}\"><v>{i}</v></row>\n"));
            i += 1;
        }
        src.push_str("</rows>");
        let mut h = with_doc(&src);
        assert_eq!(
            s(
                &mut h,
                "d.documentElement.lastChild.previousSibling.getAttribute('n')"
            ),
            (i - 1).to_string()
        );
        let d = h.lookup("d").unwrap();
        let made = |d: &boa_engine::JsValue| {
            let data = d.as_object().unwrap();
            let data = data.downcast_ref::<super::DomRef>().unwrap();
            data.made.borrow().nodes.len()
        };
        // The document, its root, the trailing text and the last row:
        // nothing else was built.
        assert_eq!(made(&d), 4);
        assert_eq!(
            s(&mut h, "d.getElementsByTagName('v').length"),
            i.to_string()
        );
    }
}
