//! The Cachelab playground: the engine in the page, behind a Yew UI.
//!
//! `app` mounts the Yew UI.

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
