//! The frame shared by the cache-aside, expiry, eviction, persistence, pub/sub-and-streams and
//! Lua views: a region in the centre with a title, the view's body and a caption saying how to
//! read it.

use std::cell::Ref;

use yew::prelude::*;

use crate::app::AppContext;
use crate::model::lesson::Lesson;
use crate::model::Model;

/// The open lesson, borrowed from the model.
pub fn lesson(ctx: &AppContext) -> Option<Ref<'_, Lesson>> {
    Ref::filter_map(ctx.model.0.borrow(), |m: &Model| m.lesson.as_ref()).ok()
}

/// `label` names the section for assistive technology and tests ("Eviction view").
pub fn frame(label: &str, title: &str, caption: &str, body: Html) -> Html {
    html! {
        <section class="region pv" aria-label={label.to_string()}>
            <header><strong>{title}</strong></header>
            <div class="pv-body">
                {body}
                <p class="pv-caption dim">{caption}</p>
            </div>
        </section>
    }
}

/// Milliseconds since the lesson's start, as the lesson's clock shows them.
pub fn at(ms: i64) -> String {
    crate::model::events::fmt_time(ms)
}
