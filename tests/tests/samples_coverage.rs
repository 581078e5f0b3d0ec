//! The sample applications together use every VoiceXML 2.1 element and the
//! GVP extensions, so the sample snapshot tests exercise all of them.

use std::collections::BTreeSet;

use vxp_interpreter::xml::{self, Element, Node};
use vxp_tests::samples_dir;

const VXML_NS: &str = "http://www.w3.org/2001/vxml";
const GVP_NS: &str = "http://www.genesyslab.com/2006/vxml21-extension";

const ELEMENTS: &[&str] = &[
    "vxml",
    "meta",
    "metadata",
    "property",
    "var",
    "script",
    "form",
    "menu",
    "choice",
    "enumerate",
    "field",
    "block",
    "initial",
    "object",
    "record",
    "subdialog",
    "transfer",
    "filled",
    "prompt",
    "grammar",
    "link",
    "catch",
    "error",
    "help",
    "noinput",
    "nomatch",
    "assign",
    "clear",
    "disconnect",
    "else",
    "elseif",
    "exit",
    "goto",
    "if",
    "log",
    "reprompt",
    "return",
    "submit",
    "throw",
    "value",
    "data",
    "foreach",
    "mark",
    "param",
    "audio",
];

fn collect(element: &Element, found: &mut BTreeSet<String>) {
    let name = &element.name;
    if name.ns.as_deref() == Some(VXML_NS) {
        found.insert(name.local.to_string());
    } else if name.ns.as_deref() == Some(GVP_NS) {
        found.insert(format!("gvp:{}", name.local));
    }
    for child in &element.children {
        if let Node::Element(e) = child {
            collect(e, found);
        }
    }
}

#[test]
fn samples_use_every_element() {
    let mut found = BTreeSet::new();
    let mut pages = 0;
    let mut dirs = vec![samples_dir()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("samples folder is readable") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                if !path.ends_with("bad-input") {
                    dirs.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "vxml") {
                let text = std::fs::read_to_string(&path).expect("sample is readable");
                let tree = xml::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                collect(&tree, &mut found);
                pages += 1;
            }
        }
    }
    let missing: Vec<&str> = ELEMENTS
        .iter()
        .copied()
        .chain(["gvp:send", "gvp:receive"])
        .filter(|e| !found.contains(*e))
        .collect();
    assert!(missing.is_empty(), "no sample uses {missing:?}");
    assert!(pages >= 10, "only {pages} sample pages");
}
