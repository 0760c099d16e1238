//! The eviction view: memory against maxmemory, each eviction round (the sampled keys and their
//! scores, the 16-slot pool before and after, the victim) beside what an exact LRU would have
//! evicted, the writes refused with OOM, and a tally per policy.

use cachelab_engine::{Event, EvictionRound};

use super::kit::{is_error, name, since_start, text};
use super::Played;

/// Redis's EVPOOL_SIZE: the pool of best candidates kept between rounds.
pub const POOL_SIZE: usize = 16;

#[derive(Clone, Copy, Debug)]
pub struct Round<'a> {
    pub at: i64,
    pub round: &'a EvictionRound,
}

impl Round<'_> {
    pub fn victim(&self) -> Option<String> {
        self.round.victim.as_ref().map(|(_, k)| text(k))
    }

    pub fn true_lru_victim(&self) -> Option<String> {
        self.round.true_lru_victim.as_ref().map(|(_, k)| text(k))
    }

    /// Whether the exact LRU would have evicted the same key (None when it was not computed).
    pub fn agrees(&self) -> Option<bool> {
        let exact = self.round.true_lru_victim.as_ref()?;
        Some(self.round.victim.as_ref() == Some(exact))
    }
}

/// The rounds of one policy, in the order the policies were used.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyTally {
    pub policy: String,
    pub evicted: usize,
    /// Rounds where the exact LRU was computed, and where it picked the same key.
    pub compared: usize,
    pub agreed: usize,
    pub refused: usize,
}

#[derive(Clone, Debug, Default)]
pub struct EvictionView<'a> {
    pub rounds: Vec<Round<'a>>,
    /// The policy set last (CONFIG SET maxmemory-policy), or the last round's.
    pub policy: Option<String>,
    pub tallies: Vec<PolicyTally>,
    /// Writes refused with OOM so far.
    pub refused: usize,
    /// Memory after the latest round, and the limit.
    pub used: Option<(u64, u64)>,
}

impl EvictionView<'_> {
    fn tally(&mut self, policy: &str) -> &mut PolicyTally {
        if self.tallies.last().is_none_or(|t| t.policy != policy) {
            self.tallies.push(PolicyTally {
                policy: policy.to_string(),
                ..PolicyTally::default()
            });
        }
        self.tallies.last_mut().expect("just pushed")
    }
}

pub fn derive<'a>(played: &[Played<'a>]) -> EvictionView<'a> {
    let mut v = EvictionView::default();
    for p in played {
        let a = p.action;
        for sent in &a.sent {
            let cmd = name(&sent.argv);
            let arg = |i: usize| sent.argv.get(i).map(|x| text(x).to_ascii_lowercase());
            if cmd == "CONFIG"
                && arg(1).as_deref() == Some("set")
                && arg(2).as_deref() == Some("maxmemory-policy")
                && !is_error(&sent.frames)
            {
                if let Some(policy) = arg(3) {
                    v.tally(&policy);
                    v.policy = Some(policy);
                }
            }
            if super::kit::first(&sent.frames)
                .and_then(|r| r.error_text())
                .is_some_and(|e| e.starts_with("OOM"))
            {
                v.refused += 1;
                let policy = v.policy.clone().unwrap_or_else(|| "noeviction".into());
                v.tally(&policy).refused += 1;
            }
        }
        for (_, e) in &a.events {
            let Event::Eviction(round) = e else { continue };
            let r = Round {
                at: since_start(a.now),
                round,
            };
            let agrees = r.agrees();
            let t = v.tally(round.policy);
            t.evicted += usize::from(round.victim.is_some());
            if let Some(same) = agrees {
                t.compared += 1;
                t.agreed += usize::from(same);
            }
            v.used = Some((round.used_after, round.maxmemory));
            v.policy.get_or_insert_with(|| round.policy.to_string());
            v.rounds.push(r);
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::views::kit::testing::played_to;
    use crate::model::views::played;

    #[test]
    fn noeviction_refuses_writes_and_evicts_nothing() {
        let p = played_to("eviction", 1);
        let v = derive(&played(&p));
        assert!(v.rounds.is_empty());
        assert!(v.refused > 0 && v.refused < 1000);
        assert_eq!(v.policy.as_deref(), Some("noeviction"));
        assert_eq!(v.tallies.len(), 1);
        assert_eq!(v.tallies[0].refused, v.refused);
    }

    #[test]
    fn allkeys_lru_rounds_show_samples_pool_victim_and_the_exact_lru() {
        let p = played_to("eviction", 2);
        let v = derive(&played(&p));
        assert_eq!(v.policy.as_deref(), Some("allkeys-lru"));
        let last = v.rounds.last().expect("rounds");
        assert_eq!(last.round.policy, "allkeys-lru");
        assert_eq!(last.round.sampled.len(), 5, "maxmemory-samples 5");
        assert!(last.round.pool_before.len() <= POOL_SIZE);
        assert!(last.victim().is_some());
        assert!(
            last.true_lru_victim().is_some(),
            "the lesson turns the exact LRU on"
        );
        let (used, max) = v.used.expect("memory");
        assert_eq!(max, 8 * 1024 * 1024);
        assert!(used <= max);
        // `hot` was read before the flood: neither LRU evicted it.
        assert!(v
            .rounds
            .iter()
            .all(|r| r.victim().as_deref() != Some("hot")));
        let t = v.tallies.last().expect("a tally");
        assert_eq!(t.evicted, v.rounds.len());
        assert_eq!(t.compared, t.evicted);
        assert!(t.agreed <= t.compared);
    }

    #[test]
    fn every_policy_gets_its_own_tally() {
        let p = played_to("eviction", 6);
        let v = derive(&played(&p));
        let names: Vec<_> = v.tallies.iter().map(|t| t.policy.as_str()).collect();
        assert_eq!(
            names,
            [
                "noeviction",
                "allkeys-lru",
                "allkeys-lfu",
                "volatile-lru",
                "volatile-ttl",
                "allkeys-random"
            ]
        );
        let ttl = &v.tallies[4];
        assert!(ttl.evicted > 0);
        assert!(v
            .rounds
            .iter()
            .filter(|r| r.round.policy == "volatile-ttl")
            .all(|r| r.victim().is_some_and(|k| k.starts_with("soon:"))));
        assert!(
            v.tallies[3].refused > 0,
            "volatile-lru runs out of keys with a TTL"
        );
    }
}
