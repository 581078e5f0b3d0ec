//! Prompt rendering: a VoiceXML [`Play`] (SSML resolved by the
//! interpreter, VoiceXML 2.1 §4.1) becomes a stream of 8 kHz frames with
//! `<mark>` positions, rendered incrementally and stoppable at any frame.
//!
//! ```text
//! let mut r = PromptRenderer::new(&play, RenderConfig::default());
//! while let Some(req) = r.poll_request() {   // all fetches and TTS up front
//!     // Fetch { id, url }: fetch, audio::decode off the media path, then
//!     //   r.handle_audio(id, Ok(samples)) or r.handle_audio(id, Err(())) (fallback plays)
//!     // Speak { id, request }: synthesize off the media path, then r.handle_speech(id, result)
//! }
//! // every ptime on the media tick:
//! let status = r.next_frame(&mut frame);     // Playing | Waiting (silence) | Finished
//! while let Some(ev) = r.poll_event() { /* Mark → session.handle_mark; Finished → handle_play_done */ }
//! // barge-in: if r.current_prompt().is_some_and(|p| p.bargein) { r.stop() }
//! ```
//!
//! Text between two marks, breaks or audio files in the same voice is one
//! synthesis request. A segment still waiting for its fetch or synthesis
//! holds the output (silence) without blocking the frames before it, and
//! requests for later segments are already under way.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use url::Url;
use vxp_interpreter::vxml::session::{BargeinType, Play, PromptPart};

use super::tts::{DEFAULT_RATE, SpeechRequest};

/// Identifies one fetch or synthesis the renderer asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

/// Work the driver does for the renderer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenderRequest {
    /// Fetch and decode an audio file; answer with `handle_audio`.
    Fetch {
        /// Correlates the answer.
        id: RequestId,
        /// The file.
        url: Url,
    },
    /// Synthesize text; answer with `handle_speech`.
    Speak {
        /// Correlates the answer.
        id: RequestId,
        /// What to say.
        request: SpeechRequest,
    },
}

/// Progress reported while rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenderEvent {
    /// A prompt of the play began (index into `Play::prompts`).
    PromptStarted(usize),
    /// A `<mark>` was reached, `sample` samples into the play.
    Mark {
        /// The mark's name.
        name: String,
        /// Position in samples from the start of the play.
        sample: u64,
    },
    /// Everything was played (or the play was stopped).
    Finished {
        /// Whether `stop` ended it (barge-in).
        stopped: bool,
    },
}

/// The state after a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameStatus {
    /// The frame holds rendered audio (padded with silence at the end).
    Playing,
    /// The next segment is not ready yet; the frame is silence.
    Waiting,
    /// Nothing more to play; the frame is silence.
    Finished,
}

/// The prompt currently playing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PromptInfo {
    /// Index into `Play::prompts`.
    pub index: usize,
    /// Whether input may interrupt it.
    pub bargein: bool,
    /// Speech or hotword barge-in.
    pub bargeintype: BargeinType,
}

/// Rendering settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderConfig {
    /// Speaking rate (words per minute) at `prosody rate="medium"`.
    pub rate: u32,
}

