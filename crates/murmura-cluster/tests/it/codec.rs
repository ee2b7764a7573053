//! The wire form: round trips, and hostile bytes never panic.

use murmura_cluster::message::{Message, decode_batch, encode_batch};
use murmura_cluster::{Op, Value};
use murmura_crdt::{AntiEntropy, PNCounter};
use proptest::prelude::*;

fn key() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 1..16)
}

fn counter() -> impl Strategy<Value = Value> {
    proptest::collection::vec((1u64..5, 0u64..100), 0..4).prop_map(|incs| {
        let mut c = PNCounter::new();
        for (a, by) in incs {
            c.inc(a, by);
        }
        Value::Counter(c)
    })
}

fn message() -> impl Strategy<Value = Message<Value>> {
    prop_oneof![
        (
            any::<u64>(),
            key(),
            counter(),
            proptest::option::of("[a-z]{1,4}")
        )
            .prop_map(|(req, key, delta, hint_for)| Message::Write {
                req,
                key,
                delta,
                hint_for
            }),
        any::<u64>().prop_map(|req| Message::WriteAck { req }),
        (any::<u64>(), key(), -9i64..9, 1u8..4).prop_map(|(req, key, by, w)| Message::Forward {
            req,
            key,
            op: Op::Add(by),
            w
        }),
        (any::<u64>(), key()).prop_map(|(req, key)| Message::Read { req, key }),
        (any::<u64>(), counter()).prop_map(|(req, value)| Message::ReadReply { req, value }),
        (
            0u8..3,
            proptest::collection::vec((0u64..16, any::<[u32; 16]>()), 0..3)
        )
            .prop_map(|(level, nodes)| Message::Summary {
                level: level + 1,
                nodes
            }),
        (
            proptest::collection::vec((0u8..3).prop_map(|l| (l + 1, 15u64)), 0..4),
            proptest::collection::vec((key(), counter()), 0..3),
            any::<bool>()
        )
            .prop_map(|(ranges, e, answer)| Message::Digests {
                ranges,
                entries: e.into_iter().map(|(k, v)| (k, v.digest())).collect(),
                answer
            }),
        (
            proptest::option::of(any::<u64>()),
            proptest::collection::vec((key(), counter()), 0..3)
        )
            .prop_map(|(req, entries)| Message::Repair { req, entries }),
        any::<u64>().prop_map(|req| Message::HandoffAck { req }),
    ]
}

proptest! {
    #[test]
    fn batches_round_trip(batch in proptest::collection::vec(message(), 0..6)) {
        let mut bytes = Vec::new();
        encode_batch(&batch, &mut bytes);
        prop_assert_eq!(decode_batch::<Value>(&bytes).unwrap(), batch);
    }

    #[test]
    fn hostile_bytes_are_an_error_not_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = decode_batch::<Value>(&bytes);
    }

    #[test]
    fn every_truncation_of_a_valid_batch_is_an_error(batch in proptest::collection::vec(message(), 1..4)) {
        let mut bytes = Vec::new();
        encode_batch(&batch, &mut bytes);
        for cut in 0..bytes.len() {
            prop_assert!(decode_batch::<Value>(&bytes[..cut]).is_err());
        }
    }
}

#[test]
fn a_huge_count_does_not_allocate() {
    // Version 1, a count of 2^40 messages, then nothing.
    let bytes = [1u8, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20];
    assert!(decode_batch::<Value>(&bytes).is_err());
}
