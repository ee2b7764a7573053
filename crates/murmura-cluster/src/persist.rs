//! Persistence: an append-only log of crc32-framed records plus periodic
//! snapshots, recovered on restart.
//!
//! Each record is one murmura-core frame (version, length, payload,
//! crc32) whose payload is a key and the encoded state merged into it. On
//! recovery the snapshot is read first, then the log; a record that is
//! cut short (a torn write) or fails its checksum ends the log: it is
//! reported in [`Recovered::torn`], never applied, and the log is truncated
//! there so new records follow the last good one. Everything before it
//! survives.
//!
//! What each [`FsyncPolicy`] risks:
//! - [`FsyncPolicy::Always`]: the log is fsynced before any write it holds
//!   is acknowledged. A crash, even of the machine, loses nothing
//!   acknowledged. Slowest.
//! - [`FsyncPolicy::Batched`]: fsynced at most this often. A process crash
//!   loses nothing (the data is in the OS's cache); a machine crash or
//!   power loss can lose what was acknowledged in the last interval — the
//!   other W − 1 replicas still hold it, and anti-entropy brings it back.
//! - [`FsyncPolicy::Never`]: the OS writes when it likes. A machine crash
//!   can lose tens of seconds of acknowledged writes on this replica.

use murmura_core::codec::{Reader, put_bytes};
use murmura_core::frame::{self, FrameError, FrameLimits};
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// When appended records are forced to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// Before every acknowledgement.
    Always,
    /// At most once per this interval.
    Batched(Duration),
    /// Never explicitly.
    Never,
}

/// Where a store's records go. The store calls it on every change it
/// accepts, and [`commit`](Journal::commit) before it acknowledges.
pub trait Journal: Send {
    /// Records that `value` (an encoded state) was merged into `key`.
    ///
    /// # Errors
    /// The I/O error; the store does not acknowledge the change.
    fn append(&mut self, key: &[u8], value: &[u8]) -> io::Result<()>;

    /// Makes appended records as durable as the policy promises; `now`
    /// paces batched syncing.
    ///
    /// # Errors
    /// The I/O error; the store does not acknowledge what it holds.
    fn commit(&mut self, now: Duration) -> io::Result<()>;

    /// Whether the log has grown enough to be replaced by a snapshot.
    fn wants_snapshot(&self) -> bool;

    /// Replaces snapshot and log by a snapshot of `entries`.
    ///
    /// # Errors
    /// The I/O error; the old snapshot and log are still valid.
    fn snapshot(&mut self, entries: &mut dyn Iterator<Item = (Vec<u8>, Vec<u8>)>)
    -> io::Result<()>;
}

/// A record that was not applied on recovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    /// Offset of the bad record in the log.
    pub offset: u64,
    /// Bytes dropped from there to the end of the log.
    pub bytes_dropped: u64,
    /// Why it was rejected.
    pub reason: String,
}

/// What recovery found.
#[derive(Debug, Default)]
pub struct Recovered {
    /// `(key, encoded state)` in the order they were written; merge them all.
    pub entries: Vec<(Vec<u8>, Vec<u8>)>,
    /// The log's bad tail, if it had one.
    pub torn: Option<TornTail>,
}

fn limits() -> FrameLimits {
    FrameLimits::default()
}

fn encode_record(key: &[u8], value: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
    let mut payload = Vec::with_capacity(key.len() + value.len() + 4);
    put_bytes(&mut payload, key);
    payload.extend_from_slice(value);
    frame::encode(1, &payload, &limits(), out)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
}

fn decode_record(payload: &[u8]) -> Result<(Vec<u8>, Vec<u8>), String> {
    let mut r = Reader::new(payload);
    let key = r.length_prefixed().map_err(|e| e.to_string())?.to_vec();
    Ok((key, r.rest().to_vec()))
}

/// Parses records from `bytes`; stops at the first bad one and says where.
fn parse(bytes: &[u8], out: &mut Vec<(Vec<u8>, Vec<u8>)>) -> Option<TornTail> {
    let mut at = 0usize;
    while at < bytes.len() {
        let bad = |reason: String| TornTail {
            offset: at as u64,
            bytes_dropped: (bytes.len() - at) as u64,
            reason,
        };
        match frame::decode(&bytes[at..], &limits()) {
            Ok((f, used)) => match decode_record(f.payload) {
                Ok(record) => {
                    out.push(record);
                    at += used;
                }
                Err(e) => return Some(bad(format!("bad record: {e}"))),
            },
            Err(FrameError::Incomplete { .. }) => return Some(bad("record cut short".into())),
            Err(e) => return Some(bad(e.to_string())),
        }
    }
    None
}

/// A [`Journal`] in a directory: `snapshot` and `log`.
#[derive(Debug)]
pub struct FileJournal {
    dir: PathBuf,
    log: BufWriter<File>,
    policy: FsyncPolicy,
    log_bytes: u64,
    snapshot_after: u64,
    last_sync: Duration,
    unsynced: bool,
}

