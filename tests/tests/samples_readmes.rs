//! Every `vxp run` command written in a sample's `README.md` runs to the end
//! the application intends (`<exit>` or `<disconnect>`, with the scripted
//! inputs sufficing and no unhandled error), and renders in both transcript
//! formats.

use vxp_platform::text::{DriverConfig, Ending, Input, TranscriptEntry, run_scripted, target_url};
use vxp_tests::{SampleServer, samples_dir};

/// Splits a shell command line: spaces separate words, double quotes group.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut started = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                started = true;
            }
            c if c.is_whitespace() && !quoted => {
                if started {
                    words.push(std::mem::take(&mut word));
                    started = false;
                }
            }
            c => {
                word.push(c);
                started = true;
            }
        }
    }
    if started {
        words.push(word);
    }
    words
}

/// The `vxp run` commands of one README, continuation lines joined.
fn commands(readme: &str) -> Vec<Vec<String>> {
    let joined = readme.replace("\\\n", " ");
    joined
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("vxp run "))
        .map(shell_words)
        .collect()
}

#[test]
fn every_readme_command_reaches_its_end_in_both_formats() {
    let server = SampleServer::start();
    let mut checked = 0;
    let mut folders: Vec<_> = std::fs::read_dir(samples_dir())
        .expect("vxml-samples is readable")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("README.md").exists() && !p.ends_with("bad-input"))
        .collect();
    folders.sort();
    for folder in folders {
        let readme = std::fs::read_to_string(folder.join("README.md")).expect("README is readable");
        let cmds = commands(&readme);
        assert!(
            !cmds.is_empty(),
            "{} documents no vxp run command",
            folder.display()
        );
        for words in cmds {
            let line = words.join(" ");
            let target = words.get(2).expect("vxp run has a target");
            let target = match target.strip_prefix("vxml-samples/") {
                Some(rest) => samples_dir().join(rest).display().to_string(),
                None => target.replace("http://127.0.0.1:8080", &server.base()),
            };
            let mut inputs = Vec::new();
            let mut rest = words.iter().skip(3);
            while let Some(flag) = rest.next() {
                assert_eq!(flag, "--input", "unexpected argument in `{line}`");
                let value = rest.next().expect("--input has a value");
                let input: Input = value.parse().unwrap_or_else(|e| panic!("`{line}`: {e}"));
                inputs.push(input);
            }
            let url = target_url(&target).expect("sample target");
            let t = run_scripted(DriverConfig::new(url), inputs).expect("driver starts");
            assert!(
                matches!(t.ending(), Ending::Exit | Ending::Disconnect),
                "`{line}` ended with {:?}:\n{t}",
                t.ending()
            );
            assert!(
                !t.entries().iter().any(|e| matches!(
                    e,
                    TranscriptEntry::Input {
                        automatic: true,
                        ..
                    } | TranscriptEntry::Error { .. }
                )),
                "`{line}` needed more input or failed:\n{t}"
            );
            assert!(!t.to_string().is_empty());
            for json in t.to_jsonl().lines() {
                let v: serde_json::Value = serde_json::from_str(json).expect("JSON line");
                assert!(v["kind"].is_string(), "{json}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} README commands");
}

#[test]
fn shell_words_keep_quoted_groups() {
    assert_eq!(
        shell_words(r#"vxp run a.vxml --input "say:large pizza" --input dtmf:1"#),
        [
            "vxp",
            "run",
            "a.vxml",
            "--input",
            "say:large pizza",
            "--input",
            "dtmf:1"
        ]
    );
}
