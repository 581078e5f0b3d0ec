//! Executable content (VoiceXML 2.0 §5.3, VoiceXML 2.1 §4–§6, and the NGI
//! `<gvp:send>`/`<gvp:receive>` extensions): what `<block>`, `<filled>` and
//! event handlers run.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use url::Url;

use super::prompt::Prompt;
use super::{Computed, Expr, FetchAttrs, Loc, Submission, Target};

/// One statement of executable content.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Stmt {
    /// `<assign>`.
    Assign(Assign),
    /// `<clear>`.
    Clear(Clear),
    /// `<data>` (VoiceXML 2.1 §4).
    Data(Data),
    /// `<disconnect>`.
    Disconnect(Disconnect),
    /// `<exit>`.
    Exit(Exit),
    /// `<foreach>` (VoiceXML 2.1 §5) holding executable content.
    Foreach(Foreach),
    /// `<goto>`.
    Goto(Goto),
    /// `<if>` with its `<elseif>`/`<else>` branches.
    If(If),
    /// `<log>`.
    Log(Log),
    /// `<prompt>`, or bare text / `<audio>` / `<value>` / `<enumerate>` /
    /// `<mark>` / `<break>`, which form an implicit prompt
    /// ([`Prompt::implicit`]); adjacent bare content forms one prompt.
    Prompt(Arc<Prompt>),
    /// `<reprompt>`.
    Reprompt(Reprompt),
    /// `<return>`.
    Return(Return),
    /// `<script>`.
    Script(Script),
    /// `<submit>`.
    Submit(Submit),
    /// `<throw>`.
    Throw(Throw),
    /// `<var>`.
    Var(Var),
    /// `<gvp:send>` (NGI extension).
    Send(Send),
    /// `<gvp:receive>` (NGI extension).
    Receive(Receive),
}

impl Stmt {
    /// Where the statement is written.
    pub fn loc(&self) -> &Loc {
        match self {
            Stmt::Assign(s) => &s.loc,
            Stmt::Clear(s) => &s.loc,
            Stmt::Data(s) => &s.loc,
            Stmt::Disconnect(s) => &s.loc,
            Stmt::Exit(s) => &s.loc,
            Stmt::Foreach(s) => &s.loc,
            Stmt::Goto(s) => &s.loc,
            Stmt::If(s) => &s.loc,
            Stmt::Log(s) => &s.loc,
            Stmt::Prompt(s) => &s.loc,
            Stmt::Reprompt(s) => &s.loc,
            Stmt::Return(s) => &s.loc,
            Stmt::Script(s) => &s.loc,
            Stmt::Submit(s) => &s.loc,
            Stmt::Throw(s) => &s.loc,
            Stmt::Var(s) => &s.loc,
            Stmt::Send(s) => &s.loc,
            Stmt::Receive(s) => &s.loc,
        }
    }
}

/// `<var name expr>` (VoiceXML 2.0 §5.3.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Var {
    /// `name`: declared in the scope of the enclosing element.
    pub name: String,
    /// `expr`: initial value; `undefined` when absent.
    pub expr: Option<Expr>,
    /// The element.
    pub loc: Loc,
}

/// `<assign name expr>` (VoiceXML 2.0 §5.3.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assign {
    /// `name`: a variable already declared (possibly scope-qualified).
    pub name: String,
    /// `expr`.
    pub expr: Expr,
    /// The element.
    pub loc: Loc,
}

/// `<clear namelist>` (VoiceXML 2.0 §5.3.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Clear {
    /// Variables to reset; empty means every form item of the current form.
    pub namelist: Vec<String>,
    /// The element.
    pub loc: Loc,
}

/// `<if>`: branches tried in order (VoiceXML 2.0 §5.3.4).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct If {
    /// The `<if>` branch first, then each `<elseif>`, then `<else>` (no `cond`).
    pub branches: Vec<Branch>,
    /// The `<if>` element.
    pub loc: Loc,
}

/// One branch of an `<if>`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Branch {
    /// The condition; `None` for `<else>`.
    pub cond: Option<Expr>,
    /// Statements run when the branch is taken.
    pub body: Vec<Stmt>,
    /// The `<if>`, `<elseif>` or `<else>` element.
    pub loc: Loc,
}

/// `<goto>` (VoiceXML 2.0 §5.3.7).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Goto {
    /// Exactly one of `next`, `expr`, `nextitem`, `expritem`.
    pub target: GotoTarget,
    /// Fetch attributes (used for document transitions).
    pub fetch: FetchAttrs,
    /// The element.
    pub loc: Loc,
}

/// Where a `<goto>` goes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum GotoTarget {
    /// `next` or `expr`: a dialog or document.
    Dialog(Computed<Target>),
    /// `nextitem` or `expritem`: a form item of the current form.
    Item(Computed<String>),
}

