//! Persistence: recovery after a restart, torn and corrupt tails.

use crate::net::ring;
use murmura_cluster::persist::{FileJournal, FsyncPolicy, Journal, MemJournal};
use murmura_cluster::{Config, Consistency, Op, Store, Value};
use std::time::Duration;

type S = Store<Value, murmura_hash::Ring<String>>;

fn solo(journal: MemJournal, actor: u64) -> S {
    let names = vec!["solo".to_string()];
    let config = Config {
        write_quorum: 1,
        ..Config::default()
    };
    Store::new("solo".into(), actor, config, ring(&names), actor)
        .unwrap()
        .with_journal(Box::new(journal))
}

fn write(s: &mut S, key: &str, op: Op) {
    s.update(
        Duration::ZERO,
        key.as_bytes().to_vec(),
        op,
        Consistency::One,
    )
    .unwrap();
}

#[test]
fn a_restarted_replica_recovers_everything_it_acknowledged() {
    let journal = MemJournal::default();
    let mut s = solo(journal.clone(), 1);
    for i in 0..50 {
        write(&mut s, &format!("c{}", i % 10), Op::Add(1));
    }
    write(&mut s, "set", Op::Insert("x".into()));
    write(&mut s, "reg", Op::Write(b"hello".to_vec()));
    assert!(
        journal.0.lock().unwrap().commits >= 52,
        "each acknowledged write was committed first"
    );
    drop(s);
    let recovered = journal.recover().unwrap();
    assert!(recovered.torn.is_none());
    let mut again = solo(journal.clone(), 2);
    assert_eq!(again.recover(&recovered), 52);
    for i in 0..10 {
        assert_eq!(
            again
                .local(format!("c{i}").as_bytes())
                .and_then(Value::as_counter),
            Some(5)
        );
    }
    assert_eq!(again.local(b"set").and_then(Value::as_set), Some(vec!["x"]));
    assert_eq!(
        again.local(b"reg").and_then(Value::as_register),
        Some(&b"hello"[..])
    );
    // New writes after the restart follow the recovered ones.
    write(&mut again, "c0", Op::Add(1));
    assert_eq!(again.local(b"c0").and_then(Value::as_counter), Some(6));
}

#[test]
fn a_torn_tail_is_reported_dropped_and_everything_before_survives() {
    let journal = MemJournal::default();
    let mut s = solo(journal.clone(), 1);
    for i in 0..20 {
        write(&mut s, &format!("k{i}"), Op::Add(1));
    }
    drop(s);
    let full = journal.0.lock().unwrap().log.len();
    // The last record was being written when the process died.
    journal.0.lock().unwrap().log.truncate(full - 3);
    let recovered = journal.recover().unwrap();
    let torn = recovered.torn.clone().expect("the torn record is reported");
    assert!(torn.reason.contains("cut short"), "{torn:?}");
    assert_eq!(recovered.entries.len(), 19);
    assert_eq!(
        journal.0.lock().unwrap().log.len() as u64,
        torn.offset,
        "the tail was cut"
    );
    let mut again = solo(journal.clone(), 2);
    assert_eq!(again.recover(&recovered), 19);
    assert!(
        again.local(b"k19").is_none(),
        "the torn record was never applied"
    );
    assert_eq!(again.local(b"k18").and_then(Value::as_counter), Some(1));
    // Appends after the cut are readable on the next recovery.
    write(&mut again, "after", Op::Add(7));
    let next = journal.recover().unwrap();
    assert!(next.torn.is_none());
    assert_eq!(next.entries.len(), 20);
}

#[test]
fn a_corrupt_record_stops_recovery_there() {
    let journal = MemJournal::default();
    let mut s = solo(journal.clone(), 1);
    for i in 0..10 {
        write(&mut s, &format!("k{i}"), Op::Add(1));
    }
    drop(s);
    {
        let mut b = journal.0.lock().unwrap();
        let at = b.log.len() / 2;
        b.log[at] ^= 0x40;
    }
    let recovered = journal.recover().unwrap();
    let torn = recovered.torn.expect("corruption is reported");
    assert!(recovered.entries.len() < 10);
    assert!(torn.bytes_dropped > 0);
    for (k, _) in &recovered.entries {
        assert!(k.starts_with(b"k"));
    }
}

#[test]
fn a_file_journal_survives_a_reopen_and_replaces_its_log_by_a_snapshot() {
    let dir = std::env::temp_dir().join(format!("murmura-journal-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    {
        let (mut j, recovered) = FileJournal::open(&dir, FsyncPolicy::Always, 256).unwrap();
        assert!(recovered.entries.is_empty());
        j.append(b"a", b"1").unwrap();
        j.append(b"b", b"2").unwrap();
        j.commit(Duration::ZERO).unwrap();
    }
    {
        let (mut j, recovered) = FileJournal::open(&dir, FsyncPolicy::Always, 256).unwrap();
        assert_eq!(
            recovered.entries,
            vec![
                (b"a".to_vec(), b"1".to_vec()),
                (b"b".to_vec(), b"2".to_vec())
            ]
        );
        for i in 0..40u8 {
            j.append(&[b'k', i], &[i; 8]).unwrap();
        }
        assert!(j.wants_snapshot());
        let mut entries = vec![(b"all".to_vec(), b"in one".to_vec())].into_iter();
        j.snapshot(&mut entries).unwrap();
        assert!(!j.wants_snapshot());
        j.append(b"later", b"3").unwrap();
        j.commit(Duration::ZERO).unwrap();
    }
    // A torn tail on disk: cut the log mid-record.
    let log = dir.join("log");
    let len = std::fs::metadata(&log).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(len - 2)
        .unwrap();
    let (_, recovered) = FileJournal::open(&dir, FsyncPolicy::Never, 256).unwrap();
    assert_eq!(
        recovered.entries,
        vec![(b"all".to_vec(), b"in one".to_vec())]
    );
    assert!(recovered.torn.is_some());
    assert_eq!(
        std::fs::metadata(&log).unwrap().len(),
        0,
        "the bad tail was cut"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

mod laws {
    use murmura_cluster::persist::{Journal, MemJournal};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn records_round_trip(records in proptest::collection::vec(
            (proptest::collection::vec(any::<u8>(), 0..20), proptest::collection::vec(any::<u8>(), 0..40)), 0..20)
        ) {
            let mut j = MemJournal::default();
            for (k, v) in &records {
                j.append(k, v).unwrap();
            }
            let recovered = j.recover().unwrap();
            prop_assert!(recovered.torn.is_none());
            prop_assert_eq!(recovered.entries, records);
        }

        #[test]
        fn hostile_log_bytes_are_reported_never_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let j = MemJournal::default();
            j.0.lock().unwrap().log = bytes.clone();
            let recovered = j.recover().unwrap();
            // Whatever was accepted is a prefix that parses; the rest is reported.
            let kept = j.0.lock().unwrap().log.len();
            prop_assert!(kept <= bytes.len());
            prop_assert_eq!(recovered.torn.is_some(), kept < bytes.len());
        }
    }
}