impl Default for RenderConfig {
    fn default() -> Self {
        RenderConfig { rate: DEFAULT_RATE }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Voice {
    lang: Option<String>,
    rate: u32,
    gender: Option<String>,
}

#[derive(Debug)]
enum Segment {
    Prompt(PromptInfo),
    Samples {
        data: Arc<[i16]>,
        offset: usize,
    },
    Silence(usize),
    Mark(String),
    Audio {
        id: RequestId,
        fallback: Vec<PromptPart>,
        voice: Voice,
    },
    Speech(RequestId),
}

/// Renders one `Play`.
#[derive(Debug)]
pub struct PromptRenderer {
    segments: VecDeque<Segment>,
    requests: VecDeque<RenderRequest>,
    events: VecDeque<RenderEvent>,
    next_id: u64,
    position: u64,
    current: Option<PromptInfo>,
    done: bool,
}

/// A `<break strength>` as a pause (SSML 1.0 §3.2.3 leaves the lengths to
/// the platform).
fn strength_pause(strength: Option<&str>) -> Duration {
    Duration::from_millis(match strength {
        Some("none") => 0,
        Some("x-weak") => 100,
        Some("weak") => 250,
        Some("strong") => 750,
        Some("x-strong") => 1000,
        _ => 500,
    })
}

/// A `prosody rate` applied to a base rate.
fn prosody_rate(base: u32, rate: &str) -> u32 {
    let r = rate.trim();
    let factor = match r {
        "x-slow" => 0.5,
        "slow" => 0.75,
        "medium" | "default" => 1.0,
        "fast" => 1.25,
        "x-fast" => 1.6,
        _ => {
            if let Some(p) = r.strip_suffix('%') {
                match p.parse::<f64>() {
                    Ok(v) if r.starts_with(['+', '-']) => 1.0 + v / 100.0,
                    Ok(v) => v / 100.0,
                    Err(_) => 1.0,
                }
            } else {
                r.parse::<f64>().unwrap_or(1.0)
            }
        }
    };
    (f64::from(base) * factor.clamp(0.3, 3.0)) as u32
}

fn attr<'a>(attrs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The spoken form of `say-as` content for character-by-character
/// interpretations.
fn say_as(interpret: &str, text: &str) -> String {
    match interpret {
        "digits" | "characters" | "spell-out" | "telephone" => text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(" "),
        _ => text.to_string(),
    }
}

fn plain_text(parts: &[PromptPart], out: &mut String) {
    for p in parts {
        match p {
            PromptPart::Text(t) => {
                out.push(' ');
                out.push_str(t);
            }
            PromptPart::Element { children, .. } => plain_text(children, out),
            PromptPart::Sub { alias, .. } => {
                out.push(' ');
                out.push_str(alias);
            }
            _ => {}
        }
    }
}

/// Builds segments from SSML parts, merging text runs.
struct Builder<'a> {
    r: &'a mut PromptRenderer,
    out: Vec<Segment>,
    text: String,
    text_voice: Option<Voice>,
}

impl Builder<'_> {
    fn flush(&mut self) {
        let text = std::mem::take(&mut self.text);
        let voice = self.text_voice.take();
        let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if words.is_empty() {
            return;
        }
        let voice = voice.unwrap_or(Voice {
            lang: None,
            rate: DEFAULT_RATE,
            gender: None,
        });
        let id = self.r.new_id();
        self.r.requests.push_back(RenderRequest::Speak {
            id,
            request: SpeechRequest {
                text: words,
                lang: voice.lang,
                rate: voice.rate,
                gender: voice.gender,
            },
        });
        self.out.push(Segment::Speech(id));
    }

    fn text(&mut self, t: &str, voice: &Voice) {
        if self.text_voice.as_ref().is_some_and(|v| v != voice) {
            self.flush();
        }
        self.text_voice = Some(voice.clone());
        self.text.push(' ');
        self.text.push_str(t);
    }

    fn parts(&mut self, parts: &[PromptPart], voice: &Voice, depth: usize) {
        for p in parts {
            self.part(p, voice, depth);
        }
    }

