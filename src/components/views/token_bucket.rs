//! The token-bucket view: per bucket, a vessel filled to the level now, and the level over time
//! as a line (down at each request, up along the refill), each request marked ✓ or ✗.

use yew::prelude::*;

use super::axis::{pct, ruler, span};
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
        let marks = b.requests.iter().map(|r| {
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
                <span class={classes!("tb-req", "pv-req", class)} style={format!("left:{:.2}%", pct(r.at, span))}
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
                    <div class="tb-chart">
                        <svg viewBox="0 0 100 100" preserveAspectRatio="none" aria-hidden="true">
                            <line x1="0" y1="0" x2="100" y2="0" class="tb-cap" />
                            <polyline points={points.join(" ")} class="tb-line" />
                        </svg>
                        <span class="tb-cap-label">{format!("capacity {}", show_score(b.capacity))}</span>
                        <div class="tb-reqs">{for marks}</div>
                    </div>
                </div>
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
            <div class="tb-ruler">{ruler(span, v.now)}</div>
        </section>
    }
}

super::axis::lesson_panel!(TokenBucketPanel, TokenBucketView, |p, now, _| {
    crate::model::views::token_bucket::derive(p, now)
});
