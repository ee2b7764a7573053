//! Members, their states, and the rules that decide which news wins.

use std::time::Duration;

/// What is believed about a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[repr(u8)]
pub enum State {
    /// Answering probes.
    Alive = 0,
    /// Missed a probe; it has until its suspicion times out to refute.
    Suspect = 1,
    /// Declared failed. Final for this incarnation.
    Dead = 2,
    /// Left gracefully. Final for this incarnation.
    Left = 3,
}

impl State {
    /// Dead or left: kept only as a tombstone.
    pub fn is_gone(self) -> bool {
        matches!(self, State::Dead | State::Left)
    }
}

/// A snapshot of one member.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Member<A> {
    /// Unique name.
    pub name: String,
    /// Where it listens.
    pub addr: A,
    /// Its incarnation; only it raises it.
    pub incarnation: u64,
    /// What is believed about it.
    pub state: State,
    /// Application metadata.
    pub meta: Vec<u8>,
    /// When (core time) the state last changed.
    pub state_changed: Duration,
}

/// Whether news `(incarnation, state)` about a member replaces what is held.
///
/// The order is lexicographic: a higher incarnation always wins; at the same
/// incarnation `Alive < Suspect < Dead < Left`, so an accusation overrides
/// the alive it accuses, and dead or left is final for that incarnation —
/// only the member itself, by raising its incarnation, comes back.
///
/// ```
/// use murmura_gossip::{supersedes, State};
/// assert!(supersedes((3, State::Alive), (2, State::Dead)));
/// assert!(supersedes((2, State::Suspect), (2, State::Alive)));
/// assert!(!supersedes((2, State::Alive), (2, State::Dead)));
/// ```
pub fn supersedes(news: (u64, State), held: (u64, State)) -> bool {
    news > held
}

/// The incarnation a member announces to refute an accusation at `accused`
/// while it holds `current`: strictly above both.
pub fn refutation_incarnation(current: u64, accused: u64) -> u64 {
    current.max(accused).saturating_add(1)
}
