//! The expiry view: the keys with a TTL as a grid of cells shaded by the time they have left
//! (crossed when past the deadline but not removed yet), the last active expire cycle's sample
//! against the 10% threshold, and the keys removed lazily on access.

use yew::prelude::*;

use super::kit::{at, frame, lesson};
use crate::app::AppContext;
use crate::model::views::expiry::{derive, STALE_THRESHOLD_PERCENT};
use crate::model::views::kit::show_ms;
use crate::model::views::played;

#[component(Expiry)]
pub fn expiry() -> Html {
    let ctx = use_context::<AppContext>().expect("AppContext");
    let Some(l) = lesson(&ctx) else {
        return html! {};
    };
    let v = derive(&played(&l.player));
    let cells = v.cells.iter().map(|c| {
        let title = if c.stale() {
            format!("{} (db {}): expired {} ago, not removed yet", c.key, c.db, show_ms(-c.left_ms))
        } else {
            format!("{} (db {}): {} left of {}", c.key, c.db, show_ms(c.left_ms), show_ms(c.ttl_ms))
        };
        html! { <span class={classes!("pv-cell", format!("s{}", c.shade()), c.stale().then_some("stale"))} title={title}></span> }
    });
    let legend = (1..=4u8).rev().map(|s| {
        let text = match s {
            4 => "more than ¾ of the TTL left",
            3 => "½–¾ left",
            2 => "¼–½ left",
            _ => "under ¼ left",
        };
        html! { <li><span class={classes!("pv-cell", format!("s{s}"))}></span>{text}</li> }
    });
    let cycle = match &v.last_cycle {
        None => html! { <p class="dim">{"No active expire cycle has run yet."}</p> },
        Some(c) => {
            let stale = c.stale_percent();
            let dots = c.sampled.iter().map(|(k, gone)| {
                html! {
                    <li class={classes!("dot", gone.then_some("gone"))} title={k.clone()}>
                        <span class="sr">{format!("{k}{}", if *gone { " expired" } else { " alive" })}</span>
                    </li>
                }
            });
            html! {
                <div class="pv-cycle" key={c.at.to_string()}>
                    <p>{format!(
                        "Last active cycle ({}, {}, db {}): sampled {} key{}, expired {}, {} loop{}; {}.",
                        at(c.at),
                        if c.fast { "fast" } else { "slow" },
                        c.db,
                        c.sampled.len(),
                        if c.sampled.len() == 1 { "" } else { "s" },
                        c.expired,
                        c.loops,
                        if c.loops == 1 { "" } else { "s" },
                        if c.time_limit_hit { "it stopped at its time limit" } else { "it finished within its time limit" },
                    )}</p>
                    <ul class="dots pv-flash" aria-label="Keys the last cycle sampled">{ for dots }</ul>
                    <div class="gauge" role="img" aria-label={format!("{stale:.0}% of the sample was expired; threshold {STALE_THRESHOLD_PERCENT:.0}%")}>
                        <span class="fill" style={format!("width:{:.1}%", stale.min(100.0))}></span>
                        <span class="threshold" style={format!("left:{STALE_THRESHOLD_PERCENT}%")}></span>
                    </div>
                    <p class="dim">{format!(
                        "{stale:.0}% of the sample was expired: {} the {STALE_THRESHOLD_PERCENT:.0}% threshold, so the cycle {}. Estimated stale keys: {:.0}%.",
                        if stale > STALE_THRESHOLD_PERCENT { "above" } else { "at or below" },
                        if stale > STALE_THRESHOLD_PERCENT { "samples again (until its time runs out)" } else { "stops" },
                        c.stale_estimate * 100.0,
                    )}</p>
                </div>
            }
        }
    };
    let lazy = v.lazy.iter().rev().take(5).map(|z| {
        html! { <li>{format!("{}: {} (db {}) removed when a command touched it", at(z.at), z.key, z.db)}</li> }
    });
    let body = html! {
        <>
            <p class="pv-facts">{format!(
                "At {}: {} key{} with a TTL ({} past the deadline, not removed yet), {} without. Removed so far: {} by the active cycle ({} runs), {} lazily.",
                at(v.now), v.with_ttl, if v.with_ttl == 1 { "" } else { "s" }, v.stale, v.persistent, v.active_expired, v.cycles, v.lazy.len(),
            )}</p>
            <div class="pv-grid" role="img" aria-label={format!("{} keys with a TTL, {} of them expired but still present", v.with_ttl, v.stale)}>
                { for cells }
            </div>
            if v.hidden() > 0 {
                <p class="dim">{format!("Only the first {} keys are drawn; {} more are counted above.", v.cells.len(), v.hidden())}</p>
            }
            <ul class="pv-legend">
                { for legend }
                <li><span class="pv-cell stale"></span>{"✕ past its deadline, still in memory"}</li>
            </ul>
            {cycle}
            if !v.lazy.is_empty() {
                <ul class="pv-list" aria-label="Lazy expiries">{ for lazy }</ul>
            }
        </>
    };
    frame(
        "Expiry view",
        "Expiry: lazy and active",
        "Each cell is a key with a time to live, darker with more time left; a crossed cell has passed its deadline but nobody has removed it yet. The dots are the keys the last active cycle sampled (hollow: removed). The bar is the expired share of that sample against the 10% mark.",
        body,
    )
}
