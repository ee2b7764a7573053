//! The list's wire form: an actor table, the nodes in id order (id,
//! stamp, origin, value), then the deleted ids; and the digest's.

use super::{List, ListDigest, MAX_NODES, Node};
use crate::Result;
use crate::clock::Dot;
use crate::codec::{Codec, read_count};
use crate::context::{ActorTable, DotRanges, context_actors, decode_context, encode_context};
use murmura_core::codec::{DecodeError, Reader, put_varint};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;

impl<V, A> Codec for List<V, A>
where
    V: Ord + Clone + Codec,
    A: Ord + Clone + Codec + Debug,
{
    fn encode(&self, out: &mut Vec<u8>) {
        let mut actors: Vec<A> = self
            .nodes()
            .flat_map(|(id, n)| std::iter::once(&id.actor).chain(n.origin.iter().map(|o| &o.actor)))
            .chain(self.deleted.iter().map(|d| &d.actor))
            .cloned()
            .collect();
        actors.sort();
        actors.dedup();
        let table = ActorTable::from_sorted(actors);
        table.encode(out);
        put_varint(out, self.ids.len() as u64);
        for (id, node) in self.nodes() {
            table.encode_dot(id, out);
            put_varint(out, node.stamp);
            match &node.origin {
                None => out.push(0),
                Some(o) => {
                    out.push(1);
                    table.encode_dot(o, out);
                }
            }
            node.value.encode(out);
        }
        put_varint(out, self.deleted.len() as u64);
        for id in &self.deleted {
            table.encode_dot(id, out);
        }
    }

    fn decode(reader: &mut Reader<'_>) -> Result<Self> {
        let table = ActorTable::decode(reader)?;
        let n = read_count(reader, 4 + V::MIN_LEN)?;
        if n > MAX_NODES {
            return Err(DecodeError::Invalid("too many list nodes").into());
        }
        let mut nodes = BTreeMap::new();
        let mut last: Option<Dot<A>> = None;
        for _ in 0..n {
            let id = table.decode_dot(reader)?;
            if last.as_ref().is_some_and(|l| *l >= id) {
                return Err(DecodeError::Invalid("unsorted list ids").into());
            }
            let stamp = reader.varint()?;
            let origin = match reader.u8()? {
                0 => None,
                1 => Some(table.decode_dot(reader)?),
                tag => {
                    return Err(DecodeError::UnknownTag {
                        what: "list origin",
                        tag: u64::from(tag),
                    }
                    .into());
                }
            };
            let value = V::decode(reader)?;
            last = Some(id.clone());
            nodes.insert(
                id,
                Node {
                    stamp,
                    origin,
                    value,
                },
            );
        }
        let n = read_count(reader, 2)?;
        let mut deleted = BTreeSet::new();
        let mut last: Option<Dot<A>> = None;
        for _ in 0..n {
            let id = table.decode_dot(reader)?;
            if last.as_ref().is_some_and(|l| *l >= id) {
                return Err(DecodeError::Invalid("unsorted deletions").into());
            }
            last = Some(id.clone());
            deleted.insert(id);
        }
        Ok(Self::from_parts(nodes, deleted))
    }
}

impl<A: Ord + Clone + Codec> Codec for ListDigest<A> {
    fn encode(&self, out: &mut Vec<u8>) {
        let table = ActorTable::from_sorted(context_actors(&self.inserts));
        table.encode(out);
        encode_context(&self.inserts, &table, out);
        self.deleted.encode(out);
    }

    fn decode(reader: &mut Reader<'_>) -> Result<Self> {
        let table = ActorTable::decode(reader)?;
        let inserts = decode_context(&table, reader)?;
        let deleted = DotRanges::decode(reader)?;
        Ok(Self { inserts, deleted })
    }
}
