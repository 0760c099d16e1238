//! The guided lesson: the scenario picker in the top bar, and the lesson panel (narration, step
//! controls, the try step's checks) that takes the narration's place while a lesson is open.

use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use cachelab_scenario::run::START_MS;

use crate::app::AppContext;
use crate::model::events::fmt_time;
use crate::model::lesson::{progress_from_text, shipped, try_steps, LESSON_SPEEDS};
use crate::model::workshop::{lesson_link, progress_id_of_text, too_large, MAX_LESSON_BYTES};
use crate::model::Action;
use crate::web;

/// The passed try steps of a lesson, as saved in this browser under its progress id (a shipped
/// lesson's id; `workshop::progress_id` for an instructor's).
pub fn saved_progress(progress_id: &str) -> Vec<usize> {
    web::load(&web::progress_key(progress_id))
        .map(|t| progress_from_text(&t).into_iter().collect())
        .unwrap_or_default()
}

/// The passed try steps of an instructor's lesson, given its text (none if it does not parse).
pub fn saved_progress_of_text(text: &str) -> Vec<usize> {
    progress_id_of_text(text)
        .map(|id| saved_progress(&id))
        .unwrap_or_default()
}

/// Opens an instructor's lesson from its text (a file or a link), with what this browser
/// remembers of it; a text that does not parse gets the reducer's notice instead.
pub fn open_lesson_text(d: &crate::app::Dispatch, origin: String, text: String) {
    let passed = saved_progress_of_text(&text);
    d.dispatch(Action::OpenLessonText {
        origin,
        text,
        passed,
    });
}

#[component(ScenarioPicker)]
pub fn scenario_picker() -> Html {
    let ctx = use_context::<AppContext>().expect("AppContext");
    let (current, open_passed, from_text) = ctx
        .model
        .0
        .borrow()
        .lesson
        .as_ref()
        .map(|l| {
            let from_text = l.text.as_ref().map(|_| l.title().to_string());
            (l.id.clone(), l.passed.clone(), from_text)
        })
        .unwrap_or_default();
    // An instructor's lesson is not one of the shipped ones, even when its id is.
    let shipped_current = if from_text.is_some() {
        String::new()
    } else {
        current.clone()
    };
    // Parsing the lessons and reading storage is done again only when the open lesson or its
    // progress changes, not at every frame the picker redraws in.
    let lessons = use_memo(
        (shipped_current.clone(), open_passed),
        |(current, open_passed)| {
            shipped()
                .into_iter()
                .map(|s| {
                    let mut saved = saved_progress(&s.id);
                    if s.id == *current {
                        saved.extend(open_passed.iter().copied());
                    }
                    let tries = try_steps(&s);
                    let done = !tries.is_empty() && tries.iter().all(|i| saved.contains(i));
                    (s.id, s.title, done)
                })
                .collect::<Vec<_>>()
        },
    );
    let onchange = {
        let d = ctx.dispatcher();
        Callback::from(move |e: Event| {
            let id = e
                .target_unchecked_into::<web_sys::HtmlSelectElement>()
                .value();
            if id.is_empty() {
                d.dispatch(Action::CloseLesson);
            } else if id == FROM_FILE {
                // The instructor's lesson already open: nothing to change.
            } else {
                let passed = saved_progress(&id);
                d.dispatch(Action::OpenLesson { id, passed });
            }
        })
    };
    let open_file = {
        let d = ctx.dispatcher();
        Callback::from(move |e: Event| {
            let input = e.target_unchecked_into::<web_sys::HtmlInputElement>();
            let Some(file) = input.files().and_then(|f| f.get(0)) else {
                return;
            };
            input.set_value("");
            // Refused before reading: a large file would be read whole into memory first.
            if file.size() > MAX_LESSON_BYTES as f64 {
                d.dispatch(Action::Notify(too_large(file.size() as usize)));
                return;
            }
            let name = file.name();
            let d = d.clone();
            spawn_local(async move {
                match web::read_file(file).await {
                    Ok(text) => open_lesson_text(&d, name, text),
                    Err(e) => d.dispatch(Action::Notify(format!(
                        "Could not open the scenario file {name}: {e}."
                    ))),
                }
            });
        })
    };
    html! {
        <>
        <label class="picker">
            <span class="dim">{"Scenario"}</span>
            <select aria-label="Scenario" {onchange}>
                <option value="" selected={current.is_empty()}>{"Free playground"}</option>
                if let Some(title) = &from_text {
                    <option value={FROM_FILE} selected=true>{format!("{title} (instructor's lesson)")}</option>
                }
                { for lessons.iter().map(|(id, title, done)| html! {
                    <option value={id.clone()} selected={shipped_current == *id}>
                        {if *done { format!("✓ {title}") } else { title.clone() }}
                    </option>
                }) }
            </select>
        </label>
        <label class="button open-file" title="Open a lesson from a .scn file an instructor gave you">
            {"Open scenario file…"}
            <input type="file" accept=".scn,text/plain" aria-label="Open scenario file" onchange={open_file} />
        </label>
        </>
    }
}

