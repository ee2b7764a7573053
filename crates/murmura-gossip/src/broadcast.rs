//! User broadcasts: what the application implements to receive them.

use std::collections::{HashSet, VecDeque};

/// Receives application broadcasts spread by gossip.
///
/// Return `true` when the payload is new to you: the core then delivers it
/// as an [`Event::Broadcast`](crate::Event::Broadcast) and passes it on.
/// Return `false` for one already seen, so the epidemic dies out.
///
/// ```
/// use murmura_gossip::{BroadcastHandler, SeenBroadcasts};
/// let mut seen = SeenBroadcasts::new(100);
/// assert!(seen.receive(b"k", b"v1"));
/// assert!(!seen.receive(b"k", b"v1"));
/// assert!(seen.receive(b"k", b"v2"));
/// ```
pub trait BroadcastHandler {
    /// Called once per user broadcast received.
    fn receive(&mut self, key: &[u8], payload: &[u8]) -> bool;

    /// Application state sent along with each push-pull exchange (full-state
    /// anti-entropy for what broadcasts may have missed). None by default.
    fn local_state(&mut self, join: bool) -> Vec<u8> {
        let _ = join;
        Vec::new()
    }

    /// Receives a peer's [`local_state`](Self::local_state) (never called
    /// with an empty one).
    fn merge_remote_state(&mut self, state: &[u8], join: bool) {
        let _ = (state, join);
    }
}

impl<H: BroadcastHandler + ?Sized> BroadcastHandler for &mut H {
    fn receive(&mut self, key: &[u8], payload: &[u8]) -> bool {
        (**self).receive(key, payload)
    }
    fn local_state(&mut self, join: bool) -> Vec<u8> {
        (**self).local_state(join)
    }
    fn merge_remote_state(&mut self, state: &[u8], join: bool) {
        (**self).merge_remote_state(state, join)
    }
}

impl<H: BroadcastHandler + ?Sized> BroadcastHandler for Box<H> {
    fn receive(&mut self, key: &[u8], payload: &[u8]) -> bool {
        (**self).receive(key, payload)
    }
    fn local_state(&mut self, join: bool) -> Vec<u8> {
        (**self).local_state(join)
    }
    fn merge_remote_state(&mut self, state: &[u8], join: bool) {
        (**self).merge_remote_state(state, join)
    }
}

/// The default handler: a bounded memory of `(key, payload)` hashes seen.
#[derive(Debug, Clone)]
pub struct SeenBroadcasts {
    seen: HashSet<u64>,
    order: VecDeque<u64>,
    capacity: usize,
}

impl SeenBroadcasts {
    /// Remembers the last `capacity` distinct broadcasts.
    pub fn new(capacity: usize) -> Self {
        Self {
            seen: HashSet::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }
}

impl Default for SeenBroadcasts {
    fn default() -> Self {
        Self::new(4096)
    }
}

impl BroadcastHandler for SeenBroadcasts {
    fn receive(&mut self, key: &[u8], payload: &[u8]) -> bool {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        h.update(&(key.len() as u64).to_le_bytes());
        h.update(key);
        h.update(payload);
        let digest = h.digest();
        if !self.seen.insert(digest) {
            return false;
        }
        self.order.push_back(digest);
        if self.order.len() > self.capacity
            && let Some(old) = self.order.pop_front()
        {
            self.seen.remove(&old);
        }
        true
    }
}
