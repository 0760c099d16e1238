//! Lists. Redis 7.0 reports every list as `quicklist` (a linked list of listpacks).

use std::collections::VecDeque;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct List {
    pub items: VecDeque<Vec<u8>>,
}

impl List {
    pub fn len(&self) -> usize {
        self.items.len()
    }
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    pub fn encoding(&self) -> &'static str {
        "quicklist"
    }
}
