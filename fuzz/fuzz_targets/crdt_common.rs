//! Shared body of the crdt_* fuzz targets: split the input in two, decode
//! both halves as states, and check that whatever decodes merges lawfully.

use murmura_crdt::{AntiEntropy, Codec, Lattice};

pub fn decode_and_merge<T: Lattice + AntiEntropy + Codec + std::fmt::Debug>(data: &[u8]) {
    let Some((&cut, rest)) = data.split_first() else {
        return;
    };
    let cut = usize::from(cut).min(rest.len());
    let (left, right) = rest.split_at(cut);
    let a = T::from_bytes(left);
    let b = T::from_bytes(right);
    if let Ok(a) = &a {
        assert_eq!(T::from_bytes(&a.to_bytes()).as_ref().ok(), Some(a));
        assert_eq!(&a.merged(a), a);
    }
    if let (Ok(a), Ok(b)) = (a, b) {
        let ab = a.merged(&b);
        assert_eq!(ab, b.merged(&a));
        assert!(a.leq(&ab) && b.leq(&ab));
        assert_eq!(b.merged(&a.missing(&b.digest())), ab);
        assert_eq!(T::from_bytes(&ab.to_bytes()).ok(), Some(ab));
    }
}
