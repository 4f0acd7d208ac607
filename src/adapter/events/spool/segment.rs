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

/// Reads a segment, truncating the file after its last intact record. A tear
/// is expected only at the tail of the newest segment (a crash mid-write); it is
/// logged because anything after it in the file is gone.
pub(crate) fn scan(base: u64, path: PathBuf) -> io::Result<Segment> {
    let mut bytes = Vec::new();
    File::open(&path)?.read_to_end(&mut bytes)?;
    let (mut at, mut sizes) = (0usize, Vec::new());
    loop {
        match decode(&bytes[at..]) {
            Decoded::Record(_, size) => {
                sizes.push(size as u32);
                at += size;
            }
            Decoded::End => break,
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
    })
}

/// Makes a directory entry (a new or removed file, a rename) durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}
