//! `vxp grammar check <file>` and `vxp grammar test <dir>`: compile a grammar
//! file and report errors with line and column, or run an SRGS test set
//! (see `vxp_conformance::srgs`).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Subcommand;
use url::Url;
use vxp_interpreter::grammar::Grammar;

/// Grammar subcommands.
#[derive(Debug, Subcommand)]
pub enum GrammarCommand {
    /// Parse a grammar file (SRGS XML or ABNF) and report errors with line and column.
    Check {
        /// The grammar file.
        file: PathBuf,
    },
    /// Run every grammar of an SRGS test set (in.N / out.N meta pairs).
    Test {
        /// The folder holding the test grammars.
        dir: PathBuf,
    },
}

/// Runs a grammar subcommand.
pub fn run(cmd: GrammarCommand) -> anyhow::Result<ExitCode> {
    let mut stdout = std::io::stdout().lock();
    match cmd {
        GrammarCommand::Check { file } => {
            let (ok, line) = check(&file)?;
            writeln!(stdout, "{line}")?;
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        GrammarCommand::Test { dir } => {
            let report = vxp_conformance::srgs::run_dir(&dir)?;
            write!(stdout, "{}", report.render())?;
            Ok(if report.failed() == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

/// Compiles `file` (linking grammars it references from disk) and returns
/// whether it is valid with the line to print.
fn check(file: &Path) -> anyhow::Result<(bool, String)> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let abs = std::fs::canonicalize(file).or_else(|_| std::path::absolute(file))?;
    let url = Url::from_file_path(&abs)
        .map_err(|()| anyhow::anyhow!("cannot make a URL of {}", abs.display()))?;
    let media = media_type(file);
    // A referenced grammar that does not compile is reported by its own error.
    let nested_error = std::cell::RefCell::new(None);
    let compiled = Grammar::from_bytes(&bytes, media, &url).and_then(|g| {
        g.link(&|u: &Url| {
            let path = u.to_file_path().ok()?;
            let bytes = std::fs::read(&path).ok()?;
            Grammar::from_bytes(&bytes, media_type(&path), u)
                .map_err(|e| nested_error.borrow_mut().get_or_insert(e).clone())
                .ok()
        })
    });
    let compiled = compiled.map_err(|e| nested_error.into_inner().unwrap_or(e));
    Ok(match compiled {
        Ok(g) => (
            true,
            format!(
                "{}: ok ({}, {} rules, root {})",
                file.display(),
                g.mode(),
                g.rule_count(),
                g.root_rule().unwrap_or("none")
            ),
        ),
        Err(e) => (false, e.to_string()),
    })
}

fn media_type(path: &Path) -> Option<&'static str> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("grxml") => Some("application/srgs+xml"),
        Some("gram") => Some("application/srgs"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_reports_ok_or_position() {
        let dir = std::env::temp_dir().join(format!("vxp-grammar-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let good = dir.join("good.gram");
        std::fs::write(
            &good,
            "#ABNF 1.0;\nlanguage en-US;\nroot $r;\n$r = hi | $<names.gram#n>;\n",
        )
        .expect("write");
        std::fs::write(
            dir.join("names.gram"),
            "#ABNF 1.0;\nlanguage en-US;\npublic $n = bob;\n",
        )
        .expect("write");
        let (ok, line) = check(&good).expect("runs");
        assert!(ok, "{line}");
        assert!(line.ends_with(": ok (voice, 1 rules, root r)"), "{line}");

        let bad = dir.join("bad.grxml");
        std::fs::write(
            &bad,
            "<grammar xmlns=\"http://www.w3.org/2001/06/grammar\" version=\"1.0\" xml:lang=\"en\" root=\"r\">\n<rule id=\"r\"><ruleref uri=\"#x\"/></rule></grammar>",
        )
        .expect("write");
        let (ok, line) = check(&bad).expect("runs");
        assert!(!ok);
        assert!(line.contains("bad.grxml:2:"), "{line}");
        assert!(line.contains("'x'"), "{line}");

        let outer = dir.join("outer.gram");
        std::fs::write(
            &outer,
            "#ABNF 1.0;\nlanguage en-US;\nroot $r;\n$r = $<bad.grxml#r>;\n",
        )
        .expect("write");
        let (ok, line) = check(&outer).expect("runs");
        assert!(!ok);
        assert!(
            line.contains("bad.grxml:2:"),
            "the referenced grammar's own error: {line}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
