//! Whether a string is a numeric IP address, as `inet_pton` reads one (CLUSTER MEET, MIGRATE).
//!
//! The engine parses the text itself rather than through the standard library's address types:
//! it touches nothing of the network (DESIGN.md invariant 3), and only the syntax matters here.

/// A dotted-quad IPv4 address or an IPv6 address (with `::` and an optional IPv4 tail).
pub fn is_ip_literal(s: &[u8]) -> bool {
    is_ipv4(s) || is_ipv6(s)
}

/// Four decimal parts of 0..=255, no leading zeros (inet_pton refuses them as octal).
fn is_ipv4(s: &[u8]) -> bool {
    let parts: Vec<&[u8]> = s.split(|&c| c == b'.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 3
                && p.iter().all(u8::is_ascii_digit)
                && (p.len() == 1 || p[0] != b'0')
                && p.iter().fold(0u32, |v, d| v * 10 + (d - b'0') as u32) <= 255
        })
}

/// Eight groups of 1-4 hex digits, at most one `::` standing for one or more zero groups, and
/// an IPv4 address in place of the last two groups.
fn is_ipv6(s: &[u8]) -> bool {
    let text = match std::str::from_utf8(s) {
        Ok(t) if !t.is_empty() => t,
        _ => return false,
    };
    let (head, tail, compressed) = match text.find("::") {
        Some(i) => (&text[..i], &text[i + 2..], true),
        None => (text, "", false),
    };
    if tail.contains("::") {
        return false;
    }
    let groups = |part: &str, last: bool| -> Option<usize> {
        if part.is_empty() {
            return Some(0);
        }
        let items: Vec<&str> = part.split(':').collect();
        let mut n = 0;
        for (i, g) in items.iter().enumerate() {
            if last && i == items.len() - 1 && g.contains('.') {
                if !is_ipv4(g.as_bytes()) {
                    return None;
                }
                n += 2;
            } else if !g.is_empty() && g.len() <= 4 && g.bytes().all(|c| c.is_ascii_hexdigit()) {
                n += 1;
            } else {
                return None;
            }
        }
        Some(n)
    };
    let (Some(h), Some(t)) = (groups(head, !compressed), groups(tail, compressed)) else {
        return false;
    };
    if compressed {
        h + t <= 7
    } else {
        h == 8
    }
}

#[cfg(test)]
mod tests {
    use super::is_ip_literal;

    #[test]
    fn inet_pton_syntax() {
        for ok in [
            "127.0.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::",
            "::1",
            "fe80::1",
            "1:2:3:4:5:6:7:8",
            "::ffff:10.0.0.1",
            "1::",
        ] {
            assert!(is_ip_literal(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "",
            "localhost",
            "1.2.3",
            "1.2.3.4.5",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3.a",
            ":::",
            "1::2::3",
            "1:2:3:4:5:6:7",
            "1:2:3:4:5:6:7:8:9",
            "12345::",
            "::1.2.3",
        ] {
            assert!(!is_ip_literal(bad.as_bytes()), "{bad}");
        }
    }
}
