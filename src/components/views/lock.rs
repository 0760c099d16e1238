//! The lock view: per lock key, one lane per client on a time axis; a bar while the client holds
//! the lock, a dashed bar while it only believes it does, and a mark for each acquisition,
//! refusal, expiry and release (the wrong `DEL` and the safe compare-and-delete marked).

use yew::prelude::*;

use super::axis::{now_line, pct, ruler, span};
use crate::model::views::calls::show_ms;
use crate::model::views::lock::{End, LockView, MarkKind};

#[derive(Properties, PartialEq)]
pub struct Props {
    pub view: LockView,
}

fn mark_text(kind: &MarkKind) -> (&'static str, &'static str, String) {
    match kind {
        MarkKind::Acquired => ("ok", "▶", "acquired (SET NX answered OK)".into()),
        MarkKind::Refused => ("no", "✗", "refused (SET NX answered nil)".into()),
        MarkKind::Expired => ("dim", "◌", "lock expired (TTL ran out)".into()),
        MarkKind::Released => ("ok", "■", "released its own lock with DEL".into()),
        MarkKind::WrongRelease { victim } => (
            "no",
            "⚠",
            format!("wrong release: DEL removed {victim}'s lock"),
        ),
        MarkKind::SafeRelease => (
            "ok",
            "✓",
            "released with compare-and-delete (token matched)".into(),
        ),
        MarkKind::SafeRefusal { holder } => (
            "ok",
            "≠",
            match holder {
                Some(h) => format!("compare-and-delete refused: the lock is {h}'s, left alone"),
                None => "compare-and-delete refused: not its token".into(),
            },
        ),
    }
}

#[component(LockLanes)]
pub fn lock_lanes(props: &Props) -> Html {
    let v = &props.view;
    let span = span(v.now + 200);
    let locks = v.locks.iter().map(|lock| {
        let lanes = v.clients.iter().map(|client| {
            let holds = lock.holds.iter().filter(|h| &h.client == client).map(|h| {
                let to = h.to.unwrap_or(v.now);
                let style = format!(
                    "left:{:.2}%;width:{:.2}%",
                    pct(h.from, span),
                    (pct(to, span) - pct(h.from, span)).max(0.8)
                );
                let ended = match &h.end {
                    End::Held => "holds it now".to_string(),
                    End::Expired => format!("expired at {}", show_ms(to)),
                    End::Released => format!("released at {}", show_ms(to)),
                    End::DeletedBy(c) => format!("deleted by {c} at {}", show_ms(to)),
                };
                let label = format!("{client} holds {} from {}: {ended}", h.token, show_ms(h.from));
                let believed = h.believed_until.map(|u| {
                    let style = format!(
                        "left:{:.2}%;width:{:.2}%",
                        pct(to, span),
                        (pct(u, span) - pct(to, span)).max(0.8)
                    );
                    let t = format!("{client} still believes it holds the lock until {}", show_ms(u));
                    html! { <div class="lk-believed" style={style} title={t.clone()} aria-label={t}><span>{"believes it holds"}</span></div> }
                });
                html! {
                    <>
                        <div class={classes!("lk-hold", matches!(h.end, End::Held).then_some("live"))} style={style}
                            title={label.clone()} aria-label={label}><span>{&h.token}</span></div>
                        {believed}
                    </>
                }
            });
            let marks = lock.marks.iter().filter(|m| &m.client == client).map(|m| {
                let (class, sign, text) = mark_text(&m.kind);
                let title = format!("{client} at {}: {text}", show_ms(m.at));
                html! {
                    <span class={classes!("lk-mark", class)} style={format!("left:{:.2}%", pct(m.at, span))}
                        title={title.clone()} aria-label={title}>{sign}</span>
                }
            });
            html! {
                <div class="lk-lane">
                    <span class="lk-client">{client}</span>
                    <div class="pv-track lk-track">{for holds}{for marks}{now_line(v.now, span)}</div>
                </div>
            }
        });
        let holder = match &lock.holder {
            Some(h) => format!("held by {h} now"),
            None => "free now".to_string(),
        };
        html! {
            <div class="pv-lane">
                <div class="pv-lane-head"><strong>{&lock.key}</strong><span>{holder}</span></div>
                {for lanes}
            </div>
        }
    });
    html! {
        <section class="pattern-view region lock-view" aria-label="Lock view">
            <header>
                <h2>{"Lock"}</h2>
                <span class="pv-dim">{format!("now {}", show_ms(v.now))}</span>
            </header>
            <p class="pv-legend">{"One lane per client. Bar: holds the lock (its token inside); dashed: thinks it still holds it after the TTL ran out. ▶ acquired, ✗ refused, ◌ expired, ⚠ DEL of someone else's lock, ✓ compare-and-delete released its own, ≠ compare-and-delete refused: not its token."}</p>
            if v.locks.is_empty() {
                <p class="pv-dim">{"No lock taken yet."}</p>
            }
            <div class="pv-lanes">{for locks}</div>
            <div class="lk-ruler">{ruler(span, v.now)}</div>
        </section>
    }
}

super::axis::lesson_panel!(LockPanel, LockLanes, |p, now, _| {
    crate::model::views::lock::derive(p, now)
});
