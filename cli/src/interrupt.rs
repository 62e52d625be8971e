//! SIGINT and SIGTERM seen by a long-running tool, so it can stop at a clean point (an export
//! keeps its partial file and cursor) instead of dying mid-write.

/// A request to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM (`kill`, a supervisor stopping the job).
    Terminate,
}

impl Signal {
    /// The exit code a shell reports for a process ended by this signal (128 + number).
    pub fn exit_code(self) -> i32 {
        match self {
            Signal::Interrupt => 130,
            Signal::Terminate => 143,
        }
    }

    /// Its conventional name.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }
}

/// Listens for SIGINT and SIGTERM from the moment it is made (they no longer end the process).
pub struct Interrupts {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Interrupts {
    /// Starts listening; must be called inside the runtime.
    pub fn listen() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            // tokio chains to the handler it finds. Node's re-raises the signal, so chained it
            // would deliver the signal to itself forever; the CLI owns its process (in every
            // door), so the hosts' handlers go before tokio installs its own, once.
            static HOST_HANDLERS_REMOVED: std::sync::Once = std::sync::Once::new();
            HOST_HANDLERS_REMOVED.call_once(|| {
                for signal in [libc::SIGINT, libc::SIGTERM] {
                    // SAFETY: resetting a disposition to the default is async-signal-safe and
                    // happens before any handler of ours exists.
                    unsafe { libc::signal(signal, libc::SIG_DFL) };
                }
            });
            Ok(Interrupts {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Interrupts {})
        }
    }

    /// Waits for the next signal.
    pub async fn next(&mut self) -> Signal {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => Signal::Interrupt,
                _ = self.terminate.recv() => Signal::Terminate,
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            Signal::Interrupt
        }
    }
}
