//! The clock: virtual time, play/pause, step, jumps, speed, clients and the server's hz.

use yew::prelude::*;

use crate::app::AppContext;
use crate::model::events::fmt_time;
use crate::model::{Action, SPEEDS};

#[component(ClockBar)]
pub fn clock_bar() -> Html {
    let ctx = use_context::<AppContext>().expect("AppContext");
    let m = ctx.model.0.borrow();
    let d = ctx.dispatcher();
    let act = |a: Action| {
        let d = d.clone();
        Callback::from(move |_: MouseEvent| d.dispatch(a.clone()))
    };
    let speed = {
        let d = d.clone();
        Callback::from(move |e: Event| {
            let v = e
                .target_unchecked_into::<web_sys::HtmlSelectElement>()
                .value();
            if let Ok(s) = v.parse::<f64>() {
                d.dispatch(Action::SetSpeed(s));
            }
        })
    };
    let hz = {
        let d = d.clone();
        Callback::from(move |e: Event| {
            let v = e
                .target_unchecked_into::<web_sys::HtmlSelectElement>()
                .value();
            d.dispatch(Action::SetConfig {
                name: "hz".into(),
                value: v,
            });
        })
    };
    let current_hz = m.engine().config().hz;
    let rewound = m.timeline.cursor < m.timeline.len();
    html! {
        <>
        <nav class="clients" aria-label="Clients">
            <span class="label">{"clients"}</span>
            { for m.view_panes().iter().map(|p| html! {
                <span class={classes!("chip", p.waiting.then_some("waiting"))} title={format!("client id {}", p.client)}>{&p.name}</span>
            }) }
            <button type="button" class="chip add" aria-label="Add client" title="Add a client (a console of its own)" onclick={act(Action::AddClient)}>{"+"}</button>
        </nav>
        <div class="clock" role="group" aria-label="Playback">
            <button type="button" aria-label="Step back" title="Step back (←)" onclick={act(Action::StepBack)} disabled={m.timeline.cursor == 0 || m.cluster.is_some()}>{"◂ Back"}</button>
            if m.playing {
                <button type="button" class="primary" aria-label="Pause" title="Pause (space)" onclick={act(Action::SetPlaying(false))}>{"❚❚ Pause"}</button>
            } else {
                <button type="button" class="primary" aria-label="Play" title="Play (space)" onclick={act(Action::SetPlaying(true))}>{"▶ Play"}</button>
            }
            <button type="button" aria-label="Step" title={if rewound { "Step forward on the timeline (→)" } else { "One server tick (→)" }} onclick={act(Action::StepForward)}>{"Step ▸"}</button>
            <select aria-label="Speed" title="Speed of play" onchange={speed}>
                { for SPEEDS.iter().map(|s| html! {
                    <option value={s.to_string()} selected={(*s - m.speed).abs() < 1e-9}>{format!("{s}×")}</option>
                }) }
            </select>
            <button type="button" aria-label="+1s" onclick={act(Action::Advance(1000))}>{"+1s"}</button>
            <button type="button" aria-label="+10s" onclick={act(Action::Advance(10_000))}>{"+10s"}</button>
            <button type="button" aria-label="+1m" onclick={act(Action::Advance(60_000))}>{"+1m"}</button>
            <select aria-label="Server hz" title="How often the server cron (and the active expire cycle) runs per second" onchange={hz}>
                { for [1i64, 10, 50, 100].iter().map(|h| html! {
                    <option value={h.to_string()} selected={*h == current_hz}>{format!("hz {h}")}</option>
                }) }
            </select>
            <output class="time" aria-label="Clock" aria-live="off">{format!("t={}", fmt_time(m.view_now()))}</output>
        </div>
        </>
    }
}
