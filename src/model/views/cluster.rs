//! The cluster view beside a cluster lesson (`view: cluster`): the pictures of the playground's
//! cluster mode (slots, nodes, redirects, replication, the cluster's events), their data derived
//! afresh from the lesson's player at its current position with `crate::model::cluster_views`.
//! The player restores a snapshot when the learner steps back, and so does everything here:
//! nothing is kept between two derivations.
//!
//! Times are counted from the lesson's start, as the lesson's event log counts them. The load
//! per node counts the commands run at the current position (the step's and the learner's own
//! there), which is what a step's narration talks about, rather than a window of time: a lesson
//! sends hundreds of commands within the same millisecond.

use std::borrow::Cow;

use cachelab_engine::cluster::ClusterEvent;
use cachelab_scenario::run::START_MS;
use cachelab_scenario::Player;

use crate::model::cluster_views::{
    addrs, hot_view, node_stats, repl_view, slot_strip, ClusterRecords, CommandRecord, HotView,
    LogLine, NodeStat, RedirectRecord, ReplView, SlotStrip,
};

/// Lines of the cluster's event log the view shows (the newest).
pub const LOG_SHOWN: usize = 80;

#[derive(Clone, Debug, PartialEq)]
pub struct ClusterLessonView {
    /// `host:port` of every node.
    pub addrs: Vec<String>,
    pub strip: SlotStrip,
    pub stats: Vec<NodeStat>,
    /// The load per node over the commands run at the current position.
    pub hot: HotView,
    /// The latest redirects, oldest first.
    pub redirects: Vec<RedirectRecord>,
    pub repl: ReplView,
    /// The latest lines of the cluster's event log, newest first.
    pub log: Vec<LogLine>,
    /// The lesson's clock, from its start.
    pub now: i64,
}

/// An event with the times it carries counted from the lesson's start.
fn since_start(ev: &ClusterEvent) -> Cow<'_, ClusterEvent> {
    match ev {
        ClusterEvent::ElectionScheduled {
            replica,
            master,
            at,
        } => Cow::Owned(ClusterEvent::ElectionScheduled {
            replica: *replica,
            master: *master,
            at: at - START_MS,
        }),
        _ => Cow::Borrowed(ev),
    }
}

