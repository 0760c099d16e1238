//! Reading a command line the way redis-cli does.
//!
//! redis-cli splits what the user typed with `sdssplitargs`: words separated by blanks;
//! `"double quotes"` with C escapes (`\n`, `\r`, `\t`, `\b`, `\a`, `\xHH`, and `\` before any
//! other character stands for that character); `'single quotes'` where only `\'` is an escape.
//! A closing quote must be followed by a blank or the end of the line, and an unclosed quote is
//! an error; redis-cli then prints `Invalid argument(s)`. The playground's console, the native
//! console and the transcript files of the differential tests all read commands through here.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitError;

impl std::fmt::Display for SplitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Invalid argument(s)")
    }
}

impl std::error::Error for SplitError {}

pub fn split_args(line: &str) -> Result<Vec<Vec<u8>>, SplitError> {
    // redis-cli reads a C string: a NUL byte ends the line.
    let b = line.as_bytes();
    let b = &b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())];
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    let is_blank = |c: u8| matches!(c, b' ' | b'\n' | b'\r' | b'\t' | 0x0b | 0x0c);
    let hex = |c: u8| (c as char).to_digit(16);
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while i < b.len() && is_blank(b[i]) {
            i += 1;
        }
        if i >= b.len() {
            return Ok(out);
        }
        let mut cur = Vec::new();
        let (mut in_dq, mut in_sq) = (false, false);
        loop {
            let c = at(i);
            if in_dq {
                if c == b'\\'
                    && at(i + 1) == b'x'
                    && hex(at(i + 2)).is_some()
                    && hex(at(i + 3)).is_some()
                {
                    let v = hex(at(i + 2)).unwrap_or(0) * 16 + hex(at(i + 3)).unwrap_or(0);
                    cur.push(v as u8);
                    i += 3;
                } else if c == b'\\' && at(i + 1) != 0 {
                    i += 1;
                    cur.push(match at(i) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                } else if c == b'"' {
                    if at(i + 1) != 0 && !is_blank(at(i + 1)) {
                        return Err(SplitError);
                    }
                    i += 1;
                    break;
                } else if c == 0 {
                    return Err(SplitError);
                } else {
                    cur.push(c);
                }
            } else if in_sq {
                if c == b'\\' && at(i + 1) == b'\'' {
                    i += 1;
                    cur.push(b'\'');
                } else if c == b'\'' {
                    if at(i + 1) != 0 && !is_blank(at(i + 1)) {
                        return Err(SplitError);
                    }
                    i += 1;
                    break;
                } else if c == 0 {
                    return Err(SplitError);
                } else {
                    cur.push(c);
                }
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => {
                        if c != 0 {
                            i += 1;
                        }
                        break;
                    }
                    b'"' => in_dq = true,
                    b'\'' => in_sq = true,
                    _ => cur.push(c),
                }
            }
            i += 1;
        }
        out.push(cur);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Vec<String> {
        split_args(s)
            .unwrap()
            .into_iter()
            .map(|a| String::from_utf8_lossy(&a).into_owned())
            .collect()
    }

    #[test]
    fn words_and_quotes() {
        assert_eq!(split("SET k v"), ["SET", "k", "v"]);
        assert_eq!(split("  SET   \"a b\"  'c d' "), ["SET", "a b", "c d"]);
        assert_eq!(split(r#"SET k "x\ny\x41""#), ["SET", "k", "x\nyA"]);
        assert_eq!(split(r"SET k 'it\'s'"), ["SET", "k", "it's"]);
        assert_eq!(split(r#"SET k """#), ["SET", "k", ""]);
        assert_eq!(split(""), Vec::<String>::new());
        assert_eq!(split_args(r#"SET "unclosed"#), Err(SplitError));
        assert_eq!(split_args(r#"SET "a"b"#), Err(SplitError));
        assert_eq!(split_args("SET 'a"), Err(SplitError));
        assert_eq!(split_args("GET \"\\xzz\"").unwrap()[1], b"xzz");
        assert_eq!(split("GET a\0b c"), ["GET", "a"]);
    }
}
