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
    /// What is known to be in the OS: `next_seq` and the active segment's
    /// length at the last successful flush. A failed write (a full disk)
    /// is undone back to it, so a partly written record cannot shift the
    /// offsets of the records after it.
    flushed: (u64, u64),
    /// Records found corrupt and skipped since open.
    corrupt: u64,
    /// Fault injection: the next flush writes half its bytes and fails, as
    /// a full disk does.
    #[cfg(test)]
    pub(super) fail_next_flush: bool,
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
        // Skipped garbage may have renumbered what follows it: replay from
        // there rather than risk skipping a record never delivered.
        if let Some(r) = segments.iter().filter_map(|s| s.renumbered_from).min()
            && r < committed
        {
            tracing::warn!(
                committed,
                replay_from = r,
                "event spool: replaying from skipped garbage"
            );
            committed = r;
        }
        let corrupt = segments.iter().map(|s| s.corrupt as u64).sum();
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
            flushed: (0, 0),
            corrupt,
            #[cfg(test)]
            fail_next_flush: false,
        };
        spool.flushed = (next_seq, spool.active().len);
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
        if let Err(e) = self.writer.write_all(&self.scratch) {
            self.undo_unflushed()?;
            return Err(e.into());
        }
        let active = self.segments.back_mut().expect("one segment at least");
        active.len += size;
        active.sizes.push(size as u32);
        let seq = self.next_seq;
        self.next_seq += 1;
        self.pending_bytes += size;
        self.unflushed = true;
        self.unsynced += 1;
        Ok(seq)
    }

    /// Whether `fsync_every` records wait for an fsync: the owner syncs now
    /// (off its async workers, see [`Spool::sync_handle`]).
    pub fn wants_sync(&self) -> bool {
        self.unsynced >= self.opts.fsync_every.max(1)
    }

    /// Hands buffered records to the OS: they survive a crash of the process.
    /// On failure every record appended since the last successful flush is
    /// undone (the owner reports them failed).
    pub fn flush(&mut self) -> io::Result<()> {
        if self.unflushed {
            #[cfg(test)]
            if std::mem::take(&mut self.fail_next_flush) {
                let half = self.writer.buffer().len() / 2;
                let partial = self.writer.buffer()[..half].to_vec();
                self.writer.get_mut().write_all(&partial)?;
                self.undo_unflushed()?;
                return Err(io::Error::other("no space left on device (injected)"));
            }
            if let Err(e) = self.writer.flush() {
                self.undo_unflushed()?;
                return Err(e);
            }
            self.unflushed = false;
            self.flushed = (self.next_seq, self.active().len);
        }
        Ok(())
    }

    /// Flushes, then returns a handle on the active segment to `sync_data`
    /// from a blocking thread, and the records that sync covers: give the
    /// count to [`Spool::synced`] once it succeeded.
    pub fn sync_handle(&mut self) -> io::Result<(File, usize)> {
        self.flush()?;
        Ok((self.writer.get_ref().try_clone()?, self.unsynced))
    }

    /// `records` appended before a [`Spool::sync_handle`] are on the disk.
    pub fn synced(&mut self, records: usize) {
        self.unsynced = self.unsynced.saturating_sub(records);
    }

    /// When every record is acknowledged and the active segment holds any,
    /// starts a fresh segment, deleting the old one: a write refused by a
    /// full disk (or a file-size limit) may then fit. True if it did.
    pub fn reclaim(&mut self) -> io::Result<bool> {
        if self.committed < self.next_seq || self.active().len == 0 || self.unflushed {
            return Ok(false);
        }
        self.roll()?;
        Ok(true)
    }

    /// Records found corrupt (and skipped) since the spool was opened.
    pub fn corrupt_records(&self) -> u64 {
        self.corrupt
    }

    fn active(&self) -> &Segment {
        self.segments.back().expect("one segment at least")
    }

    /// Throws away what was appended since the last successful flush: the
    /// writer's buffer, the partial bytes on disk and the records' slots.
    fn undo_unflushed(&mut self) -> io::Result<()> {
        let (seq, len) = self.flushed;
        let path = self.active().path.clone();
        let file = OpenOptions::new().append(true).open(&path)?;
        // `into_parts` drops the buffer without writing it.
        let (_, _) = std::mem::replace(&mut self.writer, BufWriter::new(file)).into_parts();
        OpenOptions::new().write(true).open(&path)?.set_len(len)?;
        let active = self.segments.back_mut().expect("one segment at least");
        let keep = (seq - active.base) as usize;
        let dropped: u64 = active.sizes[keep..].iter().map(|&s| u64::from(s)).sum();
        active.sizes.truncate(keep);
        active.len = len;
        tracing::warn!(
            records = self.next_seq - seq,
            bytes = dropped,
            "event spool: write failed, the records since the last flush are undone"
        );
        self.pending_bytes -= dropped;
        self.unsynced = self.unsynced.saturating_sub((self.next_seq - seq) as usize);
        self.next_seq = seq;
        self.unflushed = false;
        if self.cursor.0 > seq {
            self.rewind();
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
    /// A record that fails its check (a length that does not match what
    /// was written, a CRC mismatch) is skipped and counted, never retried:
    /// one bad record must not stop every record after it.
    pub fn read_next(&mut self) -> io::Result<Option<(u64, Vec<u8>)>> {
        loop {
            let (seq, offset) = self.cursor;
            if seq >= self.next_seq {
                return Ok(None);
            }
            self.flush()?;
            let idx = self.segment_index(seq);
            let seg = &self.segments[idx];
            let (base, end) = (seg.base, seg.end());
            let size = seg.sizes[(seq - base) as usize] as usize;
            if self.reader.as_ref().map(|(b, _)| *b) != Some(base) {
                let mut f = BufReader::with_capacity(64 * 1024, File::open(&seg.path)?);
                f.seek(SeekFrom::Start(offset))?;
                self.reader = Some((base, f));
            }
            let (_, reader) = self.reader.as_mut().expect("just opened");
            let payload = read_frame(reader, size)?;
            self.cursor = if seq + 1 == end && idx + 1 < self.segments.len() {
                self.reader = None;
                (seq + 1, 0)
            } else {
                (seq + 1, offset + size as u64)
            };
            match payload {
                Some(p) => return Ok(Some((seq, p))),
                None => {
                    self.corrupt += 1;
                    // The reader stopped somewhere inside the frame.
                    self.reader = None;
                    tracing::warn!(seq, segment = base, "event spool: corrupt record skipped");
                }
            }
        }
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
        self.flushed = (self.next_seq, 0);
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

/// Reads one frame of `size` bytes (as written); `None` when it does not
/// check (its length field or its CRC).
fn read_frame(reader: &mut BufReader<File>, size: usize) -> io::Result<Option<Vec<u8>>> {
    let mut frame = vec![0u8; size];
    reader.read_exact(&mut frame)?;
    if size < HEADER {
        return Ok(None);
    }
    let len = u32::from_le_bytes(frame[0..4].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_le_bytes(frame[4..8].try_into().expect("4 bytes"));
    if len > MAX_PAYLOAD || HEADER + len != size || crc32fast::hash(&frame[HEADER..]) != crc {
        return Ok(None);
    }
    frame.drain(..HEADER);
    Ok(Some(frame))
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
        corrupt: 0,
        renumbered_from: None,
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
