//! `klaviyo_bridge._native`: the Python face of the Rust core. Files mirror the core's
//! modules; each converts types and errors and nothing else.

mod client;
mod convert;
mod errors;
mod export;
mod filter;
mod oauth;
mod operations;
mod pagination;
mod resource;
mod resources;
mod runtime;
mod testing;
mod tools;
mod tracker;
mod webhooks;

use std::sync::OnceLock;

use pyo3::prelude::*;

static LOG_RESET: OnceLock<pyo3_log::ResetHandle> = OnceLock::new();

/// pyo3-log caches each logger's level; call this after changing `logging` levels at run time.
#[pyfunction]
fn refresh_logging() {
    if let Some(handle) = LOG_RESET.get() {
        handle.reset();
    }
}

/// Set to 1 to also see the HTTP, TLS and runtime crates' records (`reqwest.*`, `hyper_util.*`,
/// `rustls*`) in Python's `logging`; by default only the library's own records reach it.
const LOG_DEPENDENCIES_VAR: &str = "KLAVIYO_BRIDGE_LOG_DEPENDENCIES";

/// Targets of this library's own records (each crate's module path).
const OWN_TARGETS: [&str; 3] = ["klaviyo_bridge", "_native", "klaviyo_cli"];

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // Rust `tracing` events reach Python's `logging` (logger "klaviyo_bridge.*"); records of
    // the crates below us stay out unless asked for, so DEBUG on the root logger is readable.
    let everything = std::env::var(LOG_DEPENDENCIES_VAR).is_ok_and(|v| v == "1");
    let mut logger = pyo3_log::Logger::new(m.py(), pyo3_log::Caching::LoggersAndLevels)?;
    if !everything {
        logger = logger.filter(log::LevelFilter::Off);
        for target in OWN_TARGETS {
            logger = logger.filter_target(target.to_string(), log::LevelFilter::Trace);
        }
    }
    if let Ok(handle) = logger.install() {
        let _ = LOG_RESET.set(handle);
    }
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("DEFAULT_REVISION", klaviyo_bridge::config::DEFAULT_REVISION)?;
    m.add_class::<client::NativeClient>()?;
    m.add_class::<resource::PyResource>()?;
    m.add_class::<pagination::PageCursor>()?;
    m.add_class::<export::PyExport>()?;
    m.add_class::<resources::Events>()?;
    m.add_class::<resources::Profiles>()?;
    m.add_class::<resources::Lists>()?;
    m.add_class::<resources::Metrics>()?;
    m.add_class::<resources::Catalog>()?;
    m.add_class::<resources::Catalogs>()?;
    m.add_class::<resources::Webhooks>()?;
    m.add_class::<resources::Accounts>()?;
    m.add_class::<resources::DataPrivacy>()?;
    m.add_class::<resources::Jobs>()?;
    m.add_class::<tracker::Tracker>()?;
    m.add_class::<testing::SandboxServer>()?;
    m.add_class::<oauth::OAuthApp>()?;
    m.add_class::<oauth::PyTokens>()?;
    m.add_class::<oauth::AuthorizationRequest>()?;
    m.add_class::<webhooks::MemorySeenStore>()?;
    m.add_function(wrap_pyfunction!(webhooks::verify, m)?)?;
    m.add_function(wrap_pyfunction!(filter::filter_expression, m)?)?;
    m.add_function(wrap_pyfunction!(webhooks::sign, m)?)?;
    m.add_function(wrap_pyfunction!(tools::run_cli, m)?)?;
    m.add_function(wrap_pyfunction!(runtime::wait_for_callbacks, m)?)?;
    m.add_function(wrap_pyfunction!(refresh_logging, m)?)?;
    // Let callbacks that resolve asyncio futures finish before the interpreter finalizes.
    m.py()
        .import("atexit")?
        .call_method1("register", (m.getattr("wait_for_callbacks")?,))?;
    Ok(())
}
