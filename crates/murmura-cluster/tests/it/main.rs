//! Integration tests of the store core, driven by a small deterministic
//! network of replicas.

mod codec;
mod net;
mod persist;
mod store;
mod value;
