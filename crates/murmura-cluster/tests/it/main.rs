//! Integration tests of the store core, driven by a small deterministic
//! network of replicas.

mod codec;
mod net;
mod runtime;
mod store;
mod value;
