//! The persistence view: the writes in order, with the snapshots, background saves, AOF
//! rewrites, fsyncs and crashes between them, and the writes each crash lost struck through.

use yew::prelude::*;

use super::kit::{at, frame, lesson};
use crate::app::AppContext;
use crate::model::views::persistence::{derive, Mark};
use crate::model::views::played;

#[component(Persistence)]
pub fn persistence() -> Html {
    let ctx = use_context::<AppContext>().expect("AppContext");
    let Some(l) = lesson(&ctx) else {
        return html! {};
    };
    let v = derive(&played(&l.player));
    let items = v.items.iter().map(|i| {
        let (class, symbol, what) = match &i.mark {
            Mark::Write { command, mode, lost } => (
                if *lost { "write lost" } else { "write" },
                if *lost { "✕" } else { "✎" },
                html! { <>
                    <span class="pv-cmd">{command.clone()}</span>
                    <span class="dim">{format!(" ({mode})")}</span>
                    if *lost { <strong>{" lost in the crash"}</strong> }
                </> },
            ),
            Mark::Snapshot { keys, background } => (
                "snapshot",
                "▣",
                html! { {format!("RDB snapshot written{} ({keys} key{})", if *background { " by a background save" } else { "" }, if *keys == 1 { "" } else { "s" })} },
            ),
            Mark::BgsaveStarted { done_at } => (
                "snapshot",
                "▢",
                html! { {format!("background save forks; done at {}", at(*done_at))} },
            ),
            Mark::AofRewritten { keys } => (
                "fsync",
                "▤",
                html! { {format!("AOF started from the data ({keys} key{})", if *keys == 1 { "" } else { "s" })} },
            ),
            Mark::Fsync => ("fsync", "↧", html! { {"AOF fsynced to disk"} }),
            Mark::Crash { loaded_from, keys_loaded, lost, .. } => (
                "crash",
                "⚡",
                html! { <strong>{format!(
                    "crash: came back from {} with {keys_loaded} key{}; {lost} write{} lost",
                    match loaded_from.as_str() { "aof" => "the AOF", "rdb" => "the last snapshot", _ => "nothing" },
                    if *keys_loaded == 1 { "" } else { "s" },
                    if *lost == 1 { "" } else { "s" },
                )}</strong> },
            ),
        };
        html! {
            <li class={classes!("pv-item", class.split(' ').collect::<Vec<_>>())}>
                <span class="pv-time dim">{at(i.at)}</span>
                <span class="pv-sym" aria-hidden="true">{symbol}</span>
                <span>{what}</span>
            </li>
        }
    });
    let writes = v.writes().count();
    let body = html! {
        <>
            <p class="pv-facts">{format!(
                "Now: snapshots {}; AOF {}. {writes} write{} so far, {} lost in crashes.",
                v.save.as_deref().map_or("off".to_string(), |s| format!("at save points \"{s}\"")),
                v.aof.as_deref().map_or("off".to_string(), |f| format!("on, appendfsync {f}")),
                if writes == 1 { "" } else { "s" },
                v.lost(),
            )}</p>
            if v.items.is_empty() {
                <p class="dim">{"Nothing written yet."}</p>
            } else {
                <ol class="pv-timeline" aria-label="Writes and persistence over time">{ for items }</ol>
            }
        </>
    };
    frame(
        "Persistence view",
        "Persistence: what a crash keeps",
        "Top to bottom in time: ✎ a write (with how the server was persisting it), ▣ an RDB snapshot, ↧ the AOF reaching the disk (every write under appendfsync always, once a second under everysec), ⚡ a crash and restart; ✕ marks a write that crash lost.",
        body,
    )
}
