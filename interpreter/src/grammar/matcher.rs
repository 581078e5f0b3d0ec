//! Matching a token sequence against compiled grammars (SRGS 1.0 §2,
//! VoiceXML 2.0 §3.1.4 for several active grammars).
//!
//! The matcher computes, for each expression and start position, the set of
//! end positions it can reach plus an `open` flag (some derivation consumed
//! the whole input and wants more). Results are memoized per (expression,
//! start), so work is polynomial in the input length; large `one-of`s are
//! entered through their first-word index. A derivation is then rebuilt top
//! down from the memo table: alternatives by weight then document order,
//! sequences and repeats preferring longer early spans.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::Rc;
use std::sync::Arc;

use super::model::{Alternatives, Compiled, Expr, ExprId};
use super::{Candidate, Hypothesis, Input, Kind, Mode, Recognition};

/// Longest input matched; longer DTMF strings or utterances are a nomatch,
/// which bounds the (polynomial) matching work.
pub const MAX_INPUT_TOKENS: usize = 512;

/// Deepest expression nesting followed while matching; deeper derivations
/// (e.g. a right-recursive rule over a very long input) do not match.
const MAX_DEPTH: u32 = 600;

/// A derivation of the input: rules, tokens and tags in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseNode {
    /// A rule that matched, by the name it was referenced with (`<uri>` for
    /// external references).
    Rule {
        /// The reference as written: the rule name, or `<uri>` for external
        /// references.
        name: String,
        /// The name of the rule itself (what SISR's `rules.x` uses).
        rule: String,
        /// What the rule's expansion matched.
        children: Vec<ParseNode>,
    },
    /// A token as written in the grammar.
    Token(String),
    /// A tag met on the derivation.
    Tag {
        /// The tag's content as written.
        text: Arc<str>,
        /// True for `semantics/1.0-literals`.
        literal: bool,
    },
}

impl ParseNode {
    /// The tokens under this node, joined by spaces.
    pub fn text(&self) -> String {
        let mut words = Vec::new();
        self.collect_tokens(&mut words);
        words.join(" ")
    }

    fn collect_tokens<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Self::Token(t) => out.push(t),
            Self::Rule { children, .. } => children.iter().for_each(|c| c.collect_tokens(out)),
            Self::Tag { .. } => {}
        }
    }
}

impl fmt::Display for ParseNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rule { name, children, .. } => {
                write!(f, "${name}[")?;
                for (i, c) in children.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{c}")?;
                }
                f.write_str("]")
            }
            Self::Token(t) => write!(f, "\"{t}\""),
            Self::Tag { text, .. } => write!(f, "{{!{{{}}}!}}", text.trim()),
        }
    }
}

/// Input split into the units grammars match.
pub(crate) struct Tokens {
    /// Normalized units (lower-case words, upper-case DTMF keys).
    pub norm: Vec<String>,
    /// As heard, for the utterance.
    pub raw: Vec<String>,
    pub mode: Mode,
}

impl Tokens {
    pub(crate) fn new(input: Input<'_>) -> Self {
        match input {
            Input::Dtmf(s) => {
                let keys: Vec<String> = s
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .map(|c| c.to_ascii_uppercase().to_string())
                    .collect();
                Self {
                    norm: keys.clone(),
                    raw: keys,
                    mode: Mode::Dtmf,
                }
            }
            Input::Words(s) => Self {
                norm: s.split_whitespace().map(str::to_lowercase).collect(),
                raw: s.split_whitespace().map(str::to_owned).collect(),
                mode: Mode::Voice,
            },
        }
    }

    pub(crate) fn utterance(&self) -> String {
        match self.mode {
            Mode::Dtmf => self.raw.concat(),
            Mode::Voice => self.raw.join(" "),
        }
    }
}

/// The outcome of one grammar against one input.
#[derive(Debug)]
pub(crate) struct GrammarMatch<T> {
    /// The derivation when the whole input matched.
    pub full: Option<T>,
    /// A longer input could match.
    pub open: bool,
}

