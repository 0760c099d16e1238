//! The timeline: a slider over every step, with a mark per step coloured and shaped by kind.
//! Dragging it rewinds (or replays) the whole playground to that step.

use yew::prelude::*;

use crate::app::{AppContext, Dispatch, ModelRef};
use crate::model::events::fmt_time;
use crate::model::Action;

/// At most this many marks are drawn; longer histories are sampled evenly.
const MAX_MARKS: usize = 400;

#[component(TimelineBar)]
pub fn timeline_bar() -> Html {
    let ctx = use_context::<AppContext>().expect("AppContext");
    let m = ctx.model.0.borrow();
    let len = m.timeline.len();
    let cursor = m.timeline.cursor;
    let d = ctx.dispatcher();
    let oninput = {
        let d = d.clone();
        Callback::from(move |e: InputEvent| {
            let v = e
                .target_unchecked_into::<web_sys::HtmlInputElement>()
                .value();
            if let Ok(k) = v.parse::<usize>() {
                d.dispatch(Action::Seek(k));
            }
        })
    };
    html! {
        <footer class="timeline" aria-label="Timeline region">
            <label for="timeline-slider" class="dim">{"Timeline"}</label>
            <div class="track">
                <Marks model={ctx.model.clone()} dispatch={d.clone()} len={len} revision={m.timeline.revision} />
                <input id="timeline-slider" type="range" aria-label="Timeline" min="0" max={len.to_string()}
                    value={cursor.to_string()} step="1" {oninput}
                    aria-valuetext={format!("step {cursor} of {len}, t={}", fmt_time(m.now))} />
            </div>
            <span class="pos">{format!("step {cursor}/{len}")}</span>
            if cursor < len {
                <span class="rewound" title="Typing a command now drops the later steps">{"rewound"}</span>
            }
        </footer>
    }
}

#[derive(Properties, PartialEq)]
struct MarksProps {
    model: ModelRef,
    dispatch: Dispatch,
    len: usize,
    revision: u64,
}

#[component(Marks)]
fn marks(props: &MarksProps) -> Html {
    let m = props.model.0.borrow();
    let len = props.len;
    if len == 0 {
        return html! { <div class="marks" aria-hidden="true"></div> };
    }
    let every = len.div_ceil(MAX_MARKS);
    html! {
        <div class="marks" aria-hidden="true">
            { for (0..len).step_by(every).map(|i| {
                let step = &m.timeline.steps[i];
                let left = (i + 1) as f64 * 100.0 / len as f64;
                html! { <span class={classes!("mark", step.kind())} style={format!("left:{left:.3}%")}></span> }
            }) }
        </div>
    }
}
