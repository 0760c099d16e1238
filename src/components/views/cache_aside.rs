//! The cache-aside view: the request stream per client (H hit, M miss, S refill, L lock taken,
//! W lock refused), the database reads as bars from miss to refill, the hit ratio over time, and
//! each burst of misses told as a stampede or not.

use yew::prelude::*;

use super::kit::{at, frame, lesson};
use crate::app::AppContext;
use crate::model::views::cache_aside::{derive, Outcome};
use crate::model::views::kit::show_ms;
use crate::model::views::played;

const W: f64 = 600.0;
const LANE: f64 = 34.0;
const LEFT: f64 = 28.0;

#[component(CacheAside)]
pub fn cache_aside() -> Html {
    let ctx = use_context::<AppContext>().expect("AppContext");
    let Some(l) = lesson(&ctx) else {
        return html! {};
    };
    let v = derive(&played(&l.player), &l.player.scenario().clients);
    let span = v.end.max(1000) as f64;
    let x = |t: i64| LEFT + (t as f64 / span) * (W - LEFT - 16.0);
    let lanes = v.clients.len().max(1);
    let height = lanes as f64 * LANE + 18.0;
    let lane_y = |c: &str| {
        let i = v.clients.iter().position(|x| x == c).unwrap_or(0);
        i as f64 * LANE + 14.0
    };
    // Requests sent at the same moment by one client are spread so that none hides another.
    let mut seen: Vec<(String, i64, usize)> = Vec::new();
    let marks = v.requests.iter().map(|r| {
        let n = match seen.iter_mut().find(|(c, t, _)| *c == r.client && *t == r.at) {
            Some(e) => {
                e.2 += 1;
                e.2
            }
            None => {
                seen.push((r.client.clone(), r.at, 0));
                0
            }
        };
        let cx = x(r.at) + n as f64 * 11.0;
        let cy = lane_y(&r.client);
        let shape = match r.outcome {
            Outcome::Hit => html! { <circle class="pv-hit" cx={cx.to_string()} cy={cy.to_string()} r="5" /> },
            Outcome::Miss => html! { <rect class="pv-miss" x={(cx - 5.0).to_string()} y={(cy - 5.0).to_string()} width="10" height="10" /> },
            _ => html! { <circle class="pv-other" cx={cx.to_string()} cy={cy.to_string()} r="3" /> },
        };
        html! {
            <g>
                <title>{format!("{} {}: {} of {}", at(r.at), r.client, r.outcome.describe(), r.key)}</title>
                {shape}
                <text x={cx.to_string()} y={(cy - 8.0).to_string()} class="pv-letter">{r.outcome.letter()}</text>
            </g>
        }
    });
    let reads = v.db_reads.iter().map(|d| {
        let y = lane_y(&d.client) + 8.0;
        html! {
            <g>
                <title>{format!("{} reads the database for {}: {}", d.client, d.key, show_ms(d.to - d.from))}</title>
                <rect class="pv-db" x={x(d.from).to_string()} y={y.to_string()} width={(x(d.to) - x(d.from)).max(2.0).to_string()} height="6" />
            </g>
        }
    });
    let lane_labels = v.clients.iter().map(|c| {
        let y = lane_y(c);
        html! {
            <g>
                <line class="pv-lane" x1={LEFT.to_string()} x2={W.to_string()} y1={y.to_string()} y2={y.to_string()} />
                <text x="2" y={(y + 4.0).to_string()} class="pv-label">{c.clone()}</text>
            </g>
        }
    });
    // The hit ratio after each read, as a line over the same time axis.
    let points: String = v
        .ratio
        .iter()
        .map(|&(t, r)| format!("{:.1},{:.1}", x(t), 4.0 + (1.0 - r) * 52.0))
        .collect::<Vec<_>>()
        .join(" ");
    let bursts = v.bursts.iter().filter(|b| b.misses > 1).map(|b| {
        let text = if b.is_stampede() {
            format!("{}: {} misses of {} at once, {} database reads: a stampede.", at(b.at), b.misses, b.key, b.db_reads)
        } else {
            format!("{}: {} misses of {} at once, {} database read{}: the others waited.", at(b.at), b.misses, b.key, b.db_reads, if b.db_reads == 1 { "" } else { "s" })
        };
        html! { <li class={classes!(b.is_stampede().then_some("pv-stampede"))}>{ if b.is_stampede() { "⚠ " } else { "✓ " } }{text}</li> }
    });
    let ratio = v.hit_ratio().map_or("no reads yet".to_string(), |r| {
        format!("hit ratio {:.0}%", r * 100.0)
    });
    let longest = v.db_reads.iter().map(|d| d.to - d.from).max();
    let body = html! {
        <>
            <p class="pv-facts">
                {format!("{} hits · {} misses · {ratio} · {} database reads", v.hits, v.misses, v.db_reads.len())}
                { longest.map(|ms| format!(" (each about {})", show_ms(ms))).unwrap_or_default() }
            </p>
            <svg class="pv-svg" viewBox={format!("0 0 {W} {height}")} role="img" aria-label="Requests per client over time">
                { for lane_labels }
                { for reads }
                { for marks }
            </svg>
            <figure class="pv-chart">
                <svg viewBox={format!("0 0 {W} 60")} role="img" aria-label={format!("Hit ratio over time, now {ratio}")}>
                    <line class="pv-lane" x1={LEFT.to_string()} x2={W.to_string()} y1="56" y2="56" />
                    <line class="pv-lane" x1={LEFT.to_string()} x2={W.to_string()} y1="4" y2="4" />
                    <text x="2" y="8" class="pv-label">{"100%"}</text>
                    <text x="2" y="58" class="pv-label">{"0%"}</text>
                    <polyline class="pv-ratio" points={points} />
                </svg>
                <figcaption class="dim">{"Hit ratio after each read"}</figcaption>
            </figure>
            if v.bursts.iter().any(|b| b.misses > 1) {
                <ul class="pv-list" aria-label="Bursts of misses">{ for bursts }</ul>
            }
        </>
    };
    frame(
        "Cache-aside view",
        "Cache-aside: hits, misses and the database",
        "One lane per application server, time to the right. ● H hit, ■ M miss, S refill after a database read (the bar under the lane is the wait on the database), L lock taken, W lock refused (waits instead of reading the database). The line below is the share of reads that hit.",
        body,
    )
}
