//! Iteration over the core's pager, sync (`for`) and async (`async for`), over items or
//! `.pages()`. A page is fetched as raw JSON with the GIL released and parsed by Python's C
//! `json.loads` (the cheapest hand-off measured); only the current page is held.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use pyo3::exceptions::{PyStopAsyncIteration, PyStopIteration};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

use klaviyo_bridge::Pager;
use klaviyo_bridge::pagination::RawPage;

use crate::errors::to_py_err;
use crate::resource::PyResource;
use crate::runtime::run;

/// A page's `data` as a list of Resource objects.
fn page_items<'py>(py: Python<'py>, page: &RawPage) -> PyResult<Bound<'py, PyList>> {
    let document = py
        .import("json")?
        .getattr("loads")?
        .call1((PyBytes::new(py, &page.body),))?;
    let data = document.get_item("data")?;
    let items = PyList::empty(py);
    for raw in data.try_iter()? {
        items.append(Py::new(py, PyResource::from_dict(raw?.cast_into()?))?)?;
    }
    Ok(items)
}

/// Iterates a list operation: `for item in cursor`, `async for item in cursor`,
/// `cursor.pages()` for page-at-a-time work, and `cursor.cursor` to resume later.
#[pyclass(module = "klaviyo_bridge._native")]
pub struct PageCursor {
    pager: Arc<tokio::sync::Mutex<Pager>>,
    buffer: Arc<Mutex<VecDeque<Py<PyAny>>>>,
    asynchronous: bool,
    pages: bool,
}

impl PageCursor {
    pub fn new(pager: Pager, asynchronous: bool) -> Self {
        PageCursor {
            pager: Arc::new(tokio::sync::Mutex::new(pager)),
            buffer: Arc::default(),
            asynchronous,
            pages: false,
        }
    }

    /// The next item already fetched, when iterating items.
    fn buffered(&self) -> Option<Py<PyAny>> {
        if self.pages {
            None
        } else {
            self.buffer.lock().expect("buffer lock").pop_front()
        }
    }

    async fn fetch(
        pager: Arc<tokio::sync::Mutex<Pager>>,
    ) -> klaviyo_bridge::Result<Option<RawPage>> {
        pager.lock().await.next_page_raw().await
    }
}

/// An awaitable that is already done: `await` returns `value` without a trip to the runtime.
#[pyclass(module = "klaviyo_bridge._native")]
pub struct Ready {
    value: Option<Py<PyAny>>,
}

impl Ready {
    /// Awaits to `value`.
    pub fn new(value: Py<PyAny>) -> Self {
        Ready { value: Some(value) }
    }
}

#[pymethods]
impl Ready {
    fn __await__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }
    fn __next__(&mut self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Err(PyStopIteration::new_err((self
            .value
            .take()
            .unwrap_or_else(|| py.None()),)))
    }
}

#[pymethods]
impl PageCursor {
    /// The cursor of the next page (None at the end): pass it as `cursor=` to resume.
    #[getter]
    fn cursor(&self, py: Python<'_>) -> Option<String> {
        let pager = self.pager.clone();
        py.detach(|| pager.blocking_lock().cursor().map(str::to_string))
    }

    /// The same listing, a page (a list of Resources) at a time.
    fn pages(&self) -> PageCursor {
        PageCursor {
            pager: self.pager.clone(),
            buffer: self.buffer.clone(),
            asynchronous: self.asynchronous,
            pages: true,
        }
    }

    /// The next page as a list, or None after the last (blocking).
    fn next_page(&self, py: Python<'_>) -> PyResult<Option<Py<PyList>>> {
        let pager = self.pager.clone();
        let page = py
            .detach(|| klaviyo_bridge::runtime::runtime().block_on(Self::fetch(pager)))
            .map_err(to_py_err)?;
        page.map(|p| page_items(py, &p).map(Bound::unbind))
            .transpose()
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        if let Some(item) = self.buffered() {
            return Ok(Some(item));
        }
        loop {
            let Some(page) = self.next_page(py)? else {
                return Ok(None);
            };
            let page = page.into_bound(py);
            if self.pages {
                return Ok(Some(page.into_any().unbind()));
            }
            let mut buffer = self.buffer.lock().expect("buffer lock");
            buffer.extend(page.iter().map(Bound::unbind));
            if let Some(item) = buffer.pop_front() {
                return Ok(Some(item));
            }
        }
    }

    fn __aiter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __anext__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        if let Some(item) = self.buffered() {
            return Ok(Py::new(py, Ready { value: Some(item) })?.into_any());
        }
        let (pager, buffer, pages) = (self.pager.clone(), self.buffer.clone(), self.pages);
        run(
            py,
            true,
            async move {
                // Skip empty pages; stop at the end.
                loop {
                    match Self::fetch(pager.clone()).await? {
                        None => return Ok(None),
                        Some(page) if page.item_count == 0 && pager.lock().await.is_done() => {
                            return Ok(None);
                        }
                        Some(page) if page.item_count == 0 && !pages => continue,
                        Some(page) => return Ok(Some(page)),
                    }
                }
            },
            move |py, page| {
                let Some(page) = page else {
                    return Err(PyStopAsyncIteration::new_err(()));
                };
                let items = page_items(py, &page)?;
                if pages {
                    return Ok(items.into_any().unbind());
                }
                let mut buffer = buffer.lock().expect("buffer lock");
                buffer.extend(items.iter().map(Bound::unbind));
                buffer
                    .pop_front()
                    .ok_or_else(|| PyStopAsyncIteration::new_err(()))
            },
        )
    }
}
