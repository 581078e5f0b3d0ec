//! Turning a parsed grammar into a matchable one (SRGS 1.0 §2.2, §3, §4.7):
//! rule references resolved, the root checked, left recursion rejected,
//! external grammars merged at link time, and the matcher's precomputed
//! facts (nullability, first-word index of large alternatives) filled in.

use std::collections::{HashMap, HashSet};

use url::Url;

use crate::xml::Pos;

use super::GrammarError;
use super::Mode;
use super::model::{Builder, Compiled, Expr, ExprId, FirstIndex, RuleId};

/// Alternatives with at least this many items get a first-word index.
const INDEX_THRESHOLD: usize = 8;
/// First sets larger than this are not indexed (the item is always tried).
const MAX_FIRST: usize = 256;
/// Rule-reference depth followed when computing first sets.
const MAX_FIRST_DEPTH: u32 = 64;

/// The syntax a grammar was written in, checked against declared media types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Syntax {
    /// `application/srgs+xml`.
    Xml,
    /// `application/srgs`.
    Abnf,
}

/// Header declarations gathered by a front end.
#[derive(Debug)]
pub(crate) struct Header {
    pub url: Url,
    pub mode: Mode,
    pub lang: Option<String>,
    pub tag_format: Option<String>,
    /// The declared root and where it was declared.
    pub root: Option<(String, Pos)>,
    pub metas: Vec<(String, String)>,
    pub lexicons: Vec<String>,
    pub syntax: Syntax,
}

/// Builds a [`Compiled`] grammar from a front end's output.
pub(crate) fn finish(b: Builder, h: Header) -> Result<Compiled, GrammarError> {
    let url = h.url.clone();
    let err = |pos: Option<Pos>, m: String| GrammarError::new(&url, pos, m);
    if b.rules.is_empty() {
        return Err(err(None, "the grammar defines no rule".into()));
    }
    let mut names: HashMap<&str, RuleId> = HashMap::new();
    for (i, r) in b.rules.iter().enumerate() {
        if matches!(r.name.as_str(), "NULL" | "VOID" | "GARBAGE") {
            return Err(err(
                Some(r.pos),
                format!("'{}' is a special rule name and cannot be defined", r.name),
            ));
        }
        let id = RuleId::try_from(i).map_err(|_| err(None, "too many rules".into()))?;
        if names.insert(&r.name, id).is_some() {
            return Err(err(
                Some(r.pos),
                format!("rule '{}' is defined more than once", r.name),
            ));
        }
    }
    let root = match &h.root {
        Some((name, pos)) => Some(*names.get(name.as_str()).ok_or_else(|| {
            err(
                Some(*pos),
                format!("the root rule '{name}' is not defined in this grammar"),
            )
        })?),
        None => None,
    };
    let mut exprs = b.exprs;
    let mut linked = true;
    for e in &mut exprs {
        if let Expr::Ref(r) = e {
            if r.external.is_some() {
                linked = false;
            } else if r.target.is_none() {
                r.target = Some(*names.get(&*r.display).ok_or_else(|| {
                    err(
                        Some(r.pos),
                        format!("reference to rule '{}', which is not defined", r.display),
                    )
                })?);
            }
        }
    }
    let own_rules = b.rules.len();
    let mut c = Compiled {
        url: h.url,
        mode: h.mode,
        lang: h.lang,
        tag_format: h.tag_format,
        root,
        declared_root: root.is_some(),
        rules: b.rules,
        exprs,
        nullable: Vec::new(),
        metas: h.metas,
        lexicons: h.lexicons,
        own_rules,
        linked,
        syntax: h.syntax,
    };
    if c.root.is_none() {
        // Without a root declaration the grammar cannot be referenced as a
        // whole, but matching it directly uses its first public rule.
        c.root = c
            .rules
            .iter()
            .position(|r| r.public)
            .or(Some(0))
            .and_then(|i| RuleId::try_from(i).ok());
    }
    analyze(&mut c)?;
    Ok(c)
}

