//! What the time-based pattern views share: positions on a time axis and its tick labels.

use cachelab_scenario::run::START_MS;
use cachelab_scenario::Player;
use yew::prelude::*;

use crate::app::AppContext;
use crate::model::views::calls::show_ms;
use crate::model::views::{played, Played};

/// The axis's length: everything up to `end`, rounded up to a whole half second, at least one.
pub fn span(end: i64) -> i64 {
    ((end.max(1000) + 499) / 500) * 500
}

/// `t` as a percentage of the axis, for `left:` and `width:`.
pub fn pct(t: i64, span: i64) -> f64 {
    (t.clamp(0, span) as f64 / span.max(1) as f64) * 100.0
}

/// A ruler with a label every half second (every second when long).
pub fn ruler(span: i64, now: i64) -> Html {
    let step = if span > 4000 { 1000 } else { 500 };
    let ticks = (0..=span / step).map(|i| {
        let t = i * step;
        html! { <span class="pv-tick" style={format!("left:{:.2}%", pct(t, span))}>{show_ms(t)}</span> }
    });
    html! {
        <div class="pv-ruler" aria-hidden="true">
            {for ticks}
            <span class="pv-now-label" style={format!("left:{:.2}%", pct(now, span))}>{"now"}</span>
        </div>
    }
}

/// The vertical line at the lesson's clock.
pub fn now_line(now: i64, span: i64) -> Html {
    html! { <div class="pv-now" style={format!("left:{:.2}%", pct(now, span))} aria-hidden="true"></div> }
}

/// Derives a view's data from the open lesson: what it played and its clock (ms since start).
pub fn from_lesson<T>(
    ctx: &AppContext,
    derive: impl FnOnce(&[Played], i64, &Player) -> T,
) -> Option<T> {
    let m = ctx.model.0.borrow();
    let l = m.lesson.as_ref()?;
    let played = played(&l.player);
    Some(derive(&played, l.player.now() - START_MS, &l.player))
}

/// A component that reads the open lesson and draws one view with its data.
macro_rules! lesson_panel {
    ($panel:ident, $view:ident, $derive:expr) => {
        #[yew::component($panel)]
        pub fn panel() -> yew::Html {
            let ctx = yew::use_context::<crate::app::AppContext>().expect("AppContext");
            match super::axis::from_lesson(&ctx, $derive) {
                Some(view) => yew::html! { <$view {view} /> },
                None => yew::html! {},
            }
        }
    };
}
pub(crate) use lesson_panel;

/// For marks at these times, the row each goes on so that marks closer than `gap` percent of
/// the axis do not cover each other: 0 for the first at a place, 1 for the next...
pub fn stack_rows(times: &[i64], span: i64, gap: f64) -> Vec<usize> {
    let mut placed: Vec<(f64, usize)> = Vec::new();
    times
        .iter()
        .map(|&t| {
            let x = pct(t, span);
            let row = (0..)
                .find(|r| {
                    !placed
                        .iter()
                        .any(|&(px, pr)| pr == *r && (px - x).abs() < gap)
                })
                .unwrap_or(0);
            placed.push((x, row));
            row
        })
        .collect()
}
