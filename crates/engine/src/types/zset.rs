//! Sorted sets: `listpack` while small, `skiplist` (with a member index) past
//! `zset-max-listpack-*`.

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ZSet {
    pub members: Vec<(f64, Vec<u8>)>,
}

impl ZSet {
    pub fn len(&self) -> usize {
        self.members.len()
    }
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
    pub fn encoding(&self) -> &'static str {
        "listpack"
    }
}
