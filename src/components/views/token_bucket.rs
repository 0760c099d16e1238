//! The token-bucket view: per bucket, a vessel filled to the level now, and the level over time
//! as a line (down at each request, up along the refill), each request marked ✓ or ✗.

use yew::prelude::*;

use super::axis::{pct, ruler, span, stack_rows};
use crate::model::views::calls::{show_ms, show_score};
use crate::model::views::token_bucket::TokenBucket;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub view: TokenBucket,
}

#[component(TokenBucketView)]
pub fn token_bucket_view(props: &Props) -> Html {
    let v = &props.view;
    let span = span(v.now + 200);
    let buckets = v.buckets.iter().map(|b| {
        let cap = b.capacity.max(1e-9);
        let y = |tokens: f64| 100.0 - tokens / cap * 100.0;
        let points: Vec<String> = (b.curve.iter())
            .map(|&(t, l)| format!("{:.2},{:.2}", pct(t, span), y(l)))
            .collect();
        let times: Vec<i64> = b.requests.iter().map(|r| r.at).collect();
        let rows = stack_rows(&times, span, 3.0);
        let depth = rows.iter().max().map_or(1, |m| m + 1);
        let log = b.requests.iter().rev().take(6).map(|r| {
            html! {
                <li>{format!(
                    "{} {} {} · {} → {}",
                    show_ms(r.at),
                    r.client,
                    if r.allowed { "✓ allowed" } else { "✗ refused" },
                    show_score(r.before),
                    show_score(r.after)
                )}</li>
            }
        });
        let marks = b.requests.iter().zip(rows).map(|(r, row)| {
            let (class, mark) = if r.allowed { ("ok", "✓") } else { ("no", "✗") };
            let title = format!(
                "{} at {}: found {}, {} — {} left",
                r.client,
                show_ms(r.at),
                show_score(r.before),
                if r.allowed { "allowed" } else { "refused" },
                show_score(r.after)
            );
            html! {
                <span class={classes!("tb-req", "pv-req", class)} style={format!("left:{:.2}%;top:{}px", pct(r.at, span), row * 14)}
                    title={title.clone()} aria-label={title}><b>{mark}</b></span>
            }
        });
        let fill = (b.level / cap * 100.0).clamp(0.0, 100.0);
        let level = show_score((b.level * 100.0).round() / 100.0);
        let state = if b.gone {
            "key expired: a missing bucket is a full one".to_string()
        } else {
            match b.expires {
                Some(e) => format!("key expires at {}", show_ms(e)),
                None => String::new(),
            }
        };
        html! {
            <div class="tb-bucket">
                <div class="pv-lane-head">
                    <strong>{&b.key}</strong>
                    <span>{format!("{level} of {} tokens · refills {} per second", show_score(b.capacity), show_score(b.rate))}</span>
                    <span class="pv-dim">{state}</span>
                </div>
                <div class="tb-body">
                    <div class="tb-vessel" role="meter" aria-valuemin="0" aria-valuemax={b.capacity.to_string()}
                        aria-valuenow={level.clone()} aria-label={format!("{} tokens now", level)}>
                        <div class="tb-fill" style={format!("height:{fill:.1}%")}></div>
                        <span>{level}</span>
                    </div>
                    <div class="tb-column">
                        <div class="tb-chart">
                            <svg viewBox="0 0 100 100" preserveAspectRatio="none" aria-hidden="true">
                                <line x1="0" y1="0" x2="100" y2="0" class="tb-cap" />
                                <polyline points={points.join(" ")} class="tb-line" />
                            </svg>
                            <span class="tb-cap-label">{format!("capacity {}", show_score(b.capacity))}</span>
                        </div>
                        <div class="tb-reqs" style={format!("height:{}px", depth * 14 + 2)}>{for marks}</div>
                        {ruler(span, v.now)}
                    </div>
                </div>
                <ol class="tb-log" aria-label={format!("{}: latest requests", b.key)}>{for log}</ol>
            </div>
        }
    });
    html! {
        <section class="pattern-view region token-bucket" aria-label="Token bucket view">
            <header>
                <h2>{"Token bucket"}</h2>
                <span class="pv-dim">{format!("now {}", show_ms(v.now))}</span>
            </header>
            <p class="pv-legend">{"The vessel is the level now. The line is the level over time: it drops by one token at each allowed request (✓), stays put at a refused one (✗), and climbs at the refill rate up to the capacity (top line) — computed by the script on the next request, not stored."}</p>
            if v.buckets.is_empty() {
                <p class="pv-dim">{"No bucket used yet."}</p>
            }
            {for buckets}
        </section>
    }
}

super::axis::lesson_panel!(TokenBucketPanel, TokenBucketView, |p, now, _| {
    crate::model::views::token_bucket::derive(p, now)
});
