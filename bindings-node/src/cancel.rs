//! AbortSignal support: JS asks for an id, passes it with the call, and calls `cancel(id)`
//! on abort; the call's future (the in-flight request and any retry wait) is dropped.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{LazyLock, Mutex};

use tokio_util::sync::CancellationToken;

use crate::errors::{aborted, js_error};

static NEXT: AtomicU32 = AtomicU32::new(1);
static TOKENS: LazyLock<Mutex<HashMap<u32, CancellationToken>>> = LazyLock::new(Mutex::default);

pub fn new() -> u32 {
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    TOKENS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id, CancellationToken::new());
    id
}

pub fn cancel(id: u32) {
    if let Some(token) = TOKENS.lock().unwrap_or_else(|e| e.into_inner()).get(&id) {
        token.cancel();
    }
}

pub fn release(id: u32) {
    TOKENS.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
}

/// Runs `fut`, abandoning it if the id's token is cancelled.
pub async fn run<T>(
    id: Option<u32>,
    fut: impl Future<Output = klaviyo_bridge::Result<T>>,
) -> napi::Result<T> {
    let token = id.and_then(|id| {
        TOKENS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .cloned()
    });
    match token {
        None => fut.await.map_err(js_error),
        Some(token) if token.is_cancelled() => Err(aborted()),
        Some(token) => tokio::select! {
            result = fut => result.map_err(js_error),
            _ = token.cancelled() => Err(aborted()),
        },
    }
}
