//! The session view: each session hash with its fields and a TTL bar that refills at every
//! refresh and empties as the user idles; expired sessions crossed out with how long their user
//! had been idle.

use yew::prelude::*;

use crate::model::views::calls::show_ms;
use crate::model::views::session::SessionView;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub view: SessionView,
}

#[component(SessionsView)]
pub fn sessions_view(props: &Props) -> Html {
    let v = &props.view;
    let cards = v.sessions.iter().map(|s| {
        let fields = s.fields.iter().map(|(f, val)| html! { <><dt>{f}</dt><dd>{val}</dd></> });
        let (fill, status) = match (s.expired, s.left(v.now), s.ttl) {
            (Some(e), _, _) => (
                0.0,
                format!(
                    "✕ expired at {} after {} idle{}",
                    show_ms(e.at),
                    show_ms(e.idle),
                    if e.by_event { " (the engine reported it)" } else { "" }
                ),
            ),
            (None, Some(left), Some(ttl)) if ttl > 0 => (
                left as f64 / ttl as f64 * 100.0,
                format!("TTL {} of {}", show_ms(left), show_ms(ttl)),
            ),
            _ => (100.0, "no expiry".to_string()),
        };
        let activity = s.activity.iter().map(|a| {
            let sign = if a.refreshed { "↻" } else { "·" };
            html! { <li title={format!("{} sent {} at {}", a.client, a.command, show_ms(a.at))}>{format!("{sign} {} {} {}", show_ms(a.at), a.client, a.command)}</li> }
        });
        html! {
            <div class={classes!("ss-card", s.expired.is_some().then_some("expired"))}>
                <div class="pv-lane-head"><strong>{&s.key}</strong><span>{status.clone()}</span></div>
                <div class="ss-ttl" role="meter" aria-valuemin="0" aria-valuemax="100" aria-valuenow={format!("{fill:.0}")}
                    aria-label={format!("{}: {status}", s.key)}>
                    <div class="ss-ttl-fill" style={format!("width:{fill:.1}%")}></div>
                </div>
                <dl class="ss-fields">{for fields}</dl>
                <ol class="ss-activity">{for activity}</ol>
            </div>
        }
    });
    html! {
        <section class="pattern-view region session-view" aria-label="Session view">
            <header>
                <h2>{"Sessions"}</h2>
                <span class="pv-dim">{format!("now {}", show_ms(v.now))}</span>
            </header>
            <p class="pv-legend">{"Each card is a session hash. The bar is its time to live: full at each refresh (↻ EXPIRE/PEXPIRE), shrinking while the user is idle; an expired session is crossed out (✕)."}</p>
            if v.sessions.is_empty() {
                <p class="pv-dim">{"No session yet."}</p>
            }
            <div class="ss-cards">{for cards}</div>
        </section>
    }
}

super::axis::lesson_panel!(SessionPanel, SessionsView, |p, now, _| {
    crate::model::views::session::derive(p, now)
});
