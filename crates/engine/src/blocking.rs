//! Clients blocked on keys (BLPOP, BLMOVE, BZPOPMIN, XREAD BLOCK...), on virtual time.
//!
//! A blocking command that finds nothing to serve calls `Engine::block_on_keys` and answers
//! `Reply::Blocked`: the client gets no reply yet. From then on, any change to one of the keys it
//! waits on marks that key *ready*. After the command that made it ready has finished (never in
//! the middle of it, as in Redis's `handleClientsBlockedOnKeys`), the engine re-runs the blocked
//! commands for that key, oldest blocked client first. A re-run that finds data answers
//! normally, and its reply goes to the client's outbox (`Engine::take_output`); a re-run that
//! still finds nothing leaves the client blocked in its place in the queue. Re-running the whole
//! command rather than a per-type "serve" routine keeps the semantics in one place: the
//! blocking command's non-blocking path is exactly what serves it.
//!
//! Only a value of the type the command waits for serves it: a string or a sorted set appearing
//! under a BLPOP's key leaves the client waiting, as in Redis, where a new key wakes only the
//! clients blocked for its type.
//!
//! A client whose timeout passes while blocked gets its command's timeout reply at the first
//! `advance`, or the first command of any client, whose time is past the deadline (Redis checks
//! between commands, and times out only when now is strictly past the deadline).

use std::collections::{BTreeMap, VecDeque};

use crate::error;
use crate::event::Event;
use crate::keyspace::Lookup;
use crate::numfmt::{parse_f64, parse_i64};
use crate::{ClientId, Engine, Reply};

/// Why and until when a client waits.
#[derive(Clone, Debug)]
pub struct BlockState {
    pub db: usize,
    pub keys: Vec<Vec<u8>>,
    /// Absolute deadline in milliseconds; `None` blocks forever (a timeout of 0).
    pub deadline: Option<i64>,
    /// The command to re-run when a key is ready.
    pub argv: Vec<Vec<u8>>,
    /// What the client receives if the deadline passes first (nil, or a nil array).
    pub timeout_reply: Reply,
    pub since_ms: i64,
    /// The type (as TYPE names it) whose arrival under a key serves this client: a BLPOP is
    /// not woken by a string or a sorted set appearing under its key, as in Redis, where only
    /// clients blocked for the new value's type are served.
    pub wants: Option<&'static str>,
    /// WAIT: the replication offset this client's writes reached, and how many replicas must
    /// acknowledge it. Such a client waits on no key.
    pub acks: Option<(i64, i64)>,
}

/// Which clients wait on which key, in the order they blocked.
#[derive(Clone, Debug, Default)]
pub struct Blocked {
    pub(crate) by_key: BTreeMap<(usize, Vec<u8>), VecDeque<ClientId>>,
    pub(crate) ready: Vec<(usize, Vec<u8>)>,
    /// The client whose blocked command is being re-run, so that a re-run that would block
    /// again leaves it where it is instead of queueing it a second time.
    pub(crate) reprocessing: Option<ClientId>,
    /// The ready key that client's re-run is serving.
    pub(crate) serving: Option<Vec<u8>>,
    /// Clients blocked in WAIT, oldest first; replicas' acknowledgements wake them.
    pub(crate) waiting_acks: Vec<ClientId>,
}

impl Engine {
    /// Parks `client` until one of `keys` (in database `db`) changes or `deadline` passes.
    /// Returns the reply the command should give now: always `Reply::Blocked`.
    pub fn block_on_keys(
        &mut self,
        client: ClientId,
        db: usize,
        keys: Vec<Vec<u8>>,
        deadline: Option<i64>,
        argv: &[&[u8]],
        timeout_reply: Reply,
    ) -> Reply {
        if self.blocked.reprocessing == Some(client) {
            return Reply::Blocked;
        }
        // A key named twice (BLPOP k k 0) is waited on once, as Redis keeps the keys in a set.
        let mut unique: Vec<Vec<u8>> = Vec::with_capacity(keys.len());
        for k in keys {
            if !unique.contains(&k) {
                unique.push(k);
            }
        }
        let keys = unique;
        for k in &keys {
            self.blocked
                .by_key
                .entry((db, k.clone()))
                .or_default()
                .push_back(client);
        }
        let wants = crate::table::lookup(argv)
            .ok()
            .and_then(|spec| type_for_group(spec.group));
        let state = BlockState {
            db,
            keys: keys.clone(),
            deadline,
            argv: argv.iter().map(|a| a.to_vec()).collect(),
            timeout_reply,
            since_ms: self.now,
            wants,
            acks: None,
        };
        if let Some(c) = self.clients.get_mut(&client) {
            c.blocked = Some(state);
        }
        self.emit(Event::ClientBlocked {
            client,
            db,
            keys,
            deadline,
        });
        Reply::Blocked
    }

