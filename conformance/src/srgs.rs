//! Runner for test sets written like the W3C SRGS 1.0 implementation-report
//! test set: every `.grxml` / `.gram` file of a folder is compiled (external
//! references resolved from the same folder), and each `in.N` meta is matched
//! against it; the parse, in the `$rule["token",{!{tag}!}]` notation, must
//! equal the `out.N` meta, or the input must be rejected when `out.N` is
//! `REJECT`. Files whose grammar is illegal expect `REJECT` for every input.
//!
//! Shared by `vxp grammar test` and the `srgs_conformance` integration test.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use url::Url;
use vxp_interpreter::grammar::{self, Candidate, Grammar, Input, Mode, Recognition};
use vxp_interpreter::xml;

use crate::{Table, closing_line};

/// Files not run, with the reason: features the W3C dropped from SRGS 1.0
/// for lack of implementations, and test-set errors.
pub const EXCEPTIONS: &[(&str, &str)] = &[
    (
        "tag-repetition.gram",
        "tag repetition semantics were dropped from SRGS 1.0 for lack of implementations",
    ),
    (
        "tag-repetition.grxml",
        "tag repetition semantics were dropped from SRGS 1.0 for lack of implementations",
    ),
    (
        "lang-ruleref.gram",
        "language-specific rule references were dropped from SRGS 1.0 for lack of implementations",
    ),
    (
        "lang-ruleref.grxml",
        "language-specific rule references were dropped from SRGS 1.0 for lack of implementations",
    ),
];

/// Single inputs not run, with the reason: (file, `in.N` sentence, reason).
pub const CASE_EXCEPTIONS: &[(&str, &str, &str)] = &[
    (
        "repeat-abnf-symbols.gram",
        "but multiple",
        "test-set error: out.3 lists the token \"multiple\" twice for a one-word input",
    ),
    (
        "conformance-5.grxml",
        "this is a test",
        "needs the non-standard grex:optional element, which the test allows to be ignored",
    ),
];

/// Why a test set could not be run at all.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    /// The folder could not be listed.
    #[error("cannot read test folder {path}: {source}")]
    Folder {
        /// The folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// One input of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseResult {
    /// The `in.N` sentence (or `(load)` for a file without inputs).
    pub input: String,
    /// The `out.N` parse or `REJECT`.
    pub expected: String,
    /// What the engine produced.
    pub got: String,
    /// True when `got` matches `expected`.
    pub pass: bool,
    /// Set when the case is an exception: the reason (it then counts as passed).
    pub skipped: Option<&'static str>,
}

/// The outcome of one grammar file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileReport {
    /// File name within the folder.
    pub file: String,
    /// Each input's result.
    pub cases: Vec<CaseResult>,
    /// Set when the file is an exception: the reason.
    pub skipped: Option<&'static str>,
}

impl FileReport {
    /// True when every case passed (and the file was run).
    pub fn passed(&self) -> bool {
        self.skipped.is_none() && self.cases.iter().all(|c| c.pass)
    }
}

/// The outcome of a whole folder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SuiteReport {
    /// One report per file, sorted by name.
    pub files: Vec<FileReport>,
}

impl SuiteReport {
    /// Files whose every case passed.
    pub fn passed(&self) -> usize {
        self.files.iter().filter(|f| f.passed()).count()
    }

    /// Files run with at least one failing case.
    pub fn failed(&self) -> usize {
        self.files
            .iter()
            .filter(|f| f.skipped.is_none() && !f.passed())
            .count()
    }

    /// Files not run.
    pub fn skipped(&self) -> usize {
        self.files.iter().filter(|f| f.skipped.is_some()).count()
    }

    /// Names of the files that failed.
    pub fn failures(&self) -> Vec<&str> {
        self.files
            .iter()
            .filter(|f| f.skipped.is_none() && !f.passed())
            .map(|f| f.file.as_str())
            .collect()
    }

    /// A Markdown table per file, the list of skipped files with reasons,
    /// and the closing `N passed, M failed[, K skipped]` line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for f in self.files.iter().filter(|f| f.skipped.is_none()) {
            let mut t = Table::new(&["file", "input", "expected", "got", "verdict"]);
            for c in &f.cases {
                t.push(vec![
                    f.file.clone(),
                    c.input.clone(),
                    c.expected.clone(),
                    c.got.clone(),
                    match (c.skipped, c.pass) {
                        (Some(_), _) => "skip",
                        (None, true) => "pass",
                        (None, false) => "FAIL",
                    }
                    .to_owned(),
                ]);
            }
            let _ = writeln!(out, "{}", t.to_markdown());
        }
        for f in &self.files {
            if let Some(reason) = f.skipped {
                let _ = writeln!(out, "skipped {}: {reason}", f.file);
            }
            for c in &f.cases {
                if let Some(reason) = c.skipped {
                    let _ = writeln!(out, "skipped {} input '{}': {reason}", f.file, c.input);
                }
            }
        }
        out.push_str(&closing_line(self.passed(), self.failed(), self.skipped()));
        out.push('\n');
        out
    }
}

