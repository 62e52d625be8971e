//! The tracker's durable spool: an append-only log of checksummed records, in segments, with
//! a sidecar file of acknowledged record numbers per segment. A record is written (one
//! `write` call, no user-space buffer) before `track()` returns, so a killed process loses
//! nothing the caller was told was tracked; on the next open, unacknowledged records come
//! back. A torn record at a segment's end (the write the kill interrupted) fails its checksum
//! and is ignored: its `track()` never returned. Fully acknowledged segments are deleted.
//!
//! Layout: `LOCK` (held while open), `NNNNNNNNNNNN.log` (records: `len u32 LE`, `crc32 u32
//! LE`, payload), `NNNNNNNNNNNN.ack` (entries: `index u32 LE`, `crc32 u32 LE`).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::{Error, Result};

/// Records per segment before a new one starts (bounds what a restart re-reads).
const SEGMENT_RECORDS: u32 = 50_000;
/// Largest record accepted when reading (anything bigger is corruption).
const MAX_RECORD: u32 = 16 * 1024 * 1024;

/// Where a record lives: its segment and its position in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SpoolRef {
    /// Segment number.
    pub segment: u64,
    /// Record number within the segment.
    pub index: u32,
}

/// Records not yet acknowledged, oldest first: where each is and its payload.
pub type Recovered = Vec<(SpoolRef, Vec<u8>)>;

struct Active {
    segment: u64,
    file: File,
    records: u32,
}

/// An open spool directory (one process at a time).
pub struct Spool {
    dir: PathBuf,
    _lock: File,
    active: Mutex<Active>,
    /// Unacknowledged records per segment, and each segment's open ack file.
    open: Mutex<HashMap<u64, (usize, Option<File>)>>,
}

fn io(dir: &Path, what: &str, e: std::io::Error) -> Error {
    Error::Config(format!("spool {}: cannot {what}: {e}", dir.display()))
}

fn segment_path(dir: &Path, segment: u64, ext: &str) -> PathBuf {
    dir.join(format!("{segment:012}.{ext}"))
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 8);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// The valid records of a log, stopping at the first torn or corrupt one.
fn read_records(bytes: &[u8]) -> Vec<&[u8]> {
    let mut records = Vec::new();
    let mut at = 0;
    while at + 8 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap_or_default());
        let crc = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap_or_default());
        let end = at + 8 + len as usize;
        if len > MAX_RECORD || end > bytes.len() || crc32fast::hash(&bytes[at + 8..end]) != crc {
            break;
        }
        records.push(&bytes[at + 8..end]);
        at = end;
    }
    records
}

fn read_acks(bytes: &[u8]) -> std::collections::HashSet<u32> {
    bytes
        .chunks_exact(8)
        .filter_map(|entry| {
            let index = &entry[..4];
            (crc32fast::hash(index).to_le_bytes() == entry[4..8])
                .then(|| u32::from_le_bytes(index.try_into().unwrap_or_default()))
        })
        .collect()
}

