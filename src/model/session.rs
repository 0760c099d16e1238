//! A session as it is saved, exported and shared: the steps, from which everything else is
//! rebuilt by replaying them. JSON for files and storage; deflate and base64url for links, where
//! length matters.

use serde::{Deserialize, Serialize};

use super::timeline::Step;

/// Raised when the format changes in a way old readers would misread.
pub const FORMAT_VERSION: u32 = 1;
/// Refuse links and files that would inflate past this (a damaged or hostile input).
const MAX_INFLATED: usize = 32 << 20;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub format: u32,
    /// The engine's seed: the same seed and steps give the same session.
    pub seed: u64,
    /// Names of the clients, in order (A, B, C...).
    pub clients: Vec<String>,
    pub steps: Vec<Step>,
    /// How many steps were applied (a rewound session keeps its later steps).
    pub cursor: usize,
    /// The virtual time at the cursor, to check the replay against.
    pub clock_ms: i64,
    #[serde(default = "one")]
    pub speed: f64,
    /// The id of the guided lesson open when the session was saved or shared: opening the
    /// session opens that lesson again (at its start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<String>,
    /// When the open lesson was an instructor's (from a file or a lesson link), its `.scn`
    /// text: opening the session opens the same lesson again. Older sessions have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lesson_text: Option<String>,
}

fn one() -> f64 {
    1.0
}

#[derive(Clone, Debug, PartialEq)]
pub struct SessionError(pub String);

impl std::fmt::Display for SessionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Session {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(text: &str) -> Result<Session, SessionError> {
        let s: Session = serde_json::from_str(text)
            .map_err(|e| SessionError(format!("this is not a Cachelab session ({e})")))?;
        if s.format > FORMAT_VERSION {
            return Err(SessionError(format!(
                "this session was saved by a newer Cachelab (format {})",
                s.format
            )));
        }
        if s.cursor > s.steps.len() {
            return Err(SessionError(
                "the session's position is past its last step".into(),
            ));
        }
        Ok(s)
    }

    /// The text after `#s=` in a share link.
    pub fn to_link_fragment(&self) -> String {
        let packed = miniz_oxide::deflate::compress_to_vec(self.to_json().as_bytes(), 9);
        base64url_encode(&packed)
    }

    pub fn from_link_fragment(fragment: &str) -> Result<Session, SessionError> {
        let bytes = base64url_decode(fragment.trim())
            .ok_or_else(|| SessionError("the link is damaged (it is not base64url)".into()))?;
        let json = miniz_oxide::inflate::decompress_to_vec_with_limit(&bytes, MAX_INFLATED)
            .map_err(|_| SessionError("the link is damaged (it does not decompress)".into()))?;
        let text = String::from_utf8(json)
            .map_err(|_| SessionError("the link is damaged (it is not text)".into()))?;
        Session::from_json(&text)
    }
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64 with the URL-safe alphabet and no padding (RFC 4648 §5).
pub fn base64url_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

pub fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        acc = acc << 6 | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // A single leftover character carries fewer than 8 bits: not valid base64.
    (bits < 6).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Session {
        Session {
            format: FORMAT_VERSION,
            seed: 7,
            clients: vec!["A".into(), "B".into()],
            steps: vec![
                Step::AddClient,
                Step::Command {
                    pane: 0,
                    line: "SET greeting hello EX 5".into(),
                },
                Step::Advance { to: 10_000 },
            ],
            cursor: 3,
            clock_ms: 10_000,
            speed: 2.0,
            scenario: None,
            lesson_text: None,
        }
    }

    #[test]
    fn base64url_round_trips() {
        for n in 0..40 {
            let data: Vec<u8> = (0..n).map(|i| (i * 37 + 11) as u8).collect();
            let enc = base64url_encode(&data);
            assert!(!enc.contains(['+', '/', '=']));
            assert_eq!(base64url_decode(&enc), Some(data));
        }
        assert_eq!(base64url_encode(b"hi?"), "aGk_");
        assert_eq!(base64url_decode("a"), None);
        assert_eq!(base64url_decode("a*b"), None);
    }

    #[test]
    fn links_and_json_round_trip() {
        let s = sample();
        assert_eq!(
            Session::from_link_fragment(&s.to_link_fragment()),
            Ok(s.clone())
        );
        assert_eq!(Session::from_json(&s.to_json()), Ok(s));
    }

    #[test]
    fn damage_is_reported_not_panicked_on() {
        assert!(Session::from_link_fragment("not base64 !").is_err());
        assert!(Session::from_link_fragment("AAAAAAAA").is_err());
        let mut frag = sample().to_link_fragment();
        frag.truncate(frag.len() / 2);
        assert!(Session::from_link_fragment(&frag).is_err());
        assert!(Session::from_json("{}").is_err());
        assert!(Session::from_json("[1,2").is_err());
        let mut s = sample();
        s.cursor = 99;
        assert!(Session::from_json(&s.to_json()).is_err());
    }
}
