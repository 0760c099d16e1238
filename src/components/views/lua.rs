//! The Lua view: the script of the chosen `redis.call` with its line marked, every call of that
//! run with its reply and the keys it named and changed, and previous/next controls that step
//! through the calls of every run so far.

use yew::prelude::*;

use super::kit::{at, frame, lesson};
use crate::app::AppContext;
use crate::model::views::lua::derive;
use crate::model::views::played;

#[component(LuaScript)]
pub fn lua_script() -> Html {
    let ctx = use_context::<AppContext>().expect("AppContext");
    // The call shown: None follows the latest.
    let chosen = use_state(|| None::<usize>);
    let Some(l) = lesson(&ctx) else {
        return html! {};
    };
    let v = derive(&played(&l.player));
    let n = v.calls.len();
    let shown = chosen
        .map(|i| i.min(n.saturating_sub(1)))
        .filter(|_| n > 0)
        .or(n.checked_sub(1));
    let pick = |target: Option<usize>| {
        let chosen = chosen.clone();
        Callback::from(move |_: MouseEvent| chosen.set(target))
    };
    let call = shown.and_then(|i| v.calls.get(i));
    // The run shown: the chosen call's, else the latest run (a script that called nothing).
    let run_index = call.map(|c| c.run).or(v.runs.len().checked_sub(1));
    let Some(run) = run_index.and_then(|i| v.runs.get(i)) else {
        return frame(
            "Lua view",
            "Lua scripts",
            "Run a script with EVAL to see its source and every redis.call it makes.",
            html! { <p class="dim">{"No script has run yet."}</p> },
        );
    };
    let line = call.and_then(|c| c.line);
    let source = match &run.source {
        Some(src) => {
            let lines = src.lines().enumerate().map(|(i, text)| {
                let here = line == Some(i as u32 + 1);
                html! {
                    <li class={classes!(here.then_some("current"))} aria-current={here.then_some("true")}>
                        <span class="pv-marker" aria-hidden="true">{ if here { "▶" } else { " " } }</span>
                        <code>{text.to_string()}</code>
                    </li>
                }
            });
            html! { <ol class="pv-source" aria-label="Script source">{ for lines }</ol> }
        }
        None => {
            html! { <p class="dim">{format!("The source of {} was not sent in this lesson.", run.sha)}</p> }
        }
    };
    let calls = v.calls_of(run_index.unwrap_or(0)).map(|(i, c)| {
        let here = shown == Some(i);
        let changed = c
            .changed
            .iter()
            .map(|(k, op)| format!("{k} ({op})"))
            .collect::<Vec<_>>()
            .join(", ");
        html! {
            <li class={classes!(here.then_some("current"), c.failed.then_some("failed"))}>
                <span class="pv-marker" aria-hidden="true">{ if here { "▶" } else { " " } }</span>
                <span class="dim">{ c.line.map(|l| format!("line {l}: ")).unwrap_or_default() }</span>
                <code>{format!("redis.call {}", c.command)}</code>
                {" → "}<code>{c.reply.clone()}</code>
                <span class="dim">{format!(
                    " · keys: {}{}",
                    if c.keys.is_empty() { "none".to_string() } else { c.keys.join(", ") },
                    if changed.is_empty() { String::new() } else { format!(" · changed: {changed}") },
                )}</span>
            </li>
        }
    });
    let body = html! {
        <>
            <p class="pv-facts">{format!(
                "{} by {} at {} (sha {}…): KEYS [{}], ARGV [{}] → {}",
                run.how, run.client, at(run.at), run.sha.chars().take(8).collect::<String>(), run.keys.join(", "), run.args.join(", "), run.reply,
            )}</p>
            {source}
            if n > 0 {
                <div class="pv-controls">
                    <button type="button" onclick={pick(shown.and_then(|i| i.checked_sub(1)).or(Some(0)))} disabled={shown == Some(0)}>{"◀ Previous call"}</button>
                    <span role="status">{format!("Call {} of {n}", shown.map_or(0, |i| i + 1))}</span>
                    <button type="button" onclick={pick(shown.map(|i| i + 1).filter(|&i| i + 1 < n))} disabled={shown.is_none_or(|i| i + 1 >= n)}>{"Next call ▶"}</button>
                </div>
            }
            <ol class="pv-calls" aria-label="redis.call made by this run">{ for calls }</ol>
            if v.calls_of(run_index.unwrap_or(0)).next().is_none() {
                <p class="dim">{"This script called no command."}</p>
            }
        </>
    };
    frame(
        "Lua view",
        "Lua: the script and its redis.call",
        "The script of the call shown, ▶ at its line; below, every redis.call of that run with its reply, the keys it named and the keys it changed. Step through all the calls made so far with Previous and Next.",
        body,
    )
}