/// Matches `input` against every candidate whose mode fits, and returns the
/// hypotheses in candidate order (the caller's §3.1.4 precedence). Empty
/// input and inputs of more than [`MAX_INPUT_TOKENS`] keys or words do not
/// match.
pub fn recognize(cands: &[Candidate<'_>], input: Input<'_>, max_nbest: usize) -> Recognition {
    let tokens = Tokens::new(input);
    if tokens.norm.is_empty() {
        // Silence is `noinput`, never a recognition, even for grammars
        // that can match the empty sequence.
        return Recognition::NoMatch;
    }
    if tokens.norm.len() > MAX_INPUT_TOKENS {
        tracing::debug!(
            tokens = tokens.norm.len(),
            "input longer than {MAX_INPUT_TOKENS} tokens: no match"
        );
        return Recognition::NoMatch;
    }
    let mut hypotheses = Vec::new();
    let mut extendable = false;
    for cand in cands {
        if cand.grammar.mode() != tokens.mode {
            continue;
        }
        match &*cand.grammar.inner {
            Kind::Srgs(c) => {
                let m = match_compiled(c, &tokens.norm, max_nbest);
                extendable |= m.open;
                for (parse, confidence) in m.full.unwrap_or_default() {
                    hypotheses.push(Hypothesis {
                        key: cand.key,
                        utterance: tokens.utterance(),
                        confidence,
                        mode: tokens.mode,
                        parse,
                        builtin: None,
                    });
                }
            }
            Kind::Builtin(b) => {
                let m = b.matches(&tokens.norm);
                extendable |= m.open;
                if let Some(value) = m.full {
                    hypotheses.push(Hypothesis {
                        key: cand.key,
                        utterance: tokens.utterance(),
                        confidence: 1.0,
                        mode: tokens.mode,
                        parse: ParseNode::Rule {
                            name: b.uri().to_owned(),
                            rule: b.uri().to_owned(),
                            children: tokens.raw.iter().cloned().map(ParseNode::Token).collect(),
                        },
                        builtin: Some(value),
                    });
                }
            }
        }
    }
    if hypotheses.is_empty() {
        return if extendable {
            Recognition::Prefix
        } else {
            Recognition::NoMatch
        };
    }
    // Best derivations first, in the caller's precedence order; alternative
    // readings of an ambiguous grammar after them.
    hypotheses.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    hypotheses.truncate(max_nbest.max(1));
    Recognition::Match {
        hypotheses,
        extendable,
    }
}

/// Matches normalized tokens against a compiled grammar's root rule. On a
/// full match, up to `nbest` derivations come back, best first, each with a
/// confidence: the preferred derivation scores 1.0; the others differ from
/// it in one ambiguous `one-of` and score by that alternative's weight
/// relative to the preferred one.
pub(crate) fn match_compiled(
    g: &Compiled,
    toks: &[String],
    nbest: usize,
) -> GrammarMatch<Vec<(ParseNode, f32)>> {
    let none = GrammarMatch {
        full: None,
        open: false,
    };
    let Some(root) = g.root else { return none };
    let Ok(n) = u32::try_from(toks.len()) else {
        return none;
    };
    let rule = &g.rules[root as usize];
    let mut m = Matcher {
        g,
        toks,
        n,
        memo: Memo::default(),
        depth: 0,
        choices: Some(Vec::new()),
        overrides: HashMap::new(),
    };
    let r = m.eval(rule.body, 0);
    if !r.ends.contains(&n) {
        return GrammarMatch {
            full: None,
            open: r.open,
        };
    }
    let root_node = |children| ParseNode::Rule {
        name: rule.name.clone(),
        rule: rule.name.clone(),
        children,
    };
    let mut parses = Vec::new();
    m.depth = 0;
    let mut children = Vec::new();
    if m.build(rule.body, 0, n, &mut children) {
        parses.push((root_node(children), 1.0));
    }
    let choices = m.choices.take().unwrap_or_default();
    'outer: for (alt_id, s, e, viable) in choices {
        let Some(&(_, best_w)) = viable.first() else {
            continue;
        };
        for &(item, w) in viable.iter().skip(1) {
            if parses.len() >= nbest.max(1) {
                break 'outer;
            }
            m.overrides.clear();
            m.overrides.insert((alt_id, s, e), item);
            m.depth = 0;
            let mut children = Vec::new();
            if m.build(rule.body, 0, n, &mut children) {
                let node = root_node(children);
                if parses.iter().all(|(p, _)| *p != node) {
                    let conf = if best_w > 0.0 {
                        (w / best_w).min(1.0)
                    } else {
                        1.0
                    };
                    parses.push((node, conf));
                }
            }
        }
    }
    parses.truncate(nbest.max(1));
    GrammarMatch {
        full: (!parses.is_empty()).then_some(parses),
        open: r.open,
    }
}

#[derive(Debug, Default)]
struct Ends {
    /// Sorted, deduplicated end positions.
    ends: Vec<u32>,
    /// Some derivation reached the end of the input and wants more.
    open: bool,
}

