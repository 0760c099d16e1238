//! Redis's glob-style patterns (KEYS, SCAN MATCH, CONFIG GET, PSUBSCRIBE).
//!
//! `*` any run, `?` one byte, `[abc]`, `[^abc]`, `[a-z]` (bounds in either order), `\x` a literal
//! x. The corner cases are Redis's own: an unterminated `[` matches as if closed at the end of the
//! pattern, and a `*` whose tail found no match anywhere stops the whole search early instead of
//! retrying earlier stars on longer substrings (which keeps `a*a*a*a*b` from going exponential).

pub fn matches(pattern: &[u8], string: &[u8]) -> bool {
    let mut skip_longer = false;
    match_impl(pattern, string, false, &mut skip_longer)
}

pub fn matches_nocase(pattern: &[u8], string: &[u8]) -> bool {
    let mut skip_longer = false;
    match_impl(pattern, string, true, &mut skip_longer)
}

fn fold(c: u8, nocase: bool) -> u8 {
    if nocase {
        c.to_ascii_lowercase()
    } else {
        c
    }
}

fn match_impl(mut p: &[u8], mut s: &[u8], nocase: bool, skip_longer: &mut bool) -> bool {
    let at = |p: &[u8], i: usize| p.get(i).copied().unwrap_or(0);
    while !p.is_empty() && !s.is_empty() {
        match p[0] {
            b'*' => {
                while p.len() > 1 && p[1] == b'*' {
                    p = &p[1..];
                }
                if p.len() == 1 {
                    return true;
                }
                while !s.is_empty() {
                    if match_impl(&p[1..], s, nocase, skip_longer) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                    s = &s[1..];
                }
                *skip_longer = true;
                return false;
            }
            b'?' => {
                s = &s[1..];
            }
            b'[' => {
                p = &p[1..];
                let negate = at(p, 0) == b'^';
                if negate {
                    p = &p[1..];
                }
                let c = s[0];
                let mut hit = false;
                loop {
                    if at(p, 0) == b'\\' && p.len() >= 2 {
                        p = &p[1..];
                        if p[0] == c {
                            hit = true;
                        }
                    } else if p.is_empty() {
                        // Unterminated class: Redis steps back so the outer loop's advance
                        // lands at the end of the pattern.
                        break;
                    } else if p[0] == b']' {
                        break;
                    } else if p.len() >= 3 && p[1] == b'-' {
                        let (mut lo, mut hi) = (p[0], p[2]);
                        if lo > hi {
                            std::mem::swap(&mut lo, &mut hi);
                        }
                        let (lo, hi, ch) = (fold(lo, nocase), fold(hi, nocase), fold(c, nocase));
                        p = &p[2..];
                        if ch >= lo && ch <= hi {
                            hit = true;
                        }
                    } else if fold(p[0], nocase) == fold(c, nocase) {
                        hit = true;
                    }
                    p = &p[1..];
                }
                if negate {
                    hit = !hit;
                }
                if !hit {
                    return false;
                }
                s = &s[1..];
                if p.is_empty() {
                    // The class ran to the end of the pattern.
                    return s.is_empty();
                }
            }
            b'\\' if p.len() >= 2 => {
                p = &p[1..];
                if fold(p[0], nocase) != fold(s[0], nocase) {
                    return false;
                }
                s = &s[1..];
            }
            c => {
                if fold(c, nocase) != fold(s[0], nocase) {
                    return false;
                }
                s = &s[1..];
            }
        }
        p = &p[1..];
        if s.is_empty() {
            while !p.is_empty() && p[0] == b'*' {
                p = &p[1..];
            }
            break;
        }
    }
    p.is_empty() && s.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_glob() {
        assert!(matches(b"*", b"anything"));
        assert!(matches(b"user:*", b"user:1"));
        assert!(!matches(b"user:*", b"session:1"));
        assert!(matches(b"h?llo", b"hello"));
        assert!(matches(b"h[ae]llo", b"hallo"));
        assert!(!matches(b"h[^e]llo", b"hello"));
        assert!(matches(b"h[a-b]llo", b"hbllo"));
        assert!(matches(b"h[b-a]llo", b"hallo"));
        assert!(matches(b"h\\*llo", b"h*llo"));
        assert!(!matches(b"h\\*llo", b"hello"));
        assert!(matches(b"a*", b"a"));
        assert!(matches(b"*a", b"a"));
        assert!(!matches(
            b"a*a*a*a*a*a*a*a*b",
            b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        ));
        assert!(matches_nocase(b"USER:*", b"user:1"));
        assert!(matches(b"", b""));
        assert!(!matches(b"", b"a"));
        assert!(matches(b"a[bc", b"ab"));
    }
}
