//! The document level: `<vxml>` and what it holds directly (VoiceXML 2.0
//! §1.5, §6.2 `<meta>`/`<metadata>`, §6.3 `<property>`).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use url::Url;

use super::exec::{Data, Script, Var};
use super::form::{Catch, Form, Link, Menu};
use super::{Loc, Scope};

/// A compiled VoiceXML page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Document {
    /// The URL the page was fetched from.
    pub url: Arc<Url>,
    /// `version` of `<vxml>` ("2.0" or "2.1").
    pub version: String,
    /// The base URL for relative references: `xml:base` of `<vxml>` resolved
    /// against [`Document::url`], or the URL itself.
    pub base: Arc<Url>,
    /// `xml:lang` of `<vxml>`.
    pub lang: Option<String>,
    /// `application`: the application root document, resolved.
    pub application: Option<Url>,
    /// `<meta>` elements in document order.
    pub meta: Vec<Meta>,
    /// `<metadata>` contents, serialized (the interpreter never reads them).
    pub metadata: Vec<String>,
    /// Document-level `<property>` elements.
    pub properties: Vec<Property>,
    /// Document-level `<var>`, `<script>` and `<data>` in document order: the
    /// document's initialization (VoiceXML 2.0 §5.1.2, 2.1 §4).
    pub init: Vec<Init>,
    /// Forms and menus in document order; the first is where execution starts
    /// when no fragment names one.
    pub dialogs: Vec<Dialog>,
    /// Dialog id → index into [`Document::dialogs`].
    pub dialog_index: BTreeMap<String, usize>,
    /// Document-level `<link>` elements (application-wide in a root document).
    pub links: Vec<Link>,
    /// Document-level event handlers, in document order.
    pub catches: Vec<Catch>,
    /// The `<vxml>` element.
    pub loc: Loc,
}

impl Document {
    /// The dialog with id `id`.
    pub fn dialog(&self, id: &str) -> Option<&Dialog> {
        self.dialog_index.get(id).and_then(|&i| self.dialogs.get(i))
    }

    /// Index of the dialog with id `id` in [`Document::dialogs`].
    pub fn dialog_position(&self, id: &str) -> Option<usize> {
        self.dialog_index.get(id).copied()
    }

    /// The URL of this document without its fragment, for deciding whether a
    /// target stays in the same document.
    pub fn url_without_fragment(&self) -> Url {
        let mut u = (*self.url).clone();
        u.set_fragment(None);
        u
    }
}

/// An entry of an initialization list (document or form level), kept in
/// document order because variables, scripts and data initialize in that
/// order (VoiceXML 2.0 §5.1.2, §2.1.6.1; VoiceXML 2.1 §4).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Init {
    /// `<var>`.
    Var(Var),
    /// `<script>`.
    Script(Script),
    /// `<data>`.
    Data(Data),
}

/// A dialog: a form or a menu (VoiceXML 2.0 §2).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Dialog {
    /// `<form>`.
    Form(Form),
    /// `<menu>`, kept as written (the session builds its grammars).
    Menu(Menu),
}

impl Dialog {
    /// The dialog's id (generated when the document gave none).
    pub fn id(&self) -> &str {
        match self {
            Dialog::Form(f) => &f.id,
            Dialog::Menu(m) => &m.id,
        }
    }

    /// The dialog's `scope`.
    pub fn scope(&self) -> Scope {
        match self {
            Dialog::Form(f) => f.scope,
            Dialog::Menu(m) => m.scope,
        }
    }

    /// Where the dialog is defined.
    pub fn loc(&self) -> &Loc {
        match self {
            Dialog::Form(f) => &f.loc,
            Dialog::Menu(m) => &m.loc,
        }
    }

    /// What runs when the dialog is entered: a form's `<var>`, `<script>`
    /// and `<data>`, a menu's `<script>`, in document order.
    pub fn init(&self) -> &[Init] {
        match self {
            Dialog::Form(f) => &f.init,
            Dialog::Menu(m) => &m.init,
        }
    }

    /// The dialog-level event handlers.
    pub fn catches(&self) -> &[Catch] {
        match self {
            Dialog::Form(f) => &f.catches,
            Dialog::Menu(m) => &m.catches,
        }
    }

    /// The dialog-level `<property>` elements.
    pub fn properties(&self) -> &[Property] {
        match self {
            Dialog::Form(f) => &f.properties,
            Dialog::Menu(m) => &m.properties,
        }
    }
}

/// `<meta>` (VoiceXML 2.0 §6.2.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Meta {
    /// `name`, when given.
    pub name: Option<String>,
    /// `http-equiv`, when given.
    pub http_equiv: Option<String>,
    /// `content`.
    pub content: String,
    /// The element.
    pub loc: Loc,
}

/// `<property>` (VoiceXML 2.0 §6.3): the session interprets the value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Property {
    /// `name`.
    pub name: String,
    /// `value`, as written.
    pub value: String,
    /// The element.
    pub loc: Loc,
}
