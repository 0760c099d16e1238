//! The persistence view: the writes in order on a timeline, with what made them durable beside
//! them (RDB snapshots, background saves, AOF rewrites and fsyncs), the crashes, and the writes
//! each crash lost, from the `Restarted` report.
//!
//! The engine records no event for an AOF fsync, so fsyncs are derived from the configuration
//! the lesson set (`appendonly`, `appendfsync`) the way the engine applies it: `always` fsyncs
//! every write as it is made, `everysec` at each whole second after a write.

use cachelab_engine::table::{lookup, Flags};
use cachelab_engine::Event;

use super::kit::{is_error, name, since_start, text};
use super::Played;

#[derive(Clone, Debug, PartialEq)]
pub enum Mark {
    /// A write command, and whether a later crash lost it.
    Write {
        command: String,
        /// How the server was persisting when it was made: `rdb`, `aof everysec`...
        mode: String,
        lost: bool,
    },
    /// An RDB file written (by SAVE, or a background save finishing).
    Snapshot {
        keys: usize,
        background: bool,
    },
    /// A background save forked; it finishes at `done_at` (ms since the start).
    BgsaveStarted {
        done_at: i64,
    },
    AofRewritten {
        keys: usize,
    },
    /// The AOF reached the disk (derived from the configuration).
    Fsync,
    Crash {
        loaded_from: String,
        keys_loaded: usize,
        lost: u64,
        summary: String,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// Milliseconds since the start.
    pub at: i64,
    pub mark: Mark,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct PersistenceView {
    pub items: Vec<Item>,
    /// The configuration now: save points, and the AOF's fsync policy when it is on.
    pub save: Option<String>,
    pub aof: Option<String>,
}

impl PersistenceView {
    pub fn writes(&self) -> impl Iterator<Item = (&Item, &str, bool)> {
        self.items.iter().filter_map(|i| match &i.mark {
            Mark::Write { command, lost, .. } => Some((i, command.as_str(), *lost)),
            _ => None,
        })
    }

    pub fn lost(&self) -> usize {
        self.writes().filter(|w| w.2).count()
    }
}

fn is_write(argv: &[Vec<u8>]) -> bool {
    let args: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
    !args.is_empty() && lookup(&args).is_ok_and(|spec| spec.flags.has(Flags::WRITE))
}

pub fn derive(played: &[Played]) -> PersistenceView {
    let mut v = PersistenceView {
        // The engine's default until the lesson sets its own.
        save: Some(cachelab_engine::Config::default().save).filter(|s| !s.is_empty()),
        ..PersistenceView::default()
    };
    let mut fsync = "everysec".to_string();
    let mut aof_on = false;
    // Writes made under everysec and not fsynced yet: the time of the oldest.
    let mut unsynced: Option<i64> = None;
    // Writes not yet lost or made durable, by index into `items`, with their argv and time.
    let mut open: Vec<(usize, i64, Vec<Vec<u8>>)> = Vec::new();
    let fsync_due = |v: &mut PersistenceView, unsynced: &mut Option<i64>, now: i64| {
        if let Some(first) = *unsynced {
            let boundary = (first.div_euclid(1000) + 1) * 1000;
            if now >= boundary {
                v.items.push(Item {
                    at: since_start(boundary),
                    mark: Mark::Fsync,
                });
                *unsynced = None;
            }
        }
    };
    for p in played {
        let a = p.action;
        for sent in &a.sent {
            fsync_due(&mut v, &mut unsynced, sent.now);
            if sent.frames.is_empty() || is_error(&sent.frames) {
                continue;
            }
            let cmd = name(&sent.argv);
            if cmd == "CONFIG" && sent.argv.len() >= 4 {
                for pair in sent.argv[2..].chunks(2) {
                    let [param, value] = pair else { continue };
                    let value = text(value).to_ascii_lowercase();
                    match text(param).to_ascii_lowercase().as_str() {
                        "appendonly" => aof_on = value == "yes",
                        "appendfsync" => fsync = value,
                        "save" => v.save = Some(value).filter(|s| !s.trim().is_empty()),
                        _ => {}
                    }
                }
                continue;
            }
            if !is_write(&sent.argv) {
                continue;
            }
            let mode = if aof_on {
                format!("aof {fsync}")
            } else {
                "rdb".to_string()
            };
            open.push((v.items.len(), sent.now, sent.argv.clone()));
            v.items.push(Item {
                at: since_start(sent.now),
                mark: Mark::Write {
                    command: sent
                        .argv
                        .iter()
                        .map(|a| text(a))
                        .collect::<Vec<_>>()
                        .join(" "),
                    mode,
                    lost: false,
                },
            });
            if aof_on {
                match fsync.as_str() {
                    "always" => v.items.push(Item {
                        at: since_start(sent.now),
                        mark: Mark::Fsync,
                    }),
                    "everysec" => {
                        unsynced.get_or_insert(sent.now);
                    }
                    _ => {}
                }
            }
        }
        fsync_due(&mut v, &mut unsynced, a.now);
        let at = since_start(a.now);
        for (_, e) in &a.events {
            let mark = match e {
                Event::RdbSaved {
                    keys, background, ..
                } => Mark::Snapshot {
                    keys: *keys,
                    background: *background,
                },
                Event::BgsaveStarted { done_at } => Mark::BgsaveStarted {
                    done_at: since_start(*done_at),
                },
                Event::AofRewritten { keys } => Mark::AofRewritten { keys: *keys },
                Event::Restarted(r) => {
                    for lost in &r.lost {
                        let found = open
                            .iter()
                            .position(|(_, t, argv)| *t == lost.at && *argv == lost.argv);
                        if let Some(i) = found {
                            let (item, _, _) = open.remove(i);
                            if let Mark::Write { lost, .. } = &mut v.items[item].mark {
                                *lost = true;
                            }
                        }
                    }
                    // Whatever a crash did not lose was durable: later crashes cannot lose it.
                    open.clear();
                    unsynced = None;
                    Mark::Crash {
                        loaded_from: r.loaded_from.to_string(),
                        keys_loaded: r.keys_loaded,
                        lost: r.lost_count,
                        summary: r.summary.clone(),
                    }
                }
                _ => continue,
            };
            v.items.push(Item { at, mark });
        }
    }
    v.aof = aof_on.then_some(fsync);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::views::kit::testing::played_to;
    use crate::model::views::played;

    fn view_after(steps: usize) -> PersistenceView {
        derive(&played(&played_to("persistence", steps)))
    }

    fn lost(v: &PersistenceView) -> Vec<&str> {
        v.writes().filter(|w| w.2).map(|w| w.1).collect()
    }

    #[test]
    fn a_crash_loses_the_write_after_the_snapshot() {
        let v = view_after(2);
        assert!(v.items.iter().any(|i| matches!(
            i.mark,
            Mark::Snapshot {
                keys: 1,
                background: false
            }
        )));
        assert_eq!(lost(&v), ["SET order:2 paid"]);
        let crash = v
            .items
            .iter()
            .find(|i| matches!(i.mark, Mark::Crash { .. }));
        assert!(matches!(
            crash.map(|c| &c.mark),
            Some(Mark::Crash { loaded_from, lost: 1, .. }) if loaded_from == "rdb"
        ));
        assert_eq!(v.save.as_deref(), Some("60 1000"));
        assert_eq!(v.aof, None);
    }

    #[test]
    fn everysec_loses_the_write_after_the_last_fsync_and_always_none() {
        let v = view_after(3);
        assert_eq!(lost(&v), ["SET order:2 paid"], "order 3 was fsynced");
        assert!(v
            .items
            .iter()
            .any(|i| i.mark == Mark::Fsync && i.at == 1000));
        let v = view_after(4);
        assert_eq!(lost(&v), ["SET order:2 paid", "SET order:5 paid"]);
        assert_eq!(v.aof.as_deref(), Some("always"));
        let modes: Vec<_> = v
            .items
            .iter()
            .filter_map(|i| match &i.mark {
                Mark::Write { mode, .. } => Some(mode.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(
            modes,
            [
                "rdb",
                "rdb",
                "aof everysec",
                "aof everysec",
                "aof everysec",
                "aof always"
            ]
        );
        let crashes = v
            .items
            .iter()
            .filter(|i| matches!(i.mark, Mark::Crash { .. }))
            .count();
        assert_eq!(crashes, 4);
    }
}
