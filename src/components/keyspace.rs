//! The keyspace: every key of one database with its type, encoding, memory, TTL bar and idle
//! time. Only the rows in view are drawn (the list can hold 100,000 keys); their details are
//! read from the engine, read-only, at each draw, so TTL bars move with the clock.

use yew::prelude::*;

use super::{fmt_bytes, fmt_duration, show_bytes, type_badge};
use crate::app::AppContext;
use crate::model::Action;

const ROW_HEIGHT: f64 = 30.0;
/// Rows drawn above and below the visible ones, so fast scrolling shows no gaps.
const OVERSCAN: usize = 6;
const TYPES: [&str; 6] = ["string", "list", "hash", "set", "zset", "stream"];

#[component(Keyspace)]
pub fn keyspace() -> Html {
    let ctx = use_context::<AppContext>().expect("AppContext");
    // (scroll offset, viewport height) of the list.
    let scroll = use_state(|| (0.0f64, 400.0f64));
    let list_ref = use_node_ref();
    {
        let list_ref = list_ref.clone();
        let scroll = scroll.clone();
        use_effect_with((), move |_| {
            if let Some(el) = list_ref.cast::<web_sys::Element>() {
                scroll.set((el.scroll_top() as f64, el.client_height() as f64));
            }
        });
    }
    let m = ctx.model.0.borrow();
    let d = ctx.dispatcher();
    let idx = m.view_keys();
    let visible_len = idx.visible_len();
    let (top, height) = *scroll;
    let first = ((top / ROW_HEIGHT) as usize)
        .saturating_sub(OVERSCAN)
        .min(visible_len);
    // At least a tall screen's worth, so a panel that grew since the last scroll has no gap.
    let count = (height.max(900.0) / ROW_HEIGHT).ceil() as usize + 2 * OVERSCAN;
    let last = (first + count).min(visible_len);
    let keys = idx.visible_range(first..last);

    let onscroll = {
        let scroll = scroll.clone();
        Callback::from(move |e: Event| {
            let el = e.target_unchecked_into::<web_sys::Element>();
            scroll.set((el.scroll_top() as f64, el.client_height() as f64));
        })
    };
    let on_pattern = {
        let d = d.clone();
        let type_filter = idx.type_filter.clone();
        Callback::from(move |e: InputEvent| {
            let pattern = e
                .target_unchecked_into::<web_sys::HtmlInputElement>()
                .value();
            d.dispatch(Action::SetFilter {
                pattern,
                type_filter: type_filter.clone(),
            });
        })
    };
    let on_type = {
        let d = d.clone();
        let pattern = idx.pattern.clone();
        Callback::from(move |e: Event| {
            let type_filter = e
                .target_unchecked_into::<web_sys::HtmlSelectElement>()
                .value();
            d.dispatch(Action::SetFilter {
                pattern: pattern.clone(),
                type_filter,
            });
        })
    };
    let on_db = {
        let d = d.clone();
        Callback::from(move |e: Event| {
            let v = e
                .target_unchecked_into::<web_sys::HtmlSelectElement>()
                .value();
            if let Ok(db) = v.parse() {
                d.dispatch(Action::SetDb(db));
            }
        })
    };

    let engine = m.engine();
    let now = m.view_now();
    let db = idx.db;
    let rows = keys.iter().enumerate().map(|(i, key)| {
        let pos = first + i;
        let style = format!("top:{}px", pos as f64 * ROW_HEIGHT);
        let selected = m.selected.as_deref() == Some(&**key);
        let onclick = {
            let d = d.clone();
            let key = key.clone();
            Callback::from(move |_| d.dispatch(Action::Select(Some(key.to_vec()))))
        };
        let name = show_bytes(key);
        let Some(v) = engine.inspect_key(db, key) else {
            return html! { <li key={name.clone()} class="row gone" style={style}>{name}</li> };
        };
        let (ttl_text, ttl_class, fraction) = match v.expire_at {
            None => ("no TTL".to_string(), "persistent", 1.0),
            Some(_) if v.expiring => ("TTL expiring".to_string(), "expiring", 0.0),
            Some(at) => (
                format!("TTL {}", fmt_duration(v.ttl_ms.unwrap_or(0))),
                "has-ttl",
                idx.ttl_fraction(db, key, at, now),
            ),
        };
        html! {
            <li key={name.clone()} class={classes!("row", selected.then_some("selected"), ttl_class)} style={style}>
                <button type="button" {onclick} aria-pressed={selected.to_string()}
                    title={format!("{name}: {} ({}), {}, {} in memory, idle {}, LFU {}", v.type_name, v.encoding, ttl_text, fmt_bytes(v.memory), fmt_duration(v.idle_ms), v.lfu)}>
                    {type_badge(v.type_name)}
                    <span class="name">{name}<small class="enc">{v.encoding}</small></span>
                    <span class="ttl">
                        <span class="bar" aria-hidden="true"><span style={format!("transform:scaleX({fraction:.3})")}></span></span>
                        <span class="ttl-text">{ttl_text}</span>
                    </span>
                    <span class="mem dim">{fmt_bytes(v.memory)}</span>
                    <span class="idle dim">{format!("idle {}", fmt_duration(v.idle_ms))}</span>
                </button>
            </li>
        }
    });

    html! {
        <section class="keyspace region" aria-label="Keyspace">
            <header>
                <h2>{"Keyspace"}</h2>
                <span class="dim count">{format!("{} of {} keys", visible_len, idx.total())}</span>
                <select aria-label="Database" onchange={on_db}>
                    { for (0..engine.databases()).map(|i| html! {
                        <option value={i.to_string()} selected={i == db}>{format!("db {i}")}</option>
                    }) }
                </select>
            </header>
            <div class="filters">
                <input type="search" aria-label="Filter keys" placeholder="filter: user:*" value={idx.pattern.clone()} oninput={on_pattern} />
                <select aria-label="Type" onchange={on_type}>
                    <option value="" selected={idx.type_filter.is_empty()}>{"all types"}</option>
                    { for TYPES.iter().map(|t| html! {
                        <option value={*t} selected={idx.type_filter == *t}>{*t}</option>
                    }) }
                </select>
            </div>
            <div class="keylist" ref={list_ref} {onscroll}>
                if visible_len == 0 {
                    <p class="empty dim">{ if idx.total() == 0 { "No keys yet. Try SET greeting hello EX 5 in a console." } else { "No key matches the filter." } }</p>
                }
                <ul style={format!("height:{}px", visible_len as f64 * ROW_HEIGHT)} aria-label="Keys">
                    { for rows }
                </ul>
            </div>
        </section>
    }
}
