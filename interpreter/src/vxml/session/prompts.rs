//! Prompts (VoiceXML 2.0 §4.1): selection by `count` and `cond` (§4.1.6),
//! the prompt queue flushed when the interpreter waits or ends (§4.1.8),
//! and resolution of the SSML tree into [`PromptPart`]s (values evaluated,
//! audio URLs resolved, `<enumerate>` (§2.2.4) and `<foreach>` (VoiceXML 2.1
//! §5) expanded).

use std::sync::Arc;

use boa_engine::JsValue;

use super::events::{Event, source_loc};
use super::{BargeinType, Output, Play, PlayId, PromptPart, QueuedPrompt, Session};
use crate::script::Scope;
use crate::vxml::model::{self, BreakStrength, Computed, Prompt, PromptNode};

/// Depth bound for nested `<foreach>`/`<enumerate>` expansion.
const MAX_PROMPT_DEPTH: usize = 32;

impl Session {
    /// Queues the prompts of a form item or menu for prompt counter `count`
    /// (§4.1.6): among the prompts whose `cond` holds, those with the highest
    /// `count` not above the counter.
    pub(super) fn queue_prompts(
        &mut self,
        prompts: &[Arc<Prompt>],
        count: u32,
    ) -> Result<(), Event> {
        if prompts.is_empty() {
            return Ok(());
        }
        self.js.enter(Scope::Anonymous);
        let r = self.queue_prompts_in_scope(prompts, count);
        self.js.exit(Scope::Anonymous);
        r
    }

    fn queue_prompts_in_scope(&mut self, prompts: &[Arc<Prompt>], count: u32) -> Result<(), Event> {
        let mut eligible: Vec<&Arc<Prompt>> = Vec::with_capacity(prompts.len());
        for p in prompts {
            let ok = match &p.cond {
                Some(c) => self.eval_bool(c)?,
                None => true,
            };
            if ok {
                eligible.push(p);
            }
        }
        let best = eligible
            .iter()
            .map(|p| p.count.max(1))
            .filter(|c| *c <= count)
            .max();
        let Some(best) = best else { return Ok(()) };
        for p in eligible.into_iter().filter(|p| p.count.max(1) == best) {
            self.queue_prompt(p)?;
        }
        Ok(())
    }

    /// Resolves one prompt and queues it.
    pub(super) fn queue_prompt(&mut self, p: &Prompt) -> Result<(), Event> {
        if self.prompts.len() >= self.config.limits.max_queued_prompts {
            tracing::warn!("prompt queue full; prompt at {} dropped", p.loc);
            return Ok(());
        }
        let parts = self.resolve_nodes(&p.content, 0)?;
        let (bargein, bargeintype) = {
            let props = self.props();
            let bt = match props.raw("bargeintype") {
                Some("hotword") => BargeinType::Hotword,
                _ => BargeinType::Speech,
            };
            (props.flag("bargein"), bt)
        };
        self.prompts.push(QueuedPrompt {
            parts,
            bargein: p.bargein.unwrap_or(bargein),
            bargeintype: match p.bargeintype {
                Some(model::BargeinType::Hotword) => BargeinType::Hotword,
                Some(model::BargeinType::Speech) => BargeinType::Speech,
                None => bargeintype,
            },
            timeout: p.timeout,
            lang: p.lang.clone(),
            loc: Some(source_loc(&p.loc)),
        });
        Ok(())
    }

    /// Emits the queued prompts as one `Play`.
    pub(super) fn flush_prompts(&mut self) -> Option<PlayId> {
        if self.prompts.is_empty() {
            return None;
        }
        let id = PlayId(self.next_id());
        let prompts = std::mem::take(&mut self.prompts);
        self.out.push_back(Output::Play(Play { id, prompts }));
        self.playing = Some(id);
        Some(id)
    }

    fn resolve_nodes(
        &mut self,
        nodes: &[PromptNode],
        depth: usize,
    ) -> Result<Vec<PromptPart>, Event> {
        let mut out = Vec::with_capacity(nodes.len());
        for n in nodes {
            self.resolve_node(n, depth, &mut out)?;
        }
        Ok(out)
    }

