//! The leaderboard view: each board as a ranked bar chart. Rows are placed by rank and keyed by
//! member, so a score change slides the row to its new place (a CSS transition on `top`).

use yew::prelude::*;

use crate::model::views::calls::{show_ms, show_score};
use crate::model::views::leaderboard::Leaderboard;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub view: Leaderboard,
}

const ROW_PX: usize = 26;

#[component(LeaderboardView)]
pub fn leaderboard_view(props: &Props) -> Html {
    let v = &props.view;
    let boards = v.boards.iter().map(|b| {
        let top = b.ranked.first().map_or(1.0, |e| e.score.abs().max(1.0));
        let rows = b.ranked.iter().enumerate().map(|(rank, e)| {
            let width = (e.score.max(0.0) / top * 100.0).clamp(2.0, 100.0);
            html! {
                <li key={e.member.clone()} class={classes!("lb-row", e.change.is_some().then_some("changed"))}
                    style={format!("top:{}px", rank * ROW_PX)}>
                    <span class="lb-rank">{format!("#{}", rank + 1)}
                        if e.tied {
                            <abbr class="lb-tie" title="tied score: ordered by member name, reversed">{"="}</abbr>
                        }
                    </span>
                    <span class="lb-name">{&e.member}</span>
                    <span class="lb-bar-wrap"><span class="lb-bar" style={format!("width:{width:.1}%")}></span></span>
                    <span class="lb-score">{show_score(e.score)}</span>
                    if let Some(c) = &e.change {
                        <span class="lb-change">{c}</span>
                    }
                </li>
            }
        });
        let state = match (b.expired, b.expires) {
            (true, Some(t)) => format!("expired at {}: the board is gone (shown as it was)", show_ms(t)),
            (true, None) => "expired".to_string(),
            (false, Some(t)) => format!("expires at {} (in {})", show_ms(t), show_ms((t - v.now).max(0))),
            (false, None) => "no expiry".to_string(),
        };
        html! {
            <div class={classes!("lb-board", b.expired.then_some("expired"))}>
                <div class="pv-lane-head"><strong>{&b.key}</strong><span>{state}</span></div>
                <ol class="lb-rows" style={format!("height:{}px", b.ranked.len() * ROW_PX)}>{for rows}</ol>
            </div>
        }
    });
    html! {
        <section class="pattern-view region leaderboard-view" aria-label="Leaderboard view">
            <header>
                <h2>{"Leaderboard"}</h2>
                <span class="pv-dim">{format!("now {}", show_ms(v.now))}</span>
            </header>
            <p class="pv-legend">{"Highest score first, as ZREVRANGE reads it; equal scores (marked =) are ordered by member name, reversed. The latest change is marked (+n) and the row slides to its new rank."}</p>
            if v.boards.is_empty() {
                <p class="pv-dim">{"No scores yet."}</p>
            }
            <div class="lb-boards">{for boards}</div>
        </section>
    }
}

super::axis::lesson_panel!(LeaderboardPanel, LeaderboardView, |p, now, _| {
    crate::model::views::leaderboard::derive(p, now)
});
