//! The advisor's card over the consoles: the newest note on an anti-pattern in what was typed,
//! why it hurts and the better way (`model::advisor::panel`), with a button to put it away and
//! a switch to turn the advisor off, remembered in this browser.

use yew::prelude::*;

use crate::app::AppContext;
use crate::model::advisor::panel;
use crate::web;

#[component(AdvisorCard)]
pub fn advisor_card() -> Html {
    let ctx = use_context::<AppContext>().expect("AppContext");
    let enabled = use_state(|| web::load(web::ADVISOR_KEY).as_deref() != Some("off"));
    // The `seq` of the note the learner put away; a newer note shows again.
    let dismissed = use_state(|| None::<u64>);

    let toggle = {
        let enabled = enabled.clone();
        Callback::from(move |_| {
            let on = !*enabled;
            web::save(web::ADVISOR_KEY, if on { "on" } else { "off" });
            enabled.set(on);
        })
    };
    if !*enabled {
        return html! {
            <aside class="advisor off" aria-label="Advisor">
                <header>
                    <button type="button" onclick={toggle} aria-pressed="false"
                        title="Point out Redis anti-patterns in what you type">
                        {"Advisor: off"}
                    </button>
                </header>
            </aside>
        };
    }

    let m = ctx.model.0.borrow();
    let view = panel(m.view_advisor(), *dismissed);
    let Some(note) = view.current else {
        return html! {};
    };
    let dismiss = {
        let dismissed = dismissed.clone();
        let seq = note.seq;
        Callback::from(move |_| dismissed.set(Some(seq)))
    };
    html! {
        <aside class="advisor" aria-label="Advisor">
            <header>
                <h2>{"Advisor"}</h2>
                <span class="kind">{note.kind.name()}</span>
                <button type="button" onclick={toggle} aria-pressed="true"
                    title="Stop pointing out anti-patterns">{"Turn off"}</button>
                <button type="button" onclick={dismiss} aria-label="Dismiss advice">{"✕"}</button>
            </header>
            <div class="note" aria-live="polite">
                <p class="title">{&note.title}</p>
                <p>{&note.detail}</p>
                <p class="better"><b>{"Better: "}</b>{&note.better}</p>
            </div>
            if !view.earlier.is_empty() {
                <details>
                    <summary>{format!("{} earlier", view.earlier.len())}</summary>
                    <ul>
                        { for view.earlier.iter().take(10).map(|a| html! { <li>{&a.title}</li> }) }
                    </ul>
                </details>
            }
        </aside>
    }
}
