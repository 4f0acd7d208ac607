use super::*;
use std::path::Path;

fn opts(max_bytes: u64, segment_bytes: u64) -> SpoolOptions {
    SpoolOptions {
        max_bytes,
        segment_bytes,
        fsync_every: 4,
    }
}

fn read_all(s: &mut Spool) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    while let Some((seq, p)) = s.read_next().unwrap() {
        out.push((seq, String::from_utf8(p).unwrap()));
    }
    out
}

fn segments(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    v.sort();
    v
}

#[test]
fn appends_reads_in_order_across_segments_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Spool::open(dir.path(), opts(1 << 20, 64)).unwrap();
    for i in 0..20 {
        assert_eq!(s.append(format!("event-{i:02}").as_bytes()).unwrap(), i);
    }
    assert!(segments(dir.path()).len() > 3, "small segments roll");
    let got = read_all(&mut s);
    assert_eq!(got.len(), 20);
    for (i, (seq, p)) in got.iter().enumerate() {
        assert_eq!(
            (*seq, p.as_str()),
            (i as u64, format!("event-{i:02}").as_str())
        );
    }
    assert!(!s.has_unread());
    s.commit(7).unwrap();
    drop(s);

    let mut s = Spool::open(dir.path(), opts(1 << 20, 64)).unwrap();
    assert_eq!((s.committed(), s.next_seq()), (7, 20));
    let again = read_all(&mut s);
    assert_eq!(
        again.first().unwrap().0,
        7,
        "replay starts at the first unacknowledged"
    );
    assert_eq!(again.len(), 13);
    assert_eq!(s.append(b"after").unwrap(), 20);
    assert_eq!(read_all(&mut s), vec![(20, "after".to_owned())]);
}

#[test]
fn rewind_rereads_unacknowledged_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Spool::open(dir.path(), opts(1 << 20, 1 << 20)).unwrap();
    for i in 0..5 {
        s.append(format!("{i}").as_bytes()).unwrap();
    }
    assert_eq!(read_all(&mut s).len(), 5);
    s.commit(2).unwrap();
    s.rewind();
    let seqs: Vec<u64> = read_all(&mut s).into_iter().map(|r| r.0).collect();
    assert_eq!(seqs, [2, 3, 4]);
    s.commit(99).unwrap();
    assert_eq!(s.committed(), 5, "cannot acknowledge what was never read");
}

#[test]
fn commit_deletes_acknowledged_segments_and_frees_space() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Spool::open(dir.path(), opts(1 << 20, 40)).unwrap();
    for _ in 0..12 {
        s.append(&[b'x'; 12]).unwrap(); // 20-byte frames: two per segment
    }
    assert_eq!(s.pending_bytes(), 240);
    assert_eq!(segments(dir.path()).len(), 6);
    read_all(&mut s);
    s.commit(10).unwrap();
    assert_eq!(s.pending_bytes(), 40);
    assert_eq!(
        segments(dir.path()).len(),
        1,
        "only the segment with 10 and 11 stays"
    );
}

#[test]
fn full_spool_refuses_and_recovers_after_acks() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Spool::open(dir.path(), opts(100, 1 << 20)).unwrap();
    for _ in 0..5 {
        s.append(&[0; 12]).unwrap();
    }
    let err = s.append(&[0; 12]).unwrap_err();
    assert!(
        matches!(
            err,
            SpoolError::Full {
                pending_bytes: 100,
                max_bytes: 100
            }
        ),
        "{err}"
    );
    assert!(matches!(
        s.append(&vec![0; 2 << 20]),
        Err(SpoolError::TooLarge(_))
    ));
    read_all(&mut s);
    s.commit(1).unwrap();
    assert_eq!(s.append(&[0; 12]).unwrap(), 5);
}

#[test]
fn a_torn_last_record_is_dropped_on_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Spool::open(dir.path(), SpoolOptions::default()).unwrap();
    for i in 0..3 {
        s.append(format!("record-{i}").as_bytes()).unwrap();
    }
    s.flush().unwrap();
    drop(s);
    // A crash mid-write: the last record is cut short.
    let seg = segments(dir.path()).pop().unwrap();
    let len = std::fs::metadata(&seg).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&seg)
        .unwrap()
        .set_len(len - 3)
        .unwrap();

    let mut s = Spool::open(dir.path(), SpoolOptions::default()).unwrap();
    assert_eq!(s.next_seq(), 2);
    assert_eq!(
        read_all(&mut s),
        vec![(0, "record-0".to_owned()), (1, "record-1".to_owned())]
    );
    // The log goes on cleanly after the cut.
    assert_eq!(s.append(b"record-2 again").unwrap(), 2);
    s.flush().unwrap();
    drop(s);
    let mut s = Spool::open(dir.path(), SpoolOptions::default()).unwrap();
    assert_eq!(read_all(&mut s).len(), 3);
}

