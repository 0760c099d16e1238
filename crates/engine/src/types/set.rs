//! Sets: `intset` while every member is an integer and there are few, `hashtable` otherwise.

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Set {
    pub members: Vec<Vec<u8>>,
}

impl Set {
    pub fn len(&self) -> usize {
        self.members.len()
    }
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
    pub fn encoding(&self) -> &'static str {
        "hashtable"
    }
}
