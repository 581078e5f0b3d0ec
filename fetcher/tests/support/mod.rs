//! A local origin server for the fetcher's integration tests: one axum app on
//! `127.0.0.1:0` whose paths exercise the caching, cookie, upload and error
//! rules, counting the requests that reach it per path.

// Each test binary (and the benchmark) uses part of the origin.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use url::Url;

/// Shared state of the origin.
#[derive(Default)]
pub struct Origin {
    hits: Mutex<HashMap<String, usize>>,
    /// Version of `/etag` and `/app/*`: bump it to change their bodies and ETags.
    pub version: AtomicU32,
    /// Content type and body of the last `/upload`.
    pub last_upload: Mutex<Option<(String, Bytes)>>,
}

/// A running origin.
pub struct Server {
    pub base: Url,
    pub origin: Arc<Origin>,
}

impl Server {
    pub async fn start() -> Server {
        let origin = Arc::new(Origin::default());
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(origin.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind test server");
        let addr = listener.local_addr().expect("local addr");
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("test server");
        });
        Server {
            base: Url::parse(&format!("http://{addr}/")).expect("base url"),
            origin,
        }
    }

    pub fn url(&self, path: &str) -> Url {
        self.base.join(path).expect("test path")
    }

    /// Requests that reached `path`.
    pub fn count(&self, path: &str) -> usize {
        self.origin
            .hits
            .lock()
            .expect("hits")
            .get(path)
            .copied()
            .unwrap_or(0)
    }
}

fn respond(status: u16, headers: &[(&str, String)], body: impl Into<Bytes>) -> Response {
    let mut resp = Response::new(Body::from(body.into()));
    *resp.status_mut() = StatusCode::from_u16(status).expect("status");
    for (name, value) in headers {
        resp.headers_mut().append(
            header::HeaderName::from_bytes(name.as_bytes()).expect("name"),
            HeaderValue::from_str(value).expect("value"),
        );
    }
    resp
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn s(v: &str) -> String {
    v.to_owned()
}

const VXML: &str = "application/voicexml+xml";
const LAST_MODIFIED: &str = "Mon, 02 Jan 2006 15:04:05 GMT";

async fn handle(State(origin): State<Arc<Origin>>, req: Request) -> Response {
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let method = req.method().clone();
    *origin
        .hits
        .lock()
        .expect("hits")
        .entry(path.clone())
        .or_default() += 1;
    let headers = req.headers().clone();
    let body = axum::body::to_bytes(req.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    let version = origin.version.load(Ordering::SeqCst);
    let ct = ("content-type", s(VXML));
    match path.as_str() {
        "/fresh" => respond(
            200,
            &[ct, ("cache-control", s("max-age=60"))],
            "<vxml>fresh</vxml>",
        ),
        "/etag" | "/app/main.vxml" | "/app/yesno.grxml" | "/app/lib.js" => {
            if path.starts_with("/app/") {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let etag = format!("\"v{version}\"");
            let cc = if path == "/etag" {
                "max-age=0"
            } else {
                "max-age=300"
            };
            let ctype = match path.rsplit('.').next() {
                Some("grxml") => "application/srgs+xml",
                Some("js") => "application/javascript",
                _ => VXML,
            };
            if header_text(&headers, header::IF_NONE_MATCH).as_deref() == Some(&etag) {
                return respond(
                    304,
                    &[("etag", etag), ("cache-control", s(cc))],
                    Bytes::new(),
                );
            }
            let body = if version == 0 {
                s("<vxml>v0</vxml>")
            } else {
                format!("<vxml>version {version}</vxml>")
            };
            respond(
                200,
                &[
                    ("content-type", s(ctype)),
                    ("etag", etag),
                    ("cache-control", s(cc)),
                ],
                body,
            )
        }
        "/same-body" => respond(
            200,
            &[ct, ("cache-control", s("no-cache"))],
            "<vxml>same</vxml>",
        ),
        "/lastmod" => {
            if header_text(&headers, header::IF_MODIFIED_SINCE).as_deref() == Some(LAST_MODIFIED) {
                return respond(304, &[], Bytes::new());
            }
            respond(
                200,
                &[
                    ct,
                    ("last-modified", s(LAST_MODIFIED)),
                    ("cache-control", s("no-cache")),
                ],
                "<vxml>lm</vxml>",
            )
        }
        "/nostore" => respond(
            200,
            &[ct, ("cache-control", s("no-store"))],
            "<vxml>nostore</vxml>",
        ),
        "/stale" => respond(
            200,
            &[ct, ("cache-control", s("max-age=0"))],
            "<vxml>stale</vxml>",
        ),
        "/vary" => {
            let cookie = header_text(&headers, header::COOKIE).unwrap_or_else(|| s("none"));
            respond(
                200,
                &[
                    ct,
                    ("cache-control", s("max-age=60")),
                    ("vary", s("Cookie")),
                ],
                format!("<vxml>{cookie}</vxml>"),
            )
        }
        "/slow" => {
            let ms: u64 = query
                .strip_prefix("ms=")
                .and_then(|v| v.parse().ok())
                .unwrap_or(1000);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            respond(
                200,
                &[ct, ("cache-control", s("max-age=60"))],
                "<vxml>slow</vxml>",
            )
        }
        "/shared" => {
            tokio::time::sleep(Duration::from_millis(300)).await;
            respond(
                200,
                &[ct, ("cache-control", s("max-age=60"))],
                "<vxml>shared</vxml>",
            )
        }
        "/shared-nostore" => {
            tokio::time::sleep(Duration::from_millis(500)).await;
            respond(
                200,
                &[ct, ("cache-control", s("no-store"))],
                "<vxml>shared</vxml>",
            )
        }
        "/login" => respond(
            200,
            &[
                ct,
                ("cache-control", s("no-store")),
                ("set-cookie", s("sid=abc123; Path=/")),
            ],
            "<vxml>welcome</vxml>",
        ),
        "/whoami" => {
            let cookie = header_text(&headers, header::COOKIE).unwrap_or_else(|| s("anonymous"));
            respond(
                200,
                &[ct, ("cache-control", s("no-store"))],
                format!("<vxml>{cookie}</vxml>"),
            )
        }
        "/upload" => {
            let ctype = header_text(&headers, header::CONTENT_TYPE).unwrap_or_default();
            *origin.last_upload.lock().expect("upload") = Some((ctype, body));
            respond(200, &[ct], "<vxml>stored</vxml>")
        }
        "/echo" => respond(
            200,
            &[("content-type", s("text/plain"))],
            format!("{method} {query} {}", String::from_utf8_lossy(&body)),
        ),
        "/cached-echo" => respond(
            200,
            &[
                ("content-type", s("text/plain")),
                ("cache-control", s("max-age=60")),
            ],
            format!("{method} {query}"),
        ),
        "/big" => respond(200, &[ct], vec![b'x'; 2 * 1024 * 1024]),
        "/png" => respond(200, &[("content-type", s("image/png"))], "png"),
        "/redirect" => respond(302, &[("location", s("/fresh"))], Bytes::new()),
        "/to-file" => respond(302, &[("location", s("file:///etc/passwd"))], Bytes::new()),
        "/loop" => respond(302, &[("location", s("/loop"))], Bytes::new()),
        "/post-redirect" => respond(303, &[("location", s("/echo?after=post"))], Bytes::new()),
        p if p.starts_with("/status/") => {
            let code = p.trim_start_matches("/status/").parse().unwrap_or(500);
            respond(code, &[("content-type", s("text/plain"))], "status")
        }
        _ => respond(404, &[], "not found"),
    }
}
