//! The eviction view: memory against maxmemory, one eviction round at a time (the sampled keys
//! with their scores, the 16-slot pool, the victim, and what an exact LRU would have evicted),
//! a round selector, and a tally per policy.

use yew::prelude::*;

use super::kit::{at, frame, lesson};
use crate::app::AppContext;
use crate::components::fmt_bytes;
use crate::model::views::eviction::{derive, POOL_SIZE};
use crate::model::views::kit::text;
use crate::model::views::played;

fn score_meaning(policy: &str) -> &'static str {
    if policy.ends_with("lru") {
        "score = idle time in ms"
    } else if policy.ends_with("lfu") {
        "score = 255 − access counter"
    } else if policy == "volatile-ttl" {
        "score grows as the deadline nears"
    } else {
        "random policy: no scores"
    }
}

#[component(Eviction)]
pub fn eviction() -> Html {
    let ctx = use_context::<AppContext>().expect("AppContext");
    // The round shown: None follows the latest.
    let chosen = use_state(|| None::<usize>);
    let Some(l) = lesson(&ctx) else {
        return html! {};
    };
    let v = derive(&played(&l.player));
    let n = v.rounds.len();
    let shown = chosen
        .map(|i| i.min(n.saturating_sub(1)))
        .or(n.checked_sub(1));
    let pick = |target: Option<usize>| {
        let chosen = chosen.clone();
        Callback::from(move |_: MouseEvent| chosen.set(target))
    };
    let gauge = match v.used {
        Some((used, max)) if max > 0 => {
            let pct = used as f64 * 100.0 / max as f64;
            html! {
                <div class="pv-mem">
                    <div class="gauge" role="img" aria-label={format!("Memory {} of {}", fmt_bytes(used), fmt_bytes(max))}>
                        <span class="fill" style={format!("width:{:.1}%", pct.min(100.0))}></span>
                        <span class="threshold" style="left:100%"></span>
                    </div>
                    <span>{format!("{} of maxmemory {} ({pct:.0}%)", fmt_bytes(used), fmt_bytes(max))}</span>
                </div>
            }
        }
        _ => {
            html! { <p class="dim">{"No eviction yet: memory has stayed under maxmemory, or the policy never evicts."}</p> }
        }
    };
    let round = shown.and_then(|i| v.rounds.get(i)).map(|r| {
        let rd = r.round;
        let victim = r.victim();
        let max_score = (rd.sampled.iter().chain(&rd.pool_before).map(|c| c.score))
            .filter(|&s| s != u64::MAX)
            .max()
            .unwrap_or(1)
            .max(1);
        let bar = |score: u64| format!("width:{:.1}%", (score.min(max_score) as f64 * 100.0 / max_score as f64).max(2.0));
        let sampled = rd.sampled.iter().map(|c| {
            let k = text(&c.key);
            let out = victim.as_deref() == Some(k.as_str());
            html! {
                <li class={classes!(out.then_some("pv-victim"))}>
                    <span class="pv-key">{ if out { format!("✕ {k}") } else { k.clone() } }</span>
                    <span class="pv-bar"><span style={bar(c.score)}></span></span>
                    <span class="pv-score">{c.score.to_string()}</span>
                </li>
            }
        });
        let sampled_keys: Vec<&[u8]> = rd.sampled.iter().map(|c| c.key.as_slice()).collect();
        // The pool after the round, best candidate last, padded to its 16 slots.
        let slots = (0..POOL_SIZE).map(|i| match rd.pool_after.get(i) {
            Some(c) => {
                let fresh = sampled_keys.contains(&c.key.as_slice());
                html! {
                    <li class={classes!("pv-slot", fresh.then_some("fresh"))} title={format!("score {}", c.score)}>
                        <span class="pv-bar"><span style={bar(c.score)}></span></span>
                        <span class="pv-key">{ format!("{}{}", if fresh { "★ " } else { "" }, text(&c.key)) }</span>
                    </li>
                }
            }
            None => html! { <li class="pv-slot empty"><span class="dim">{"empty"}</span></li> },
        });
        let exact = match (r.true_lru_victim(), r.agrees()) {
            (Some(k), Some(true)) => format!("An exact LRU would have evicted the same key, {k}."),
            (Some(k), _) => format!("An exact LRU would have evicted {k} instead."),
            _ => "No exact-LRU comparison for this round.".to_string(),
        };
        html! {
            <div class="pv-round">
                <p>{format!("Round {} of {n} at {} ({}, {}): memory {} → {}.", shown.unwrap_or(0) + 1, at(r.at), rd.policy, score_meaning(rd.policy), fmt_bytes(rd.used_before), fmt_bytes(rd.used_after))}</p>
                <div class="pv-cols">
                    <div>
                        <h4>{"Sampled this round"}</h4>
                        <ol class="pv-sample" aria-label="Sampled keys">{ for sampled }</ol>
                    </div>
                    <div>
                        <h4>{"Pool after the round (16 slots, best last)"}</h4>
                        <ol class="pv-pool" aria-label="Eviction pool">{ for slots }</ol>
                    </div>
                </div>
                <p class="pv-out">{format!("Evicted: {}. ", victim.unwrap_or_else(|| "nothing".into()))}<strong>{exact}</strong></p>
            </div>
        }
    });
    let tallies = v.tallies.iter().map(|t| {
        let exact = if t.compared > 0 {
            format!("{} of {}", t.agreed, t.compared)
        } else {
            "–".into()
        };
        html! {
            <tr>
                <td>{t.policy.clone()}</td>
                <td>{t.evicted.to_string()}</td>
                <td>{t.refused.to_string()}</td>
                <td>{exact}</td>
            </tr>
        }
    });
    let body = html! {
        <>
            <p class="pv-facts">{format!("Policy: {}. Since the lesson began: {n} eviction round{}, {} write{} refused with OOM.",
                v.policy.clone().unwrap_or_else(|| "noeviction".into()), if n == 1 { "" } else { "s" }, v.refused, if v.refused == 1 { "" } else { "s" })}</p>
            {gauge}
            if n > 0 {
                <div class="pv-controls">
                    <button type="button" onclick={pick(Some(0))} disabled={shown == Some(0)}>{"First round"}</button>
                    <button type="button" onclick={pick(shown.and_then(|i| i.checked_sub(1)))} disabled={shown == Some(0)}>{"◀ Earlier round"}</button>
                    <button type="button" onclick={pick(shown.map(|i| i + 1).filter(|&i| i + 1 < n))} disabled={shown.is_none_or(|i| i + 1 >= n)}>{"Later round ▶"}</button>
                    <button type="button" onclick={pick(None)} disabled={chosen.is_none()}>{"Latest round"}</button>
                </div>
            }
            { round.unwrap_or_default() }
            if !v.tallies.is_empty() {
                <table class="pv-table" aria-label="Policies">
                    <thead><tr><th>{"policy"}</th><th>{"evicted"}</th><th>{"refused (OOM)"}</th><th>{"same as exact LRU"}</th></tr></thead>
                    <tbody>{ for tallies }</tbody>
                </table>
            }
        </>
    };
    frame(
        "Eviction view",
        "Eviction: making room under maxmemory",
        "Each round samples a few keys (maxmemory-samples), scores them under the policy (higher goes sooner), merges them into a 16-slot pool of candidates (★ came from this round's sample) and evicts the best; ✕ marks the victim. The exact LRU is what a perfect least-recently-used list fed the same accesses would have evicted.",
        body,
    )
}