/// Runs every grammar file directly inside `dir`.
pub fn run_dir(dir: &Path) -> Result<SuiteReport, SuiteError> {
    let folder = |source| SuiteError::Folder {
        path: dir.to_owned(),
        source,
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(folder)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("grxml" | "gram")
                )
        })
        .collect();
    files.sort();
    let loader = Loader::default();
    let files = files.iter().map(|p| run_file(p, &loader)).collect();
    Ok(SuiteReport { files })
}

/// Reads and compiles grammar files, caching them by URL.
#[derive(Debug, Default)]
struct Loader {
    cache: RefCell<HashMap<Url, Option<Grammar>>>,
}

impl Loader {
    fn load(&self, url: &Url) -> Option<Grammar> {
        if let Some(g) = self.cache.borrow().get(url) {
            return g.clone();
        }
        let g = url
            .to_file_path()
            .ok()
            .and_then(|p| std::fs::read(&p).ok())
            .and_then(|bytes| Grammar::from_bytes(&bytes, media_type(url.path()), url).ok());
        self.cache.borrow_mut().insert(url.clone(), g.clone());
        g
    }

    /// Compiles the file and links everything it references.
    fn compile(&self, bytes: &[u8], url: &Url) -> Result<Grammar, grammar::GrammarError> {
        let g = Grammar::from_bytes(bytes, media_type(url.path()), url)?;
        g.link(&|u: &Url| self.load(u))
    }
}

fn media_type(path: &str) -> Option<&'static str> {
    if path.ends_with(".grxml") {
        Some("application/srgs+xml")
    } else if path.ends_with(".gram") {
        Some("application/srgs")
    } else {
        None
    }
}

fn run_file(path: &Path, loader: &Loader) -> FileReport {
    let file = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if let Some((_, reason)) = EXCEPTIONS.iter().find(|(f, _)| *f == file) {
        return FileReport {
            file,
            cases: Vec::new(),
            skipped: Some(reason),
        };
    }
    let fail = |got: String| FileReport {
        file: file.clone(),
        cases: vec![CaseResult {
            input: "(load)".into(),
            expected: "grammar loads".into(),
            got,
            pass: false,
            skipped: None,
        }],
        skipped: None,
    };
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => return fail(format!("cannot read: {e}")),
    };
    let Ok(abs) = std::fs::canonicalize(path).or_else(|_| std::path::absolute(path)) else {
        return fail("cannot resolve the path".into());
    };
    let Ok(url) = Url::from_file_path(&abs) else {
        return fail("cannot make a file URL".into());
    };
    let compiled = loader.compile(&bytes, &url);
    let metas = match &compiled {
        Ok(g) => g.metas().to_vec(),
        Err(_) => declared_metas(&bytes),
    };
    let pairs = test_pairs(&metas);
    if pairs.is_empty() {
        let (got, pass) = match &compiled {
            Ok(g) => (format!("loads ({} rules)", g.rule_count()), true),
            Err(e) => (e.to_string(), false),
        };
        return FileReport {
            file,
            cases: vec![CaseResult {
                input: "(load)".into(),
                expected: "grammar loads".into(),
                got,
                pass,
                skipped: None,
            }],
            skipped: None,
        };
    }
    let cases = pairs
        .into_iter()
        .map(|(input, expected)| {
            let got = match &compiled {
                Err(e) => format!("REJECT ({})", e.message),
                Ok(g) => parse_of(g, &input),
            };
            let skipped = CASE_EXCEPTIONS
                .iter()
                .find(|(f, i, _)| *f == file && *i == input)
                .map(|(_, _, reason)| *reason);
            let pass = skipped.is_some()
                || if expected.trim() == "REJECT" {
                    got.starts_with("REJECT")
                } else {
                    normalize(&got) == normalize(&expected)
                };
            CaseResult {
                input,
                expected,
                got,
                pass,
                skipped,
            }
        })
        .collect();
    FileReport {
        file,
        cases,
        skipped: None,
    }
}

/// The parse of `input` in the test-set notation, or `REJECT`. As the test
/// set asks, the root rule is tried first and then each public rule, as if
/// all were active in parallel.
fn parse_of(g: &Grammar, input: &str) -> String {
    let first = parse_with_root(g, input);
    if !first.starts_with("REJECT") {
        return first;
    }
    for rule in g.public_rules() {
        if Some(rule) == g.root_rule() {
            continue;
        }
        if let Ok(alt) = g.with_root(rule) {
            let got = parse_with_root(&alt, input);
            if !got.starts_with("REJECT") {
                return got;
            }
        }
    }
    first
}