    fn part(&mut self, p: &PromptPart, voice: &Voice, depth: usize) {
        match p {
            PromptPart::Text(t) => self.text(t, voice),
            PromptPart::Sub { alias, .. } => self.text(alias, voice),
            PromptPart::Mark(name) => {
                self.flush();
                self.out.push(Segment::Mark(name.clone()));
            }
            PromptPart::Break { time, strength } => {
                self.flush();
                let d = time.unwrap_or_else(|| strength_pause(strength.as_deref()));
                let samples = d.as_millis().min(60_000) as usize * 8;
                if samples > 0 {
                    self.out.push(Segment::Silence(samples));
                }
            }
            PromptPart::Audio { src, fallback } => {
                self.flush();
                match src {
                    Some(url) => {
                        let id = self.r.new_id();
                        self.r.requests.push_back(RenderRequest::Fetch {
                            id,
                            url: url.clone(),
                        });
                        self.out.push(Segment::Audio {
                            id,
                            fallback: fallback.clone(),
                            voice: voice.clone(),
                        });
                    }
                    None => self.parts(fallback, voice, depth + 1),
                }
            }
            PromptPart::Element {
                name,
                attrs,
                children,
            } => {
                let mut v = voice.clone();
                match name.as_str() {
                    "prosody" => {
                        if let Some(rate) = attr(attrs, "rate") {
                            v.rate = prosody_rate(voice.rate, rate);
                        }
                    }
                    "voice" => {
                        if let Some(g) = attr(attrs, "gender") {
                            v.gender = Some(g.to_string());
                        }
                        if let Some(l) = attr(attrs, "xml:lang").or(attr(attrs, "lang")) {
                            v.lang = Some(l.to_string());
                        }
                    }
                    "lang" | "p" | "s" => {
                        if let Some(l) = attr(attrs, "xml:lang").or(attr(attrs, "lang")) {
                            v.lang = Some(l.to_string());
                        }
                    }
                    "say-as" => {
                        let interpret = attr(attrs, "interpret-as").unwrap_or("");
                        let mut raw = String::new();
                        plain_text(children, &mut raw);
                        let spoken = say_as(interpret, raw.trim());
                        self.text(&spoken, &v);
                        return;
                    }
                    _ => {}
                }
                let block = matches!(name.as_str(), "p" | "s");
                if block {
                    self.flush();
                }
                // The interpreter bounds SSML nesting; this guards the
                // recursion all the same.
                if depth < 64 {
                    self.parts(children, &v, depth + 1);
                }
                if block {
                    self.flush();
                }
            }
        }
    }
}

impl PromptRenderer {
    /// A renderer for `play`; its requests are ready in `poll_request`.
    pub fn new(play: &Play, config: RenderConfig) -> Self {
        let mut r = PromptRenderer {
            segments: VecDeque::new(),
            requests: VecDeque::new(),
            events: VecDeque::new(),
            next_id: 0,
            position: 0,
            current: None,
            done: false,
        };
        let mut segments = Vec::new();
        for (index, prompt) in play.prompts.iter().enumerate() {
            let voice = Voice {
                lang: prompt.lang.clone(),
                rate: config.rate,
                gender: None,
            };
            let mut b = Builder {
                r: &mut r,
                out: vec![Segment::Prompt(PromptInfo {
                    index,
                    bargein: prompt.bargein,
                    bargeintype: prompt.bargeintype,
                })],
                text: String::new(),
                text_voice: None,
            };
            b.parts(&prompt.parts, &voice, 0);
            b.flush();
            segments.extend(b.out);
        }
        r.segments = segments.into();
        r
    }

    fn new_id(&mut self) -> RequestId {
        self.next_id += 1;
        RequestId(self.next_id)
    }

    /// The next fetch or synthesis to perform.
    pub fn poll_request(&mut self) -> Option<RenderRequest> {
        self.requests.pop_front()
    }

    /// The next progress event.
    pub fn poll_event(&mut self) -> Option<RenderEvent> {
        self.events.pop_front()
    }

    /// The prompt playing now (for barge-in decisions).
    pub fn current_prompt(&self) -> Option<PromptInfo> {
        self.current
    }

    /// Samples rendered so far.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Whether the play is over.
    pub fn is_finished(&self) -> bool {
        self.done
    }

