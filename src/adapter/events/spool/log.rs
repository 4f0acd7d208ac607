//! The spool itself: append at the tail, read from a cursor, commit what the
//! broker acknowledged.
//!
//! Sequence numbers count records from the first ever appended; `committed` is
//! the first one not yet acknowledged and is kept in the `committed` file.
//! Segments wholly below it are deleted. Everything is synchronous file I/O on
//! small records: one task owns the spool and calls it between awaits.

use super::{
    SpoolError, SpoolOptions,
    record::{self, HEADER, MAX_PAYLOAD},
    segment::{self, Segment},
};
use std::{
    collections::VecDeque,
    fs::{File, OpenOptions},
    io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write},
    path::{Path, PathBuf},
};

const COMMITTED: &str = "committed";

/// A bounded, crash-safe, append-only log of event payloads on disk.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    opts: SpoolOptions,
    /// Oldest first; the last one is written to.
    segments: VecDeque<Segment>,
    writer: BufWriter<File>,
    unflushed: bool,
    unsynced: usize,
    committed: u64,
    next_seq: u64,
    /// Bytes (frames included) of records not yet acknowledged.
    pending_bytes: u64,
    /// Next record to read: its sequence number and byte offset in its segment.
    cursor: (u64, u64),
    reader: Option<(u64, BufReader<File>)>,
    scratch: Vec<u8>,
}