/// The view's data for a lesson with a cluster; None for one without.
pub fn cluster_view(player: &Player) -> Option<ClusterLessonView> {
    let c = player.cluster()?;
    let addrs = addrs(c);
    let events: Vec<(i64, Cow<'_, ClusterEvent>)> = player
        .cluster_timed_events()
        .into_iter()
        .map(|(at, ev)| (at - START_MS, since_start(ev)))
        .collect();
    let commands = player.cluster_served_here().iter().map(|s| {
        let argv: Vec<&[u8]> = s.argv.iter().map(Vec::as_slice).collect();
        CommandRecord::new(s.at - START_MS, s.node, &argv)
    });
    let records = ClusterRecords::from_history(
        events.iter().map(|(at, ev)| (*at, ev.as_ref())),
        commands,
        &addrs,
    );
    let now = player.now() - START_MS;
    // Every command given is the current position's: the window takes them all.
    let hot = hot_view(&records, c.len(), now, now.saturating_add(1));
    let mut repl = repl_view(c);
    for s in &mut repl.streams {
        for w in &mut s.in_flight {
            w.at -= START_MS;
            w.due -= START_MS;
        }
    }
    for w in &mut repl.lost {
        w.at -= START_MS;
    }
    Some(ClusterLessonView {
        strip: slot_strip(c),
        stats: node_stats(c),
        hot,
        redirects: records.redirects.iter().cloned().collect(),
        repl,
        log: records.log.iter().rev().take(LOG_SHOWN).cloned().collect(),
        now,
        addrs,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::model::cluster_views::RedirectKind;
    use crate::model::lesson::Lesson;

    fn open(id: &str) -> Lesson {
        Lesson::open(id, BTreeSet::new()).expect("shipped lesson")
    }

    fn view(l: &Lesson) -> ClusterLessonView {
        cluster_view(&l.player).expect("a cluster lesson")
    }

    /// The position of the step with this title.
    fn step(l: &Lesson, title: &str) -> usize {
        l.outline()
            .iter()
            .find(|o| o.title == title)
            .map(|o| o.position)
            .expect("step")
    }

    #[test]
    fn a_lesson_without_a_cluster_has_no_cluster_view() {
        let id = crate::model::lesson::shipped()
            .into_iter()
            .find(|s| s.cluster.is_none())
            .map(|s| s.id)
            .expect("a lesson without a cluster");
        assert!(cluster_view(&open(&id).player).is_none());
    }

    #[test]
    fn the_hashtags_lesson_shows_its_redirects_and_forgets_them_stepping_back() {
        let mut l = open("cluster-hashtags");
        let v = view(&l);
        assert_eq!(v.addrs.len(), 3);
        assert_eq!(v.strip.ranges.len(), 3);
        assert!(v.redirects.is_empty());
        l.jump(step(&l, "Following MOVED"));
        let v = view(&l);
        let seen: Vec<(usize, usize, u16, RedirectKind, &str)> = v
            .redirects
            .iter()
            .map(|r| (r.from, r.to, r.slot, r.kind, r.command.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                (0, 1, 7883, RedirectKind::Moved, "SET"),
                (1, 0, 1649, RedirectKind::Moved, "GET"),
            ]
        );
        assert!(v.log.iter().any(|line| line.text.contains("refused SET")));
        // Node 1 holds user:1000, node 2 cart:1000.
        assert_eq!(v.stats[0].keys, 1);
        assert_eq!(v.stats[1].keys, 1);
        l.prev();
        let v = view(&l);
        assert!(v.redirects.is_empty());
        assert!(v.stats.iter().all(|s| s.keys == 0));
    }

    #[test]
    fn the_failover_lesson_lists_the_lost_write_only_after_the_failover() {
        let mut l = open("cluster-failover");
        let lost_at = step(&l, "Acknowledged, then lost");
        l.jump(lost_at - 1);
        let v = view(&l);
        assert!(v.repl.lost.is_empty());
        assert_eq!(v.repl.streams.len(), 3, "three masters with a replica each");
        l.jump(lost_at);
        let v = view(&l);
        let lost: Vec<&str> = v.repl.lost.iter().map(|w| w.command.as_str()).collect();
        assert_eq!(lost, ["SET order:2 paid"]);
        assert!(v.repl.lost[0].at >= 0 && v.repl.lost[0].at <= v.now);
        // Node 4 took node 1's slots.
        assert_eq!(v.stats[3].master, None);
        assert_eq!(v.stats[0].master, Some(3));
        assert!(v.log.iter().any(|line| line.text.contains("lost")));
        l.prev();
        let v = view(&l);
        assert!(v.repl.lost.is_empty());
        assert_eq!(v.stats[0].master, None);
        assert!(!v.log.iter().any(|line| line.text.contains("lost")));
    }

    #[test]
    fn the_hotkey_lesson_marks_the_node_taking_the_steps_load() {
        let mut l = open("cluster-hotkey");
        l.jump(step(&l, "One key, one node"));
        let v = view(&l);
        assert_eq!(v.hot.hot, Some(2), "node 3 owns counter:views");
        let hottest = v.hot.loads[2].hottest.clone();
        assert_eq!(hottest, Some((b"counter:views".to_vec(), 300)));
        assert_eq!(v.hot.loads[0].commands + v.hot.loads[1].commands, 1);
        l.jump(step(&l, "A hash tag everyone shares"));
        assert_eq!(view(&l).hot.hot, Some(0), "node 1 owns {{shop}}");
        l.jump(step(&l, "Split the counter"));
        let v = view(&l);
        assert_eq!(v.hot.hot, None, "the parts spread the load");
        assert!(v.hot.loads.iter().all(|n| n.commands >= 100));
        l.jump(step(&l, "One key, one node"));
        assert_eq!(view(&l).hot.hot, Some(2));
    }

    #[test]
    fn the_resharding_lesson_shows_the_slot_moving_and_the_ask() {
        let mut l = open("cluster-resharding");
        l.jump(step(
            &l,
            "Importing on the new node, migrating on the old one",
        ));
        let v = view(&l);
        assert_eq!(v.strip.moves.len(), 1);
        assert_eq!(
            (
                v.strip.moves[0].slot,
                v.strip.moves[0].from,
                v.strip.moves[0].to
            ),
            (1649, Some(0), Some(1))
        );
        l.jump(step(&l, "ASK: \"try over there, just this once\""));
        let v = view(&l);
        assert!(v
            .redirects
            .iter()
            .any(|r| r.kind == RedirectKind::Ask && r.slot == 1649));
        l.jump(l.player.len());
        let v = view(&l);
        assert!(v.strip.moves.is_empty());
        assert_eq!(v.strip.ranges[0].1, "0-5460");
        l.jump(0);
        let v = view(&l);
        assert!(v.strip.moves.is_empty());
        assert!(v.redirects.is_empty());
    }
}
