//! The pub/sub-and-streams view: one column (lane) per client and one row per published
//! message, saying who published, who received and who missed it; then each stream's entries
//! with their state in each consumer group (new, pending at a consumer, acknowledged).

use yew::prelude::*;

use super::kit::{at, frame, lesson};
use crate::app::AppContext;
use crate::model::views::played;
use crate::model::views::pubsub_streams::{derive, EntryState};

#[component(PubSubStreams)]
pub fn pubsub_streams() -> Html {
    let ctx = use_context::<AppContext>().expect("AppContext");
    let Some(l) = lesson(&ctx) else {
        return html! {};
    };
    let v = derive(&played(&l.player), &l.player.scenario().clients);
    let heads = v
        .clients
        .iter()
        .map(|c| html! { <th scope="col">{c.clone()}</th> });
    let rows = v.messages.iter().map(|m| {
        let cells = v.clients.iter().map(|c| {
            if *c == m.publisher {
                html! { <td class="pv-pub">{"▶ published"}</td> }
            } else if m.received_by.contains(c) {
                html! { <td class="pv-got">{"✓ received"}</td> }
            } else if m.missed_by.contains(c) {
                html! { <td class="pv-missed">{"✕ missed (away)"}</td> }
            } else {
                html! { <td></td> }
            }
        });
        html! {
            <tr>
                <th scope="row">
                    <span class="dim">{at(m.at)}</span>{" "}{format!("{} ← \"{}\"", m.channel, m.message)}
                    <span class="dim">{format!(" · {} receiver{}", m.receivers, if m.receivers == 1 { "" } else { "s" })}</span>
                </th>
                { for cells }
            </tr>
        }
    });
    let listening = v
        .listening
        .iter()
        .map(|(ch, l)| {
            format!(
                "{ch}: {}",
                if l.is_empty() {
                    "nobody".to_string()
                } else {
                    l.join(", ")
                }
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let streams = v.streams.iter().map(|s| {
        let groups: Vec<_> = v.groups.iter().filter(|g| g.stream == s.key).collect();
        let gheads = groups.iter().map(|g| html! { <th scope="col">{format!("group {}", g.name)}</th> });
        let entries = s.entries.iter().map(|e| {
            let states = groups.iter().map(|g| match g.state(&e.id) {
                EntryState::New => html! { <td class="dim">{"○ not delivered yet"}</td> },
                EntryState::Pending { consumer, deliveries } => html! {
                    <td class="pv-pending">{format!("◐ pending at {consumer}{}", if deliveries > 1 { format!(" ({deliveries} deliveries)") } else { String::new() })}</td>
                },
                EntryState::Acked { consumer } => html! {
                    <td class="pv-acked">{ if consumer.is_empty() { "● acknowledged".to_string() } else { format!("● acknowledged by {consumer}") } }</td>
                },
            });
            html! {
                <tr>
                    <th scope="row">{e.id.clone()}</th>
                    <td>{e.fields.clone()}</td>
                    { for states }
                </tr>
            }
        });
        let pending: usize = groups.iter().map(|g| g.pending()).sum();
        html! {
            <>
                <h4>{format!("Stream {}: {} entr{}{}", s.key, s.entries.len(), if s.entries.len() == 1 { "y" } else { "ies" },
                    if groups.is_empty() { String::new() } else { format!(", {pending} pending") })}</h4>
                <table class="pv-table" aria-label={format!("Stream {}", s.key)}>
                    <thead><tr><th scope="col">{"id"}</th><th scope="col">{"fields"}</th>{ for gheads }</tr></thead>
                    <tbody>{ for entries }</tbody>
                </table>
            </>
        }
    });
    let body = html! {
        <>
            <h4>{"Pub/sub"}</h4>
            <p class="pv-facts">{ if listening.is_empty() { "Nobody has subscribed yet.".to_string() } else { format!("Listening now: {listening}.") } }</p>
            if !v.messages.is_empty() {
                <table class="pv-table pv-lanes" aria-label="Messages per client">
                    <thead><tr><th scope="col">{"message"}</th>{ for heads }</tr></thead>
                    <tbody>{ for rows }</tbody>
                </table>
            }
            { for streams }
        </>
    };
    frame(
        "Pub/sub and streams view",
        "Pub/sub and streams",
        "Pub/sub: one column per client; ✓ received, ✕ missed because it had subscribed before but was not listening when the message was sent (nothing is kept for it). Streams: every entry stays; in a group each entry is ○ not delivered, ◐ pending at the consumer it was delivered to, or ● acknowledged.",
        body,
    )
}
