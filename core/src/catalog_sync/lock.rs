//! One catalog sync per account at a time: an advisory lock on a file named by a hash of the
//! account's base URL and credential (never the credential), held for the whole sync and
//! released when the process ends, however it ends.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::auth::Credentials;
use crate::client::Client;
use crate::error::{Error, Result};

/// A held lock; dropping it releases it.
#[derive(Debug)]
pub struct SyncLock {
    _file: File,
    path: PathBuf,
}

impl SyncLock {
    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The lock file for `client`'s account in `dir`.
pub fn lock_path(client: &Client, dir: &Path) -> PathBuf {
    let config = client.config();
    let mut hash = Sha256::new();
    hash.update(config.base_url.as_str().as_bytes());
    match &config.credentials {
        Credentials::ApiKey(key) => hash.update(key.expose().as_bytes()),
        Credentials::OAuth(_) => hash.update(b"oauth"),
        Credentials::None => {}
    }
    let digest = hash.finalize();
    let name: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    dir.join(format!("klaviyo-bridge-catalog-sync-{name}.lock"))
}

/// Takes the lock, or fails at once naming the process that holds it.
pub fn acquire(client: &Client, dir: &Path) -> Result<SyncLock> {
    acquire_file(lock_path(client, dir), "catalog sync of this account")
}

/// Takes the lock at `path` for a job named `what` ("catalog sync of this account"), or fails
/// at once naming the process that holds it.
pub fn acquire_file(path: PathBuf, what: &str) -> Result<SyncLock> {
    let cannot = |e: std::io::Error| {
        Error::InvalidInput(format!("cannot open the sync lock {}: {e}", path.display()))
    };
    // The lock sits beside a state file that may not exist yet, in a folder that may not.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(cannot)?;
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(cannot)?;
    if !try_lock(&file) {
        let holder = std::fs::read_to_string(&path).unwrap_or_default();
        let holder = holder.trim();
        return Err(Error::InvalidInput(format!(
            "another {what} is running{} (lock {}); wait for it to end",
            if holder.is_empty() {
                String::new()
            } else {
                format!(" (process {holder})")
            },
            path.display()
        )));
    }
    // The holder's pid, for the message above; the lock itself is the flock.
    use std::io::{Seek, Write};
    let mut writer = &file;
    let _ = writer.set_len(0);
    let _ = writer.seek(std::io::SeekFrom::Start(0));
    let _ = write!(writer, "{}", std::process::id());
    Ok(SyncLock { _file: file, path })
}

#[cfg(unix)]
fn try_lock(file: &File) -> bool {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a descriptor this function's caller owns for the lock's lifetime.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

#[cfg(not(unix))]
fn try_lock(file: &File) -> bool {
    file.try_lock().is_ok()
}
