//! The playground's regions. Each reads the model through the `AppContext` and changes it only
//! by dispatching `Action`s; the heavy lists (consoles, event log, timeline marks) are split
//! into components with small props so they redraw only when their part of the model changed.

pub mod advisor;
pub mod clock;
pub mod cluster;
pub mod console;
pub mod events;
pub mod inspector;
pub mod keyspace;
pub mod lesson;
pub mod narration;
pub mod session;
pub mod timeline;
pub mod views;

use yew::prelude::*;

/// The shape and name of a type, the same everywhere (badges, value cells, timeline marks), so
/// that the meaning does not depend on colour.
pub fn type_badge(type_name: &str) -> Html {
    let shape = match type_name {
        "string" => "■",
        "list" => "▤",
        "hash" => "◆",
        "set" => "●",
        "zset" => "▲",
        "stream" => "≋",
        _ => "?",
    };
    html! {
        <span class={classes!("badge", format!("t-{type_name}"))}>
            <span class="shape" aria-hidden="true">{shape}</span>{type_name}
        </span>
    }
}

/// Bytes as text where they are printable UTF-8, else redis-cli's quoting.
pub fn show_bytes(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) if s.chars().all(|c| !c.is_control()) => s.to_string(),
        _ => cachelab_engine::reply::cli_quote(b),
    }
}

pub use crate::model::fmt::{fmt_bytes, fmt_duration};
