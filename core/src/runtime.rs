//! The shared tokio runtime, and values that must be rebuilt after `fork()`.
//!
//! A forked child inherits the parent's memory but none of its threads: a runtime or an HTTP
//! connection pool made before the fork would hang in the child, and dropping them would
//! close the parent's sockets. So a `pthread_atfork` child handler bumps a generation
//! counter, and [`ForkLocal`] values are rebuilt lazily when they see a new generation; the
//! parent's copies are leaked in the child, never dropped. This is what lets gunicorn and
//! celery pre-fork workers use a client made in the parent.

use std::sync::Once;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};

static GENERATION: AtomicU64 = AtomicU64::new(0);
static REGISTER: Once = Once::new();

#[cfg(unix)]
extern "C" fn after_fork_in_child() {
    GENERATION.fetch_add(1, Ordering::SeqCst);
}

/// How many forks this process is removed from the one that first used the library.
pub fn fork_generation() -> u64 {
    REGISTER.call_once(|| {
        #[cfg(unix)]
        // SAFETY: registers a handler that only touches an atomic, which is async-signal-safe.
        unsafe {
            libc::pthread_atfork(None, None, Some(after_fork_in_child));
        }
    });
    GENERATION.load(Ordering::SeqCst)
}

/// A value that is rebuilt, not shared, on the other side of a `fork()`.
pub struct ForkLocal<T> {
    value: AtomicPtr<T>,
    generation: AtomicU64,
}

impl<T> Default for ForkLocal<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> ForkLocal<T> {
    /// An empty slot.
    pub const fn new() -> Self {
        ForkLocal {
            value: AtomicPtr::new(std::ptr::null_mut()),
            generation: AtomicU64::new(u64::MAX),
        }
    }

    /// The value for this process, made by `make` on first use and again after a fork.
    pub fn get(&self, make: impl FnOnce() -> T) -> &T {
        let generation = fork_generation();
        let current = self.value.load(Ordering::Acquire);
        if !current.is_null() && self.generation.load(Ordering::Acquire) == generation {
            // SAFETY: non-null pointers here come from Box::into_raw below and are never freed
            // while `self` lives (replaced values are leaked on purpose).
            return unsafe { &*current };
        }
        let fresh = Box::into_raw(Box::new(make()));
        match self
            .value
            .compare_exchange(current, fresh, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => {
                // The previous value (if any) belongs to the parent process: leak it.
                self.generation.store(generation, Ordering::Release);
                // SAFETY: `fresh` was just installed and stays alive as above.
                unsafe { &*fresh }
            }
            Err(winner) => {
                // Another thread installed a value first; use it and discard ours.
                // SAFETY: `fresh` was never shared.
                drop(unsafe { Box::from_raw(fresh) });
                // SAFETY: as above.
                unsafe { &*winner }
            }
        }
    }
}

impl<T> Drop for ForkLocal<T> {
    fn drop(&mut self) {
        let value = *self.value.get_mut();
        // Free only a value made in this process; one inherited from a parent is leaked.
        if !value.is_null() && *self.generation.get_mut() == fork_generation() {
            // SAFETY: made by Box::into_raw in `get`, owned by this slot alone.
            drop(unsafe { Box::from_raw(value) });
        }
    }
}

static RUNTIME: ForkLocal<tokio::runtime::Runtime> = ForkLocal::new();

/// The shared multi-threaded runtime (one worker: the work is I/O, and one worker keeps
/// cross-thread wake-ups, and so CPU per call, low). Rebuilt in a forked child.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    RUNTIME.get(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("klaviyo-bridge")
            .enable_all()
            .build()
            .expect("cannot start the klaviyo-bridge runtime")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_builds_once_per_generation() {
        let slot: ForkLocal<u32> = ForkLocal::new();
        let mut made = 0;
        assert_eq!(
            *slot.get(|| {
                made += 1;
                7
            }),
            7
        );
        assert_eq!(
            *slot.get(|| {
                made += 1;
                8
            }),
            7
        );
        assert_eq!(made, 1);
        // Simulate the child side of a fork.
        GENERATION.fetch_add(1, Ordering::SeqCst);
        assert_eq!(*slot.get(|| 9), 9);
    }

    #[cfg(unix)]
    #[test]
    fn the_runtime_works_in_a_forked_child() {
        assert_eq!(runtime().block_on(async { 1 + 1 }), 2);
        // SAFETY: the child only runs the runtime and exits.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let ok = runtime().block_on(async {
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                3
            }) == 3;
            // SAFETY: leaving the child without running the parent's destructors.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        let mut status = 0;
        // SAFETY: waiting for our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "child status {status}"
        );
        assert_eq!(
            runtime().block_on(async { 2 + 2 }),
            4,
            "the parent's runtime still works"
        );
    }
}
