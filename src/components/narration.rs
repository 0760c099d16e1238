//! The narration: what the last step did, in words, from the events it caused.

use yew::prelude::*;

use crate::app::AppContext;
use crate::model::events::fmt_time;
use crate::model::timeline::Step;

#[component(Narration)]
pub fn narration() -> Html {
    let ctx = use_context::<AppContext>().expect("AppContext");
    let m = ctx.model.0.borrow();
    let cursor = m.timeline.cursor;
    let body = if cursor == 0 {
        html! {
            <>
                <p>{"Cachelab runs Redis's own rules in your browser, on a clock that moves only when you move it."}</p>
                <ol class="tips">
                    <li>{"Type "}<code>{"SET greeting hello EX 5"}</code>{" in client A's console."}</li>
                    <li>{"Watch its TTL bar in the keyspace, then press "}<b>{"+10s"}</b>{"."}</li>
                    <li>{"Read in the events how it expired, then drag the timeline back."}</li>
                </ol>
                <p class="dim">{"Keys: space plays or pauses, → steps, ← steps back."}</p>
            </>
        }
    } else {
        let step = &m.timeline.steps[cursor - 1];
        let what = match step {
            Step::Command { pane, line } => format!(
                "Client {} ran {}",
                m.panes.get(*pane).map_or("?", |p| p.name.as_str()),
                line
            ),
            Step::Advance { to } => format!(
                "The clock moved from {} to {}",
                fmt_time(m.timeline.time_at(cursor - 1)),
                fmt_time(*to)
            ),
            Step::AddClient => "A client connected".to_string(),
            Step::Config { name, value } => format!("{name} was set to {value}"),
        };
        let happened: Vec<&str> = m
            .log
            .entries
            .iter()
            .rev()
            .take_while(|e| e.step + 1 >= cursor)
            .filter(|e| e.step + 1 == cursor)
            .map(|e| e.text.as_str())
            .collect();
        html! {
            <>
                <p class="step-title">{format!("Step {cursor} of {}: ", m.timeline.len())}<b>{what}</b></p>
                if happened.is_empty() {
                    <p class="dim">{"Nothing else happened."}</p>
                } else {
                    <ul class="happened">
                        { for happened.iter().rev().take(12).map(|t| html! { <li>{*t}</li> }) }
                    </ul>
                }
            </>
        }
    };
    html! {
        <section class="narration region" aria-label="Narration">
            <header><h2>{"What happened"}</h2></header>
            {body}
        </section>
    }
}