fn parse_with_root(g: &Grammar, input: &str) -> String {
    let input = match g.mode() {
        Mode::Dtmf => Input::Dtmf(input),
        Mode::Voice => Input::Words(input),
    };
    let cand = Candidate {
        grammar: g,
        key: 0,
        weight: 1.0,
    };
    match grammar::recognize(&[cand], input, 1) {
        Recognition::Match { hypotheses, .. } => hypotheses
            .first()
            .map_or_else(|| "REJECT".to_owned(), |h| h.parse_string()),
        Recognition::Prefix => "REJECT (incomplete)".into(),
        Recognition::NoMatch => "REJECT".into(),
    }
}

/// `(in.N, out.N)` pairs in numeric order.
fn test_pairs(metas: &[(String, String)]) -> Vec<(String, String)> {
    let mut pairs: Vec<(u32, String, String)> = metas
        .iter()
        .filter_map(|(name, content)| {
            let n: u32 = name.strip_prefix("in.")?.parse().ok()?;
            let out = metas
                .iter()
                .find(|(m, _)| {
                    m.strip_prefix("out.").and_then(|k| k.parse::<u32>().ok()) == Some(n)
                })
                .map(|(_, c)| c.clone())?;
            Some((n, content.clone(), out))
        })
        .collect();
    pairs.sort_by_key(|p| p.0);
    pairs.into_iter().map(|(_, i, o)| (i, o)).collect()
}

/// The metas of a file whose grammar does not compile, read leniently.
fn declared_metas(bytes: &[u8]) -> Vec<(String, String)> {
    let Ok(text) = grammar::decode_source(bytes) else {
        return Vec::new();
    };
    if text.trim_start().starts_with('<') {
        let Ok(root) = xml::parse(&text) else {
            return Vec::new();
        };
        return root
            .elements()
            .filter(|e| e.name.local == "meta")
            .filter_map(|e| Some((e.attr("name")?.to_owned(), e.attr("content")?.to_owned())))
            .collect();
    }
    text.lines()
        .filter_map(|line| {
            let rest = line.trim().strip_prefix("meta")?;
            let (name, rest) = quoted(rest.trim_start())?;
            let rest = rest.trim_start().strip_prefix("is")?;
            let (content, _) = quoted(rest.trim_start())?;
            Some((name, content))
        })
        .collect()
}

/// A leading single- or double-quoted string and what follows it.
fn quoted(s: &str) -> Option<(String, &str)> {
    let q = s.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let body = &s[1..];
    let end = body.find(q)?;
    Some((body[..end].to_owned(), &body[end + 1..]))
}

/// The parse notation without insignificant whitespace: outside quoted
/// tokens and tag bodies whitespace is dropped, tag bodies are trimmed.
fn normalize(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s.trim();
    while let Some(c) = rest.chars().next() {
        if let Some(body) = rest.strip_prefix("{!{") {
            let end = body.find("}!}").unwrap_or(body.len());
            out.push_str("{!{");
            out.push_str(body[..end].trim());
            out.push_str("}!}");
            rest = body.get(end + 3..).unwrap_or("");
        } else if c == '"' {
            let body = &rest[1..];
            let end = body.find('"').unwrap_or(body.len());
            out.push('"');
            out.push_str(&body[..end].split_whitespace().collect::<Vec<_>>().join(" "));
            out.push('"');
            rest = body.get(end + 1..).unwrap_or("");
        } else {
            if !c.is_whitespace() {
                out.push(c);
            }
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_notation() {
        assert_eq!(
            normalize(" $main[ \"a  b\" , {!{ x = 1 }!} ] "),
            "$main[\"a b\",{!{x = 1}!}]"
        );
    }

    #[test]
    fn pairs_inputs_with_outputs() {
        let metas = vec![
            ("in.2".to_owned(), "b".to_owned()),
            ("out.1".to_owned(), "$a[\"a\"]".to_owned()),
            ("in.1".to_owned(), "a".to_owned()),
            ("out.2".to_owned(), "REJECT".to_owned()),
        ];
        assert_eq!(
            test_pairs(&metas),
            vec![
                ("a".to_owned(), "$a[\"a\"]".to_owned()),
                ("b".to_owned(), "REJECT".to_owned())
            ]
        );
    }

    #[test]
    fn reads_metas_of_broken_abnf() {
        let m = declared_metas(b"#ABNF 1.0;\nmeta 'in.1' is \"x y\";\n$bad = ;");
        assert_eq!(m, vec![("in.1".to_owned(), "x y".to_owned())]);
    }
}