/// `<submit>` (VoiceXML 2.0 §5.3.8).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Submit {
    /// `next` or `expr`.
    pub target: Computed<Target>,
    /// `namelist`, `method`, `enctype`.
    pub submission: Submission,
    /// Fetch attributes.
    pub fetch: FetchAttrs,
    /// The element.
    pub loc: Loc,
}

/// `<exit>` (VoiceXML 2.0 §5.3.9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exit {
    /// `expr`: the value returned to the platform.
    pub expr: Option<Expr>,
    /// `namelist`: variables returned to the platform.
    pub namelist: Vec<String>,
    /// The element.
    pub loc: Loc,
}

/// `<return>` from a subdialog (VoiceXML 2.0 §5.3.10).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Return {
    /// `event`/`eventexpr`: an event thrown in the caller instead of returning values.
    pub event: Option<Computed<String>>,
    /// `message`/`messageexpr`, with the event.
    pub message: Option<Computed<String>>,
    /// `namelist`: variables returned to the caller.
    pub namelist: Vec<String>,
    /// The element.
    pub loc: Loc,
}

/// `<disconnect>` (VoiceXML 2.0 §5.3.11; `namelist` from 2.1 §6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Disconnect {
    /// Variables returned to the platform.
    pub namelist: Vec<String>,
    /// The element.
    pub loc: Loc,
}

/// `<throw>` (VoiceXML 2.0 §5.2.1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Throw {
    /// `event` or `eventexpr`.
    pub event: Computed<String>,
    /// `message` or `messageexpr`.
    pub message: Option<Computed<String>>,
    /// The element.
    pub loc: Loc,
}

/// `<reprompt>` (VoiceXML 2.0 §5.3.6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reprompt {
    /// The element.
    pub loc: Loc,
}

/// `<log label expr>` (VoiceXML 2.0 §5.3.13).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Log {
    /// `label`.
    pub label: Option<String>,
    /// `expr`, logged after the content.
    pub expr: Option<Expr>,
    /// Text and `<value>` children, in order.
    pub content: Vec<LogPart>,
    /// The element.
    pub loc: Loc,
}

/// A piece of a `<log>` message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum LogPart {
    /// Literal text (whitespace collapsed).
    Text(String),
    /// `<value expr>`.
    Value(Expr),
}

/// `<script>` (VoiceXML 2.0 §5.3.12; `srcexpr` from 2.1 §3).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Script {
    /// Inline code, `src` or `srcexpr`: exactly one.
    pub source: ScriptSource,
    /// `charset` of an external script.
    pub charset: Option<String>,
    /// Fetch attributes of an external script.
    pub fetch: FetchAttrs,
    /// The element.
    pub loc: Loc,
}

/// Where a script's code comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ScriptSource {
    /// The element's text content.
    Inline(Expr),
    /// `src`, resolved.
    Src(Url),
    /// `srcexpr`.
    SrcExpr(Expr),
}

/// `<data>` (VoiceXML 2.1 §4): fetches XML into a DOM variable.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Data {
    /// `name`: the variable receiving the DOM; when absent the data is only fetched.
    pub name: Option<String>,
    /// `src` (resolved) or `srcexpr`.
    pub src: Computed<Url>,
    /// `namelist`, `method`, `enctype`.
    pub submission: Submission,
    /// Fetch attributes.
    pub fetch: FetchAttrs,
    /// The element.
    pub loc: Loc,
}

/// `<foreach array item>` holding executable content (VoiceXML 2.1 §5).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Foreach {
    /// `array`: an expression yielding an ECMAScript array.
    pub array: Expr,
    /// `item`: the variable receiving each element.
    pub item: String,
    /// Statements run for each element.
    pub body: Vec<Stmt>,
    /// The element.
    pub loc: Loc,
}

/// `<gvp:send>`: a message to the CTI side, carried as SIP INFO.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Send {
    /// `async`: continue without waiting for the acknowledgement (default false).
    pub is_async: bool,
    /// `contenttype` of the body.
    pub contenttype: Option<String>,
    /// `body` or `namelist`.
    pub payload: SendPayload,
    /// The element.
    pub loc: Loc,
}

/// What a `<gvp:send>` carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum SendPayload {
    /// `body`: sent as written.
    Body(String),
    /// `namelist`: variables sent as URL-encoded `name=value` pairs.
    Namelist(Vec<String>),
}

/// `<gvp:receive>`: waits for the next external message, which lands in
/// `application.lastmessage$`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Receive {
    /// `maxtime`: how long to wait; `None` uses the platform default.
    pub maxtime: Option<Duration>,
    /// The element.
    pub loc: Loc,
}
