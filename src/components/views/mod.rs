//! The view beside a lesson: the picture made for its pattern (`view:` in the scenario file),
//! drawn from `crate::model::views`. A lesson whose view has no picture of its own shows the
//! keyspace's inspector instead.

pub mod cluster;

use yew::prelude::*;

use crate::app::AppContext;
use crate::components::inspector::Inspector;

#[component(PatternView)]
pub fn pattern_view() -> Html {
    let ctx = use_context::<AppContext>().expect("AppContext");
    let view = {
        let m = ctx.model.0.borrow();
        let Some(l) = m.lesson.as_ref() else {
            return html! {};
        };
        l.player.scenario().view.clone()
    };
    match view.as_str() {
        "cluster" => html! { <cluster::LessonCluster /> },
        _ => html! { <Inspector /> },
    }
}