impl FileJournal {
    /// Opens (or creates) the journal in `dir` and recovers what it holds.
    /// A bad log tail is reported and cut off. The log is replaced by a
    /// snapshot once it passes `snapshot_after` bytes.
    ///
    /// # Errors
    /// I/O errors, or a snapshot that does not parse (snapshots are
    /// written whole and renamed into place, so that means the disk or
    /// someone else changed it).
    pub fn open(
        dir: &Path,
        policy: FsyncPolicy,
        snapshot_after: u64,
    ) -> io::Result<(Self, Recovered)> {
        std::fs::create_dir_all(dir)?;
        let mut recovered = Recovered::default();
        let snapshot = dir.join("snapshot");
        if snapshot.exists() {
            let bytes = std::fs::read(&snapshot)?;
            if let Some(bad) = parse(&bytes, &mut recovered.entries) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("snapshot is corrupt at byte {}: {}", bad.offset, bad.reason),
                ));
            }
        }
        let path = dir.join("log");
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        recovered.torn = parse(&bytes, &mut recovered.entries);
        let mut log_bytes = bytes.len() as u64;
        if let Some(t) = &recovered.torn {
            // Cut the bad tail so new records follow the last good one.
            file.set_len(t.offset)?;
            file.sync_all()?;
            log_bytes = t.offset;
        }
        file.seek(SeekFrom::End(0))?;
        Ok((
            Self {
                dir: dir.to_owned(),
                log: BufWriter::new(file),
                policy,
                log_bytes,
                snapshot_after,
                last_sync: Duration::ZERO,
                unsynced: false,
            },
            recovered,
        ))
    }
}

impl Journal for FileJournal {
    fn append(&mut self, key: &[u8], value: &[u8]) -> io::Result<()> {
        let mut buf = Vec::new();
        encode_record(key, value, &mut buf)?;
        self.log.write_all(&buf)?;
        self.log_bytes += buf.len() as u64;
        self.unsynced = true;
        Ok(())
    }

    fn commit(&mut self, now: Duration) -> io::Result<()> {
        if !self.unsynced {
            return Ok(());
        }
        self.log.flush()?;
        let sync = match self.policy {
            FsyncPolicy::Always => true,
            FsyncPolicy::Batched(every) => now.saturating_sub(self.last_sync) >= every,
            FsyncPolicy::Never => false,
        };
        if sync {
            self.log.get_ref().sync_data()?;
            self.last_sync = now;
            self.unsynced = false;
        }
        Ok(())
    }

    fn wants_snapshot(&self) -> bool {
        self.log_bytes > self.snapshot_after
    }

    fn snapshot(
        &mut self,
        entries: &mut dyn Iterator<Item = (Vec<u8>, Vec<u8>)>,
    ) -> io::Result<()> {
        let tmp = self.dir.join("snapshot.tmp");
        {
            let mut out = BufWriter::new(File::create(&tmp)?);
            let mut buf = Vec::new();
            for (k, v) in entries {
                buf.clear();
                encode_record(&k, &v, &mut buf)?;
                out.write_all(&buf)?;
            }
            out.flush()?;
            out.get_ref().sync_all()?;
        }
        std::fs::rename(&tmp, self.dir.join("snapshot"))?;
        // The snapshot holds everything the log did: start a new log.
        self.log.flush()?;
        let file = self.log.get_ref();
        file.set_len(0)?;
        file.sync_all()?;
        self.log_bytes = 0;
        self.unsynced = false;
        Ok(())
    }
}

/// The bytes of a [`MemJournal`].
#[derive(Debug, Clone, Default)]
pub struct MemBytes {
    /// The snapshot's bytes.
    pub snapshot: Vec<u8>,
    /// The log's bytes.
    pub log: Vec<u8>,
    /// Commits with something to commit.
    pub commits: u64,
}

/// A [`Journal`] in memory, for tests and the simulator. Clones share the
/// same bytes, so a test keeps one handle to cut the log (a torn write),
/// corrupt it, or recover from it after the store is gone.
#[derive(Debug, Clone, Default)]
pub struct MemJournal(pub std::sync::Arc<std::sync::Mutex<MemBytes>>);

impl MemJournal {
    fn bytes(&self) -> std::sync::MutexGuard<'_, MemBytes> {
        // A panic elsewhere while holding the lock leaves plain bytes: go on.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Recovers as [`FileJournal::open`] does, cutting a bad log tail.
    ///
    /// # Errors
    /// A snapshot that does not parse.
    pub fn recover(&self) -> io::Result<Recovered> {
        let mut b = self.bytes();
        let mut recovered = Recovered::default();
        if let Some(bad) = parse(&b.snapshot, &mut recovered.entries) {
            return Err(io::Error::new(io::ErrorKind::InvalidData, bad.reason));
        }
        recovered.torn = parse(&b.log, &mut recovered.entries);
        if let Some(t) = &recovered.torn {
            b.log.truncate(t.offset as usize);
        }
        Ok(recovered)
    }
}

impl Journal for MemJournal {
    fn append(&mut self, key: &[u8], value: &[u8]) -> io::Result<()> {
        encode_record(key, value, &mut self.bytes().log)
    }

    fn commit(&mut self, _now: Duration) -> io::Result<()> {
        self.bytes().commits += 1;
        Ok(())
    }

    fn wants_snapshot(&self) -> bool {
        self.bytes().log.len() > 1 << 20
    }

    fn snapshot(
        &mut self,
        entries: &mut dyn Iterator<Item = (Vec<u8>, Vec<u8>)>,
    ) -> io::Result<()> {
        let mut snap = Vec::new();
        for (k, v) in entries {
            encode_record(&k, &v, &mut snap)?;
        }
        let mut b = self.bytes();
        b.snapshot = snap;
        b.log.clear();
        Ok(())
    }
}
