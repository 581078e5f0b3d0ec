//! Dialogs and what they hold: `<form>` and its form items (VoiceXML 2.0
//! §2.1–§2.3), `<menu>`/`<choice>` (§2.2), `<filled>` (§2.4), `<link>`
//! (§2.5), event handlers (§5.2), and `<param>` (§6.4).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use url::Url;

use super::document::{Init, Property};
use super::exec::Stmt;
use super::grammar::GrammarRef;
use super::prompt::{Prompt, PromptNode};
use super::{Computed, Expr, FetchAttrs, Loc, Scope, Submission, Target};

/// `<form>` (VoiceXML 2.0 §2.1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Form {
    /// `id`, or a generated `__vxp_dialog_<n>` (n = the dialog's position,
    /// starting at 1, made unique against the document's ids).
    pub id: String,
    /// True when the id was generated.
    pub anonymous: bool,
    /// `scope` (default dialog).
    pub scope: Scope,
    /// Form-level `<var>`, `<script>` and `<data>` in document order: run
    /// each time the form is entered (§2.1.6.1).
    pub init: Vec<Init>,
    /// Form items in document order.
    pub items: Vec<FormItem>,
    /// Form item name → index into [`Form::items`].
    pub item_index: BTreeMap<String, usize>,
    /// Form-level grammars (mixed initiative).
    pub grammars: Vec<GrammarRef>,
    /// Form-level `<filled>` elements, in document order.
    pub filled: Vec<Filled>,
    /// Form-level event handlers.
    pub catches: Vec<Catch>,
    /// Form-level `<link>` elements.
    pub links: Vec<Link>,
    /// Form-level `<property>` elements.
    pub properties: Vec<Property>,
    /// The effective `xml:lang`.
    pub lang: Option<String>,
    /// The `<form>` element.
    pub loc: Loc,
}

impl Form {
    /// The form item named `name`.
    pub fn item(&self, name: &str) -> Option<&FormItem> {
        self.item_index.get(name).and_then(|&i| self.items.get(i))
    }

    /// Index of the form item named `name` in [`Form::items`].
    pub fn item_position(&self, name: &str) -> Option<usize> {
        self.item_index.get(name).copied()
    }
}

/// A form item (VoiceXML 2.0 §2.3).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum FormItem {
    /// `<block>`.
    Block(Block),
    /// `<field>`.
    Field(Field),
    /// `<initial>`.
    Initial(Initial),
    /// `<object>`.
    Object(Object),
    /// `<record>`.
    Record(Record),
    /// `<subdialog>`.
    Subdialog(Subdialog),
    /// `<transfer>`.
    Transfer(Transfer),
}

impl FormItem {
    /// The part every form item has.
    pub fn common(&self) -> &ItemCommon {
        match self {
            FormItem::Block(i) => &i.common,
            FormItem::Field(i) => &i.common,
            FormItem::Initial(i) => &i.common,
            FormItem::Object(i) => &i.common,
            FormItem::Record(i) => &i.common,
            FormItem::Subdialog(i) => &i.common,
            FormItem::Transfer(i) => &i.common,
        }
    }

    /// The form item variable's name.
    pub fn name(&self) -> &str {
        &self.common().name
    }

    /// True for input items (field, record, transfer, object, subdialog),
    /// which a form-level `<filled>` without namelist watches.
    pub fn is_input(&self) -> bool {
        !matches!(self, FormItem::Block(_) | FormItem::Initial(_))
    }
}

/// What every form item has (VoiceXML 2.0 §2.3). Items that cannot hold
/// some of these (a `<block>` has no prompts of its own) leave them empty.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemCommon {
    /// `name`, or a generated `__vxp_item_<n>` (n = the item's position in
    /// the form, starting at 1, made unique against the form's names): always
    /// a valid ECMAScript identifier.
    pub name: String,
    /// True when the name was generated.
    pub anonymous: bool,
    /// `expr`: initial value of the form item variable.
    pub expr: Option<Expr>,
    /// `cond`: guard condition.
    pub cond: Option<Expr>,
    /// Prompts, in document order (explicit `<prompt>`s and implicit ones).
    pub prompts: Vec<Arc<Prompt>>,
    /// Item-level event handlers.
    pub catches: Vec<Catch>,
    /// Item-level `<property>` elements.
    pub properties: Vec<Property>,
    /// Item-level `<filled>` elements.
    pub filled: Vec<Filled>,
    /// Item-level grammars.
    pub grammars: Vec<GrammarRef>,
    /// Item-level `<link>` elements (fields and initials).
    pub links: Vec<Link>,
    /// The effective `xml:lang`.
    pub lang: Option<String>,
    /// The element.
    pub loc: Loc,
}

/// `<block>` (VoiceXML 2.0 §2.3.2).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Block {
    /// Name, expr, cond.
    pub common: ItemCommon,
    /// Executable content.
    pub body: Vec<Stmt>,
}

