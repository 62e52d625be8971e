//! # klaviyo-bridge
//!
//! A Klaviyo REST API client: every operation of the API (from Klaviyo's OpenAPI spec), with
//! client-side rate limiting per operation, retries that honour `Retry-After`, cursor
//! pagination as streams, lenient decoding, bulk helpers that chunk by count and bytes, and
//! typed errors with stable codes. The same core powers the Python and Node packages.
//!
//! ```no_run
//! # async fn demo() -> klaviyo_bridge::Result<()> {
//! use klaviyo_bridge::{Client, events::EventCreate};
//! let client = Client::from_env()?; // KLAVIYO_API_KEY, from the environment or .env
//! client.events().create(EventCreate::new("Placed Order").email("a@b.com")).await?;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod api;
pub mod arguments;
pub mod auth;
pub mod binding;
pub mod blocking;
pub mod bulk;
pub mod catalog_sync;
mod client;
pub mod config;
pub mod csv_lines;
pub mod error;
pub mod filter;
pub mod oauth;
pub mod operations;
pub mod pagination;
pub mod rate_limit;
pub mod rate_limit_headers;
pub mod redis_store;
pub mod resource;
pub mod resources;
pub mod retry;
pub mod runtime;
pub mod shared_budget;
pub mod spool;
pub mod sync;
pub mod time;
pub mod tls;
pub mod tracker;
pub mod tracker_queue;
pub mod webhook_signature;

pub use client::{Client, Request, RequestOptions, Response};
pub use config::{Binding, ClientBuilder, ClientOptions};
pub use error::{Error, Result};
pub use pagination::{ListParams, Page, Pager};
pub use resource::{Document, Resource};
pub use resources::{
    accounts, catalog, data_privacy, events, jobs, lists, metrics, profiles, webhooks,
};
pub use tracker::{Tracker, TrackerOptions, TrackerStats, WhenFull};

// The README's Rust examples are doctests: one that stops compiling fails `cargo test`.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeExamples;
