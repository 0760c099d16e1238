//! The fixed-window view: each counter's windows on a time axis, each request a tick (✓ allowed,
//! ✗ refused), the counter's value and TTL now.

use yew::prelude::*;

use super::axis::{now_line, pct, ruler, span};
use crate::model::views::calls::show_ms;
use crate::model::views::fixed_window::{FixedWindow, Ttl};

#[derive(Properties, PartialEq)]
pub struct Props {
    pub view: FixedWindow,
}

#[component(FixedWindowView)]
pub fn fixed_window_view(props: &Props) -> Html {
    let v = &props.view;
    let end = (v.counters.iter().flat_map(|c| &c.windows))
        .map(|w| w.end.unwrap_or(v.now))
        .chain([v.now])
        .max()
        .unwrap_or(0);
    let span = span(end + 200);
    let limit = match v.limit {
        Some(l) => format!("limit {l} per window"),
        None => "limit not stated yet".to_string(),
    };
    let lanes = v.counters.iter().map(|c| {
        let state = match c.ttl {
            Ttl::Gone => html! { <span class="pv-dim">{"key gone (expired)"}</span> },
            Ttl::None => {
                html! { <span class="pv-warn">{"⚠ no TTL: this window never ends"}</span> }
            }
            Ttl::Left(ms) => html! { <span>{format!("TTL {}", show_ms(ms))}</span> },
        };
        let value = c.value.map_or("—".to_string(), |n| n.to_string());
        let windows = c.windows.iter().map(|w| {
            let right = w.end.unwrap_or(span);
            let style = format!(
                "left:{:.2}%;width:{:.2}%",
                pct(w.start, span),
                (pct(right, span) - pct(w.start, span)).max(1.5)
            );
            let label = match w.end {
                Some(e) => format!("window {}–{}", show_ms(w.start), show_ms(e)),
                None => format!("window from {}, no end ∞", show_ms(w.start)),
            };
            let ticks = w.requests.iter().map(|r| {
                let (class, mark, word) = match r.allowed {
                    Some(true) => ("ok", "✓", "allowed"),
                    Some(false) => ("no", "✗", "refused"),
                    None => ("", "•", "counted"),
                };
                let title = format!(
                    "{} at {}: count {} via {}, {word}",
                    r.client,
                    show_ms(r.at),
                    r.count,
                    r.how
                );
                html! {
                    <li class={classes!("pv-req", class)} title={title.clone()} aria-label={title}>
                        <b>{mark}{r.count}</b><small>{&r.client}</small>
                    </li>
                }
            });
            html! {
                <div class={classes!("fw-window", w.end.is_none().then_some("open"))} style={style}>
                    <span class="fw-label">{label}</span>
                    <ol class="fw-reqs">{for ticks}</ol>
                </div>
            }
        });
        html! {
            <div class="pv-lane">
                <div class="pv-lane-head">
                    <strong>{&c.key}</strong>
                    <span>{format!("value {value}")}</span>
                    {state}
                </div>
                <div class="pv-track fw-track">
                    {for windows}
                    {now_line(v.now, span)}
                </div>
            </div>
        }
    });
    html! {
        <section class="pattern-view region fixed-window" aria-label="Fixed window view">
            <header>
                <h2>{"Fixed window"}</h2>
                <span class="pv-dim">{format!("{limit} · now {}", show_ms(v.now))}</span>
            </header>
            <p class="pv-legend">{"Each box is one window: from the request that created the counter to the key's expiry. ✓n allowed, ✗n refused (n = the count INCR answered), with the client that sent it. A dashed box with ∞ has no TTL."}</p>
            if v.counters.is_empty() {
                <p class="pv-dim">{"No requests counted yet."}</p>
            }
            <div class="pv-lanes">{for lanes}</div>
            {ruler(span, v.now)}
        </section>
    }
}

super::axis::lesson_panel!(FixedWindowPanel, FixedWindowView, |p, now, _| {
    crate::model::views::fixed_window::derive(p, now)
});
