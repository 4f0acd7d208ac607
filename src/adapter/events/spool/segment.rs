//! Segment files: `<first sequence number, 20 digits>.seg`, each a run of
//! [`record`](super::record) frames. Scanning one at open time finds where its
//! intact records end and cuts off a torn tail.

use super::record::{Decoded, decode};
use std::{
    fs::{File, OpenOptions},
    io::{self, Read},
    path::{Path, PathBuf},
};

/// One segment as known after a scan.
#[derive(Debug)]
pub(crate) struct Segment {
    /// Sequence number of its first record.
    pub(crate) base: u64,
    /// Its file.
    pub(crate) path: PathBuf,
    /// Bytes of intact records in it.
    pub(crate) len: u64,
    /// Sizes (frame included) of its records, in order.
    pub(crate) sizes: Vec<u32>,
    /// Records found corrupt when it was scanned (skipped when read).
    pub(crate) corrupt: usize,
    /// Garbage between records was skipped from this record on: the records
    /// after it may be numbered lower than when they were written.
    pub(crate) renumbered_from: Option<u64>,
}

impl Segment {
    /// Sequence number after its last record.
    pub(crate) fn end(&self) -> u64 {
        self.base + self.sizes.len() as u64
    }
}

/// The file name of the segment starting at `base` (zero-padded so names sort as numbers).
pub(crate) fn file_name(base: u64) -> String {
    format!("{base:020}.seg")
}

/// The segments in `dir`, oldest first.
pub(crate) fn list(dir: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let base = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".seg"))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(base) = base {
            found.push((base, path));
        }
    }
    found.sort();
    Ok(found)
}

/// Reads a segment. A record that fails its CRC keeps its slot (it is
/// skipped when read) and the records after it are kept. Garbage with an
/// impossible length is skipped up to the next run of intact records that
/// reaches the end of the file; with no such run it is a torn tail (a crash
/// mid-write) and the file is truncated after its last intact record.
pub(crate) fn scan(base: u64, path: PathBuf) -> io::Result<Segment> {
    let mut bytes = Vec::new();
    File::open(&path)?.read_to_end(&mut bytes)?;
    let (mut at, mut sizes, mut corrupt, mut renumbered_from) = (0usize, Vec::new(), 0, None);
    loop {
        match decode(&bytes[at..]) {
            Decoded::Record(_, size) => {
                sizes.push(size as u32);
                at += size;
            }
            Decoded::Corrupt(size) => {
                tracing::warn!(path = %path.display(), offset = at,
                    "event spool: corrupt record skipped, the records after it are kept");
                sizes.push(size as u32);
                corrupt += 1;
                at += size;
            }
            Decoded::End => break,
            Decoded::Torn if let Some(next) = resync(&bytes, at) => {
                tracing::warn!(path = %path.display(), offset = at, skipped_bytes = next - at,
                    "event spool: unreadable bytes skipped, the records after them are kept");
                // One slot for the garbage; how many records it held is unknown.
                renumbered_from.get_or_insert(base + sizes.len() as u64);
                sizes.push((next - at) as u32);
                corrupt += 1;
                at = next;
            }
            Decoded::Torn => {
                tracing::warn!(path = %path.display(), offset = at, dropped_bytes = bytes.len() - at,
                    "event spool: torn record dropped (crash mid-write)");
                let f = OpenOptions::new().write(true).open(&path)?;
                f.set_len(at as u64)?;
                f.sync_all()?;
                break;
            }
        }
    }
    Ok(Segment {
        base,
        path,
        len: at as u64,
        sizes,
        corrupt,
        renumbered_from,
    })
}

/// The first offset after `at` from which intact records run to the end of
/// the file, if any: where reading can go on after garbage mid-file.
fn resync(bytes: &[u8], at: usize) -> Option<usize> {
    (at + 1..bytes.len()).find(|&start| {
        let mut p = start;
        loop {
            match decode(&bytes[p..]) {
                Decoded::Record(_, size) => p += size,
                Decoded::End => return p > start,
                Decoded::Corrupt(_) | Decoded::Torn => return false,
            }
        }
    })
}

/// Makes a directory entry (a new or removed file, a rename) durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}