/// `<field>` (VoiceXML 2.0 §2.3.1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Field {
    /// The common part.
    pub common: ItemCommon,
    /// `type`: a builtin grammar type with optional parameters (`digits?minlength=3`).
    pub field_type: Option<String>,
    /// `slot` (defaults to the name at run time).
    pub slot: Option<String>,
    /// `modal` (default false).
    pub modal: bool,
    /// `<option>` children (§2.3.1.3).
    pub options: Vec<FieldOption>,
}

/// `<option>` of a field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldOption {
    /// `dtmf`: the DTMF sequence selecting the option.
    pub dtmf: Option<String>,
    /// `accept` (default follows the field: exact).
    pub accept: Option<Accept>,
    /// `value`, or the content text when absent.
    pub value: String,
    /// The content text (what is spoken by `<enumerate>` and recognized).
    pub text: String,
    /// The element.
    pub loc: Loc,
}

/// `<initial>` (VoiceXML 2.0 §2.3.3).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Initial {
    /// The common part.
    pub common: ItemCommon,
}

/// `<object>` (VoiceXML 2.0 §2.3.5).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Object {
    /// The common part.
    pub common: ItemCommon,
    /// `classid`, as written.
    pub classid: Option<String>,
    /// `codebase`, resolved.
    pub codebase: Option<Url>,
    /// `codetype`.
    pub codetype: Option<String>,
    /// `data`, resolved.
    pub data: Option<Url>,
    /// `type` of `data`.
    pub media_type: Option<String>,
    /// `archive`: space-separated URIs as written.
    pub archive: Vec<String>,
    /// Fetch attributes.
    pub fetch: FetchAttrs,
    /// `<param>` children.
    pub params: Vec<Param>,
}

/// `<record>` (VoiceXML 2.0 §2.3.6).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    /// The common part.
    pub common: ItemCommon,
    /// `modal` (default true).
    pub modal: bool,
    /// `beep` (default false).
    pub beep: bool,
    /// `maxtime`; `None` is the platform default.
    pub maxtime: Option<Duration>,
    /// `finalsilence`; `None` is the platform default.
    pub finalsilence: Option<Duration>,
    /// `dtmfterm` (default true).
    pub dtmfterm: bool,
    /// `type`: media format of the recording.
    pub media_type: Option<String>,
}

/// `<subdialog>` (VoiceXML 2.0 §2.3.4).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Subdialog {
    /// The common part.
    pub common: ItemCommon,
    /// `src` or `srcexpr`.
    pub src: Computed<Target>,
    /// `namelist`, `method`, `enctype`.
    pub submission: Submission,
    /// Fetch attributes.
    pub fetch: FetchAttrs,
    /// `<param>` children.
    pub params: Vec<Param>,
}

/// `<transfer>` (VoiceXML 2.0 §2.3.7, VoiceXML 2.1 §7, GVP attributes).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transfer {
    /// The common part.
    pub common: ItemCommon,
    /// `dest` or `destexpr` (a URI: `tel:`, `sip:`...).
    pub dest: Option<Computed<String>>,
    /// The transfer type: `type`, or `bridge="true"` (bridge) / `"false"`
    /// (blind), default blind.
    pub transfer_type: TransferType,
    /// `connecttimeout`.
    pub connecttimeout: Option<Duration>,
    /// `maxtime` (bridge transfers); `None` or zero means no limit.
    pub maxtime: Option<Duration>,
    /// `transferaudio`, resolved.
    pub transferaudio: Option<Url>,
    /// `aai` or `aaiexpr`.
    pub aai: Option<Computed<String>>,
    /// `gvp:method`.
    pub method: Option<TransferMethod>,
    /// `gvp:connectwhen`.
    pub connectwhen: Option<ConnectWhen>,
}

/// The kind of `<transfer>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum TransferType {
    /// The interpreter leaves the call.
    #[default]
    Blind,
    /// The interpreter stays on the call and resumes when the far end hangs up.
    Bridge,
    /// Consultation transfer (VoiceXML 2.1 §7).
    Consultation,
}

/// `gvp:method`: how the platform carries out the transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum TransferMethod {
    /// `BRIDGE`: a second leg bridged by the media platform.
    Bridge,
    /// `REFER`: SIP REFER to the caller's side.
    Refer,
    /// `REFERJOIN`: REFER with a join of the existing dialog.
    ReferJoin,
    /// `MEDIAREDIRECT`: re-INVITE moving the media.
    MediaRedirect,
    /// `HKF`: hook-flash transfer.
    HookFlash,
    /// Another method name, upper-cased, left to the platform.
    Other(String),
}

/// `gvp:connectwhen`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ConnectWhen {
    /// The transfer counts as connected when the far end answers.
    Answered,
    /// The transfer counts as connected at once.
    Immediate,
}

