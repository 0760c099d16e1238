//! The data structures behind each Redis type, with their compact and large encodings and the
//! conversion rules between them. Command handlers live in `cmd/`; these modules know nothing of
//! arguments or replies.

pub mod costed;
pub mod geohash;
pub mod hash;
pub mod hll;
pub mod list;
pub mod set;
pub mod stream;
pub mod zset;
