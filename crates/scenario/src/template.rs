//! Placeholders in command arguments: `{i}` (the repetition number inside `repeat`) and `{now}`
//! (the sending client's clock, in milliseconds), with integer arithmetic: `{i%10+1}`,
//! `{now/1000}`, `{now-60000}`.
//!
//! Braces are substituted only when what they hold is such an expression and names `i` or `now`,
//! so a Lua table constructor (`{}`, `{a, b}`, `{1}`) stays as written; `{{` and `}}` always
//! stand for one literal brace, for the rare script that needs `{i}` itself.
//!
//! In a cluster scenario, `{node-id:N}`, `{node-host:N}` and `{node-port:N}` stand for node N's
//! id and address, which differ between the engine and a real cluster (and between runs).

/// One argument of a command: literal bytes and expressions, in order.
#[derive(Clone, Debug, PartialEq)]
pub struct Arg(pub Vec<Piece>);

#[derive(Clone, Debug, PartialEq)]
pub enum Piece {
    Lit(Vec<u8>),
    Expr(Expr),
    /// `{node-id:N}` and friends: something about cluster node N (1-based).
    Node(NodeField, usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeField {
    Id,
    Host,
    Port,
}

impl NodeField {
    const ALL: [(&'static str, NodeField); 3] = [
        ("node-id", NodeField::Id),
        ("node-host", NodeField::Host),
        ("node-port", NodeField::Port),
    ];
}

/// A cluster node as placeholders see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeAddr {
    pub id: String,
    pub host: String,
    pub port: u16,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Num(i64),
    I,
    Now,
    Neg(Box<Expr>),
    Bin(Box<Expr>, Op, Box<Expr>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

/// The values placeholders stand for when a command is sent.
#[derive(Clone, Copy, Debug, Default)]
pub struct Vars<'a> {
    pub i: i64,
    pub now: i64,
    /// The cluster's nodes, node 1 first (empty outside a cluster).
    pub nodes: &'a [NodeAddr],
}

impl Arg {
    /// The argument with its literal parts only (placeholders dropped): for command names.
    pub fn literal_text(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for p in &self.0 {
            if let Piece::Lit(b) = p {
                out.extend_from_slice(b);
            }
        }
        out
    }

    pub fn has_placeholders(&self) -> bool {
        self.0.iter().any(|p| !matches!(p, Piece::Lit(_)))
    }

    pub fn render(&self, vars: Vars) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        for p in &self.0 {
            match p {
                Piece::Lit(b) => out.extend_from_slice(b),
                Piece::Expr(e) => out.extend_from_slice(e.eval(vars)?.to_string().as_bytes()),
                Piece::Node(field, n) => {
                    let node = n
                        .checked_sub(1)
                        .and_then(|i| vars.nodes.get(i))
                        .ok_or_else(|| format!("there is no cluster node {n}"))?;
                    match field {
                        NodeField::Id => out.extend_from_slice(node.id.as_bytes()),
                        NodeField::Host => out.extend_from_slice(node.host.as_bytes()),
                        NodeField::Port => out.extend_from_slice(node.port.to_string().as_bytes()),
                    }
                }
            }
        }
        Ok(out)
    }
}

/// Renders every argument of a command.
pub fn render_all(args: &[Arg], vars: Vars) -> Result<Vec<Vec<u8>>, String> {
    args.iter().map(|a| a.render(vars)).collect()
}

impl Expr {
    pub fn eval(&self, v: Vars) -> Result<i64, String> {
        let overflow = || "arithmetic overflow in a placeholder".to_string();
        Ok(match self {
            Expr::Num(n) => *n,
            Expr::I => v.i,
            Expr::Now => v.now,
            Expr::Neg(e) => e.eval(v)?.checked_neg().ok_or_else(overflow)?,
            Expr::Bin(a, op, b) => {
                let (a, b) = (a.eval(v)?, b.eval(v)?);
                match op {
                    Op::Add => a.checked_add(b).ok_or_else(overflow)?,
                    Op::Sub => a.checked_sub(b).ok_or_else(overflow)?,
                    Op::Mul => a.checked_mul(b).ok_or_else(overflow)?,
                    Op::Div | Op::Rem if b == 0 => {
                        return Err("division by zero in a placeholder".into())
                    }
                    // Euclidean, so that `{(now-5)/1000}` and `{i%10}` never go negative.
                    Op::Div => a.checked_div_euclid(b).ok_or_else(overflow)?,
                    Op::Rem => a.checked_rem_euclid(b).ok_or_else(overflow)?,
                }
            }
        })
    }

    fn uses(&self, var: &Expr) -> bool {
        match self {
            Expr::Num(_) => false,
            Expr::I | Expr::Now => self == var,
            Expr::Neg(e) => e.uses(var),
            Expr::Bin(a, _, b) => a.uses(var) || b.uses(var),
        }
    }
}

/// Splits one argument into literal bytes and placeholders. `in_repeat` says whether `{i}` is
/// defined; using it elsewhere is an error.
pub fn parse_arg(bytes: &[u8], in_repeat: bool) -> Result<Arg, String> {
    let mut pieces = Vec::new();
    let mut lit = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if (c == b'{' || c == b'}') && bytes.get(i + 1) == Some(&c) {
            lit.push(c);
            i += 2;
            continue;
        }
        if c == b'{' {
            if let Some(len) = bytes[i + 1..].iter().position(|&b| b == b'}' || b == b'{') {
                let end = i + 1 + len;
                if bytes[end] == b'}' {
                    if let Some(node) = parse_node(&bytes[i + 1..end]) {
                        if !lit.is_empty() {
                            pieces.push(Piece::Lit(std::mem::take(&mut lit)));
                        }
                        pieces.push(node);
                        i = end + 1;
                        continue;
                    }
                    if let Some(expr) = parse_expr(&bytes[i + 1..end]) {
                        if expr.uses(&Expr::I) || expr.uses(&Expr::Now) {
                            if expr.uses(&Expr::I) && !in_repeat {
                                return Err(format!(
                                    "'{}' uses {{i}}, which only a repeat defines (write {{{{ and }}}} for literal braces)",
                                    String::from_utf8_lossy(&bytes[i..=end])
                                ));
                            }
                            if !lit.is_empty() {
                                pieces.push(Piece::Lit(std::mem::take(&mut lit)));
                            }
                            pieces.push(Piece::Expr(expr));
                            i = end + 1;
                            continue;
                        }
                    }
                }
            }
        }
        lit.push(c);
        i += 1;
    }
    if !lit.is_empty() || pieces.is_empty() {
        pieces.push(Piece::Lit(lit));
    }
    Ok(Arg(pieces))
}

/// `node-id:2` (inside the braces) as a node placeholder.
fn parse_node(text: &[u8]) -> Option<Piece> {
    let text = std::str::from_utf8(text).ok()?;
    let (name, n) = text.split_once(':')?;
    let field = NodeField::ALL.iter().find(|(f, _)| *f == name)?.1;
    let n: usize = n.parse().ok().filter(|n| (1..=99).contains(n))?;
    Some(Piece::Node(field, n))
}

/// Parses `expr := term (('+'|'-') term)*`, `term := factor (('*'|'/'|'%') factor)*`,
/// `factor := number | i | now | '(' expr ')' | '-' factor`; None when the text is not one.
fn parse_expr(text: &[u8]) -> Option<Expr> {
    let mut p = ExprParser { s: text, pos: 0 };
    let e = p.expr(0)?;
    p.blanks();
    (p.pos == text.len()).then_some(e)
}

struct ExprParser<'a> {
    s: &'a [u8],
    pos: usize,
}

