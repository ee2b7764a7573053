//! Seedable randomness for protocol cores.
//!
//! Cores never reach for a global or thread-local generator: they are handed
//! any [`RngCore`], so a simulation or a failing test replays from its seed.

pub use rand::{Rng, RngCore, SeedableRng};

/// The default generator murmura cores are built with: ChaCha8, fast, seedable
/// and identical on every platform.
pub type DefaultRng = rand_chacha::ChaCha8Rng;

/// A [`DefaultRng`] that always produces the same stream for the same seed.
///
/// ```
/// use murmura_core::rng::{seeded, RngCore};
/// assert_eq!(seeded(7).next_u64(), seeded(7).next_u64());
/// ```
pub fn seeded(seed: u64) -> DefaultRng {
    DefaultRng::seed_from_u64(seed)
}

/// A [`DefaultRng`] seeded from the operating system, for production use.
pub fn from_entropy() -> DefaultRng {
    DefaultRng::from_os_rng()
}
