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

/// A duration in milliseconds, short: 950ms, 4.2s, 3m05s, 2h01m.
pub fn fmt_duration(ms: i64) -> String {
    let ms = ms.max(0);
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else if ms < 3_600_000 {
        format!("{}m{:02}s", ms / 60_000, ms / 1000 % 60)
    } else {
        format!("{}h{:02}m", ms / 3_600_000, ms / 60_000 % 60)
    }
}

pub fn fmt_bytes(n: u64) -> String {
    if n < 1024 {
        format!("{n}B")
    } else if n < 1 << 20 {
        format!("{:.1}KB", n as f64 / 1024.0)
    } else {
        format!("{:.1}MB", n as f64 / (1 << 20) as f64)
    }
}
