//! The reference tools' entry point: the console scripts `klaviyo-client` and
//! `klaviyo-dev-tools` run the same Rust code as the Rust binaries, so output is identical.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// Runs `program` ("client" or "dev-tools") with `argv` (program name first); returns the
/// exit code. Output goes straight to the process's stdout and stderr.
#[pyfunction]
pub fn run_cli(py: Python<'_>, program: &str, argv: Vec<String>) -> PyResult<i32> {
    let program = match program {
        "client" => klaviyo_cli::Program::Client,
        "dev-tools" => klaviyo_cli::Program::DevTools,
        other => return Err(PyValueError::new_err(format!("unknown program {other:?}"))),
    };
    let argv = argv.into_iter().map(Into::into).collect();
    Ok(py.detach(|| klaviyo_cli::run(program, argv, klaviyo_bridge::Binding::Python)))
}
