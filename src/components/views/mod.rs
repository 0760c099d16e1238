//! The view beside a lesson: the picture made for its pattern (`view:` in the scenario file),
//! drawn from `crate::model::views`. A lesson whose view has no picture of its own shows the
//! keyspace's inspector instead.

pub mod axis;
pub mod cluster;
pub mod fixed_window;
pub mod leaderboard;
pub mod lock;
pub mod redlock;
pub mod session;
pub mod sliding_window;
pub mod token_bucket;

use yew::prelude::*;

use crate::app::AppContext;
use crate::components::inspector::Inspector;

pub mod cache_aside;
pub mod eviction;
pub mod expiry;
pub mod kit;
pub mod lua;
pub mod persistence;
pub mod pubsub_streams;

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
        "fixed-window" => html! { <fixed_window::FixedWindowPanel /> },
        "sliding-window" => html! { <sliding_window::SlidingWindowPanel /> },
        "token-bucket" => html! { <token_bucket::TokenBucketPanel /> },
        "lock" => html! { <lock::LockPanel /> },
        "redlock" => html! { <redlock::RedlockPanel /> },
        "leaderboard" => html! { <leaderboard::LeaderboardPanel /> },
        "session" => html! { <session::SessionPanel /> },
        "cache-aside" => html! { <cache_aside::CacheAside /> },
        "expiry" => html! { <expiry::Expiry /> },
        "eviction" => html! { <eviction::Eviction /> },
        "persistence" => html! { <persistence::Persistence /> },
        "pubsub-streams" => html! { <pubsub_streams::PubSubStreams /> },
        "lua" => html! { <lua::LuaScript /> },
        "cluster" => html! { <cluster::LessonCluster /> },
        _ => html! { <Inspector /> },
    }
}
