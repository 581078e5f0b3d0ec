//! The suite's web server on loopback: serves the suite's files over HTTP so
//! tests fetch their documents, grammars, scripts and data the way they do on
//! a real platform (the CCXML suite uses it too). A request for `X.vxml` (or `X.txml`) answers with `X.txml`
//! rewritten into plain VoiceXML ([`super::rewrite`]); everything else is
//! served as it is.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{StatusCode, Uri, header};
use axum::response::Response;
use url::Url;

use super::rewrite;

/// Why the server cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The loopback socket or the runtime cannot be set up.
    #[error("cannot start the suite server: {0}")]
    Io(#[from] std::io::Error),
}

/// A running suite server; stops when dropped.
#[derive(Debug)]
pub struct SuiteServer {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SuiteServer {
    /// Serves `files` on `127.0.0.1` on a port the system picks.
    pub fn start(files: Arc<BTreeMap<String, Vec<u8>>>) -> Result<Self, ServerError> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("conformance-http".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => {
                            tracing::error!(error = %e, "suite server cannot listen");
                            return;
                        }
                    };
                    let app = axum::Router::new().fallback(move |uri: Uri| {
                        let files = Arc::clone(&files);
                        async move { serve(&files, &uri) }
                    });
                    let shutdown = async {
                        let _ = stopped.await;
                    };
                    if let Err(e) = axum::serve(listener, app)
                        .with_graceful_shutdown(shutdown)
                        .await
                    {
                        tracing::error!(error = %e, "suite server failed");
                    }
                });
            })?;
        Ok(Self {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The URL of the suite root (ends with `/`).
    pub fn base_url(&self) -> Url {
        Url::parse(&format!("http://{}/", self.addr)).expect("a socket address forms a URL")
    }
}

impl Drop for SuiteServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn media_type(path: &str) -> &'static str {
    let ext = path
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match ext.as_str() {
        "vxml" | "txml" => "application/voicexml+xml",
        "ccxml" => "application/ccxml+xml",
        "grxml" => "application/srgs+xml",
        "gram" | "abnf" => "application/srgs",
        "js" => "application/javascript",
        "xml" => "text/xml",
        "wav" => "audio/wav",
        "txt" | "toml" => "text/plain",
        _ => "application/octet-stream",
    }
}

fn respond(status: StatusCode, media: &str, body: Vec<u8>) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, media)
        .body(Body::from(body))
        .expect("static status and header values are valid")
}

/// The response for one request path.
pub(crate) fn serve(files: &BTreeMap<String, Vec<u8>>, uri: &Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    let txml = path
        .strip_suffix(".vxml")
        .or_else(|| path.strip_suffix(".txml"))
        .map(|stem| format!("{stem}.txml"))
        .filter(|t| files.contains_key(t));
    if let Some(txml) = txml {
        let src = String::from_utf8_lossy(files.get(&txml).map(Vec::as_slice).unwrap_or_default())
            .into_owned();
        return match rewrite::rewrite(&src) {
            Ok(doc) => respond(StatusCode::OK, media_type(path), doc.into_bytes()),
            Err(e) => {
                tracing::warn!(file = %txml, error = %e, "cannot rewrite test document");
                respond(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "text/plain",
                    format!("{txml}: {e}").into_bytes(),
                )
            }
        };
    }
    match files.get(path) {
        Some(bytes) => respond(StatusCode::OK, media_type(path), bytes.clone()),
        None => respond(
            StatusCode::NOT_FOUND,
            "text/plain",
            format!("{path}: not in the suite").into_bytes(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_status(files: &BTreeMap<String, Vec<u8>>, path: &str) -> (StatusCode, String) {
        let r = serve(files, &path.parse().expect("uri"));
        let status = r.status();
        let media = r
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (status, media)
    }

    #[test]
    fn maps_vxml_to_rewritten_txml() {
        let mut files = BTreeMap::new();
        files.insert(
            "1/2b.txml".to_owned(),
            br#"<vxml xmlns="http://www.w3.org/2001/vxml" xmlns:conf="http://www.w3.org/2002/vxml-conformance"><form><block><conf:pass/></block></form></vxml>"#.to_vec(),
        );
        files.insert("1/g.grxml".to_owned(), b"<grammar/>".to_vec());
        assert_eq!(
            body_status(&files, "/1/2b.vxml"),
            (StatusCode::OK, "application/voicexml+xml".into())
        );
        assert_eq!(
            body_status(&files, "/1/g.grxml?x=1"),
            (StatusCode::OK, "application/srgs+xml".into())
        );
        assert_eq!(body_status(&files, "/1/none.vxml").0, StatusCode::NOT_FOUND);
    }

    #[test]
    fn serves_over_loopback() {
        let mut files = BTreeMap::new();
        files.insert("a.txt".to_owned(), b"hello".to_vec());
        let server = SuiteServer::start(Arc::new(files)).expect("server");
        let url = server.base_url().join("a.txt").expect("url");
        let addr = format!(
            "{}:{}",
            url.host_str().expect("host"),
            url.port().expect("port")
        );
        use std::io::{Read as _, Write as _};
        let mut s = std::net::TcpStream::connect(addr).expect("connect");
        s.write_all(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .expect("write");
        let mut out = String::new();
        s.read_to_string(&mut out).expect("read");
        assert!(out.starts_with("HTTP/1.1 200"), "{out}");
        assert!(out.ends_with("hello"), "{out}");
    }
}
