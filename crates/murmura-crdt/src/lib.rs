//! State and delta-state CRDTs for murmura, with join-decomposition anti-entropy.
#![deny(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod causal;
mod clock;
pub mod codec;
mod context;
pub mod dotstore;
mod error;
mod orset;
mod traits;

pub use causal::Causal;
pub use clock::{CausalContext, Dot};
pub use codec::Codec;
pub use context::{ActorTable, Digest, DotRanges};
pub use dotstore::{DotFun, DotMap, DotSet, DotStore};
pub use error::{Error, Result};
pub use orset::{ElemDots, ORSet, SetOp};
pub use traits::{AntiEntropy, DeltaCrdt, Lattice};
