//! Conformance runners: the W3C SRGS 1.0 grammar test set and the VoiceXML /
//! CCXML implementation-report suites.
#![forbid(unsafe_code)]

pub mod ccxml;
pub mod srgs;
pub mod vxml;

/// A result table shared by the conformance runners: rendered as Markdown,
/// one row per test case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    /// Column titles.
    pub headers: Vec<String>,
    /// Cells, one `Vec` per row, as many cells as headers.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// An empty table with these column titles.
    pub fn new(headers: &[&str]) -> Self {
        Self {
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row.
    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// GitHub-flavoured Markdown; `|` in cells is escaped and newlines are
    /// flattened so every row stays on one line.
    pub fn to_markdown(&self) -> String {
        fn cell(s: &str) -> String {
            s.replace('|', "\\|").replace(['\r', '\n'], " ")
        }
        let mut out = String::new();
        out.push_str("| ");
        out.push_str(
            &self
                .headers
                .iter()
                .map(|h| cell(h))
                .collect::<Vec<_>>()
                .join(" | "),
        );
        out.push_str(" |\n|");
        for _ in &self.headers {
            out.push_str("---|");
        }
        out.push('\n');
        for row in &self.rows {
            out.push_str("| ");
            out.push_str(&row.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | "));
            out.push_str(" |\n");
        }
        out
    }
}

/// Runs `run` on every item on up to `jobs` threads (at least one, at most
/// 64) and returns the results in the items' order: each test of a suite is
/// isolated in its own session, so tests run side by side.
pub(crate) fn run_parallel<T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    run: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: std::sync::Mutex<Vec<Option<R>>> =
        std::sync::Mutex::new((0..items.len()).map(|_| None).collect());
    let jobs = jobs.clamp(1, 64).min(items.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let result = run(item);
                    if let Ok(mut r) = results.lock()
                        && let Some(slot) = r.get_mut(i)
                    {
                        *slot = Some(result);
                    }
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .into_iter()
        .flatten()
        .collect()
}

/// The closing line of a conformance run: `N passed, M failed` and, when
/// some tests were skipped, `, K skipped`.
pub fn closing_line(passed: usize, failed: usize, skipped: usize) -> String {
    if skipped == 0 {
        format!("{passed} passed, {failed} failed")
    } else {
        format!("{passed} passed, {failed} failed, {skipped} skipped")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_markdown_and_closing_line() {
        let mut t = Table::new(&["file", "verdict"]);
        t.push(vec!["a|b.gram".into(), "pass".into()]);
        assert_eq!(
            t.to_markdown(),
            "| file | verdict |\n|---|---|\n| a\\|b.gram | pass |\n"
        );
        assert_eq!(closing_line(3, 1, 0), "3 passed, 1 failed");
        assert_eq!(closing_line(3, 0, 2), "3 passed, 0 failed, 2 skipped");
    }

    #[test]
    fn parallel_runs_keep_item_order() {
        let items: Vec<u32> = (0..50).collect();
        assert_eq!(
            run_parallel(&items, 4, |n| n * 2),
            (0..50).map(|n| n * 2).collect::<Vec<_>>()
        );
        assert!(run_parallel(&[] as &[u32], 3, |n| *n).is_empty());
    }
}