    /// Parks `client` in WAIT until `numreplicas` replicas have acknowledged `offset` or
    /// `deadline` passes. Returns the reply the command should give now: `Reply::Blocked`.
    pub fn block_for_replication(
        &mut self,
        client: ClientId,
        deadline: Option<i64>,
        offset: i64,
        numreplicas: i64,
        argv: &[&[u8]],
    ) -> Reply {
        let state = BlockState {
            db: self.clients.get(&client).map_or(0, |c| c.db),
            keys: Vec::new(),
            deadline,
            argv: argv.iter().map(|a| a.to_vec()).collect(),
            timeout_reply: Reply::Integer(0),
            since_ms: self.now,
            wants: None,
            acks: Some((offset, numreplicas)),
        };
        if let Some(c) = self.clients.get_mut(&client) {
            c.blocked = Some(state);
        }
        self.blocked.waiting_acks.push(client);
        self.emit(Event::ClientBlocked {
            client,
            db: 0,
            keys: Vec::new(),
            deadline,
        });
        Reply::Blocked
    }

    /// Answers the clients blocked in WAIT whose offset enough replicas have acknowledged.
    pub(crate) fn wake_ack_waiters(&mut self) {
        for client in self.blocked.waiting_acks.clone() {
            let acks = self
                .clients
                .get(&client)
                .and_then(|c| c.blocked.as_ref())
                .and_then(|b| b.acks);
            if let Some((offset, numreplicas)) = acks {
                let acked = self.replicas_acked(offset);
                if acked >= numreplicas {
                    self.unblock(client, Reply::Integer(acked), false);
                }
            }
        }
    }

    /// Whether a blocking command may park `client`. Redis refuses inside MULTI (and scripts):
    /// the command then answers at once as if its timeout had passed.
    pub fn may_block(&self, client: ClientId) -> bool {
        self.clients.get(&client).is_some_and(|c| !c.in_exec)
    }

    /// While a blocked command is re-run because one of its keys became ready, that key.
    /// A command waiting on several keys serves from this one only, as Redis does: BLPOP s q
    /// woken by a push to q pops from q even if s has since become a string.
    pub fn serving_key(&self, client: ClientId) -> Option<&[u8]> {
        if self.blocked.reprocessing == Some(client) {
            self.blocked.serving.as_deref()
        } else {
            None
        }
    }

    /// True while the client waits for a key or a timeout.
    pub fn is_blocked(&self, client: ClientId) -> bool {
        self.clients
            .get(&client)
            .is_some_and(|c| c.blocked.is_some())
    }

    /// Marks a key as changed; blocked clients waiting on it are served after the current
    /// command.
    #[inline]
    pub(crate) fn signal_key(&mut self, db: usize, key: &[u8]) {
        // Every write comes here: with nobody blocked it costs a compare, not a call.
        if !self.blocked.by_key.is_empty() {
            self.mark_key_ready(db, key);
        }
    }

    #[inline(never)]
    fn mark_key_ready(&mut self, db: usize, key: &[u8]) {
        let k = (db, key.to_vec());
        if self.blocked.by_key.contains_key(&k) && !self.blocked.ready.contains(&k) {
            self.blocked.ready.push(k);
        }
    }

    /// After SWAPDB: every key of `db` that clients wait on and that now exists is ready.
    pub(crate) fn signal_existing_blocked_keys(&mut self, db: usize) {
        let keys: Vec<Vec<u8>> = self
            .blocked
            .by_key
            .keys()
            .filter(|(d, _)| *d == db)
            .map(|(_, k)| k.clone())
            .collect();
        for k in keys {
            if self.dbs[db].keys.contains_key(&k) {
                self.signal_key(db, &k);
            }
        }
    }

    /// Serves clients blocked on keys that became ready, until no key is ready.
    pub(crate) fn serve_ready_keys(&mut self) {
        while !self.blocked.ready.is_empty() {
            let ready = std::mem::take(&mut self.blocked.ready);
            for key in ready {
                let waiting: Vec<ClientId> = self
                    .blocked
                    .by_key
                    .get(&key)
                    .map(|q| q.iter().copied().collect())
                    .unwrap_or_default();
                for client in waiting {
                    // Looked up again for every client: the one before may have emptied,
                    // deleted or replaced the value.
                    let present = self
                        .lookup(key.0, &key.1, Lookup::NoTouch)
                        .map(|entry| entry.value.type_name());
                    let wants = self
                        .clients
                        .get(&client)
                        .and_then(|c| c.blocked.as_ref())
                        .and_then(|b| b.wants);
                    match present {
                        // A deleted key serves nobody, except that XREADGROUP learns its stream
                        // is gone (Redis's `signalDeletedKeyAsReady`).
                        None if wants != Some("stream") => continue,
                        Some(present) if wants.is_some_and(|w| w != present) => continue,
                        _ => {}
                    }
                    self.retry_blocked(client, &key.1);
                }
            }
        }
    }