    fn resolve_node(
        &mut self,
        n: &PromptNode,
        depth: usize,
        out: &mut Vec<PromptPart>,
    ) -> Result<(), Event> {
        if depth > MAX_PROMPT_DEPTH {
            return Ok(());
        }
        let el = |name: &str, attrs: Vec<(&str, Option<String>)>, children| PromptPart::Element {
            name: name.to_string(),
            attrs: attrs
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
                .collect(),
            children,
        };
        match n {
            PromptNode::Text(t) => out.push(PromptPart::Text(t.text.clone())),
            PromptNode::Value(e) => {
                let s = self.eval_string(e)?;
                out.push(PromptPart::Text(s));
            }
            PromptNode::Audio(a) => {
                let src = match &a.src {
                    Computed::Static(u) => Some(u.clone()),
                    Computed::Dynamic(e) => {
                        let v = self.eval(e)?;
                        if v.is_undefined() || v.is_null() {
                            None
                        } else {
                            // An `expr` that is not a URI is audio that cannot be
                            // played: the alternate content is rendered (§4.1.3).
                            let s = self.js.display(&v);
                            self.resolve_url(&s, &a.loc).ok()
                        }
                    }
                };
                let fallback = self.resolve_nodes(&a.fallback, depth + 1)?;
                let fetch = self.audio_fetch(&a.fetch);
                out.push(PromptPart::Audio {
                    src,
                    fallback,
                    fetch,
                });
            }
            PromptNode::Break(b) => out.push(PromptPart::Break {
                time: b.time,
                strength: b.strength.map(|s| {
                    match s {
                        BreakStrength::None => "none",
                        BreakStrength::XWeak => "x-weak",
                        BreakStrength::Weak => "weak",
                        BreakStrength::Medium => "medium",
                        BreakStrength::Strong => "strong",
                        BreakStrength::XStrong => "x-strong",
                    }
                    .to_string()
                }),
            }),
            PromptNode::Mark(m) => {
                let name = self.computed_string(&m.name)?;
                out.push(PromptPart::Mark(name));
            }
            PromptNode::SayAs(s) => {
                let children = self.resolve_nodes(&s.content, depth + 1)?;
                out.push(el(
                    "say-as",
                    vec![
                        ("interpret-as", Some(s.interpret_as.clone())),
                        ("format", s.format.clone()),
                        ("detail", s.detail.clone()),
                    ],
                    children,
                ));
            }
            PromptNode::Prosody(p) => {
                let children = self.resolve_nodes(&p.content, depth + 1)?;
                out.push(el(
                    "prosody",
                    vec![
                        ("pitch", p.pitch.clone()),
                        ("contour", p.contour.clone()),
                        ("range", p.range.clone()),
                        ("rate", p.rate.clone()),
                        (
                            "duration",
                            p.duration.map(|d| format!("{}ms", d.as_millis())),
                        ),
                        ("volume", p.volume.clone()),
                    ],
                    children,
                ));
            }
            PromptNode::Voice(v) => {
                let children = self.resolve_nodes(&v.content, depth + 1)?;
                out.push(el(
                    "voice",
                    vec![
                        ("gender", v.gender.clone()),
                        ("age", v.age.map(|a| a.to_string())),
                        ("variant", v.variant.clone()),
                        ("name", v.name.clone()),
                        ("xml:lang", v.lang.clone()),
                    ],
                    children,
                ));
            }
            PromptNode::Emphasis(e) => {
                let children = self.resolve_nodes(&e.content, depth + 1)?;
                out.push(el("emphasis", vec![("level", e.level.clone())], children));
            }
            PromptNode::Sub(s) => out.push(PromptPart::Sub {
                alias: s.alias.clone(),
                children: vec![PromptPart::Text(s.text.clone())],
            }),
            PromptNode::Paragraph(s) | PromptNode::Sentence(s) => {
                let name = if matches!(n, PromptNode::Paragraph(_)) {
                    "p"
                } else {
                    "s"
                };
                let children = self.resolve_nodes(&s.content, depth + 1)?;
                out.push(el(name, vec![("xml:lang", s.lang.clone())], children));
            }
            PromptNode::Phoneme(p) => out.push(el(
                "phoneme",
                vec![("ph", Some(p.ph.clone())), ("alphabet", p.alphabet.clone())],
                vec![PromptPart::Text(p.text.clone())],
            )),
            PromptNode::Lexicon(_) => {}
            PromptNode::Enumerate(en) => {
                let list = self.enum_items();
                if list.is_empty() {
                    return Err(Event::semantic(
                        &en.loc,
                        "<enumerate> outside a menu or a field with options",
                    ));
                }
                for (k, (text, dtmf)) in list.iter().enumerate() {
                    // Items are separated by a short pause.
                    if k > 0 {
                        out.push(PromptPart::Break {
                            time: None,
                            strength: Some("medium".into()),
                        });
                    }
                    if en.template.is_empty() {
                        // The platform's default template: the phrase itself.
                        out.push(PromptPart::Text(text.clone()));
                        continue;
                    }
                    let p = JsValue::from(boa_engine::js_string!(text.as_str()));
                    let d = match dtmf {
                        Some(d) => JsValue::from(boa_engine::js_string!(d.as_str())),
                        None => JsValue::undefined(),
                    };
                    self.declare(Scope::Anonymous, "_prompt", p, &en.loc)?;
                    self.declare(Scope::Anonymous, "_dtmf", d, &en.loc)?;
                    let parts = self.resolve_nodes(&en.template, depth + 1)?;
                    out.extend(parts);
                }
            }
            PromptNode::Foreach(f) => {
                let arr = self.eval(&f.array)?;
                let values = self
                    .js
                    .array_items(&arr)
                    .map_err(|e| Event::semantic(&f.array.loc, format!("foreach array: {e}")))?;
                for v in values {
                    self.declare(Scope::Anonymous, &f.item, v, &f.loc)?;
                    let parts = self.resolve_nodes(&f.content, depth + 1)?;
                    out.extend(parts);
                }
            }
        }
        Ok(())
    }
}