/// Computes nullability, rejects left recursion and indexes alternatives.
fn analyze(c: &mut Compiled) -> Result<(), GrammarError> {
    compute_nullable(c);
    check_left_recursion(c)?;
    build_indexes(c);
    Ok(())
}

fn compute_nullable(c: &mut Compiled) {
    let mut nullable = vec![false; c.exprs.len()];
    loop {
        let mut changed = false;
        for (i, e) in c.exprs.iter().enumerate() {
            if nullable[i] {
                continue;
            }
            let v = match e {
                Expr::Token { .. } | Expr::Void => false,
                Expr::Null | Expr::Tag { .. } | Expr::Garbage => true,
                Expr::Seq(items) => items.iter().all(|&x| nullable[x as usize]),
                Expr::Alt(alt) => alt.items.iter().any(|&(x, _)| nullable[x as usize]),
                Expr::Repeat { child, min, .. } => *min == 0 || nullable[*child as usize],
                Expr::Ref(r) => r
                    .target
                    .is_some_and(|t| nullable[c.rules[t as usize].body as usize]),
            };
            if v {
                nullable[i] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    c.nullable = nullable;
}

/// Rules that can be entered at the left edge of `id` without consuming input.
fn left_corner(c: &Compiled, id: ExprId, out: &mut Vec<RuleId>) {
    let mut stack = vec![id];
    while let Some(id) = stack.pop() {
        match c.expr(id) {
            Expr::Seq(items) => {
                for &x in items.iter() {
                    stack.push(x);
                    if !c.nullable[x as usize] {
                        break;
                    }
                }
            }
            Expr::Alt(alt) => stack.extend(alt.items.iter().map(|&(x, _)| x)),
            Expr::Repeat { child, max, .. } if *max != Some(0) => {
                stack.push(*child);
            }
            Expr::Ref(r) => out.extend(r.target),
            _ => {}
        }
    }
}

fn check_left_recursion(c: &Compiled) -> Result<(), GrammarError> {
    let n = c.rules.len();
    let edges: Vec<Vec<RuleId>> = c
        .rules
        .iter()
        .map(|r| {
            let mut v = Vec::new();
            left_corner(c, r.body, &mut v);
            v.sort_unstable();
            v.dedup();
            v
        })
        .collect();
    // Iterative depth-first search with colours: 0 new, 1 on stack, 2 done.
    let mut colour = vec![0u8; n];
    for start in 0..n {
        if colour[start] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        colour[start] = 1;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(&t) = edges[node].get(*next) {
                *next += 1;
                let t = t as usize;
                match colour[t] {
                    0 => {
                        colour[t] = 1;
                        stack.push((t, 0));
                    }
                    1 => {
                        let from = stack.iter().position(|&(r, _)| r == t).unwrap_or(0);
                        let mut cycle: Vec<&str> = stack[from..]
                            .iter()
                            .map(|&(r, _)| c.rules[r].name.as_str())
                            .collect();
                        cycle.push(&c.rules[t].name);
                        return Err(GrammarError::new(
                            &c.url,
                            Some(c.rules[t].pos),
                            format!(
                                "rule '{}' is left-recursive ({}); SRGS grammars must not be",
                                c.rules[t].name,
                                cycle.join(" -> ")
                            ),
                        ));
                    }
                    _ => {}
                }
            } else {
                colour[node] = 2;
                stack.pop();
            }
        }
    }
    Ok(())
}

/// First words an expression can start with; `None` when it must always be
/// tried (nullable, GARBAGE, too many words, too deep).
fn first_words(c: &Compiled, id: ExprId, depth: u32, out: &mut HashSet<Box<str>>) -> bool {
    if c.nullable[id as usize] || depth > MAX_FIRST_DEPTH || out.len() > MAX_FIRST {
        return false;
    }
    match c.expr(id) {
        Expr::Token { words, .. } => {
            if let Some(w) = words.first() {
                out.insert(w.clone());
            }
            true
        }
        Expr::Void => true,
        Expr::Null | Expr::Tag { .. } | Expr::Garbage => false,
        Expr::Seq(items) => {
            for &x in items.iter() {
                if !c.nullable[x as usize] {
                    return first_words(c, x, depth, out);
                }
                if !first_words_nullable(c, x, depth, out) {
                    return false;
                }
            }
            false
        }
        Expr::Alt(alt) => alt
            .items
            .iter()
            .all(|&(x, _)| first_words(c, x, depth, out)),
        Expr::Repeat { child, .. } => first_words(c, *child, depth, out),
        Expr::Ref(r) => match r.target {
            Some(t) => first_words(c, c.rules[t as usize].body, depth + 1, out),
            None => true,
        },
    }
}

/// For a nullable element inside a sequence: the words it can start with
/// when it does consume input (`false` when unknown).
fn first_words_nullable(c: &Compiled, id: ExprId, depth: u32, out: &mut HashSet<Box<str>>) -> bool {
    match c.expr(id) {
        Expr::Null | Expr::Tag { .. } => true,
        Expr::Repeat { child, .. } if !c.nullable[*child as usize] => {
            first_words(c, *child, depth, out)
        }
        _ => false,
    }
}

fn build_indexes(c: &mut Compiled) {
    let mut updates = Vec::new();
    for (i, e) in c.exprs.iter().enumerate() {
        let Expr::Alt(alt) = e else { continue };
        if alt.items.len() < INDEX_THRESHOLD {
            continue;
        }
        let mut index = FirstIndex::default();
        for (pos, &(item, _)) in alt.items.iter().enumerate() {
            let pos = u32::try_from(pos).unwrap_or(u32::MAX);
            let mut words = HashSet::new();
            if first_words(c, item, 0, &mut words) && words.len() <= MAX_FIRST {
                for w in words {
                    index.by_word.entry(w).or_default().push(pos);
                }
            } else {
                index.always.push(pos);
            }
        }
        updates.push((i, index));
    }
    for (i, index) in updates {
        if let Some(Expr::Alt(alt)) = c.exprs.get_mut(i) {
            alt.index = Some(index);
        }
    }
}

/// The grammar with `rule` (which must be public) as its root.
pub(crate) fn with_root(c: &Compiled, rule: &str) -> Result<Compiled, GrammarError> {
    let id = c.own_rule(rule).ok_or_else(|| {
        GrammarError::new(&c.url, None, format!("the grammar has no rule '{rule}'"))
    })?;
    let r = &c.rules[id as usize];
    if !r.public && c.root != Some(id) {
        return Err(GrammarError::new(
            &c.url,
            Some(r.pos),
            format!("rule '{rule}' is private and cannot be referenced from outside the grammar"),
        ));
    }
    let mut out = c.clone();
    out.root = Some(id);
    out.declared_root = true;
    Ok(out)
}

/// External grammars still to be linked.
pub(crate) fn external_refs(c: &Compiled) -> Vec<Url> {
    let mut out: Vec<Url> = Vec::new();
    for e in &c.exprs {
        if let Expr::Ref(r) = e
            && let (None, Some(ext)) = (r.target, &r.external)
            && !out.contains(&ext.url)
        {
            out.push(ext.url.clone());
        }
    }
    out
}

/// Where a merged grammar's rules start and what it declared.
struct Merged {
    names: HashMap<String, (RuleId, bool)>,
    root: Option<RuleId>,
    mode: Mode,
    syntax: Syntax,
}

fn describe(c: &Compiled, rule_offset: RuleId) -> Merged {
    let names = c
        .rules
        .iter()
        .take(c.own_rules)
        .enumerate()
        .map(|(i, r)| {
            let id = RuleId::try_from(i).unwrap_or(RuleId::MAX);
            (r.name.clone(), (id + rule_offset, r.public))
        })
        .collect();
    Merged {
        names,
        root: c.root.filter(|_| c.declared_root).map(|r| r + rule_offset),
        mode: c.mode,
        syntax: c.syntax,
    }
}

/// Merges every grammar reachable through external references into one.
pub(crate) fn link(
    c: &Compiled,
    resolve: &dyn Fn(&Url) -> Option<Compiled>,
) -> Result<Compiled, GrammarError> {
    let mut out = c.clone();
    let mut merged: HashMap<Url, Merged> = HashMap::new();
    merged.insert(c.url.clone(), describe(c, 0));
    let mut scan_from = 0usize;
    loop {
        // Resolve references in expressions not yet scanned.
        let end = out.exprs.len();
        let mut pending = Vec::new();
        for i in scan_from..end {
            if let Expr::Ref(r) = &out.exprs[i]
                && let (None, Some(ext)) = (r.target, &r.external)
            {
                pending.push((i, ext.clone(), r.pos, r.display.clone()));
            }
        }
        scan_from = end;
        if pending.is_empty() {
            break;
        }
        for (i, ext, pos, display) in pending {
            if !merged.contains_key(&ext.url) {
                let d = resolve(&ext.url).ok_or_else(|| {
                    GrammarError::new(
                        &c.url,
                        Some(pos),
                        format!("the grammar {} referenced here was not loaded", ext.url),
                    )
                })?;
                let rule_offset = RuleId::try_from(out.rules.len())
                    .map_err(|_| GrammarError::new(&c.url, None, "too many rules"))?;
                let expr_offset = ExprId::try_from(out.exprs.len())
                    .map_err(|_| GrammarError::new(&c.url, None, "grammar too large"))?;
                merged.insert(ext.url.clone(), describe(&d, rule_offset));
                append(&mut out, &d, rule_offset, expr_offset);
            }
            let m = merged.get(&ext.url).expect("inserted above");
            let err = |msg: String| GrammarError::new(&c.url, Some(pos), msg);
            if m.mode != out.mode {
                return Err(err(format!(
                    "{display} is a {} grammar, this one is {}",
                    m.mode, out.mode
                )));
            }
            if let Some(t) = ext.media_type.as_deref() {
                let want = match t.trim() {
                    "application/srgs+xml" => Some(Syntax::Xml),
                    "application/srgs" => Some(Syntax::Abnf),
                    _ => None,
                };
                if want.is_some_and(|w| w != m.syntax) {
                    return Err(err(format!(
                        "{display} is declared as {t} but is written in the other SRGS form"
                    )));
                }
            }
            let target = match &ext.rule {
                Some(name) => match m.names.get(name) {
                    Some(&(id, true)) => id,
                    Some(&(_, false)) => {
                        return Err(err(format!(
                            "{display} names a private rule, which other grammars cannot reference"
                        )));
                    }
                    None => return Err(err(format!("{display} names a rule that does not exist"))),
                },
                None => m.root.ok_or_else(|| {
                    err(format!(
                        "{display} refers to a grammar that declares no root rule"
                    ))
                })?,
            };
            if let Expr::Ref(r) = &mut out.exprs[i] {
                r.target = Some(target);
            }
        }
    }
    out.linked = true;
    analyze(&mut out)?;
    Ok(out)
}

/// Appends `d`'s own rules and expressions to `out`, shifting ids.
fn append(out: &mut Compiled, d: &Compiled, rule_offset: RuleId, expr_offset: ExprId) {
    let shift_rule = |r: RuleId| r + rule_offset;
    let shift = |e: ExprId| e + expr_offset;
    for e in &d.exprs {
        let mut e = e.clone();
        match &mut e {
            Expr::Seq(items) => items.iter_mut().for_each(|x| *x = shift(*x)),
            Expr::Alt(alt) => {
                alt.items.iter_mut().for_each(|(x, _)| *x = shift(*x));
                alt.index = None;
            }
            Expr::Repeat { child, .. } => *child = shift(*child),
            Expr::Ref(r) => {
                // External targets are resolved again in `out`; targets in
                // rules `d` itself merged are not copied and stay unresolved.
                r.target = match r.target {
                    Some(t) if r.external.is_none() && (t as usize) < d.own_rules => {
                        Some(shift_rule(t))
                    }
                    _ => None,
                };
            }
            _ => {}
        }
        out.exprs.push(e);
    }
    for r in d.rules.iter().take(d.own_rules) {
        let mut r = r.clone();
        r.body = shift(r.body);
        out.rules.push(r);
    }
}
