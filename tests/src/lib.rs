//! Shared helpers for VXP's scenario and snapshot tests (see `tests/tests/`):
//! where the sample applications live, and [`SampleServer`], a small HTTP
//! application server for the samples that need one.
//!
//! ```no_run
//! let server = vxp_tests::SampleServer::start();
//! let url = server.url("server/start.vxml"); // http://127.0.0.1:PORT/server/start.vxml
//! ```
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};

use axum::Router;
use axum::extract::{Form, Path as UrlPath};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use tokio::sync::oneshot;

/// The `vxml-samples/` folder of this workspace.
pub fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives inside the workspace")
        .join("vxml-samples")
}

/// The absolute path of a file under `vxml-samples/`, as a string for
/// `Dialog::start`.
pub fn sample(relative: &str) -> String {
    samples_dir().join(relative).display().to_string()
}

/// An HTTP server on `127.0.0.1:0` serving `vxml-samples/` and the dynamic
/// pages of the samples that need an application server:
///
/// - `GET /<path>`: the file `vxml-samples/<path>`;
/// - `GET|POST /server/forecast` (`zip`, `units`): a VoiceXML page generated
///   for that zip code.
///
/// It runs on its own thread and stops when dropped.
#[derive(Debug)]
pub struct SampleServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SampleServer {
    /// Starts the server on a free local port.
    ///
    /// # Panics
    ///
    /// When no local port can be bound (the test cannot run at all then).
    pub fn start() -> Self {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a test server runtime can be built");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("a local port is free");
                let addr = listener
                    .local_addr()
                    .expect("a bound socket has an address");
                addr_tx
                    .send(addr)
                    .expect("the starting thread waits for the address");
                let app = Router::new()
                    .route("/server/forecast", any(forecast))
                    .route("/{*path}", get(static_file));
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stop_rx.await;
                    })
                    .await
                    .expect("the sample server runs until stopped");
            });
        });
        let addr = addr_rx
            .recv()
            .expect("the server thread reports its address");
        Self {
            addr,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`, to rewrite as `SERVER` in transcripts.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The URL of `path` (relative to `vxml-samples/`) on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base(), path.trim_start_matches('/'))
    }
}

impl Drop for SampleServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("vxml") => "application/voicexml+xml",
        Some("grxml") => "application/srgs+xml",
        Some("gram") => "application/srgs",
        Some("xml") => "application/xml",
        Some("js") => "application/javascript",
        Some("wav") => "audio/x-wav",
        _ => "text/plain",
    }
}

async fn static_file(UrlPath(path): UrlPath<String>) -> Response {
    let relative = Path::new(&path);
    if relative
        .components()
        .any(|c| !matches!(c, Component::Normal(_)))
    {
        return StatusCode::FORBIDDEN.into_response();
    }
    let full = samples_dir().join(relative);
    match tokio::fs::read(&full).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, content_type(&full))], bytes).into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The weather line's application server: a page generated per zip code.
async fn forecast(Form(form): Form<HashMap<String, String>>) -> Response {
    // Only digits and letters reach the generated page, so no value can break
    // out of its XML or ECMAScript context.
    let zip: String = form
        .get("zip")
        .map(|z| z.chars().filter(char::is_ascii_digit).collect())
        .unwrap_or_default();
    let units: String = form
        .get("units")
        .map(|u| u.chars().filter(char::is_ascii_alphabetic).collect())
        .unwrap_or_else(|| "fahrenheit".to_owned());
    let known = match zip.as_str() {
        "94103" => Some(("sunny", 68)),
        "10001" => Some(("rain", 51)),
        _ => None,
    };
    let body = match known {
        Some((sky, high)) => format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<vxml version="2.1" xmlns="http://www.w3.org/2001/vxml" xml:lang="en-US">
  <var name="zip" expr="'{zip}'"/>
  <form id="forecast">
    <block>
      <prompt>The forecast for zip code <say-as interpret-as="digits">{zip}</say-as>: {sky}, with a high of {high} degrees {units}.</prompt>
    </block>
    <field name="again" type="boolean">
      <prompt>Would you like the forecast for another zip code?</prompt>
      <filled>
        <if cond="again">
          <goto next="start.vxml"/>
        <else/>
          <prompt>Goodbye.</prompt>
          <exit namelist="zip"/>
        </if>
      </filled>
    </field>
  </form>
</vxml>
"#
        ),
        None => format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<vxml version="2.1" xmlns="http://www.w3.org/2001/vxml" xml:lang="en-US">
  <form id="unknown">
    <block>
      <prompt>Sorry, there is no forecast for zip code <say-as interpret-as="digits">{zip}</say-as>.</prompt>
      <goto next="start.vxml"/>
    </block>
  </form>
</vxml>
"#
        ),
    };
    (
        [
            (header::CONTENT_TYPE, "application/voicexml+xml"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

/// Compares a conformance run with the suite's committed `baseline.json` in
/// `suite_dir` and panics, naming each test and why it failed, when a test that
/// passes in the baseline fails now. Returns the baseline.
pub fn assert_no_regression(
    suite_dir: &Path,
    report: &vxp_conformance::vxml::Report,
) -> vxp_conformance::vxml::Report {
    use vxp_conformance::vxml::{Report, compare, render_changes};
    let baseline_text =
        std::fs::read_to_string(suite_dir.join("baseline.json")).expect("baseline.json exists");
    let baseline = Report::from_json(&baseline_text).expect("baseline is a report");
    let changes = compare(&baseline, report);
    let regressions: Vec<_> = changes.iter().filter(|c| c.is_regression()).collect();
    assert!(
        regressions.is_empty(),
        "tests that pass in the baseline fail now:\n{}\n{}",
        render_changes(&changes),
        report
            .results
            .iter()
            .filter(|r| regressions.iter().any(|c| c.id == r.id))
            .map(|r| format!(
                "{} ({}): {}",
                r.id,
                r.spec,
                r.reason.clone().unwrap_or_default()
            ))
            .collect::<Vec<_>>()
            .join("\n")
    );
    baseline
}
