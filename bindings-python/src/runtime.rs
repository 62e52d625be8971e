//! The asyncio bridge: pyo3-async-runtimes driven by the core's fork-safe runtime (its own
//! tokio integration keeps a runtime in a OnceLock, which cannot follow a fork), and the
//! sync/async switch every method uses.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use pyo3_async_runtimes::TaskLocals;
use pyo3_async_runtimes::generic::{ContextExt, JoinError, Runtime};

use crate::errors::to_py_err;

tokio::task_local! {
    static TASK_LOCALS: std::cell::OnceCell<TaskLocals>;
}

/// Callbacks that hand results back to asyncio, still running.
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

pub struct ForkSafeRuntime;

pub struct TaskJoinError(tokio::task::JoinError);

impl JoinError for TaskJoinError {
    fn is_panic(&self) -> bool {
        self.0.is_panic()
    }
    fn into_panic(self) -> Box<dyn std::any::Any + Send + 'static> {
        self.0.into_panic()
    }
}

type JoinHandle = Pin<Box<dyn Future<Output = Result<(), TaskJoinError>> + Send>>;

impl Runtime for ForkSafeRuntime {
    type JoinError = TaskJoinError;
    type JoinHandle = JoinHandle;

    fn spawn<F>(fut: F) -> Self::JoinHandle
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let handle = klaviyo_bridge::runtime::runtime().spawn(fut);
        Box::pin(async move { handle.await.map_err(TaskJoinError) })
    }

    fn spawn_blocking<F>(f: F) -> Self::JoinHandle
    where
        F: FnOnce() + Send + 'static,
    {
        // Counted so that interpreter exit can wait for them (see `wait_for_callbacks`).
        IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
        let handle = klaviyo_bridge::runtime::runtime().spawn_blocking(move || {
            f();
            IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
        });
        Box::pin(async move { handle.await.map_err(TaskJoinError) })
    }
}

impl ContextExt for ForkSafeRuntime {
    fn scope<F, R>(locals: TaskLocals, fut: F) -> Pin<Box<dyn Future<Output = R> + Send>>
    where
        F: Future<Output = R> + Send + 'static,
    {
        let cell = std::cell::OnceCell::new();
        let _ = cell.set(locals);
        Box::pin(TASK_LOCALS.scope(cell, fut))
    }

    fn get_task_locals() -> Option<TaskLocals> {
        TASK_LOCALS
            .try_with(|c| c.get().cloned())
            .unwrap_or_default()
    }
}

/// Registered with `atexit`: a short asyncio program can end while a callback that resolves
/// its futures still runs; letting the interpreter finalize under it crashes. Wait (GIL
/// released, at most 2 s) for those callbacks to finish.
#[pyfunction]
pub fn wait_for_callbacks(py: Python<'_>) {
    py.detach(|| {
        let deadline = Instant::now() + Duration::from_secs(2);
        while IN_FLIGHT.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
}

/// Runs a core future: blocking with the GIL released (sync clients), or as an asyncio
/// awaitable (async clients). `convert` turns the result into a Python object.
pub fn run<F, T, C>(py: Python<'_>, asynchronous: bool, fut: F, convert: C) -> PyResult<Py<PyAny>>
where
    F: Future<Output = klaviyo_bridge::Result<T>> + Send + 'static,
    T: Send + 'static,
    C: for<'py> FnOnce(Python<'py>, T) -> PyResult<Py<PyAny>> + Send + 'static,
{
    if asynchronous {
        // The result is converted where pyo3-async-runtimes hands it to asyncio (on its
        // blocking pool, GIL held), never on the runtime's one worker: taking the GIL there
        // would stall every request in flight while the event loop runs Python code.
        let awaitable = pyo3_async_runtimes::generic::future_into_py::<ForkSafeRuntime, _, _>(
            py,
            async move {
                Ok(Converted {
                    result: fut.await,
                    convert,
                })
            },
        )?;
        Ok(awaitable.unbind())
    } else {
        let value = py
            .detach(|| klaviyo_bridge::runtime::runtime().block_on(fut))
            .map_err(to_py_err)?;
        convert(py, value)
    }
}

/// A core result (or error) with the function that makes it a Python object, applied once
/// the GIL is held; an error becomes the awaitable's exception.
struct Converted<T, C> {
    result: klaviyo_bridge::Result<T>,
    convert: C,
}

impl<'py, T, C> IntoPyObject<'py> for Converted<T, C>
where
    C: FnOnce(Python<'py>, T) -> PyResult<Py<PyAny>>,
{
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        let value = self.result.map_err(|e| crate::errors::exception(py, &e))?;
        (self.convert)(py, value).map(|object| object.into_bound(py))
    }
}
