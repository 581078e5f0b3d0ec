//! The built-in HTTP server of `vxp serve`: serves a folder (by default
//! `vxml-samples/`) so the sample applications run with no other setup.
//! Static files only (RFC 9110 GET/HEAD with ranges and conditional requests,
//! as `tower-http`'s `ServeDir` implements them).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use axum::Router;
use tokio::net::TcpListener;
use tower_http::services::ServeDir;

/// The application routes: the folder under `/`.
pub fn app(root: &Path) -> Router {
    Router::new().fallback_service(ServeDir::new(root))
}

/// Binds `addr` and returns the bound address and the server future.
pub async fn bind(
    addr: SocketAddr,
    root: PathBuf,
) -> std::io::Result<(
    SocketAddr,
    impl std::future::Future<Output = std::io::Result<()>>,
)> {
    let listener = TcpListener::bind(addr).await?;
    serve_on_listener(listener, root, Router::new())
}

/// Serves the folder and `routes` (the CCXML HTTP interfaces) on a bound
/// listener.
pub async fn serve_on(
    listener: std::net::TcpListener,
    root: PathBuf,
    routes: Router,
) -> std::io::Result<(
    SocketAddr,
    impl std::future::Future<Output = std::io::Result<()>>,
)> {
    listener.set_nonblocking(true)?;
    serve_on_listener(TcpListener::from_std(listener)?, root, routes)
}

fn serve_on_listener(
    listener: TcpListener,
    root: PathBuf,
    routes: Router,
) -> std::io::Result<(
    SocketAddr,
    impl std::future::Future<Output = std::io::Result<()>>,
)> {
    let bound = listener.local_addr()?;
    let router = routes.merge(app(&root));
    Ok((bound, async move { axum::serve(listener, router).await }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn serves_the_sample_pages() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vxml-samples");
        let (addr, server) = bind("127.0.0.1:0".parse().expect("literal"), root)
            .await
            .expect("binds");
        let task = tokio::spawn(server);
        let mut stream = tokio::net::TcpStream::connect(addr)
            .await
            .expect("connects");
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        stream
            .write_all(b"GET /hello/hello.vxml HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .expect("writes");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.expect("reads");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.contains("Welcome to VXP"), "{answer}");
        task.abort();
    }
}