    /// The decoded audio for a `Fetch` request, or `Err(())` when the
    /// fetch or decoding failed: the `<audio>` fallback content then plays
    /// in its place.
    pub fn handle_audio(&mut self, id: RequestId, result: Result<Arc<[i16]>, ()>) {
        let Some(pos) = self
            .segments
            .iter()
            .position(|s| matches!(s, Segment::Audio { id: i, .. } if *i == id))
        else {
            return;
        };
        match result {
            Ok(data) => self.segments[pos] = Segment::Samples { data, offset: 0 },
            Err(()) => {
                let Some(Segment::Audio {
                    fallback, voice, ..
                }) = self.segments.remove(pos)
                else {
                    return;
                };
                let mut b = Builder {
                    r: self,
                    out: Vec::new(),
                    text: String::new(),
                    text_voice: None,
                };
                b.parts(&fallback, &voice, 0);
                b.flush();
                let replacement = b.out;
                for (k, seg) in replacement.into_iter().enumerate() {
                    self.segments.insert(pos + k, seg);
                }
            }
        }
    }

    /// The synthesized samples for a `Speak` request; a failure skips the
    /// text.
    pub fn handle_speech(&mut self, id: RequestId, result: Result<Arc<[i16]>, ()>) {
        let Some(pos) = self
            .segments
            .iter()
            .position(|s| matches!(s, Segment::Speech(i) if *i == id))
        else {
            return;
        };
        match result {
            Ok(data) => self.segments[pos] = Segment::Samples { data, offset: 0 },
            Err(()) => {
                self.segments.remove(pos);
            }
        }
    }

    /// Barge-in: stops at this frame.
    pub fn stop(&mut self) {
        if !self.done {
            self.segments.clear();
            self.requests.clear();
            self.done = true;
            self.current = None;
            self.events
                .push_back(RenderEvent::Finished { stopped: true });
        }
    }