/// `<param>` of `<object>` or `<subdialog>` (VoiceXML 2.0 §6.4).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Param {
    /// `name`.
    pub name: String,
    /// `expr` or `value`.
    pub value: ParamValue,
    /// `valuetype` (default data).
    pub valuetype: ValueType,
    /// `type`: media type when valuetype is ref.
    pub media_type: Option<String>,
    /// The element.
    pub loc: Loc,
}

/// The value of a `<param>`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ParamValue {
    /// `value`: a string.
    Literal(String),
    /// `expr`.
    Expr(Expr),
}

/// `valuetype` of a `<param>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum ValueType {
    /// The value is data.
    #[default]
    Data,
    /// The value is a URI referring to the data.
    Ref,
}

/// `<filled>` (VoiceXML 2.0 §2.4).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Filled {
    /// `mode` (default all).
    pub mode: FilledMode,
    /// `namelist`; empty means every input item of the form (form level) or
    /// the enclosing item (item level).
    pub namelist: Vec<String>,
    /// Executable content.
    pub body: Vec<Stmt>,
    /// The element.
    pub loc: Loc,
}

/// `mode` of `<filled>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum FilledMode {
    /// Run when all named items are filled.
    #[default]
    All,
    /// Run when any named item was just filled.
    Any,
}

/// An event handler: `<catch>`, or its shorthands `<error>`, `<help>`,
/// `<noinput>`, `<nomatch>` (VoiceXML 2.0 §5.2.2–§5.2.3).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Catch {
    /// Event names (prefix-matched); empty catches every event (`.` or no `event`).
    pub events: Vec<String>,
    /// `count` (default 1).
    pub count: u32,
    /// `cond`.
    pub cond: Option<Expr>,
    /// Executable content.
    pub body: Vec<Stmt>,
    /// The effective `xml:lang` (for implicit prompts in the body).
    pub lang: Option<String>,
    /// The element.
    pub loc: Loc,
}

/// `<link>` (VoiceXML 2.0 §2.5).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Link {
    /// What happens when one of its grammars matches.
    pub action: LinkAction,
    /// `dtmf`: a DTMF sequence acting as an extra grammar.
    pub dtmf: Option<String>,
    /// Fetch attributes.
    pub fetch: FetchAttrs,
    /// The link's grammars.
    pub grammars: Vec<GrammarRef>,
    /// The element.
    pub loc: Loc,
}

/// What a `<link>` or `<choice>` does when selected.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum LinkAction {
    /// `next` or `expr`: go to a dialog or document.
    Goto(Computed<Target>),
    /// `event`/`eventexpr` with `message`/`messageexpr`: throw an event.
    Throw {
        /// The event.
        event: Computed<String>,
        /// The message.
        message: Option<Computed<String>>,
    },
}

/// `<menu>` (VoiceXML 2.0 §2.2).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Menu {
    /// `id`, or generated as for forms.
    pub id: String,
    /// True when the id was generated.
    pub anonymous: bool,
    /// `scope` (default dialog).
    pub scope: Scope,
    /// `dtmf`: choices without `dtmf` get 1–9 in order (default false).
    pub dtmf: bool,
    /// `accept` (default exact).
    pub accept: Accept,
    /// `<script>` children, run when the menu is entered.
    pub init: Vec<Init>,
    /// Prompts (explicit and implicit).
    pub prompts: Vec<Arc<Prompt>>,
    /// Choices in document order.
    pub choices: Vec<Choice>,
    /// Menu-level event handlers.
    pub catches: Vec<Catch>,
    /// Menu-level `<property>` elements.
    pub properties: Vec<Property>,
    /// The effective `xml:lang`.
    pub lang: Option<String>,
    /// The `<menu>` element.
    pub loc: Loc,
}

/// `accept` of a menu, choice or option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum Accept {
    /// The whole phrase must be said.
    #[default]
    Exact,
    /// Any subphrase is accepted.
    Approximate,
}

/// `<choice>` (VoiceXML 2.0 §2.2.2).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Choice {
    /// `dtmf`.
    pub dtmf: Option<String>,
    /// `accept`; `None` follows the menu.
    pub accept: Option<Accept>,
    /// What the choice does.
    pub action: LinkAction,
    /// Fetch attributes.
    pub fetch: FetchAttrs,
    /// Explicit `<grammar>` children; when empty the session builds a grammar
    /// from [`Choice::text`].
    pub grammars: Vec<GrammarRef>,
    /// The choice's speech content (spoken by `<enumerate>`).
    pub content: Vec<PromptNode>,
    /// The content's plain text, whitespace collapsed.
    pub text: String,
    /// The effective `xml:lang`.
    pub lang: Option<String>,
    /// The element.
    pub loc: Loc,
}
