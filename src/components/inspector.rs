//! The centre view: the selected key's value laid out by type, or, with no key selected, the
//! last active expire cycle's sample against its 10% threshold.

use cachelab_engine::inspect::ValueData;
use yew::prelude::*;

use super::{fmt_bytes, fmt_duration, show_bytes, type_badge};
use crate::app::AppContext;
use crate::model::Action;

/// Redis's ACTIVE_EXPIRE_CYCLE_ACCEPTABLE_STALE at effort 1: the cycle keeps sampling a
/// database while more than this share of its sample was expired.
const ACCEPTABLE_STALE_PERCENT: f64 = 10.0;
/// The header shows used memory while the database has at most this many keys.
const MEASURE_MEMORY_UP_TO: usize = 20_000;

#[component(Inspector)]
pub fn inspector() -> Html {
    let ctx = use_context::<AppContext>().expect("AppContext");
    let m = ctx.model.0.borrow();
    let d = ctx.dispatcher();
    let engine = m.engine();
    // Measuring memory walks every key: fine for a learner's few thousand keys, too slow to
    // redo on every frame with a hundred thousand.
    let memory = if engine.dbsize(m.view_keys().db) <= MEASURE_MEMORY_UP_TO {
        fmt_bytes(engine.memory_report().used)
    } else {
        "not measured (large keyspace)".into()
    };

    let body = match m.selected.as_ref() {
        Some(key) => {
            let story = key_story(&m, key);
            let view = match engine.inspect_value(m.view_keys().db, key) {
                Some(v) => {
                    let k = &v.key;
                    let close = {
                        let d = d.clone();
                        Callback::from(move |_| d.dispatch(Action::Select(None)))
                    };
                    let ttl = match (k.expire_at, k.ttl_ms) {
                        (Some(_), _) if k.expiring => {
                            "expiring (past its deadline, not yet removed)".to_string()
                        }
                        (Some(_), Some(ms)) => format!("{} left", fmt_duration(ms)),
                        _ => "none (persistent)".to_string(),
                    };
                    html! {
                        <div class="value-view">
                            <header>
                                {type_badge(k.type_name)}
                                <h3>{show_bytes(&k.name)}</h3>
                                <button type="button" class="link" onclick={close} aria-label="Close key">{"✕"}</button>
                            </header>
                            <dl class="facts">
                                <dt>{"encoding"}</dt><dd>{k.encoding}</dd>
                                <dt>{"TTL"}</dt><dd>{ttl}</dd>
                                <dt>{"idle"}</dt><dd>{fmt_duration(k.idle_ms)}</dd>
                                <dt>{"LFU counter"}</dt><dd>{k.lfu}</dd>
                                <dt>{"memory"}</dt><dd>{fmt_bytes(k.memory)}</dd>
                            </dl>
                            <div class={classes!("value", format!("v-{}", k.type_name))}>{value_html(&v.data)}</div>
                            if v.truncated { <p class="dim">{"Only the first elements are shown."}</p> }
                        </div>
                    }
                }
                None => {
                    let close = {
                        let d = d.clone();
                        Callback::from(move |_| d.dispatch(Action::Select(None)))
                    };
                    html! {
                        <div class="value-view">
                            <header>
                                <h3>{show_bytes(key)}</h3>
                                <button type="button" class="link" onclick={close} aria-label="Close key">{"✕"}</button>
                            </header>
                            <p class="dim">{"This key is not in the keyspace (any more)."}</p>
                        </div>
                    }
                }
            };
            html! { <>{view}{story}</> }
        }
        None => expiry_picture(&m),
    };

    html! {
        <section class="inspector region" aria-label="Inspector">
            <header>
                <h2>{ if m.selected.is_some() { "Key" } else { "Expiry" } }</h2>
                <span class="dim">{format!("memory {memory} · {} keys in db {}", engine.dbsize(m.view_keys().db), m.view_keys().db)}</span>
            </header>
            {body}
        </section>
    }
}

/// What happened to the selected key, newest first: the events that link to it.
fn key_story(m: &crate::model::Model, key: &[u8]) -> Html {
    let db = m.view_keys().db;
    let events: Vec<_> = m
        .log
        .entries
        .iter()
        .rev()
        .filter(|e| e.key.as_ref().is_some_and(|(d, k)| *d == db && k == key))
        .take(12)
        .collect();
    if events.is_empty() {
        return html! {};
    }
    html! {
        <section class="story" aria-label="Key history">
            <h4>{"What happened to it"}</h4>
            <ol>
                { for events.iter().map(|e| html! {
                    <li><span class="dim">{crate::model::events::fmt_time(e.at)}</span>{" "}{&e.text}</li>
                }) }
            </ol>
        </section>
    }
}