impl Spool {
    /// Opens the spool in `dir` (created if missing), dropping a torn last
    /// record, and positions the read cursor at the first unacknowledged record.
    pub fn open(dir: &Path, opts: SpoolOptions) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let mut committed = read_committed(dir)?;
        let mut segments = VecDeque::new();
        for (base, path) in segment::list(dir)? {
            segments.push_back(segment::scan(base, path)?);
        }
        let first = segments.front().map_or(committed, |s| s.base);
        let next_seq = segments.back().map_or(committed, Segment::end);
        if committed < first || committed > next_seq {
            tracing::warn!(committed, first, next_seq, dir = %dir.display(),
                "event spool: committed offset outside the log, replaying from the oldest record");
            committed = first;
        }
        // Segments wholly acknowledged are garbage (a crash between commit and delete).
        while segments.len() > 1 && segments.front().is_some_and(|s| s.end() <= committed) {
            let s = segments.pop_front().expect("checked");
            std::fs::remove_file(&s.path)?;
        }
        if segments.is_empty() {
            segments.push_back(new_segment(dir, next_seq)?);
        }
        let active = segments.back().expect("one segment at least");
        let file = OpenOptions::new().append(true).open(&active.path)?;
        let mut spool = Self {
            dir: dir.to_path_buf(),
            opts,
            segments,
            writer: BufWriter::new(file),
            unflushed: false,
            unsynced: 0,
            committed,
            next_seq,
            pending_bytes: 0,
            cursor: (committed, 0),
            reader: None,
            scratch: Vec::new(),
        };
        spool.pending_bytes = spool.bytes_from(committed);
        spool.cursor = (committed, spool.offset_of(committed));
        Ok(spool)
    }

    /// Appends one record. Refused when the spool would exceed its byte bound
    /// (the caller alerts: nothing is dropped silently). The record reaches the
    /// OS at the next [`flush`](Self::flush) and the disk at the next
    /// [`sync`](Self::sync), which happens by itself every `fsync_every` records.
    pub fn append(&mut self, payload: &[u8]) -> Result<u64, SpoolError> {
        if payload.len() > MAX_PAYLOAD {
            return Err(SpoolError::TooLarge(payload.len()));
        }
        let size = (HEADER + payload.len()) as u64;
        if self.pending_bytes + size > self.opts.max_bytes {
            return Err(SpoolError::Full {
                pending_bytes: self.pending_bytes,
                max_bytes: self.opts.max_bytes,
            });
        }
        let active = self.segments.back().expect("one segment at least");
        if active.len > 0 && active.len + size > self.opts.segment_bytes {
            self.roll()?;
        }
        self.scratch.clear();
        record::encode(payload, &mut self.scratch);
        self.writer.write_all(&self.scratch)?;
        let active = self.segments.back_mut().expect("one segment at least");
        active.len += size;
        active.sizes.push(size as u32);
        let seq = self.next_seq;
        self.next_seq += 1;
        self.pending_bytes += size;
        self.unflushed = true;
        self.unsynced += 1;
        if self.unsynced >= self.opts.fsync_every.max(1) {
            self.sync()?;
        }
        Ok(seq)
    }

    /// Hands buffered records to the OS: they survive a crash of the process.
    pub fn flush(&mut self) -> io::Result<()> {
        if self.unflushed {
            self.writer.flush()?;
            self.unflushed = false;
        }
        Ok(())
    }

    /// Flushes and fsyncs: the records survive a crash of the machine.
    pub fn sync(&mut self) -> io::Result<()> {
        self.flush()?;
        if self.unsynced > 0 {
            self.writer.get_ref().sync_data()?;
            self.unsynced = 0;
        }
        Ok(())
    }

    /// Records appended but not yet fsync'd.
    pub fn unsynced(&self) -> usize {
        self.unsynced
    }

    /// The next record after the cursor, with its sequence number; `None` when
    /// everything appended has been read.
    pub fn read_next(&mut self) -> io::Result<Option<(u64, Vec<u8>)>> {
        let (seq, offset) = self.cursor;
        if seq >= self.next_seq {
            return Ok(None);
        }
        self.flush()?;
        let idx = self.segment_index(seq);
        let seg = &self.segments[idx];
        let base = seg.base;
        if self.reader.as_ref().map(|(b, _)| *b) != Some(base) {
            let mut f = BufReader::with_capacity(64 * 1024, File::open(&seg.path)?);
            f.seek(SeekFrom::Start(offset))?;
            self.reader = Some((base, f));
        }
        let (_, reader) = self.reader.as_mut().expect("just opened");
        let mut header = [0u8; HEADER];
        reader.read_exact(&mut header)?;
        let len = u32::from_le_bytes(header[0..4].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_le_bytes(header[4..8].try_into().expect("4 bytes"));
        if len > MAX_PAYLOAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "spool record length",
            ));
        }
        let mut payload = vec![0u8; len];
        reader.read_exact(&mut payload)?;
        if crc32fast::hash(&payload) != crc {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "spool record CRC",
            ));
        }
        let next_offset = offset + (HEADER + len) as u64;
        self.cursor = if seq + 1 == seg.end() && idx + 1 < self.segments.len() {
            self.reader = None;
            (seq + 1, 0)
        } else {
            (seq + 1, next_offset)
        };
        Ok(Some((seq, payload)))
    }

    /// Moves the cursor back to the first unacknowledged record, so what was
    /// read but not acknowledged (a failed send) is read again, in order.
    pub fn rewind(&mut self) {
        self.reader = None;
        self.cursor = (self.committed, self.offset_of(self.committed));
    }

    /// Acknowledges every record below `upto`: persists the offset and deletes
    /// segments that hold nothing else. The offset is written atomically
    /// (rename) but not fsync'd: losing it in a machine crash only replays
    /// records the broker has, which consumers de-duplicate by event id.
    pub fn commit(&mut self, upto: u64) -> io::Result<()> {
        let upto = upto.min(self.cursor.0);
        if upto <= self.committed {
            return Ok(());
        }
        self.pending_bytes -= self.bytes_between(self.committed, upto);
        self.committed = upto;
        let tmp = self.dir.join("committed.tmp");
        std::fs::write(&tmp, upto.to_string())?;
        std::fs::rename(&tmp, self.dir.join(COMMITTED))?;
        while self.segments.len() > 1 && self.segments[0].end() <= upto {
            let s = self.segments.pop_front().expect("checked");
            if self.reader.as_ref().is_some_and(|(b, _)| *b == s.base) {
                self.reader = None;
            }
            std::fs::remove_file(&s.path)?;
        }
        // Everything acknowledged: start afresh rather than let the active
        // segment grow with dead records up to its size limit.
        let active = self.segments.back().expect("one segment at least");
        if upto == self.next_seq && active.len >= ROLL_WHEN_IDLE.min(self.opts.segment_bytes / 4) {
            self.roll()?;
        }
        Ok(())
    }

    /// The first record not yet acknowledged.
    pub fn committed(&self) -> u64 {
        self.committed
    }

    /// The sequence number the next append gets.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Bytes of records not yet acknowledged (what counts against `max_bytes`).
    pub fn pending_bytes(&self) -> u64 {
        self.pending_bytes
    }

    /// Whether records remain after the read cursor.
    pub fn has_unread(&self) -> bool {
        self.cursor.0 < self.next_seq
    }

    /// Syncs the active segment and starts a new one at `next_seq`.
    fn roll(&mut self) -> io::Result<()> {
        self.sync()?;
        let seg = new_segment(&self.dir, self.next_seq)?;
        self.writer = BufWriter::new(OpenOptions::new().append(true).open(&seg.path)?);
        self.segments.push_back(seg);
        while self.segments.len() > 1 && self.segments[0].end() <= self.committed {
            let s = self.segments.pop_front().expect("checked");
            if self.reader.as_ref().is_some_and(|(b, _)| *b == s.base) {
                self.reader = None;
            }
            std::fs::remove_file(&s.path)?;
        }
        // A read cursor at the end of the old segment continues in the new one.
        if self.cursor.0 == self.next_seq {
            self.reader = None;
            self.cursor = (self.next_seq, 0);
        }
        Ok(())
    }

    fn segment_index(&self, seq: u64) -> usize {
        self.segments
            .partition_point(|s| s.end() <= seq)
            .min(self.segments.len() - 1)
    }

    fn offset_of(&self, seq: u64) -> u64 {
        let seg = &self.segments[self.segment_index(seq)];
        let n = seq.saturating_sub(seg.base) as usize;
        seg.sizes[..n.min(seg.sizes.len())]
            .iter()
            .map(|&s| u64::from(s))
            .sum()
    }

    fn bytes_from(&self, from: u64) -> u64 {
        self.bytes_between(from, self.next_seq)
    }

    fn bytes_between(&self, from: u64, to: u64) -> u64 {
        let mut total = 0;
        for s in &self.segments {
            let lo = from.max(s.base);
            let hi = to.min(s.end());
            if lo < hi {
                let range = (lo - s.base) as usize..(hi - s.base) as usize;
                total += s.sizes[range].iter().map(|&x| u64::from(x)).sum::<u64>();
            }
        }
        total
    }
}

/// The active segment is replaced once everything in it is acknowledged and it
/// holds at least this much.
const ROLL_WHEN_IDLE: u64 = 1024 * 1024;

fn new_segment(dir: &Path, base: u64) -> io::Result<Segment> {
    let path = dir.join(segment::file_name(base));
    // Truncate: a leftover empty (or stale) file of the same name holds nothing live.
    File::create(&path)?.sync_all()?;
    segment::sync_dir(dir)?;
    Ok(Segment {
        base,
        path,
        len: 0,
        sizes: Vec::new(),
    })
}

fn read_committed(dir: &Path) -> io::Result<u64> {
    match std::fs::read_to_string(dir.join(COMMITTED)) {
        Ok(text) => Ok(text.trim().parse().unwrap_or_else(|_| {
            tracing::warn!(dir = %dir.display(), "event spool: unreadable committed offset, replaying all");
            0
        })),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(e),
    }
}