    fn retry_blocked(&mut self, client: ClientId, key: &[u8]) {
        let Some(state) = self.clients.get(&client).and_then(|c| c.blocked.clone()) else {
            return;
        };
        let argv: Vec<&[u8]> = state.argv.iter().map(|a| a.as_slice()).collect();
        self.blocked.reprocessing = Some(client);
        self.blocked.serving = Some(key.to_vec());
        let saved_db = self.clients.get(&client).map(|c| c.db);
        if let Some(c) = self.clients.get_mut(&client) {
            c.db = state.db;
        }
        let reply = self.execute_inner(client, &argv, self.now);
        if let (Some(c), Some(db)) = (self.clients.get_mut(&client), saved_db) {
            c.db = db;
        }
        self.blocked.reprocessing = None;
        self.blocked.serving = None;
        if reply != Reply::Blocked {
            self.unblock(client, reply, false);
        }
    }

    /// Ends a client's wait, delivering `reply` to its outbox.
    pub(crate) fn unblock(&mut self, client: ClientId, reply: Reply, timed_out: bool) {
        let Some(state) = self.clients.get_mut(&client).and_then(|c| c.blocked.take()) else {
            return;
        };
        for k in state.keys {
            let key = (state.db, k);
            if let Some(q) = self.blocked.by_key.get_mut(&key) {
                q.retain(|c| *c != client);
                if q.is_empty() {
                    self.blocked.by_key.remove(&key);
                }
            }
        }
        if state.acks.is_some() {
            self.blocked.waiting_acks.retain(|c| *c != client);
        }
        if let Some(c) = self.clients.get_mut(&client) {
            c.outbox.push(reply);
        }
        self.emit(Event::ClientUnblocked { client, timed_out });
    }

    /// Whether any client waits on a key or on replica acknowledgements.
    pub(crate) fn anyone_blocked(&self) -> bool {
        !(self.blocked.by_key.is_empty() && self.blocked.waiting_acks.is_empty())
    }

    /// Answers every blocked client whose deadline is before `now` with its timeout reply.
    pub(crate) fn expire_blocked(&mut self, now: i64) {
        if !self.anyone_blocked() {
            return;
        }
        let due: Vec<(ClientId, Reply)> = self
            .clients
            .values()
            .filter_map(|c| {
                let b = c.blocked.as_ref()?;
                match b.deadline {
                    // Redis times a client out when now is past the deadline, not at it.
                    // WAIT answers with the replicas that did acknowledge in time.
                    Some(d) if now > d => Some((
                        c.id,
                        match b.acks {
                            Some((offset, _)) => Reply::Integer(self.replicas_acked(offset)),
                            None => b.timeout_reply.clone(),
                        },
                    )),
                    _ => None,
                }
            })
            .collect();
        for (client, reply) in due {
            self.unblock(client, reply, true);
        }
    }

    /// Removes a disconnecting client from every wait queue.
    pub(crate) fn forget_blocked(&mut self, client: ClientId) {
        for q in self.blocked.by_key.values_mut() {
            q.retain(|c| *c != client);
        }
        self.blocked.by_key.retain(|_, q| !q.is_empty());
        self.blocked.waiting_acks.retain(|c| *c != client);
    }

    /// Replies that reached a client outside of `execute`: blocked commands that were served
    /// or timed out, and (later) pub/sub messages. The caller writes them in this order.
    pub fn take_output(&mut self, client: ClientId) -> Vec<Reply> {
        self.clients
            .get_mut(&client)
            .map(|c| std::mem::take(&mut c.outbox))
            .unwrap_or_default()
    }

    /// Clients that have replies waiting in their outbox or encoded messages in their
    /// `push_buffer`.
    pub fn clients_with_output(&self) -> Vec<ClientId> {
        self.clients
            .values()
            .filter(|c| {
                !c.outbox.is_empty() || c.push_buffer.as_ref().is_some_and(|b| !b.is_empty())
            })
            .map(|c| c.id)
            .collect()
    }
}