/// The picker's value for the open instructor's lesson (not a shipped id: ids have no `:`).
const FROM_FILE: &str = ":file";

/// Markdown-ish narration: paragraphs split by blank lines, `code`, **bold** and *emphasis*.
fn render_text(text: &str) -> Html {
    let paragraphs = text
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| html! { <p>{inline(p)}</p> });
    html! { <>{ for paragraphs }</> }
}

fn inline(text: &str) -> Html {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        // The earliest marker wins; `**` before `*` at the same place.
        let Some((at, marker)) = ["`", "**", "*"]
            .iter()
            .filter_map(|m| rest.find(m).map(|at| (at, *m)))
            .min_by_key(|(at, m)| (*at, std::cmp::Reverse(m.len())))
        else {
            break;
        };
        let after = &rest[at + marker.len()..];
        let Some(end) = after.find(marker) else {
            break;
        };
        out.push(html! { {&rest[..at]} });
        let inner = &after[..end];
        out.push(match marker {
            "`" => html! { <code>{inner}</code> },
            "**" => html! { <b>{inner}</b> },
            _ => html! { <em>{inner}</em> },
        });
        rest = &after[end + marker.len()..];
    }
    out.push(html! { {rest} });
    html! { <>{ for out }</> }
}

#[component(LessonPanel)]
pub fn lesson_panel() -> Html {
    let ctx = use_context::<AppContext>().expect("AppContext");
    let link = use_state(|| None::<String>);
    let m = ctx.model.0.borrow();
    let Some(l) = m.lesson.as_ref() else {
        return html! {};
    };
    let d = ctx.dispatcher();
    let copy_link = {
        let link = link.clone();
        let model = ctx.model.clone();
        // Built on a click, not at every redraw: it deflates the whole text.
        Callback::from(move |_: MouseEvent| {
            if link.is_some() {
                link.set(None);
                return;
            }
            let url = {
                let m = model.0.borrow();
                let Some(l) = m.lesson.as_ref() else { return };
                lesson_link(&web::page_base(), &l.id, l.text.as_deref())
            };
            web::copy_to_clipboard(&url);
            link.set(Some(url));
        })
    };
    let p = &l.player;
    let pos = p.position();
    let len = p.len();
    let step = p.current_step();
    let title = step.map_or_else(|| l.title().to_string(), |s| s.title.clone());
    let prev = {
        let d = d.clone();
        Callback::from(move |_| d.dispatch(Action::LessonPrev))
    };
    let next = {
        let d = d.clone();
        Callback::from(move |_| d.dispatch(Action::LessonNext))
    };
    let on_instance = {
        let d = d.clone();
        Callback::from(move |e: Event| {
            let v = e
                .target_unchecked_into::<web_sys::HtmlSelectElement>()
                .value();
            if let Ok(i) = v.parse() {
                d.dispatch(Action::LessonInstance(i));
            }
        })
    };
    let toggle_play = {
        let d = d.clone();
        let playing = l.playing;
        Callback::from(move |_| d.dispatch(Action::LessonPlay(!playing)))
    };
    let on_speed = {
        let d = d.clone();
        Callback::from(move |e: Event| {
            let v = e
                .target_unchecked_into::<web_sys::HtmlSelectElement>()
                .value();
            if let Ok(speed) = v.parse() {
                d.dispatch(Action::LessonSpeed(speed));
            }
        })
    };
    let outline = l.outline();
    let jump = |position: usize| {
        let d = d.clone();
        Callback::from(move |_| d.dispatch(Action::LessonJump(position)))
    };
    let instances = l.instance_choices();
    let failures: Vec<String> = p
        .current_outcome()
        .map(|o| {
            let mut f = o.step_failures.clone();
            f.extend(o.actions.iter().filter_map(|a| a.failure.clone()));
            if let Some(s) = &o.skipped {
                f.push(format!("skipped: {s}"));
            }
            f
        })
        .unwrap_or_default();
    html! {
        <section class="narration lesson region" aria-label="Lesson">
            <header>
                <h2>{l.title()}</h2>
                if instances.len() > 1 {
                    <select aria-label="Instance" onchange={on_instance}>
                        { for instances.into_iter().map(|(i, label)| html! {
                            <option value={i.to_string()} selected={i == l.instance}>{label}</option>
                        }) }
                    </select>
                }
                <button type="button" class="copy-lesson-link" onclick={copy_link} aria-expanded={link.is_some().to_string()}
                        title="A link that opens this lesson for someone else">{"Copy lesson link"}</button>
            </header>
            if let Some(url) = (*link).clone() {
                <div class="lesson-link">
                    <input type="text" readonly=true aria-label="Lesson link" value={url} onfocus={Callback::from(|e: FocusEvent| {
                        e.target_unchecked_into::<web_sys::HtmlInputElement>().select();
                    })} />
                    <span class="dim">{if l.text.is_some() {
                        "Copied if the browser allowed it. The link carries the whole lesson; learners' progress stays in their own browser."
                    } else {
                        "Copied if the browser allowed it."
                    }}</span>
                </div>
            }
            <nav class="step-controls" aria-label="Step controls">
                <button type="button" onclick={prev} disabled={pos == 0}>{"Previous step"}</button>
                <span class="step-count" role="status">{format!("Step {pos} of {len}")}</span>
                <button type="button" onclick={next} disabled={p.at_end()}>{"Next step"}</button>
                <button type="button" class="lesson-play" onclick={toggle_play} aria-pressed={l.playing.to_string()}
                        title="Move on by itself, one step per reading time (space)">
                    {if l.playing { "⏸ Pause" } else { "▶ Play" }}
                </button>
                <select aria-label="Reading speed" onchange={on_speed}>
                    { for LESSON_SPEEDS.iter().map(|s| html! {
                        <option value={s.to_string()} selected={*s == l.speed}>{format!("{s}×")}</option>
                    }) }
                </select>
                <span class="dim lesson-clock" title="Lesson clock">{format!("t={}", fmt_time(p.now() - START_MS))}</span>
            </nav>
            if l.playing && l.waiting_for_learner() {
                <p class="dim waiting" role="status">{"Playing waits here until every check passes."}</p>
            }
            <details class="outline">
                <summary>{"All steps"}</summary>
                <ol aria-label="Steps">
                    { for outline.iter().map(|e| html! {
                        <li class={classes!(e.current.then_some("current"), e.is_try.then_some("try"))}
                            aria-current={e.current.then_some("step")}>
                            <button type="button" class="link" onclick={jump(e.position)}>
                                {if e.position == 0 { String::new() } else { format!("{}. ", e.position) }}
                                {&e.title}
                            </button>
                            if e.passed {
                                <span class="tick" aria-label="passed">{" ✓"}</span>
                            }
                        </li>
                    }) }
                </ol>
            </details>
            <div class="lesson-text" aria-label="Narration">
                <p class="step-title"><b>{title}</b></p>
                {render_text(p.narration())}
            </div>
            if l.is_try_step() {
                <div class="checks">
                    <p class="dim">{"Your turn: type into a console below until every check passes."}</p>
                    <ul aria-label="Checks">
                        { for l.checks.iter().map(|c| html! {
                            <li class={if c.passed { "pass" } else { "fail" }}>
                                <span aria-label={if c.passed { "passed" } else { "not yet" }}>{if c.passed { "✓ " } else { "✗ " }}</span>
                                <code>{&c.text}</code>
                            </li>
                        }) }
                    </ul>
                </div>
            }
            if !failures.is_empty() {
                <ul class="dim failures">{ for failures.iter().map(|f| html! { <li>{f}</li> }) }</ul>
            }
            if p.at_end() {
                <p class="done">{ if l.complete() { "Lesson complete: every try step passed ✓" } else { "End of the lesson." } }</p>
            }
        </section>
    }
}
