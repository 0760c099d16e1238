//! The Redlock view: one lane per instance, one column per resource, each cell saying who holds
//! the key there now; each resource's tally against the majority; each instance's state (down,
//! restarted, clock jumped) and the clients' clock notes.

use yew::prelude::*;

use crate::model::views::calls::show_ms;
use crate::model::views::redlock::{Cell, Redlock};

#[derive(Properties, PartialEq)]
pub struct Props {
    pub view: Redlock,
}

#[component(RedlockView)]
pub fn redlock_view(props: &Props) -> Html {
    let v = &props.view;
    let head = v
        .resources
        .iter()
        .map(|r| html! { <th scope="col">{&r.key}</th> });
    let rows = v.instances.iter().map(|inst| {
        let i = inst.number - 1;
        let state = if inst.down { "down ✕" } else { "up" };
        let history = (inst.history.iter())
            .map(|(t, what)| format!("{what} at {}", show_ms(*t)))
            .collect::<Vec<_>>()
            .join("; ");
        let cells = v.resources.iter().map(|r| {
            let (class, text) = match r.cells.get(i) {
                Some(Cell::Held { client, until }) => ("held", format!("{client} (until {})", show_ms(*until))),
                Some(Cell::Expired { client, at }) => ("gone", format!("{client}'s expired {}", show_ms(*at))),
                Some(Cell::Lost { client }) => ("gone", format!("{client}'s lost in restart ↯")),
                Some(Cell::Unreachable { client }) => ("gone", format!("unreachable for {client} ✕")),
                Some(Cell::Free) | None => ("free", "—".to_string()),
            };
            html! { <td class={classes!("rl-cell", class)}>{text}</td> }
        });
        html! {
            <tr class={classes!(inst.down.then_some("down"))}>
                <th scope="row">
                    {format!("instance {} · {state}", inst.number)}
                    if inst.clock_jump != 0 {
                        <small class="pv-warn">{format!(" · clock {:+} ms", inst.clock_jump)}</small>
                    }
                    if !history.is_empty() {
                        <small class="pv-dim">{format!(" · {history}")}</small>
                    }
                </th>
                {for cells}
            </tr>
        }
    });
    let tallies = v.resources.iter().map(|r| {
        let parts = r.acquired.iter().map(|(client, n)| {
            let won = *n >= v.quorum;
            let now = r.holders_now().get(client.as_str()).copied().unwrap_or(0);
            html! {
                <li class={classes!(won.then_some("won"))}>
                    <span>{format!("{client}: {n} of {} {} · holds {now} now", v.instances.len(), if won { "≥ majority ✓" } else { "< majority ✗" })}</span>
                    <span class="rl-track" aria-hidden="true">
                        <span class="rl-bar" style={format!("width:{:.1}%", *n as f64 / v.instances.len().max(1) as f64 * 100.0)}></span>
                        <span class="rl-majority" style={format!("left:{:.1}%", v.quorum as f64 / v.instances.len().max(1) as f64 * 100.0)}></span>
                    </span>
                </li>
            }
        });
        let winners = r.winners(v.quorum);
        let verdict = match winners.len() {
            0 => "nobody has the lock".to_string(),
            1 => format!("{} has the lock", winners[0]),
            2 => format!("⚠ {} and {} both reached a majority: two holders", winners[0], winners[1]),
            _ => format!("⚠ {} all reached a majority", winners.join(", ")),
        };
        html! {
            <div class="rl-tally">
                <strong>{&r.key}</strong>{" — "}<span>{verdict}</span>
                <ul>{for parts}</ul>
            </div>
        }
    });
    html! {
        <section class="pattern-view region redlock-view" aria-label="Redlock view">
            <header>
                <h2>{"Redlock"}</h2>
                <span class="pv-dim">{format!("{} instances · majority {} · now {}", v.instances.len(), v.quorum, show_ms(v.now))}</span>
            </header>
            <p class="pv-legend">{format!("Rows are instances, columns resources: who holds the key on each instance now. A client has the lock when at least {} instances said OK (the majority line in each tally).", v.quorum)}</p>
            if v.resources.is_empty() {
                <p class="pv-dim">{"No lock requested yet."}</p>
            } else {
                <div class="rl-scroll">
                    <table class="rl-grid">
                        <thead><tr><th scope="col">{"instance"}</th>{for head}</tr></thead>
                        <tbody>{for rows}</tbody>
                    </table>
                </div>
                <div class="rl-tallies">{for tallies}</div>
            }
            if !v.clock_notes.is_empty() {
                <ul class="rl-notes">{for v.clock_notes.iter().map(|n| html! { <li>{"⏱ "}{n}</li> })}</ul>
            }
        </section>
    }
}

super::axis::lesson_panel!(RedlockPanel, RedlockView, |p, now, player| {
    crate::model::views::redlock::derive(p, player.scenario().instances, now)
});