/// The value type a blocking command of this group waits for.
fn type_for_group(group: &str) -> Option<&'static str> {
    match group {
        "list" => Some("list"),
        "sorted-set" | "sorted_set" | "zset" => Some("zset"),
        "stream" => Some("stream"),
        _ => None,
    }
}

/// How a blocking command's timeout argument is written.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TimeoutUnit {
    /// Seconds as a decimal number (BLPOP, BZPOPMIN...).
    Seconds,
    /// Whole milliseconds (XREAD BLOCK, WAIT).
    Milliseconds,
}

/// Redis's `getTimeoutFromObjectOrReply`: the absolute deadline in milliseconds of the engine's
/// clock, or `None` for 0, which waits forever.
pub fn parse_timeout(arg: &[u8], now: i64, unit: TimeoutUnit) -> Result<Option<i64>, Reply> {
    let ms = match unit {
        TimeoutUnit::Seconds => {
            seconds_to_ms(arg).ok_or_else(|| Reply::error(error::TIMEOUT_NOT_FLOAT))?
        }
        TimeoutUnit::Milliseconds => {
            parse_i64(arg).ok_or_else(|| Reply::error(error::TIMEOUT_NOT_INTEGER))?
        }
    };
    if ms < 0 {
        return Err(Reply::error(error::TIMEOUT_NEGATIVE));
    }
    if ms == 0 {
        return Ok(None);
    }
    // Redis adds the current time in signed arithmetic; a sum that wraps becomes, in its table
    // of deadlines keyed by unsigned value, a deadline that never comes.
    Ok(now.checked_add(ms))
}

/// Longest timeout text `strtold` is given (Redis's MAX_LONG_DOUBLE_CHARS).
const MAX_LONG_DOUBLE_CHARS: usize = 5 * 1024;

/// `(long long) ceill(strtold(arg) * 1000.0L)` as Redis computes it on x86-64, or `None` when
/// Redis rejects the text. The result of a conversion out of the range of a long long, an
/// infinity included, is `i64::MIN` (the x87 "integer indefinite"), which Redis then reports
/// as a negative timeout.
///
/// Redis does this in 80-bit long double. The product is exact for most inputs; what matters
/// is where it rounds when the exact answer is a whole number of milliseconds: 0.001 seconds
/// is stored slightly below 1/1000, so `-0.001` makes `ceill` return -0, a timeout of 0 that
/// blocks forever, while `-0.002` is negative. Those cases (at most three decimals) are worked
/// out here exactly in integers; longer decimals use their exact value, which long double only
/// misses past its 19 significant digits. Hexadecimal input goes through f64.
fn seconds_to_ms(arg: &[u8]) -> Option<i64> {
    if arg.len() >= MAX_LONG_DOUBLE_CHARS {
        return None;
    }
    // strtold's syntax and range checks (NaN, leading space, beyond long double's range).
    crate::longdouble::parse(arg)?;
    let text = std::str::from_utf8(arg).ok()?;
    let neg = text.starts_with('-');
    let body = text.strip_prefix(['+', '-']).unwrap_or(text);
    let lower = body.to_ascii_lowercase();
    if lower == "inf" || lower == "infinity" {
        return Some(i64::MIN);
    }
    if lower.starts_with("0x") {
        let ms = (parse_f64(arg).unwrap_or(f64::INFINITY) * 1000.0).ceil();
        return Some(if ms.abs() < 9_223_372_036_854_775_808.0 {
            ms as i64
        } else {
            i64::MIN
        });
    }
    let (digits, exp) = decimal_digits(body)?;
    if digits.is_empty() {
        return Some(0);
    }
    // Scientific exponent: the value is d.ddd x 10^sci.
    let sci = digits.len() as i64 - 1 + exp;
    // Beyond long double's range strtold fails with ERANGE, as it does when the value rounds
    // to zero below the smallest subnormal (Redis rejects both).
    if sci > 4932 || (sci == 4932 && cmp_digits(&digits, b"118973149535723176502").is_gt()) {
        return None;
    }
    if sci < -4951 || (sci == -4951 && cmp_digits(&digits, b"18225997659412373013").is_le()) {
        return None;
    }
    // Milliseconds at or past 2^63 do not fit a long long.
    if sci + 3 > 18 || (sci + 3 == 18 && cmp_digits(&digits, b"9223372036854775808").is_ge()) {
        return Some(i64::MIN);
    }
    let exp3 = exp + 3;
    if exp3 >= 0 {
        // A whole number of milliseconds; where long double lands around it decides ceill.
        let d: u128 = std::str::from_utf8(&digits).ok()?.parse().ok()?;
        let n = i64::try_from(d * 10u128.pow(exp3 as u32)).ok()?;
        let side = if exp >= 0 {
            // A whole number of seconds below 2^63 / 1000: exact in long double, and so is
            // its product by 1000.
            std::cmp::Ordering::Equal
        } else {
            long_double_product_vs_exact(d, (-exp) as u32, n)
        };
        let ms = match side {
            std::cmp::Ordering::Equal => n,
            std::cmp::Ordering::Greater => {
                if neg {
                    n
                } else {
                    n + 1
                }
            }
            std::cmp::Ordering::Less => {
                if neg {
                    n - 1
                } else {
                    n
                }
            }
        };
        return Some(if neg { -ms } else { ms });
    }
    // Some fraction of a millisecond is left over: ceil goes up for a positive value and
    // towards zero for a negative one.
    let drop = (-exp3) as usize;
    let whole: i64 = if drop >= digits.len() {
        0
    } else {
        std::str::from_utf8(&digits[..digits.len() - drop])
            .ok()?
            .parse()
            .ok()?
    };
    Some(if neg {
        -whole
    } else {
        whole.checked_add(1).unwrap_or(i64::MIN)
    })
}

