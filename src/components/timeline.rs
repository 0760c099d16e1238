//! The timeline: a slider over every step, with a mark per step coloured and shaped by kind.
//! Dragging it rewinds (or replays) the whole playground to that step.

use gloo_timers::callback::Timeout;
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
    // Dragging fires many input events; a rewind of a large keyspace takes a while, so only the
    // latest position in each short burst is sought.
    let pending = use_mut_ref(|| None::<(usize, Timeout)>);
    let oninput = {
        let d = d.clone();
        Callback::from(move |e: InputEvent| {
            let v = e
                .target_unchecked_into::<web_sys::HtmlInputElement>()
                .value();
            let Ok(k) = v.parse::<usize>() else {
                return;
            };
            let mut slot = pending.borrow_mut();
            if let Some((target, _)) = slot.as_mut() {
                *target = k;
                return;
            }
            let d = d.clone();
            let pending = pending.clone();
            let timeout = Timeout::new(0, move || {
                let target = pending.borrow_mut().take().map(|(t, _)| t);
                if let Some(target) = target {
                    d.dispatch(Action::Seek(target));
                }
            });
            *slot = Some((k, timeout));
        })
    };
    html! {
        <footer class="timeline" aria-label="Steps">
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
    // One path per kind of step in an SVG stretched over the track: a new step changes a few
    // attributes, not the position of every mark.
    let every = len.div_ceil(MAX_MARKS);
    let mut paths: [(&str, String); 4] = [
        ("command", String::new()),
        ("time", String::new()),
        ("client", String::new()),
        ("config", String::new()),
    ];
    for i in (0..len).step_by(every) {
        let kind = m.timeline.steps[i].kind();
        if let Some((_, d)) = paths.iter_mut().find(|(k, _)| *k == kind) {
            d.push_str(&format!("M{} 0v8", i + 1));
        }
    }
    html! {
        <svg class="marks" aria-hidden="true" viewBox={format!("0 0 {len} 8")} preserveAspectRatio="none">
            { for paths.into_iter().filter(|(_, d)| !d.is_empty()).map(|(kind, d)| html! {
                <path class={classes!("mark", kind)} d={d} vector-effect="non-scaling-stroke" />
            }) }
        </svg>
    }
}
