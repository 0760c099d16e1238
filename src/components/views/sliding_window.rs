//! The sliding-window view: per log key, requests on a time axis (✓ allowed, ✗ refused, ? not
//! decided yet), the sorted set's members as dots at their scores (filled while in the set,
//! hollow once removed), and the window's bracket ending now.

use yew::prelude::*;

use super::axis::{now_line, pct, ruler, span, stack_rows};
use crate::model::views::calls::show_ms;
use crate::model::views::sliding_window::{Decision, Leave, SlidingWindow};

#[derive(Properties, PartialEq)]
pub struct Props {
    pub view: SlidingWindow,
}

#[component(SlidingWindowView)]
pub fn sliding_window_view(props: &Props) -> Html {
    let v = &props.view;
    let span = span(v.now + 200);
    let bracket = v.window.map(|w| {
        let from = (v.now - w).max(0);
        let style = format!(
            "left:{:.2}%;width:{:.2}%",
            pct(from, span),
            pct(v.now, span) - pct(from, span)
        );
        html! { <div class="sw-bracket" style={style}><span>{format!("last {}", show_ms(w))}</span></div> }
    });
    let lanes = v.logs.iter().map(|log| {
        let times: Vec<i64> = log.requests.iter().map(|r| r.at).collect();
        let rows = stack_rows(&times, span, 4.0);
        let depth = rows.iter().max().map_or(1, |m| m + 1);
        let requests = log.requests.iter().zip(rows).map(|(r, row)| {
            let (class, mark, word) = match r.decision {
                Decision::Allowed => ("ok", "✓", "allowed"),
                Decision::Refused => ("no", "✗", "refused"),
                Decision::Pending => ("", "?", "being decided"),
            };
            let counted = r.counted.map(|n| format!(", {n} in the window")).unwrap_or_default();
            let via = if r.by_script { " (script)" } else { "" };
            let title = format!("{} at {}{counted}: {word}{via}", r.client, show_ms(r.at));
            html! {
                <span class={classes!("sw-req", "pv-req", class)} style={format!("left:{:.2}%;top:{}px", pct(r.at, span), row * 15)}
                    title={title.clone()} aria-label={title}>
                    <b>{mark}</b><small>{&r.client}</small>
                </span>
            }
        });
        let members = log.members.iter().map(|m| {
            let (class, state) = match m.left {
                None => ("in", "in the set".to_string()),
                Some((t, Leave::Cleaned)) => ("out", format!("removed by the clean-up at {}", show_ms(t))),
                Some((t, Leave::Expired)) => ("out", format!("gone with the key at {}", show_ms(t))),
            };
            let title = format!("{} (score {}): {state}", m.name, show_ms(m.score));
            html! {
                <span class={classes!("sw-member", class)} style={format!("left:{:.2}%", pct(m.score, span))}
                    title={title.clone()} aria-label={title}>{ if m.left.is_none() { "●" } else { "○" } }</span>
            }
        });
        let present = log.present().count();
        let state = match log.expired_at {
            Some(t) => format!("expired at {}", show_ms(t)),
            None => format!("{present} in the set"),
        };
        html! {
            <div class="pv-lane">
                <div class="pv-lane-head">
                    <strong>{&log.key}</strong>
                    <span>{format!("{} allowed · {} refused · {state}", log.count(Decision::Allowed), log.count(Decision::Refused))}</span>
                </div>
                <div class="pv-track sw-track">
                    {bracket.clone()}
                    <div class="sw-row sw-requests" style={format!("height:{}px", depth * 15 + 4)}>{for requests}</div>
                    <div class="sw-row sw-members">{for members}</div>
                    {now_line(v.now, span)}
                </div>
            </div>
        }
    });
    let limit = v.limit.map(|l| format!(" · limit {l}")).unwrap_or_default();
    html! {
        <section class="pattern-view region sliding-window" aria-label="Sliding window view">
            <header>
                <h2>{"Sliding window"}</h2>
                <span class="pv-dim">{format!("now {}{limit}", show_ms(v.now))}</span>
            </header>
            <p class="pv-legend">{"Top row: requests (✓ allowed, ✗ refused, ? deciding) with the client. Bottom row: the sorted set's members at their scores, ● in the set, ○ removed. The bracket is the window: the last second up to now."}</p>
            if v.logs.is_empty() {
                <p class="pv-dim">{"No requests logged yet."}</p>
            }
            <div class="pv-lanes">{for lanes}</div>
            {ruler(span, v.now)}
        </section>
    }
}

super::axis::lesson_panel!(SlidingWindowPanel, SlidingWindowView, |p, now, _| {
    crate::model::views::sliding_window::derive(p, now)
});