/// The significant digits of a decimal (no leading or trailing zeros) and the power of ten
/// they are multiplied by. `None` for text that is not a plain decimal.
fn decimal_digits(body: &str) -> Option<(Vec<u8>, i64)> {
    let (mantissa, exp_text) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let mut exp: i64 = match exp_text {
        Some(t) => {
            let (eneg, edigits) = match t.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, t.strip_prefix('+').unwrap_or(t)),
            };
            if edigits.is_empty() || !edigits.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            // Saturate: anything this large is far outside long double's range anyway.
            let mut e: i64 = 0;
            for c in edigits.bytes() {
                e = (e * 10 + (c - b'0') as i64).min(1 << 40);
            }
            if eneg {
                -e
            } else {
                e
            }
        }
        None => 0,
    };
    let (int_part, frac_part) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, ""),
    };
    if !int_part
        .bytes()
        .chain(frac_part.bytes())
        .all(|c| c.is_ascii_digit())
    {
        return None;
    }
    exp -= frac_part.len() as i64;
    let mut digits: Vec<u8> = int_part.bytes().chain(frac_part.bytes()).collect();
    let lead = digits.iter().take_while(|&&c| c == b'0').count();
    digits.drain(..lead);
    while digits.last() == Some(&b'0') {
        digits.pop();
        exp += 1;
    }
    Some((digits, exp))
}

/// Compares two digit strings as the fractions 0.a and 0.b.
fn cmp_digits(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    let n = a.len().max(b.len());
    let pad = |s: &[u8], i: usize| s.get(i).copied().unwrap_or(b'0');
    (0..n)
        .map(|i| pad(a, i).cmp(&pad(b, i)))
        .find(|o| o.is_ne())
        .unwrap_or(std::cmp::Ordering::Equal)
}

/// For x = d / 10^k (k <= 3) with x * 1000 = n exactly: whether long double's
/// `strtold(x) * 1000.0L` comes out above, at or below n. Both steps round to a 64-bit
/// significand, half to even, as the x87 unit does.
fn long_double_product_vs_exact(d: u128, k: u32, n: i64) -> std::cmp::Ordering {
    let pow = 10u128.pow(k);
    // strtold(x): m * 2^-s with 2^63 <= m < 2^64. x < 2^63 / 1000, so s > 0.
    let mut s: u32 = 74u32.saturating_sub(128 - d.leading_zeros());
    loop {
        let q = (d << s) / pow;
        if q >= 1 << 64 {
            s -= 1;
        } else if q < 1 << 63 {
            s += 1;
        } else {
            break;
        }
    }
    let mut m = (d << s) / pow;
    let rem = (d << s) % pow;
    if 2 * rem > pow || (2 * rem == pow && m & 1 == 1) {
        m += 1;
    }
    if m == 1 << 64 {
        m = 1 << 63;
        s -= 1;
    }
    // m * 1000, rounded to 64 significant bits: r * 2^(sh - s).
    let p = m * 1000;
    let bits = 128 - p.leading_zeros();
    let sh = bits.saturating_sub(64);
    let mut r = p >> sh;
    let rem = p & ((1u128 << sh) - 1);
    let half = if sh > 0 { 1u128 << (sh - 1) } else { 0 };
    if sh > 0 && (rem > half || (rem == half && r & 1 == 1)) {
        r += 1;
    }
    r.cmp(&((n as u128) << (s - sh)))
}
