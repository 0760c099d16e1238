//! The Cachelab playground: the engine in the page, behind a Yew UI.
//!
//! `model` is the state and its reducer, in plain Rust; `app` and `components` draw it and turn
//! clicks, keys and animation frames into actions; `web` is the browser glue (storage, files,
//! links).

pub mod model;

#[cfg(target_arch = "wasm32")]
pub mod components;
#[cfg(target_arch = "wasm32")]
pub mod web;

#[cfg(target_arch = "wasm32")]
pub mod app;

/// Mounts the playground into the page's `#app` element.
#[cfg(target_arch = "wasm32")]
pub fn start() {
    app::mount();
}

/// The playground needs a browser; natively there is nothing to start.
#[cfg(not(target_arch = "wasm32"))]
pub fn start() {
    eprintln!("cachelab-web runs in a browser: build it with `trunk build` (scripts/web-build.sh)");
}
