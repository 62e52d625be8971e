//! A blocking facade for synchronous callers: the same client, driven on a shared runtime.

use std::future::Future;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::pagination::Pager;
use crate::resource::{Document, Resource};

/// The shared runtime that blocking calls run on (see [`crate::runtime`]).
pub use crate::runtime::runtime;

/// A synchronous client. Must not be used from inside an async runtime.
#[derive(Debug, Clone)]
pub struct Client {
    inner: crate::Client,
}

impl Client {
    /// Wraps an async client.
    pub fn new(inner: crate::Client) -> Self {
        Client { inner }
    }

    /// Reads `KLAVIYO_API_KEY` etc. like [`crate::Client::from_env`].
    pub fn from_env() -> Result<Self> {
        crate::Client::from_env().map(Self::new)
    }

    /// The async client underneath.
    pub fn inner(&self) -> &crate::Client {
        &self.inner
    }

    /// Runs any async call to completion:
    /// `client.run(|c| async move { c.events().create(event).await })`.
    pub fn run<T, F, Fut>(&self, call: F) -> T
    where
        F: FnOnce(crate::Client) -> Fut,
        Fut: Future<Output = T>,
    {
        runtime().block_on(call(self.inner.clone()))
    }

    /// [`crate::Client::request`], blocking.
    pub fn request(
        &self,
        operation_id: &str,
        path: &[(&str, &str)],
        query: &[(&str, &str)],
        body: Option<Value>,
    ) -> Result<Document> {
        runtime().block_on(self.inner.request(operation_id, path, query, body))
    }

    /// Iterates a pager's items, fetching one page at a time.
    pub fn iter(&self, pager: Pager) -> Items {
        Items {
            pager: Some(pager),
            buffer: Vec::new().into_iter(),
        }
    }
}

/// A blocking iterator over a pager's items; holds one page at a time.
pub struct Items {
    pager: Option<Pager>,
    buffer: std::vec::IntoIter<Resource>,
}

impl Iterator for Items {
    type Item = Result<Resource>;

    fn next(&mut self) -> Option<Result<Resource>> {
        loop {
            if let Some(item) = self.buffer.next() {
                return Some(Ok(item));
            }
            let pager = self.pager.as_mut()?;
            match runtime().block_on(pager.next_page()) {
                Ok(Some(page)) => self.buffer = page.data.into_iter(),
                Ok(None) => {
                    self.pager = None;
                    return None;
                }
                Err(e) => {
                    self.pager = None;
                    return Some(Err::<Resource, Error>(e));
                }
            }
        }
    }
}
