//! The Lua view: each script run (EVAL, EVALSHA, FCALL) with its source, found by the SHA-1 of
//! an EVAL or SCRIPT LOAD seen earlier, and each `redis.call` it made (the ScriptCall events:
//! script line, argv, reply) with the keys the call named and the keys it changed.

use cachelab_engine::keyspec::find_keys;
use cachelab_engine::scripting::sha1::sha1_hex;
use cachelab_engine::table::lookup;
use cachelab_engine::{to_cli_text, Event, Reply};

use super::kit::{arg, name, since_start, text};
use super::Played;

#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// The run this call belongs to (index into `runs`).
    pub run: usize,
    pub line: Option<u32>,
    pub command: String,
    pub reply: String,
    pub failed: bool,
    /// Keys the command names.
    pub keys: Vec<String>,
    /// Keys it changed, with how (`set`, `incrby`...).
    pub changed: Vec<(String, &'static str)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    pub at: i64,
    pub client: String,
    /// `EVAL`, `EVALSHA`...
    pub how: String,
    pub sha: String,
    /// The script's source, when it was seen (EVAL or SCRIPT LOAD).
    pub source: Option<String>,
    pub keys: Vec<String>,
    pub args: Vec<String>,
    pub reply: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct LuaView {
    pub runs: Vec<Run>,
    pub calls: Vec<Call>,
}

impl LuaView {
    /// The calls of one run.
    pub fn calls_of(&self, run: usize) -> impl Iterator<Item = (usize, &Call)> {
        self.calls
            .iter()
            .enumerate()
            .filter(move |(_, c)| c.run == run)
    }
}

/// A reply as redis-cli prints it, without the final newline.
fn cli(reply: &Reply) -> String {
    to_cli_text(reply).trim_end_matches('\n').to_string()
}

fn show_reply(frames: &[Reply]) -> String {
    frames.first().map(cli).unwrap_or_default()
}

pub fn derive(played: &[Played]) -> LuaView {
    let mut v = LuaView::default();
    let mut sources: Vec<(String, String)> = Vec::new();
    for p in played {
        let a = p.action;
        // This action's script runs, in order; its ScriptCall events belong to them in turn.
        let first_run = v.runs.len();
        for sent in &a.sent {
            let cmd = name(&sent.argv);
            let sub = arg(&sent.argv, 1).unwrap_or_default().to_ascii_uppercase();
            if cmd == "SCRIPT" && sub == "LOAD" {
                if let Some(src) = arg(&sent.argv, 2) {
                    sources.push((sha1_hex(src.as_bytes()), src));
                }
                continue;
            }
            let (sha, source) = match cmd.as_str() {
                "EVAL" | "EVAL_RO" => {
                    let Some(src) = arg(&sent.argv, 1) else {
                        continue;
                    };
                    let sha = sha1_hex(src.as_bytes());
                    sources.push((sha.clone(), src.clone()));
                    (sha, Some(src))
                }
                "EVALSHA" | "EVALSHA_RO" => {
                    let sha = sub.to_ascii_lowercase();
                    let src = (sources.iter().rev())
                        .find(|(s, _)| *s == sha)
                        .map(|(_, src)| src.clone());
                    (sha, src)
                }
                "FCALL" | "FCALL_RO" => (arg(&sent.argv, 1).unwrap_or_default(), None),
                _ => continue,
            };
            let numkeys: usize = arg(&sent.argv, 2).and_then(|n| n.parse().ok()).unwrap_or(0);
            let rest: Vec<String> = sent.argv.iter().skip(3).map(|x| text(x)).collect();
            let split = numkeys.min(rest.len());
            v.runs.push(Run {
                at: since_start(sent.now),
                client: sent.sender.client.clone(),
                how: cmd,
                sha,
                source,
                keys: rest[..split].to_vec(),
                args: rest[split..].to_vec(),
                reply: show_reply(&sent.frames),
            });
        }
        let mut run = first_run;
        let mut changed: Vec<(String, &'static str)> = Vec::new();
        for (_, e) in &a.events {
            match e {
                Event::Keyspace { key, op, .. } => changed.push((text(key), op)),
                Event::ScriptCall {
                    sha,
                    line,
                    argv,
                    reply,
                } => {
                    // A call of another script than the current run's starts the next run.
                    while run + 1 < v.runs.len() && v.runs[run].sha != *sha {
                        run += 1;
                    }
                    if run >= v.runs.len() {
                        changed.clear();
                        continue;
                    }
                    let args: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
                    let keys = match lookup(&args) {
                        Ok(spec) if !args.is_empty() => find_keys(spec, &args)
                            .into_iter()
                            .filter_map(|k| argv.get(k.pos).map(|a| text(a)))
                            .collect(),
                        _ => Vec::new(),
                    };
                    v.calls.push(Call {
                        run,
                        line: *line,
                        command: (argv.iter().map(|x| text(x))).collect::<Vec<_>>().join(" "),
                        reply: cli(reply),
                        failed: reply.is_error(),
                        keys,
                        changed: std::mem::take(&mut changed),
                    });
                }
                _ => {}
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::views::kit::testing::played_to;
    use crate::model::views::played;

    fn view_after(steps: usize) -> LuaView {
        derive(&played(&played_to("lua", steps)))
    }

    #[test]
    fn a_script_without_calls_is_a_run_with_its_source() {
        let v = view_after(1);
        assert_eq!(v.runs.len(), 1);
        assert_eq!(
            v.runs[0].source.as_deref(),
            Some("return {KEYS[1], ARGV[1], 3}")
        );
        assert_eq!(
            (v.runs[0].keys.as_slice(), v.runs[0].args.as_slice()),
            (&["user:1".to_string()][..], &["hello".to_string()][..])
        );
        assert!(v.calls.is_empty());
    }

    #[test]
    fn each_redis_call_with_its_line_reply_and_keys() {
        let v = view_after(2);
        assert_eq!(v.runs.len(), 3, "two EVALs of step 2 after step 1's");
        let first: Vec<_> = v.calls_of(1).map(|(_, c)| c.command.as_str()).collect();
        assert_eq!(first, ["INCRBY counter 6"]);
        let second: Vec<_> = v.calls_of(2).map(|(_, c)| c.clone()).collect();
        assert_eq!(second.len(), 2);
        assert_eq!(second[0].reply, "(integer) 12");
        assert_eq!(second[1].command, "SET flag over");
        assert_eq!(second[1].keys, ["flag"]);
        assert_eq!(second[1].changed, [("flag".to_string(), "set")]);
        assert_eq!((second[0].line, second[1].line), (Some(1), Some(3)));
    }

    #[test]
    fn evalsha_finds_the_loaded_source_and_a_failed_call_is_marked() {
        let v = view_after(3);
        let by_sha = v
            .runs
            .iter()
            .find(|r| r.how == "EVALSHA")
            .expect("EVALSHA ran");
        assert_eq!(
            by_sha.source.as_deref(),
            Some("return redis.call('GET', KEYS[1])")
        );
        assert_eq!(v.calls.last().map(|c| c.reply.as_str()), Some("\"over\""));
        let v = view_after(4);
        let last = v.calls.last().expect("calls");
        assert!(last.failed);
        assert_eq!(last.command, "INCR half");
        assert!(v
            .runs
            .last()
            .is_some_and(|r| r.reply.starts_with("(error)")));
    }
}