    /// Fills `frame` with the next samples.
    pub fn next_frame(&mut self, frame: &mut [i16]) -> FrameStatus {
        let mut filled = 0;
        let mut status = FrameStatus::Playing;
        while filled < frame.len() {
            let Some(seg) = self.segments.front_mut() else {
                break;
            };
            match seg {
                Segment::Prompt(info) => {
                    self.current = Some(*info);
                    self.events
                        .push_back(RenderEvent::PromptStarted(info.index));
                    self.segments.pop_front();
                }
                Segment::Mark(name) => {
                    self.events.push_back(RenderEvent::Mark {
                        name: std::mem::take(name),
                        sample: self.position + filled as u64,
                    });
                    self.segments.pop_front();
                }
                Segment::Samples { data, offset } => {
                    let n = (data.len() - *offset).min(frame.len() - filled);
                    frame[filled..filled + n].copy_from_slice(&data[*offset..*offset + n]);
                    *offset += n;
                    filled += n;
                    if *offset >= data.len() {
                        self.segments.pop_front();
                    }
                }
                Segment::Silence(left) => {
                    let n = (*left).min(frame.len() - filled);
                    frame[filled..filled + n].fill(0);
                    *left -= n;
                    filled += n;
                    if *left == 0 {
                        self.segments.pop_front();
                    }
                }
                Segment::Audio { .. } | Segment::Speech(_) => {
                    if filled == 0 {
                        status = FrameStatus::Waiting;
                    }
                    break;
                }
            }
        }
        frame[filled..].fill(0);
        if self.segments.is_empty() && !self.done {
            self.done = true;
            self.current = None;
            self.events
                .push_back(RenderEvent::Finished { stopped: false });
            if filled == 0 {
                status = FrameStatus::Finished;
            }
        } else if self.done && filled == 0 {
            status = FrameStatus::Finished;
        }
        if status != FrameStatus::Waiting {
            self.position += filled as u64;
        }
        status
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::tts::{SpeechSynthesizer, ToneSynthesizer};
    use vxp_interpreter::vxml::session::{PlayId, QueuedPrompt};

    fn prompt(parts: Vec<PromptPart>) -> QueuedPrompt {
        QueuedPrompt {
            parts,
            bargein: true,
            bargeintype: BargeinType::Speech,
            timeout: None,
            lang: Some("en-US".into()),
            loc: None,
        }
    }

    fn text(t: &str) -> PromptPart {
        PromptPart::Text(t.into())
    }

    /// Serves every request at once with the tone synthesizer, failing
    /// fetches whose URL contains "missing".
    fn serve(r: &mut PromptRenderer) -> Vec<RenderRequest> {
        let mut seen = Vec::new();
        while let Some(req) = r.poll_request() {
            match &req {
                RenderRequest::Speak { id, request } => {
                    let s = ToneSynthesizer.synthesize(request).unwrap();
                    r.handle_speech(*id, Ok(s));
                }
                RenderRequest::Fetch { id, url } => {
                    if url.as_str().contains("missing") {
                        r.handle_audio(*id, Err(()));
                    } else {
                        r.handle_audio(*id, Ok(vec![1000i16; 400].into()));
                    }
                }
            }
            seen.push(req);
        }
        seen
    }

    fn run(r: &mut PromptRenderer) -> (u64, Vec<RenderEvent>) {
        let mut frame = [0i16; 160];
        let mut frames = 0;
        while r.next_frame(&mut frame) != FrameStatus::Finished {
            frames += 1;
            assert!(frames < 10_000);
        }
        let mut events = Vec::new();
        while let Some(e) = r.poll_event() {
            events.push(e);
        }
        (r.position(), events)
    }

    #[test]
    fn text_marks_breaks_and_audio_in_order() {
        let play = Play {
            id: PlayId(1),
            prompts: vec![prompt(vec![
                text("Hello"),
                PromptPart::Element {
                    name: "emphasis".into(),
                    attrs: vec![],
                    children: vec![text("there")],
                },
                PromptPart::Mark("m1".into()),
                PromptPart::Break {
                    time: Some(Duration::from_millis(300)),
                    strength: None,
                },
                PromptPart::Audio {
                    src: Some(Url::parse("http://x/a.wav").unwrap()),
                    fallback: vec![text("never")],
                },
                PromptPart::Mark("m2".into()),
            ])],
        };
        let mut r = PromptRenderer::new(&play, RenderConfig::default());
        let reqs = serve(&mut r);
        assert_eq!(reqs.len(), 2);
        assert!(matches!(&reqs[0], RenderRequest::Speak { request, .. }
            if request.text == "Hello there" && request.lang.as_deref() == Some("en-US")));
        let speech = ToneSynthesizer::length_of("Hello there") as u64;
        let (total, events) = run(&mut r);
        assert_eq!(total, speech + 2400 + 400);
        assert_eq!(
            events,
            vec![
                RenderEvent::PromptStarted(0),
                RenderEvent::Mark {
                    name: "m1".into(),
                    sample: speech
                },
                RenderEvent::Mark {
                    name: "m2".into(),
                    sample: speech + 2400 + 400
                },
                RenderEvent::Finished { stopped: false },
            ]
        );
    }

    #[test]
    fn failed_audio_plays_its_fallback_and_missing_src_too() {
        let play = Play {
            id: PlayId(1),
            prompts: vec![prompt(vec![
                PromptPart::Audio {
                    src: Some(Url::parse("http://x/missing.wav").unwrap()),
                    fallback: vec![text("sorry"), PromptPart::Mark("fb".into())],
                },
                PromptPart::Audio {
                    src: None,
                    fallback: vec![text("expr")],
                },
            ])],
        };
        let mut r = PromptRenderer::new(&play, RenderConfig::default());
        let reqs = serve(&mut r);
        let spoken: Vec<_> = reqs
            .iter()
            .filter_map(|q| match q {
                RenderRequest::Speak { request, .. } => Some(request.text.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(spoken, vec!["expr", "sorry"]);
        let (total, events) = run(&mut r);
        assert_eq!(
            total as usize,
            ToneSynthesizer::length_of("sorry") + ToneSynthesizer::length_of("expr")
        );
        assert!(events.contains(&RenderEvent::Mark {
            name: "fb".into(),
            sample: ToneSynthesizer::length_of("sorry") as u64
        }));
    }

    #[test]
    fn waits_for_late_results_and_stops_on_bargein() {
        let play = Play {
            id: PlayId(1),
            prompts: vec![prompt(vec![text("one two three four five six")])],
        };
        let mut r = PromptRenderer::new(&play, RenderConfig::default());
        let Some(RenderRequest::Speak { id, request }) = r.poll_request() else {
            panic!("expected a synthesis request");
        };
        let mut frame = [7i16; 160];
        assert_eq!(r.next_frame(&mut frame), FrameStatus::Waiting);
        assert!(frame.iter().all(|&s| s == 0));
        assert_eq!(r.current_prompt().map(|p| p.bargein), Some(true));
        r.handle_speech(id, Ok(ToneSynthesizer.synthesize(&request).unwrap()));
        assert_eq!(r.next_frame(&mut frame), FrameStatus::Playing);
        assert_eq!(r.next_frame(&mut frame), FrameStatus::Playing);
        r.stop();
        assert_eq!(r.next_frame(&mut frame), FrameStatus::Finished);
        assert_eq!(r.position(), 320);
        let events: Vec<_> = std::iter::from_fn(|| r.poll_event()).collect();
        assert_eq!(
            events,
            vec![
                RenderEvent::PromptStarted(0),
                RenderEvent::Finished { stopped: true }
            ]
        );
    }

    #[test]
    fn ssml_voice_prosody_say_as_and_breaks() {
        let play = Play {
            id: PlayId(1),
            prompts: vec![prompt(vec![
                text("Call"),
                PromptPart::Element {
                    name: "say-as".into(),
                    attrs: vec![("interpret-as".into(), "digits".into())],
                    children: vec![text("123")],
                },
                PromptPart::Element {
                    name: "prosody".into(),
                    attrs: vec![("rate".into(), "slow".into())],
                    children: vec![text("slowly")],
                },
                PromptPart::Element {
                    name: "voice".into(),
                    attrs: vec![
                        ("gender".into(), "female".into()),
                        ("xml:lang".into(), "fr".into()),
                    ],
                    children: vec![text("bonjour")],
                },
                PromptPart::Break {
                    time: None,
                    strength: Some("strong".into()),
                },
                PromptPart::Sub {
                    alias: "World Wide Web".into(),
                    children: vec![text("WWW")],
                },
            ])],
        };
        let mut r = PromptRenderer::new(&play, RenderConfig::default());
        let reqs: Vec<_> = std::iter::from_fn(|| r.poll_request())
            .map(|q| match q {
                RenderRequest::Speak { request, .. } => {
                    (request.text, request.rate, request.lang, request.gender)
                }
                RenderRequest::Fetch { .. } => panic!("no audio here"),
            })
            .collect();
        assert_eq!(
            reqs,
            vec![
                ("Call 1 2 3".into(), 175, Some("en-US".into()), None),
                ("slowly".into(), 131, Some("en-US".into()), None),
                (
                    "bonjour".into(),
                    175,
                    Some("fr".into()),
                    Some("female".into())
                ),
                ("World Wide Web".into(), 175, Some("en-US".into()), None),
            ]
        );
        assert_eq!(prosody_rate(100, "+20%"), 120);
        assert_eq!(prosody_rate(100, "50%"), 50);
        assert_eq!(prosody_rate(100, "2"), 200);
        assert_eq!(prosody_rate(100, "bogus"), 100);
    }

    #[test]
    fn empty_play_finishes_at_once() {
        let play = Play {
            id: PlayId(1),
            prompts: vec![],
        };
        let mut r = PromptRenderer::new(&play, RenderConfig::default());
        let mut frame = [0i16; 160];
        assert_eq!(r.next_frame(&mut frame), FrameStatus::Finished);
        assert_eq!(
            r.poll_event(),
            Some(RenderEvent::Finished { stopped: false })
        );
    }
}
