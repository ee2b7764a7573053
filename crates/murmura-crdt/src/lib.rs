//! State and delta-state CRDTs for murmura, with join-decomposition anti-entropy.
#![deny(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod bounded;
mod causal;
mod clock;
pub mod codec;
mod context;
mod counter;
pub mod dotstore;
mod error;
mod flag;
mod gset;
mod list;
mod map;
mod maxmap;
mod orset;
mod register;
mod rwset;
mod traits;

pub use bounded::{BoundedCounter, BoundedOp};
pub use causal::Causal;
pub use clock::{CausalContext, Dot};
pub use codec::Codec;
pub use context::{ActorTable, Digest, DotRanges};
pub use counter::{GCounter, PNCounter};
pub use dotstore::{DotFun, DotMap, DotSet, DotStore};
pub use error::{Error, Result};
pub use flag::{DisableWinsFlag, EnableWinsFlag, FlagDots};
pub use gset::{GSet, TwoPSet};
pub use list::{List, ListDigest, ListOp};
pub use map::{CausalCounter, CounterDots, LwwMap, MapOp, ORMap};
pub use orset::{ElemDots, ORSet, SetOp};
pub use register::{LwwRegister, MvRegister};
pub use rwset::{AddRemoveDots, RemoveWinsSet};
pub use traits::{AntiEntropy, DeltaCrdt, Lattice};
