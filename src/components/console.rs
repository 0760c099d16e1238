//! Consoles: one per client, side by side, reading redis-cli syntax.

use yew::prelude::*;

use crate::app::{AppContext, Dispatch, ModelRef};
use crate::components::cluster::NodePicker;
use crate::model::console::{complete, hint, Hint};
use crate::model::{Action, LineKind};

#[component(Consoles)]
pub fn consoles() -> Html {
    let ctx = use_context::<AppContext>().expect("AppContext");
    let (count, rev) = {
        let m = ctx.model.0.borrow();
        let count = m.view_panes().len();
        (count, m.panes_rev)
    };
    html! {
        <section class="consoles region" aria-label="Consoles">
            { for (0..count).map(|i| html! {
                <ConsolePane key={i} model={ctx.model.clone()} dispatch={ctx.dispatcher()} pane={i} rev={rev} />
            }) }
        </section>
    }
}

#[derive(Properties, PartialEq)]
pub struct PaneProps {
    pub model: ModelRef,
    pub dispatch: Dispatch,
    pub pane: usize,
    /// The model's console revision: the pane redraws only when it changes.
    pub rev: u64,
}

#[component(ConsolePane)]
pub fn console_pane(props: &PaneProps) -> Html {
    let input = use_state(String::new);
    // Position while walking the history with Up/Down; None when editing a fresh line.
    let hist_pos = use_state(|| None::<usize>);
    let output_ref = use_node_ref();
    let pane = props.pane;

    {
        let output_ref = output_ref.clone();
        use_effect_with(props.rev, move |_| {
            if let Some(el) = output_ref.cast::<web_sys::Element>() {
                el.set_scroll_top(el.scroll_height());
            }
        });
    }

    let m = props.model.0.borrow();
    let lesson = m.lesson.is_some();
    let Some(p) = m.view_panes().get(pane) else {
        return html! {};
    };

    let oninput = {
        let input = input.clone();
        let hist_pos = hist_pos.clone();
        Callback::from(move |e: InputEvent| {
            input.set(
                e.target_unchecked_into::<web_sys::HtmlInputElement>()
                    .value(),
            );
            hist_pos.set(None);
        })
    };
    let onkeydown = {
        let input = input.clone();
        let hist_pos = hist_pos.clone();
        let dispatch = props.dispatch.clone();
        let model = props.model.clone();
        Callback::from(move |e: KeyboardEvent| match e.key().as_str() {
            "Enter" => {
                e.prevent_default();
                let line = e
                    .target_unchecked_into::<web_sys::HtmlInputElement>()
                    .value();
                input.set(String::new());
                hist_pos.set(None);
                if !line.trim().is_empty() {
                    let lesson = model.0.borrow().lesson.is_some();
                    dispatch.dispatch(if lesson {
                        Action::LessonRun { pane, line }
                    } else {
                        Action::Run { pane, line }
                    });
                }
            }
            "ArrowUp" | "ArrowDown" => {
                e.prevent_default();
                let m = model.0.borrow();
                // A lesson's consoles recall nothing: its commands are the lesson's, not typed.
                if m.lesson.is_some() {
                    return;
                }
                let history: Vec<String> = m.history(pane).into_iter().map(str::to_owned).collect();
                drop(m);
                if history.is_empty() {
                    return;
                }
                let next = match (e.key().as_str(), *hist_pos) {
                    ("ArrowUp", None) => Some(history.len() - 1),
                    ("ArrowUp", Some(i)) => Some(i.saturating_sub(1)),
                    ("ArrowDown", Some(i)) if i + 1 < history.len() => Some(i + 1),
                    _ => None,
                };
                input.set(next.map(|i| history[i].clone()).unwrap_or_default());
                hist_pos.set(next);
            }
            "Tab" => {
                let current = e
                    .target_unchecked_into::<web_sys::HtmlInputElement>()
                    .value();
                if let Some(done) = complete(&current) {
                    e.prevent_default();
                    input.set(done);
                } else if !current.trim().is_empty() && !current.contains(' ') {
                    // Several candidates with nothing more in common: keep focus here.
                    e.prevent_default();
                }
            }
            _ => {}
        })
    };

    let hint_html = match hint(&input) {
        Some(Hint::Command(h)) => html! {
            <div class="hint" aria-live="polite">
                <code><b>{&h.name}</b>{" "}{&h.syntax}</code>
                <span class="summary">{" — "}{&h.summary}</span>
            </div>
        },
        Some(Hint::Candidates(c)) => {
            let more = c.len() > 12;
            html! {
                <div class="hint" aria-live="polite">
                    <code>{c.into_iter().take(12).collect::<Vec<_>>().join(" ")}{if more { " …" } else { "" }}</code>
                    <span class="summary">{" — Tab completes"}</span>
                </div>
            }
        }
        None => {
            html! { <div class="hint empty">{"Type a command (HELP <command> for help, Tab completes)"}</div> }
        }
    };

    html! {
        <section class={classes!("console", p.waiting.then_some("waiting"))} aria-label={format!("Client {}", p.name)}>
            <header>
                <strong>{format!("Client {}", p.name)}</strong>
                if !lesson {
                    <span class="dim">{format!(" id {} · db {}", p.client, p.db)}</span>
                }
                if m.cluster.is_some() {
                    <NodePicker pane={pane} />
                }
                if p.waiting {
                    <span class="waiting-indicator" role="status">{"⏳ waiting for a reply…"}</span>
                }
            </header>
            <div class="output" role="log" aria-label="Console output" ref={output_ref} tabindex="0">
                { for p.lines.iter().map(|l| {
                    let class = match l.kind {
                        LineKind::Input => "in",
                        LineKind::Output => "out",
                        LineKind::Error => "err",
                        LineKind::Pushed => "push",
                        LineKind::Info => "info",
                    };
                    html! { <pre class={class}>{l.text.trim_end_matches('\n')}</pre> }
                }) }
            </div>
            <div class="prompt">
                <label class="dim" for={format!("cmd-{pane}")}>{m.view_prompt(pane)}</label>
                <input id={format!("cmd-{pane}")} type="text" aria-label="Command" autocomplete="off" spellcheck="false"
                    value={(*input).clone()} {oninput} {onkeydown} placeholder="a command, e.g. SET greeting hello EX 5" />
            </div>
            {hint_html}
        </section>
    }
}
