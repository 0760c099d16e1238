//! The event log, filterable by kind; an event about a key links to it in the keyspace.

use std::rc::Rc;

use yew::prelude::*;

use crate::app::{AppContext, Dispatch, ModelRef};
use crate::model::events::{fmt_time, EventKind, LoggedEvent};
use crate::model::Action;

/// The log shows this many of the latest matching events, and this many more per "older" click:
/// every line shown is laid out again when a new one arrives on top.
const SHOWN: usize = 60;

#[component(EventsPanel)]
pub fn events_panel() -> Html {
    let ctx = use_context::<AppContext>().expect("AppContext");
    let filter = use_state(String::new);
    let limit = use_state(|| SHOWN);
    let rev = ctx.model.0.borrow().log_rev;
    let on_filter = {
        let filter = filter.clone();
        Callback::from(move |e: Event| {
            filter.set(
                e.target_unchecked_into::<web_sys::HtmlSelectElement>()
                    .value(),
            )
        })
    };
    html! {
        <section class="events region" aria-label="Events">
            <header>
                <h2>{"Events"}</h2>
                <select aria-label="Event kind" onchange={on_filter}>
                    <option value="" selected={filter.is_empty()}>{"all kinds"}</option>
                    { for EventKind::ALL.iter().map(|k| html! {
                        <option value={k.label()} selected={*filter == k.label()}>{k.label()}</option>
                    }) }
                </select>
            </header>
            <EventList model={ctx.model.clone()} dispatch={ctx.dispatcher()} rev={rev} kind={(*filter).clone()} limit={*limit}
                more={Callback::from(move |_| limit.set(*limit + SHOWN * 4))} />
        </section>
    }
}

#[derive(Properties, PartialEq)]
pub struct ListProps {
    pub model: ModelRef,
    pub dispatch: Dispatch,
    pub rev: u64,
    pub kind: String,
    pub limit: usize,
    pub more: Callback<MouseEvent>,
}

#[component(EventList)]
fn event_list(props: &ListProps) -> Html {
    let m = props.model.0.borrow();
    let kind = EventKind::from_label(&props.kind);
    // Newest first: what just happened is at the top, with no scrolling to manage.
    let shown: Vec<_> = m
        .view_log()
        .entries
        .iter()
        .rev()
        .filter(|e| kind.is_none_or(|k| e.kind == k))
        .take(props.limit + 1)
        .collect();
    let has_more = shown.len() > props.limit;
    html! {
        <ol class="eventlist" role="log" aria-label="Event log">
            if shown.is_empty() {
                <li class="dim">{"No events yet."}</li>
            }
            { for shown.into_iter().take(props.limit).map(|e| html! {
                <EventRow key={e.id} event={e.clone()} dispatch={props.dispatch.clone()} />
            }) }
            if has_more {
                <li key="more" class="more"><button type="button" onclick={props.more.clone()}>{"Show older events"}</button></li>
            }
        </ol>
    }
}

#[derive(Properties)]
struct RowProps {
    event: Rc<LoggedEvent>,
    dispatch: Dispatch,
}

impl PartialEq for RowProps {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.event, &other.event) && self.dispatch == other.dispatch
    }
}

/// One line of the log; drawn once, since an entry never changes.
#[component(EventRow)]
fn event_row(props: &RowProps) -> Html {
    let e = &props.event;
    let text = match &e.key {
        Some((db, key)) => {
            let d = props.dispatch.clone();
            let (db, key) = (*db, key.clone());
            let onclick = Callback::from(move |_| {
                d.dispatch(Action::SetDb(db));
                d.dispatch(Action::Select(Some(key.clone())));
            });
            html! { <button type="button" class="link" {onclick} title="Show this key">{&e.text}</button> }
        }
        None => html! { <span>{&e.text}</span> },
    };
    html! {
        <li class={classes!("ev", format!("k-{}", e.kind.label()))}>
            <span class="at dim">{fmt_time(e.at)}</span>
            <span class="kind">{e.kind.label()}</span>
            {text}
        </li>
    }
}
