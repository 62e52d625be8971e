//! Output files written whole or not at all. A command writes `<name>.partial` beside its
//! target and renames it over the target only once everything is written, so a failure or an
//! interruption never leaves a half-written file under the real name, and the previous file
//! stays byte-identical until the new one is complete. The rename is atomic because the
//! partial file is in the same directory.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// `<target>.partial`: where a file is written before it is complete.
pub fn partial_path(target: &Path) -> PathBuf {
    with_suffix(target, ".partial")
}

/// `target` with `suffix` appended to its file name.
pub fn with_suffix(target: &Path, suffix: &str) -> PathBuf {
    let mut name: OsString = target.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// A file being written under its partial name.
pub struct PartialFile {
    target: PathBuf,
    partial: PathBuf,
    file: File,
    /// Whether dropping the value leaves the partial file on disk (for a resume).
    keep: bool,
}

impl PartialFile {
    /// Starts `<target>.partial` empty (replacing any earlier one). `target` itself is not touched.
    pub fn create(target: &Path) -> std::io::Result<Self> {
        if target.is_dir() {
            return Err(std::io::Error::other(format!(
                "{} is a directory",
                target.display()
            )));
        }
        let partial = partial_path(target);
        let file = File::create(&partial)?;
        Ok(PartialFile {
            target: target.to_path_buf(),
            partial,
            file,
            keep: false,
        })
    }

    /// Reopens an earlier `<target>.partial`, cut back to its first `len` bytes (what was
    /// recorded as complete), positioned at its end.
    pub fn reopen(target: &Path, len: u64) -> std::io::Result<Self> {
        let partial = partial_path(target);
        let mut file = OpenOptions::new().write(true).open(&partial)?;
        let found = file.metadata()?.len();
        if found < len {
            return Err(std::io::Error::other(format!(
                "{} has {found} bytes, fewer than the {len} recorded as written",
                partial.display()
            )));
        }
        file.set_len(len)?;
        file.seek(SeekFrom::End(0))?;
        Ok(PartialFile {
            target: target.to_path_buf(),
            partial,
            file,
            keep: true,
        })
    }

    /// The open file, to write through.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Where the partial file is.
    pub fn path(&self) -> &Path {
        &self.partial
    }

    /// Bytes in the file so far (after the writer above it is flushed).
    pub fn len(&self) -> std::io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    /// Whether nothing has been written.
    pub fn is_empty(&self) -> std::io::Result<bool> {
        Ok(self.len()? == 0)
    }

    /// Leaves the partial file on disk when this value is dropped (so it can be resumed).
    pub fn keep_on_drop(&mut self, keep: bool) {
        self.keep = keep;
    }

    /// Makes the file durable and renames it over the target.
    pub fn commit(mut self) -> std::io::Result<()> {
        self.file.sync_all()?;
        std::fs::rename(&self.partial, &self.target)?;
        // The rename itself is durable once the directory is synced.
        if let Some(dir) = self.target.parent() {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            if let Ok(handle) = File::open(dir) {
                let _ = handle.sync_all();
            }
        }
        self.keep = true; // nothing left to remove
        Ok(())
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.partial);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("partial-file-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn the_target_changes_only_on_commit() {
        let dir = scratch("commit");
        let target = dir.join("out.csv");
        std::fs::write(&target, b"previous\n").unwrap();
        let file = PartialFile::create(&target).unwrap();
        file.file().write_all(b"new\n").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"previous\n");
        file.commit().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new\n");
        assert!(!partial_path(&target).exists());
    }

    #[test]
    fn an_abandoned_file_is_removed_unless_kept() {
        let dir = scratch("drop");
        let target = dir.join("out.csv");
        let file = PartialFile::create(&target).unwrap();
        file.file().write_all(b"half").unwrap();
        drop(file);
        assert!(!partial_path(&target).exists() && !target.exists());

        let mut file = PartialFile::create(&target).unwrap();
        file.file().write_all(b"0123456789").unwrap();
        file.keep_on_drop(true);
        drop(file);
        let file = PartialFile::reopen(&target, 4).unwrap();
        file.file().write_all(b"!").unwrap();
        drop(file);
        assert_eq!(std::fs::read(partial_path(&target)).unwrap(), b"0123!");
        assert!(PartialFile::reopen(&target, 99).is_err());
        assert!(
            PartialFile::create(&dir).is_err(),
            "a directory is no target"
        );
    }
}