impl Spool {
    /// Opens (creating) `dir`; returns the spool and the records not yet acknowledged, oldest
    /// first. Fails if another live process has the spool open.
    pub fn open(dir: &Path) -> Result<(Spool, Recovered)> {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, "create the directory", e))?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("LOCK"))
            .map_err(|e| io(dir, "open LOCK", e))?;
        lock.try_lock().map_err(|_| {
            Error::Config(format!(
                "spool {} is in use by another process (one tracker per spool directory)",
                dir.display()
            ))
        })?;
        let mut segments: Vec<u64> = std::fs::read_dir(dir)
            .map_err(|e| io(dir, "list", e))?
            .filter_map(|entry| {
                let name = entry.ok()?.file_name().into_string().ok()?;
                name.strip_suffix(".log")?.parse().ok()
            })
            .collect();
        segments.sort_unstable();
        let mut recovered = Vec::new();
        let mut open = HashMap::new();
        for &segment in &segments {
            let mut log = Vec::new();
            File::open(segment_path(dir, segment, "log"))
                .and_then(|mut f| f.read_to_end(&mut log))
                .map_err(|e| io(dir, "read a segment", e))?;
            let acks = std::fs::read(segment_path(dir, segment, "ack"))
                .map(|b| read_acks(&b))
                .unwrap_or_default();
            let before = recovered.len();
            for (index, record) in read_records(&log).into_iter().enumerate() {
                let index = index as u32;
                if !acks.contains(&index) {
                    recovered.push((SpoolRef { segment, index }, record.to_vec()));
                }
            }
            let remaining = recovered.len() - before;
            if remaining == 0 {
                remove_segment(dir, segment);
            } else {
                open.insert(segment, (remaining, None));
            }
        }
        let segment = segments.last().map_or(1, |s| s + 1);
        let file = Self::create_segment(dir, segment)?;
        let spool = Spool {
            dir: dir.to_path_buf(),
            _lock: lock,
            active: Mutex::new(Active {
                segment,
                file,
                records: 0,
            }),
            open: Mutex::new(open),
        };
        Ok((spool, recovered))
    }

    fn create_segment(dir: &Path, segment: u64) -> Result<File> {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(segment_path(dir, segment, "log"))
            .map_err(|e| io(dir, "create a segment", e))
    }

    /// Appends one record; when this returns, a killed process still has it.
    pub fn append(&self, payload: &[u8]) -> Result<SpoolRef> {
        let framed = frame(payload);
        let mut active = self.active.lock().unwrap_or_else(|e| e.into_inner());
        if active.records >= SEGMENT_RECORDS {
            let next = active.segment + 1;
            active.file = Self::create_segment(&self.dir, next)?;
            let finished = std::mem::replace(&mut active.segment, next);
            active.records = 0;
            // The finished segment may already be fully acknowledged.
            let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
            if open
                .get(&finished)
                .is_none_or(|(remaining, _)| *remaining == 0)
            {
                open.remove(&finished);
                remove_segment(&self.dir, finished);
            }
        }
        active
            .file
            .write_all(&framed)
            .map_err(|e| io(&self.dir, "append", e))?;
        let at = SpoolRef {
            segment: active.segment,
            index: active.records,
        };
        active.records += 1;
        self.open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(at.segment)
            .or_insert((0, None))
            .0 += 1;
        Ok(at)
    }

    /// Marks records delivered (or finally rejected); deletes segments with nothing left.
    pub fn ack(&self, refs: &[SpoolRef]) -> Result<()> {
        let active = self
            .active
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .segment;
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let mut by_segment: HashMap<u64, Vec<u8>> = HashMap::new();
        for r in refs {
            let entry = by_segment.entry(r.segment).or_default();
            entry.extend_from_slice(&r.index.to_le_bytes());
            entry.extend_from_slice(&crc32fast::hash(&r.index.to_le_bytes()).to_le_bytes());
        }
        for (segment, bytes) in by_segment {
            let Some((remaining, file)) = open.get_mut(&segment) else {
                continue;
            };
            *remaining = remaining.saturating_sub(bytes.len() / 8);
            if *remaining == 0 && segment != active {
                open.remove(&segment);
                remove_segment(&self.dir, segment);
                continue;
            }
            if file.is_none() {
                *file = Some(
                    OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(segment_path(&self.dir, segment, "ack"))
                        .map_err(|e| io(&self.dir, "open an ack file", e))?,
                );
            }
            if let Some(f) = file {
                f.write_all(&bytes)
                    .map_err(|e| io(&self.dir, "write acks", e))?;
            }
        }
        Ok(())
    }
}

fn remove_segment(dir: &Path, segment: u64) {
    let _ = std::fs::remove_file(segment_path(dir, segment, "log"));
    let _ = std::fs::remove_file(segment_path(dir, segment, "ack"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("klaviyo-spool-{name}-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn unacknowledged_records_come_back_and_a_torn_tail_is_ignored() {
        let dir = temp_dir("recover");
        {
            let (spool, recovered) = Spool::open(&dir).unwrap();
            assert!(recovered.is_empty());
            let refs: Vec<_> = (0..5)
                .map(|i| spool.append(format!("event-{i}").as_bytes()).unwrap())
                .collect();
            spool.ack(&[refs[1], refs[3]]).unwrap();
            assert!(
                Spool::open(&dir).is_err(),
                "a second opener is refused while the first is open"
            );
        }
        // A write cut short by a kill: a header promising more bytes than follow.
        let log = segment_path(&dir, 1, "log");
        let mut f = OpenOptions::new().append(true).open(&log).unwrap();
        f.write_all(&[200, 0, 0, 0, 1, 2, 3, 4, b'x']).unwrap();
        let (spool, recovered) = Spool::open(&dir).unwrap();
        let payloads: Vec<String> = recovered
            .iter()
            .map(|(_, p)| String::from_utf8(p.clone()).unwrap())
            .collect();
        assert_eq!(payloads, ["event-0", "event-2", "event-4"]);
        spool
            .ack(&recovered.iter().map(|(r, _)| *r).collect::<Vec<_>>())
            .unwrap();
        assert!(!log.exists(), "a fully acknowledged old segment is deleted");
        drop(spool);
        assert!(Spool::open(&dir).unwrap().1.is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_flipped_bit_stops_reading_at_that_record() {
        let mut bytes = frame(b"one");
        bytes.extend(frame(b"two"));
        bytes.extend(frame(b"three"));
        let at = bytes.len() - 3;
        bytes[at] ^= 1;
        assert_eq!(read_records(&bytes), [b"one".as_slice(), b"two".as_slice()]);
    }
}