/// Hashes the memo's (expression, start) keys: they are already unique
/// integers, so one multiply spreads them well and is much cheaper than
/// SipHash on this hot path.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (n ^ (n >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type Memo = HashMap<u64, Rc<Ends>, BuildHasherDefault<KeyHasher>>;

/// The alternatives of a `one-of` worth trying at a position.
enum Cands<'a> {
    /// Every alternative, `0..n`.
    All(u32),
    /// Those the first-word index lists.
    Slice(&'a [u32]),
    /// Index entries merged with the always-tried ones.
    Owned(Vec<u32>),
}

impl Cands<'_> {
    fn len(&self) -> usize {
        match self {
            Self::All(n) => *n as usize,
            Self::Slice(s) => s.len(),
            Self::Owned(v) => v.len(),
        }
    }

    fn at(&self, i: usize) -> u32 {
        match self {
            Self::All(_) => u32::try_from(i).unwrap_or(u32::MAX),
            Self::Slice(s) => s[i],
            Self::Owned(v) => v[i],
        }
    }
}

/// An ambiguous `one-of` met while building the preferred derivation: the
/// alternative expression, its span, and every alternative deriving that
/// span (preferred first).
type Choice = (ExprId, u32, u32, Vec<(ExprId, f32)>);

struct Matcher<'a> {
    g: &'a Compiled,
    toks: &'a [String],
    n: u32,
    memo: Memo,
    depth: u32,
    /// Collects ambiguous choices during the first build (for N-best).
    choices: Option<Vec<Choice>>,
    /// Forced alternatives for (one-of, start, end) when rebuilding.
    overrides: HashMap<(ExprId, u32, u32), ExprId>,
}

fn key(e: ExprId, s: u32) -> u64 {
    (u64::from(e) << 32) | u64::from(s)
}

fn merge(into: &mut Vec<u32>, from: &[u32]) {
    into.extend_from_slice(from);
    into.sort_unstable();
    into.dedup();
}

impl<'a> Matcher<'a> {
    fn eval(&mut self, id: ExprId, s: u32) -> Rc<Ends> {
        let cacheable = !matches!(
            self.g.expr(id),
            Expr::Token { .. } | Expr::Null | Expr::Void | Expr::Tag { .. }
        );
        if cacheable && let Some(r) = self.memo.get(&key(id, s)) {
            return r.clone();
        }
        if self.depth >= MAX_DEPTH {
            tracing::debug!("grammar nesting deeper than {MAX_DEPTH}: treated as no match");
            return Rc::new(Ends::default());
        }
        self.depth += 1;
        let r = match self.g.expr(id) {
            // A resolved reference shares its rule body's result.
            Expr::Ref(rr) => match rr.target {
                Some(rule) => self.eval(self.g.rules[rule as usize].body, s),
                None => Rc::new(Ends::default()),
            },
            _ => Rc::new(self.compute(id, s)),
        };
        self.depth -= 1;
        if cacheable {
            self.memo.insert(key(id, s), r.clone());
        }
        r
    }

    fn token_at(&self, p: u32) -> Option<&str> {
        self.toks.get(p as usize).map(String::as_str)
    }

    fn compute(&mut self, id: ExprId, s: u32) -> Ends {
        let g = self.g;
        match g.expr(id) {
            Expr::Token { words, .. } => {
                let mut p = s;
                for w in words.iter() {
                    match self.token_at(p) {
                        Some(t) if t == &**w => p += 1,
                        Some(_) => return Ends::default(),
                        None => {
                            return Ends {
                                ends: Vec::new(),
                                open: true,
                            };
                        }
                    }
                }
                Ends {
                    ends: vec![p],
                    open: false,
                }
            }
            Expr::Null | Expr::Tag { .. } => Ends {
                ends: vec![s],
                open: false,
            },
            Expr::Void => Ends::default(),
            Expr::Garbage => Ends {
                ends: (s..=self.n).collect(),
                open: true,
            },
            Expr::Seq(items) => {
                let mut frontier = vec![s];
                let mut open = false;
                for &item in items.iter() {
                    let mut next = Vec::new();
                    for &p in &frontier {
                        let r = self.eval(item, p);
                        open |= r.open;
                        next.extend_from_slice(&r.ends);
                    }
                    next.sort_unstable();
                    next.dedup();
                    frontier = next;
                    if frontier.is_empty() {
                        break;
                    }
                }
                Ends {
                    ends: frontier,
                    open,
                }
            }
            Expr::Alt(alt) => {
                let mut ends = Vec::new();
                let mut open = false;
                let candidates = self.alt_candidates(alt, s, &mut open);
                for k in 0..candidates.len() {
                    if let Some(&(item, _)) = alt.items.get(candidates.at(k) as usize) {
                        let r = self.eval(item, s);
                        open |= r.open;
                        ends.extend_from_slice(&r.ends);
                    }
                }
                ends.sort_unstable();
                ends.dedup();
                Ends { ends, open }
            }
            Expr::Repeat { child, min, max } => self.repeat(*child, *min, *max, s),
            // `eval` answers references from their rule body.
            Expr::Ref(_) => Ends::default(),
        }
    }