fn value_html(data: &ValueData) -> Html {
    let cells = |items: &mut dyn Iterator<Item = (String, Option<String>)>| {
        html! {
            <ol class="cells">
                { for items.map(|(a, b)| html! {
                    <li><span class="cell">{a}</span>
                    if let Some(b) = b { <span class="cell second">{b}</span> }
                    </li>
                }) }
            </ol>
        }
    };
    match data {
        ValueData::String { bytes, int } => html! {
            <div class="string-value">
                <pre>{show_bytes(bytes)}</pre>
                <p class="dim">{format!("{} bytes{}", bytes.len(), if *int { ", stored as an integer" } else { "" })}</p>
            </div>
        },
        ValueData::List(items) => cells(&mut items.iter().map(|i| (show_bytes(i), None))),
        ValueData::Set(items) => cells(&mut items.iter().map(|i| (show_bytes(i), None))),
        ValueData::Hash(pairs) => cells(
            &mut pairs
                .iter()
                .map(|(f, v)| (show_bytes(f), Some(show_bytes(v)))),
        ),
        ValueData::ZSet(pairs) => {
            cells(&mut pairs.iter().map(|(m, s)| (show_bytes(m), Some(s.clone()))))
        }
        ValueData::Stream(entries) => cells(&mut entries.iter().map(|(id, fields)| {
            let text = fields
                .iter()
                .map(|(f, v)| format!("{}={}", show_bytes(f), show_bytes(v)))
                .collect::<Vec<_>>()
                .join(" ");
            (id.clone(), Some(text))
        })),
        ValueData::Unavailable(why) => {
            html! { <p class="dim">{format!("The value cannot be shown yet: {why}")}</p> }
        }
        #[allow(unreachable_patterns)]
        _ => html! {},
    }
}

fn expiry_picture(m: &crate::model::Model) -> Html {
    let Some(r) = m.last_cycle.as_ref() else {
        return html! {
            <div class="intro">
                <p>{"Nothing has expired yet. Give a key a time to live, then move the clock:"}</p>
                <pre>{"SET greeting hello EX 5\n(then press +10s)"}</pre>
                <p class="dim">{"Redis removes expired keys in two ways: lazily, when a command touches a key past its deadline, and actively, when the server cron samples 20 keys with a TTL at a time and removes the expired ones, sampling again while more than 10% of a sample was expired."}</p>
            </div>
        };
    };
    let sampled = r.sampled.len().max(1) as f64;
    let stale = r.expired as f64 * 100.0 / sampled;
    html! {
        <div class="cycle">
            <p>{format!("Last active expire cycle ({}, db {}): {} loop{}, sampled {} key{}, expired {}{}.",
                match r.kind { cachelab_engine::CycleKind::Slow => "slow", cachelab_engine::CycleKind::Fast => "fast" },
                r.db, r.loops, if r.loops == 1 { "" } else { "s" }, r.sampled.len(), if r.sampled.len() == 1 { "" } else { "s" }, r.expired,
                if r.time_limit_hit { ", stopped by its time limit" } else { "" })}</p>
            <ul class="dots" aria-label="Sampled keys">
                { for r.sampled.iter().take(200).map(|(k, gone)| html! {
                    <li class={classes!("dot", gone.then_some("gone"))} title={show_bytes(k)}>
                        <span aria-hidden="true">{ if *gone { "✗" } else { "●" } }</span>
                        <span class="sr">{format!("{}{}", show_bytes(k), if *gone { " expired" } else { " alive" })}</span>
                    </li>
                }) }
            </ul>
            <div class="gauge" aria-label="Stale share of the last sample">
                <span class="fill" style={format!("width:{:.1}%", stale.min(100.0))}></span>
                <span class="threshold" style={format!("left:{ACCEPTABLE_STALE_PERCENT}%")}></span>
            </div>
            <p class="dim">{format!("{stale:.0}% of the sample was expired; the cycle samples again while this is above {ACCEPTABLE_STALE_PERCENT:.0}%. Estimated stale keys: {:.0}%.", r.stale_estimate * 100.0)}</p>
        </div>
    }
}
