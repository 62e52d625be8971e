//! The accept loop: HTTP/1.1 connections with a deadline for request headers, so idle and
//! slow connections are closed instead of held forever, and a graceful stop.

use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tower_http::normalize_path::NormalizePath;

/// Serves `app` on `listener` until `stop` fires, then lets requests in flight finish.
pub(crate) async fn serve(
    listener: TcpListener,
    app: NormalizePath<axum::Router>,
    stop: oneshot::Receiver<()>,
    header_timeout: Duration,
) {
    let graceful = GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    // Also bounds how long a kept-alive connection may sit idle before its next request.
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(true);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let connection = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    let _ = connection.await;
                });
            }
            _ = &mut stop => break,
        }
    }
    drop(listener);
    graceful.shutdown().await;
}