    /// One more iteration of `child` from every position of `frontier`.
    fn step(&mut self, child: ExprId, frontier: &[u32], open: &mut bool) -> Vec<u32> {
        let mut next = Vec::new();
        for &p in frontier {
            let r = self.eval(child, p);
            *open |= r.open;
            next.extend_from_slice(&r.ends);
        }
        next.sort_unstable();
        next.dedup();
        next
    }

    fn repeat(&mut self, child: ExprId, min: u32, max: Option<u32>, s: u32) -> Ends {
        let nullable = self.g.nullable[child as usize];
        let mut open = false;
        let mut frontier = vec![s];
        let mut k = 0u32;
        while k < min {
            let next = self.step(child, &frontier, &mut open);
            k += 1;
            if next.is_empty() {
                return Ends { ends: next, open };
            }
            if nullable && next == frontier {
                // Further mandatory iterations can all be empty.
                k = min;
            }
            frontier = next;
        }
        let mut ends = frontier.clone();
        while !frontier.is_empty() && max.is_none_or(|m| k < m) {
            let next = self.step(child, &frontier, &mut open);
            k += 1;
            frontier = next
                .into_iter()
                .filter(|p| ends.binary_search(p).is_err())
                .collect();
            merge(&mut ends, &frontier);
        }
        Ends { ends, open }
    }

