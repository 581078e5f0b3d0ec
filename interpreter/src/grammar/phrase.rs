//! Grammars generated from a phrase: the text of a `<choice>` or `<option>`
//! and their `dtmf` attribute (VoiceXML 2.0 §2.2.1, §2.2.5 `accept`, §2.3.1.3).
//!
//! `exact` matches the phrase's words in order; `approximate` matches any
//! in-order subset of them (at least one word), as §2.2.5 describes.

use url::Url;

use super::compile::{self, Header, Syntax};
use super::model::{Builder, Compiled, Expr, Rule, normalize_space};
use super::{GrammarError, Mode};
use crate::xml::Pos;

/// Compiles `text` into a one-rule grammar for `mode`.
pub(crate) fn compile(
    text: &str,
    mode: Mode,
    approximate: bool,
    url: &Url,
) -> Result<Compiled, GrammarError> {
    let text = normalize_space(text);
    if text.is_empty() {
        return Err(GrammarError::new(
            url,
            None,
            "a choice or option phrase is empty",
        ));
    }
    let mut b = Builder::default();
    let words: Vec<&str> = match mode {
        Mode::Voice => text.split(' ').collect(),
        Mode::Dtmf => vec![text.as_str()],
    };
    let mut items = Vec::new();
    for w in words {
        let tok = b.token(w, mode);
        items.push(if approximate {
            b.push(Expr::Repeat {
                child: tok,
                min: 0,
                max: Some(1),
            })
        } else {
            tok
        });
    }
    let body = b.seq(items);
    b.rules.push(Rule {
        name: "phrase".into(),
        public: true,
        body,
        pos: Pos::new(1, 1),
    });
    compile::finish(
        b,
        Header {
            url: url.clone(),
            mode,
            lang: None,
            tag_format: None,
            root: Some(("phrase".into(), Pos::new(1, 1))),
            metas: Vec::new(),
            lexicons: Vec::new(),
            syntax: Syntax::Xml,
        },
    )
}

#[cfg(test)]
mod tests {
    use crate::grammar::{Candidate, Grammar, Input, Mode, Recognition, recognize};

    fn hears(g: &Grammar, input: Input<'_>) -> bool {
        let c = [Candidate {
            grammar: g,
            key: 0,
            weight: 1.0,
        }];
        matches!(recognize(&c, input, 1), Recognition::Match { .. })
    }

    #[test]
    fn exact_and_approximate_phrases() {
        let u = url::Url::parse("http://app.example/menu.vxml").expect("url");
        let exact = Grammar::from_phrase("Sports  News", Mode::Voice, false, &u).expect("exact");
        assert!(hears(&exact, Input::Words("sports news")));
        assert!(!hears(&exact, Input::Words("news")));
        let approx =
            Grammar::from_phrase("Sports News Today", Mode::Voice, true, &u).expect("approx");
        assert!(hears(&approx, Input::Words("news")));
        assert!(hears(&approx, Input::Words("sports today")));
        assert!(!hears(&approx, Input::Words("today sports")));
        assert!(!hears(&approx, Input::Words("")), "silence is not a match");
        let key = Grammar::from_phrase("12", Mode::Dtmf, false, &u).expect("dtmf");
        assert!(hears(&key, Input::Dtmf("12")));
        assert!(!hears(&key, Input::Dtmf("1")));
        assert!(Grammar::from_phrase("  ", Mode::Voice, false, &u).is_err());
    }
}