/// Deep enough for any sensible placeholder, shallow enough that hostile input cannot exhaust
/// the stack.
const MAX_DEPTH: usize = 32;

impl ExprParser<'_> {
    fn blanks(&mut self) {
        while self.s.get(self.pos) == Some(&b' ') {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.blanks();
        self.s.get(self.pos).copied()
    }

    fn expr(&mut self, depth: usize) -> Option<Expr> {
        let mut left = self.term(depth)?;
        while let Some(c @ (b'+' | b'-')) = self.peek() {
            self.pos += 1;
            let op = if c == b'+' { Op::Add } else { Op::Sub };
            left = Expr::Bin(Box::new(left), op, Box::new(self.term(depth)?));
        }
        Some(left)
    }

    fn term(&mut self, depth: usize) -> Option<Expr> {
        let mut left = self.factor(depth)?;
        while let Some(c @ (b'*' | b'/' | b'%')) = self.peek() {
            self.pos += 1;
            let op = match c {
                b'*' => Op::Mul,
                b'/' => Op::Div,
                _ => Op::Rem,
            };
            left = Expr::Bin(Box::new(left), op, Box::new(self.factor(depth)?));
        }
        Some(left)
    }

    fn factor(&mut self, depth: usize) -> Option<Expr> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            b'-' => {
                self.pos += 1;
                Some(Expr::Neg(Box::new(self.factor(depth + 1)?)))
            }
            b'(' => {
                self.pos += 1;
                let e = self.expr(depth + 1)?;
                (self.peek()? == b')').then(|| {
                    self.pos += 1;
                    e
                })
            }
            b'0'..=b'9' => {
                let start = self.pos;
                while self.s.get(self.pos).is_some_and(|c| c.is_ascii_digit()) {
                    self.pos += 1;
                }
                std::str::from_utf8(&self.s[start..self.pos])
                    .ok()?
                    .parse()
                    .ok()
                    .map(Expr::Num)
            }
            c if c.is_ascii_lowercase() => {
                let start = self.pos;
                while self
                    .s
                    .get(self.pos)
                    .is_some_and(|c| c.is_ascii_alphanumeric())
                {
                    self.pos += 1;
                }
                match &self.s[start..self.pos] {
                    b"i" => Some(Expr::I),
                    b"now" => Some(Expr::Now),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(s: &str, i: i64, now: i64) -> String {
        let arg = parse_arg(s.as_bytes(), true).unwrap();
        String::from_utf8(arg.render(Vars { i, now, nodes: &[] }).unwrap()).unwrap()
    }

    #[test]
    fn placeholders_and_literals() {
        assert_eq!(render("key:{i}", 7, 0), "key:7");
        assert_eq!(render("{i%10+1}", 19, 0), "10");
        assert_eq!(render("{ (i + 2) * 3 }", 1, 0), "9");
        assert_eq!(render("w:{now/1000}", 0, 1_700_000_001_500), "w:1700000001");
        assert_eq!(render("{now-60000}", 0, 60_000), "0");
        assert_eq!(render("{-i}", 3, 0), "-3");
        // Lua tables and other braces stay.
        assert_eq!(render("return {}", 0, 0), "return {}");
        assert_eq!(render("return {a, b}", 0, 0), "return {a, b}");
        assert_eq!(render("return {1}", 0, 0), "return {1}");
        assert_eq!(render("t = {x}", 0, 0), "t = {x}");
        assert_eq!(render("{{i}}", 5, 0), "{i}");
        assert_eq!(render("{", 0, 0), "{");
        assert_eq!(render("{{now}", 0, 9), "{now}");
        assert_eq!(render("", 0, 0), "");
    }

    #[test]
    fn errors() {
        assert!(parse_arg(b"key:{i}", false)
            .unwrap_err()
            .contains("only a repeat"));
        assert!(parse_arg(b"{now}", false).is_ok());
        let arg = parse_arg(b"{i/0}", true).unwrap();
        assert!(arg.render(Vars::default()).is_err());
        let arg = parse_arg(b"{i*now}", true).unwrap();
        let big = Vars {
            i: i64::MAX,
            now: 2,
            nodes: &[],
        };
        assert!(arg.render(big).is_err());
        let deep = format!("{{{}i{}}}", "(".repeat(100), ")".repeat(100));
        assert_eq!(render(&deep, 1, 0), deep);
    }

    #[test]
    fn cluster_nodes() {
        let nodes = [
            NodeAddr {
                id: "aaa".into(),
                host: "127.0.0.1".into(),
                port: 7000,
            },
            NodeAddr {
                id: "bbb".into(),
                host: "10.0.0.2".into(),
                port: 7001,
            },
        ];
        let vars = Vars {
            i: 0,
            now: 0,
            nodes: &nodes,
        };
        let show = |s: &str| {
            let arg = parse_arg(s.as_bytes(), false).unwrap();
            arg.render(vars).map(|b| String::from_utf8(b).unwrap())
        };
        assert_eq!(show("{node-id:2}").unwrap(), "bbb");
        assert_eq!(
            show("{node-host:2}:{node-port:1}").unwrap(),
            "10.0.0.2:7000"
        );
        assert!(show("{node-id:3}")
            .unwrap_err()
            .contains("no cluster node 3"));
        // A hash tag is not a placeholder.
        assert_eq!(show("user:{node-id}").unwrap(), "user:{node-id}");
        assert_eq!(show("{node-id:x}").unwrap(), "{node-id:x}");
    }
}