    /// The alternatives worth trying at `s`, in document order.
    fn alt_candidates(&self, alt: &'a Alternatives, s: u32, open: &mut bool) -> Cands<'a> {
        let all = || Cands::All(u32::try_from(alt.items.len()).unwrap_or(u32::MAX));
        let Some(index) = &alt.index else {
            return all();
        };
        match self.token_at(s) {
            Some(tok) => {
                let listed: &'a [u32] = index.by_word.get(tok).map_or(&[], Vec::as_slice);
                if index.always.is_empty() {
                    Cands::Slice(listed)
                } else if listed.is_empty() {
                    Cands::Slice(&index.always)
                } else {
                    let mut c = index.always.clone();
                    c.extend_from_slice(listed);
                    c.sort_unstable();
                    Cands::Owned(c)
                }
            }
            None => {
                *open |= !index.by_word.is_empty();
                Cands::Slice(&index.always)
            }
        }
    }

    fn reaches(&mut self, id: ExprId, s: u32, e: u32) -> bool {
        self.eval(id, s).ends.binary_search(&e).is_ok()
    }

    /// Appends one derivation of `id` over `s..e` to `out`; false when there
    /// is none (or it is too deep).
    fn build(&mut self, id: ExprId, s: u32, e: u32, out: &mut Vec<ParseNode>) -> bool {
        if self.depth >= MAX_DEPTH {
            return false;
        }
        self.depth += 1;
        let ok = self.build_inner(id, s, e, out);
        self.depth -= 1;
        ok
    }

    fn build_inner(&mut self, id: ExprId, s: u32, e: u32, out: &mut Vec<ParseNode>) -> bool {
        let g = self.g;
        match g.expr(id) {
            Expr::Token { text, words } => {
                let ok = usize::try_from(e - s).ok() == Some(words.len());
                if ok {
                    out.push(ParseNode::Token(text.to_string()));
                }
                ok
            }
            Expr::Tag { text, format } => {
                out.push(ParseNode::Tag {
                    text: text.clone(),
                    literal: *format == super::model::TagFormat::Literal,
                });
                s == e
            }
            Expr::Null => s == e,
            Expr::Void => false,
            Expr::Garbage => s <= e,
            Expr::Seq(items) => {
                let items = items.clone();
                // Forward: positions reachable before each item.
                let mut fwd = vec![vec![s]];
                for &item in items.iter() {
                    let mut open = false;
                    let last = fwd.last().cloned().unwrap_or_default();
                    let next = self.step(item, &last, &mut open);
                    fwd.push(next);
                }
                // Backward: of those, positions from which `e` is reachable.
                let mut back: Vec<Vec<u32>> = vec![Vec::new(); items.len() + 1];
                back[items.len()] = vec![e];
                for i in (0..items.len()).rev() {
                    let targets = back[i + 1].clone();
                    let mut ok = Vec::new();
                    for &p in &fwd[i] {
                        let r = self.eval(items[i], p);
                        if r.ends.iter().any(|q| targets.binary_search(q).is_ok()) {
                            ok.push(p);
                        }
                    }
                    back[i] = ok;
                }
                let mut p = s;
                for (i, &item) in items.iter().enumerate() {
                    let r = self.eval(item, p);
                    let Some(&q) = r
                        .ends
                        .iter()
                        .rev()
                        .find(|q| back[i + 1].binary_search(q).is_ok())
                    else {
                        return false;
                    };
                    if !self.build(item, p, q, out) {
                        return false;
                    }
                    p = q;
                }
                p == e
            }
            Expr::Alt(alt) => {
                if let Some(&item) = self.overrides.get(&(id, s, e)) {
                    return self.build(item, s, e, out);
                }
                // Every alternative deriving s..e, by weight then document order.
                let mut viable: Vec<(ExprId, f32)> = Vec::new();
                let candidates = self.alt_candidates(alt, s, &mut false);
                for k in 0..candidates.len() {
                    let Some(&(item, w)) = alt.items.get(candidates.at(k) as usize) else {
                        continue;
                    };
                    if self.reaches(item, s, e) {
                        viable.push((item, w));
                    }
                }
                viable.sort_by(|a, b| b.1.total_cmp(&a.1));
                let Some(&(item, _)) = viable.first() else {
                    return false;
                };
                if viable.len() > 1
                    && let Some(choices) = &mut self.choices
                {
                    choices.push((id, s, e, viable));
                }
                self.build(item, s, e, out)
            }
            Expr::Repeat { child, min, max } => self.build_repeat(*child, *min, *max, s, e, out),
            Expr::Ref(r) => {
                let Some(rule) = r.target else { return false };
                let body = g.rules[rule as usize].body;
                let mut children = Vec::new();
                let ok = self.build(body, s, e, &mut children);
                out.push(ParseNode::Rule {
                    name: r.display.to_string(),
                    rule: g.rules[rule as usize].name.clone(),
                    children,
                });
                ok
            }
        }
    }

    fn build_repeat(
        &mut self,
        child: ExprId,
        min: u32,
        max: Option<u32>,
        s: u32,
        e: u32,
        out: &mut Vec<ParseNode>,
    ) -> bool {
        // Layers of positions reachable after exactly k iterations, until
        // `e` is reachable with an allowed count or the layers stabilize.
        let mut layers = vec![vec![s]];
        let mut open = false;
        let limit = max.unwrap_or(u32::MAX);
        let mut count = None;
        let mut stable_from = None;
        let mut k = 0u32;
        loop {
            let cur = layers.last().cloned().unwrap_or_default();
            if k >= min && cur.binary_search(&e).is_ok() {
                count = Some(k);
                break;
            }
            if k >= limit || cur.is_empty() {
                break;
            }
            let next = self.step(child, &cur, &mut open);
            k += 1;
            if next == cur {
                // Every further layer is the same set.
                stable_from = Some(k - 1);
                if next.binary_search(&e).is_ok() && min <= limit {
                    count = Some(k.max(min));
                }
                break;
            }
            if k > self.n.saturating_add(min).saturating_add(2) {
                break;
            }
            layers.push(next);
        }
        let Some(count) = count else { return false };
        let layer = |j: u32| -> &Vec<u32> {
            let idx = match stable_from {
                Some(st) if j >= st => st,
                _ => j,
            };
            &layers[(idx as usize).min(layers.len() - 1)]
        };
        // Walk back from `e`, preferring the longest last iteration.
        let mut spans = Vec::with_capacity(count as usize);
        let mut q = e;
        for j in (1..=count).rev() {
            let prev = layer(j - 1).clone();
            let mut chosen = None;
            for &p in &prev {
                if p <= q && self.reaches(child, p, q) && (p != q || chosen.is_none()) {
                    chosen = Some(p);
                    if p != q {
                        break;
                    }
                }
            }
            let Some(p) = chosen else { return false };
            spans.push((p, q));
            q = p;
        }
        if q != s {
            return false;
        }
        spans.reverse();
        spans.into_iter().all(|(p, q)| self.build(child, p, q, out))
    }
}