#[test]
fn a_corrupt_record_is_skipped_and_counted_and_what_follows_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    // Two records a segment: the corrupt one is in an older segment.
    let mut s = Spool::open(dir.path(), opts(1 << 20, 32)).unwrap();
    for i in 0..6 {
        s.append(format!("record-{i}").as_bytes()).unwrap();
    }
    s.sync().unwrap();
    drop(s);
    let seg = segments(dir.path()).remove(0);
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes[16 + 12] ^= 0xff; // a payload byte of the second record (frames of 16 bytes)
    std::fs::write(&seg, bytes).unwrap();
    let mut s = Spool::open(dir.path(), opts(1 << 20, 32)).unwrap();
    assert_eq!(s.corrupt_records(), 1);
    let seqs: Vec<u64> = read_all(&mut s).into_iter().map(|r| r.0).collect();
    assert_eq!(seqs, [0, 2, 3, 4, 5], "only the corrupt record is missing");
    assert_eq!(s.corrupt_records(), 2, "counted again when read past");
}

#[test]
fn a_record_corrupted_while_running_is_skipped_not_retried_forever() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Spool::open(dir.path(), SpoolOptions::default()).unwrap();
    for i in 0..3 {
        s.append(format!("record-{i}").as_bytes()).unwrap();
    }
    s.flush().unwrap();
    let seg = segments(dir.path()).pop().unwrap();
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes[16] ^= 0x7f; // the second record's length field
    std::fs::write(&seg, bytes).unwrap();
    let got = read_all(&mut s);
    assert_eq!(
        got,
        vec![(0, "record-0".to_owned()), (2, "record-2".to_owned())]
    );
    assert_eq!(s.corrupt_records(), 1);
    // A rewind (a failed send) reads the same again, and still gets past it.
    s.rewind();
    assert_eq!(read_all(&mut s).len(), 2);
}

#[test]
fn garbage_mid_segment_is_skipped_up_to_the_next_intact_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Spool::open(dir.path(), SpoolOptions::default()).unwrap();
    for i in 0..4 {
        s.append(format!("record-{i}").as_bytes()).unwrap();
    }
    s.sync().unwrap();
    s.commit(0).unwrap();
    drop(s);
    let seg = segments(dir.path()).pop().unwrap();
    let mut bytes = std::fs::read(&seg).unwrap();
    // The second record's length becomes impossible: nothing says where it ends.
    bytes[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(&seg, bytes).unwrap();
    let mut s = Spool::open(dir.path(), SpoolOptions::default()).unwrap();
    let got: Vec<String> = read_all(&mut s).into_iter().map(|r| r.1).collect();
    assert_eq!(got, ["record-0", "record-2", "record-3"]);
}

#[test]
fn a_write_cut_short_by_a_full_disk_leaves_later_records_aligned() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Spool::open(dir.path(), SpoolOptions::default()).unwrap();
    s.append(b"before").unwrap();
    s.flush().unwrap();
    s.append(&[b'L'; 4000]).unwrap();
    s.fail_next_flush = true;
    assert!(s.flush().is_err());
    assert_eq!(s.next_seq(), 1, "the failed record is undone");
    assert_eq!(s.append(b"after").unwrap(), 1);
    s.flush().unwrap();
    let got: Vec<String> = read_all(&mut s).into_iter().map(|r| r.1).collect();
    assert_eq!(got, ["before", "after"]);
    drop(s);
    let mut s = Spool::open(dir.path(), SpoolOptions::default()).unwrap();
    assert_eq!(s.corrupt_records(), 0);
    let got: Vec<String> = read_all(&mut s).into_iter().map(|r| r.1).collect();
    assert_eq!(got, ["before", "after"]);
}

#[test]
fn an_idle_fully_acknowledged_spool_starts_a_fresh_segment() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Spool::open(dir.path(), opts(1 << 30, 4096)).unwrap();
    for _ in 0..600 {
        s.append(&[1; 8]).unwrap();
    }
    read_all(&mut s);
    s.commit(600).unwrap();
    assert_eq!(s.pending_bytes(), 0);
    let total: u64 = segments(dir.path())
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    assert_eq!(total, 0, "acknowledged records are not kept");
    assert_eq!(s.append(b"next").unwrap(), 600);
    assert_eq!(read_all(&mut s), vec![(600, "next".to_owned())]);
}

#[test]
fn reclaim_replaces_a_wholly_acknowledged_segment_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Spool::open(dir.path(), SpoolOptions::default()).unwrap();
    assert!(!s.reclaim().unwrap(), "an empty segment stays");
    for _ in 0..3 {
        s.append(b"event").unwrap();
    }
    s.flush().unwrap();
    read_all(&mut s);
    s.commit(2).unwrap();
    assert!(!s.reclaim().unwrap(), "one record still unacknowledged");
    s.commit(3).unwrap();
    assert!(s.reclaim().unwrap());
    assert_eq!(segments(dir.path()).len(), 1, "the old segment is deleted");
    assert_eq!(s.append(b"next").unwrap(), 3);
    s.flush().unwrap();
    let got: Vec<String> = read_all(&mut s).into_iter().map(|r| r.1).collect();
    assert_eq!(got, ["next"]);
}
