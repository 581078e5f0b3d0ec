//! Classifies an element by namespace and local name, once, so the builders
//! match on a closed enum. Elements without a namespace count as VoiceXML
//! (many deployed pages omit `xmlns`); speech markup is recognized in both the
//! VoiceXML and the SSML namespace.

use crate::vxml::model::{GVP_NS, SRGS_NS, SSML_NS, VXML_NS};
use crate::xml;

/// What an element is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tag {
    Vxml,
    Meta,
    Metadata,
    Property,
    Var,
    Script,
    Form,
    Menu,
    Choice,
    Enumerate,
    Field,
    Block,
    Initial,
    Object,
    Record,
    Subdialog,
    Transfer,
    Filled,
    Prompt,
    Grammar,
    Link,
    Catch,
    Error,
    Help,
    Noinput,
    Nomatch,
    Assign,
    Clear,
    Disconnect,
    Else,
    Elseif,
    Exit,
    Goto,
    If,
    Log,
    Reprompt,
    Return,
    Submit,
    Throw,
    Value,
    Data,
    Foreach,
    Mark,
    Param,
    Audio,
    Option,
    Break,
    SayAs,
    Prosody,
    Voice,
    Emphasis,
    Sub,
    Paragraph,
    Sentence,
    Phoneme,
    Lexicon,
    /// SSML `<desc>`, `<meta>` and `<metadata>` inside speech: not spoken.
    SpeechInfo,
    Send,
    Receive,
    /// An element of the SRGS namespace other than `<grammar>`.
    SrgsRule,
    /// An element of a namespace VXP does not interpret: ignored.
    Foreign,
    /// An unknown name in the VoiceXML namespace.
    UnknownVxml,
    /// An unknown name in the SSML namespace.
    UnknownSsml,
    /// An unknown name in the NGI extension namespace.
    UnknownGvp,
}

impl Tag {
    pub fn of(e: &xml::Element) -> Tag {
        match e.name.ns.as_deref() {
            None | Some(VXML_NS) => vxml(&e.name.local),
            Some(SSML_NS) => ssml(&e.name.local).unwrap_or(Tag::UnknownSsml),
            Some(SRGS_NS) if e.name.local == "grammar" => Tag::Grammar,
            Some(SRGS_NS) => Tag::SrgsRule,
            Some(GVP_NS) => match e.name.local.as_str() {
                "send" => Tag::Send,
                "receive" => Tag::Receive,
                _ => Tag::UnknownGvp,
            },
            Some(_) => Tag::Foreign,
        }
    }

    /// True for speech content that may appear bare (outside `<prompt>`) and
    /// then forms an implicit prompt.
    pub fn is_speech(self) -> bool {
        matches!(
            self,
            Tag::Audio
                | Tag::Value
                | Tag::Enumerate
                | Tag::Break
                | Tag::SayAs
                | Tag::Prosody
                | Tag::Voice
                | Tag::Emphasis
                | Tag::Mark
                | Tag::Sub
                | Tag::Paragraph
                | Tag::Sentence
                | Tag::Phoneme
                | Tag::Lexicon
                | Tag::SpeechInfo
        )
    }
}

fn ssml(local: &str) -> Option<Tag> {
    Some(match local {
        "audio" => Tag::Audio,
        "break" => Tag::Break,
        "say-as" => Tag::SayAs,
        "prosody" => Tag::Prosody,
        "voice" => Tag::Voice,
        "emphasis" => Tag::Emphasis,
        "mark" => Tag::Mark,
        "sub" => Tag::Sub,
        "p" | "paragraph" => Tag::Paragraph,
        "s" | "sentence" => Tag::Sentence,
        "phoneme" => Tag::Phoneme,
        "lexicon" => Tag::Lexicon,
        "desc" | "meta" | "metadata" => Tag::SpeechInfo,
        _ => return None,
    })
}

fn vxml(local: &str) -> Tag {
    match local {
        "vxml" => Tag::Vxml,
        "meta" => Tag::Meta,
        "metadata" => Tag::Metadata,
        "property" => Tag::Property,
        "var" => Tag::Var,
        "script" => Tag::Script,
        "form" => Tag::Form,
        "menu" => Tag::Menu,
        "choice" => Tag::Choice,
        "enumerate" => Tag::Enumerate,
        "field" => Tag::Field,
        "block" => Tag::Block,
        "initial" => Tag::Initial,
        "object" => Tag::Object,
        "record" => Tag::Record,
        "subdialog" => Tag::Subdialog,
        "transfer" => Tag::Transfer,
        "filled" => Tag::Filled,
        "prompt" => Tag::Prompt,
        "grammar" => Tag::Grammar,
        "link" => Tag::Link,
        "catch" => Tag::Catch,
        "error" => Tag::Error,
        "help" => Tag::Help,
        "noinput" => Tag::Noinput,
        "nomatch" => Tag::Nomatch,
        "assign" => Tag::Assign,
        "clear" => Tag::Clear,
        "disconnect" => Tag::Disconnect,
        "else" => Tag::Else,
        "elseif" => Tag::Elseif,
        "exit" => Tag::Exit,
        "goto" => Tag::Goto,
        "if" => Tag::If,
        "log" => Tag::Log,
        "reprompt" => Tag::Reprompt,
        "return" => Tag::Return,
        "submit" => Tag::Submit,
        "throw" => Tag::Throw,
        "value" => Tag::Value,
        "data" => Tag::Data,
        "foreach" => Tag::Foreach,
        "param" => Tag::Param,
        "option" => Tag::Option,
        other => ssml(other).unwrap_or(Tag::UnknownVxml),
    }
}
