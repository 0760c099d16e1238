//! Browser tests (wasm-bindgen-test in headless Chromium): the app rendered into a real DOM,
//! driven through its elements, and the model's speed measured where it runs for learners.
//! Run with scripts/web-test.sh, or:
//!   CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
//!     cargo test -p cachelab-web --target wasm32-unknown-unknown --test browser
#![cfg(target_arch = "wasm32")]

use cachelab_web::app::{App, AppProps};
use cachelab_web::model::{Action, Model};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement, HtmlInputElement, KeyboardEvent, KeyboardEventInit};

wasm_bindgen_test_configure!(run_in_browser);

fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

/// Mounts a fresh app (not the saved session) into a new element.
async fn mount() -> Element {
    let root = document().create_element("div").unwrap();
    document().body().unwrap().append_child(&root).unwrap();
    yew::Renderer::<App>::with_root_and_props(root.clone(), AppProps { fresh: true }).render();
    yew::scheduler::flush().await;
    root
}

fn find(root: &Element, selector: &str) -> Element {
    root.query_selector(selector)
        .unwrap()
        .unwrap_or_else(|| panic!("no element matches {selector}"))
}

fn text(root: &Element, selector: &str) -> String {
    find(root, selector).text_content().unwrap_or_default()
}

async fn type_line(root: &Element, line: &str) {
    let input: HtmlInputElement = find(root, "input[aria-label='Command']")
        .dyn_into()
        .unwrap();
    input.set_value(line);
    let init = KeyboardEventInit::new();
    init.set_key("Enter");
    init.set_bubbles(true);
    let ev = KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    input.dispatch_event(&ev).unwrap();
    yew::scheduler::flush().await;
}

async fn click(root: &Element, selector: &str) {
    let b: HtmlElement = find(root, selector).dyn_into().unwrap();
    b.click();
    yew::scheduler::flush().await;
}

#[wasm_bindgen_test]
async fn typing_a_command_shows_the_reply_the_key_and_its_expiry() {
    let root = mount().await;
    type_line(&root, "SET greeting hello EX 5").await;
    let output = text(&root, "[role='log'][aria-label='Console output']");
    assert!(output.contains("SET greeting hello EX 5"), "{output}");
    assert!(output.contains("OK"), "{output}");
    let keys = text(&root, "section[aria-label='Keyspace'] ul");
    assert!(
        keys.contains("greeting") && keys.contains("string") && keys.contains("TTL 5.0s"),
        "{keys}"
    );

    click(&root, "button[aria-label='+10s']").await;
    assert!(text(&root, "output[aria-label='Clock']").contains("00:10.000"));
    let keys = text(&root, "section[aria-label='Keyspace'] ul");
    assert!(!keys.contains("greeting"), "{keys}");
    let events = text(&root, "[aria-label='Event log']");
    assert!(events.contains("expired greeting"), "{events}");

    click(&root, "button[aria-label='Step back']").await;
    let keys = text(&root, "section[aria-label='Keyspace'] ul");
    assert!(keys.contains("greeting"), "{keys}");
    root.remove();
}

#[wasm_bindgen_test]
async fn bad_quotes_and_help_are_answered_by_the_console() {
    let root = mount().await;
    type_line(&root, "SET \"unclosed").await;
    assert!(text(&root, "[aria-label='Console output']").contains("Invalid argument(s)"));
    type_line(&root, "HELP GET").await;
    assert!(text(&root, "[aria-label='Console output']").contains("summary:"));
    click(&root, "button[aria-label='Add client']").await;
    assert_eq!(
        root.query_selector_all("input[aria-label='Command']")
            .unwrap()
            .length(),
        2
    );
    root.remove();
}

fn now() -> f64 {
    web_sys::window().unwrap().performance().unwrap().now()
}

#[wasm_bindgen_test]
fn rewinding_thousands_of_steps_is_fast_in_the_browser() {
    let mut m = Model::default();
    for i in 0..3000 {
        if i % 3 == 0 {
            m.dispatch(Action::Advance(100));
        } else {
            m.dispatch(Action::Run {
                pane: 0,
                line: format!("SET k{} v EX 30", i % 500),
            });
        }
    }
    let start = now();
    for k in [10, 2999, 1500, 7, 2500, 100, 2000, 3000] {
        m.dispatch(Action::Seek(k));
        assert_eq!(m.timeline.cursor, k);
    }
    let per_seek = (now() - start) / 8.0;
    web_sys::console::log_1(&format!("rewind: {per_seek:.1} ms per seek over 3000 steps").into());
    assert!(per_seek < 250.0, "{per_seek} ms per rewind");
}

#[wasm_bindgen_test]
async fn the_keyspace_draws_only_the_rows_in_view() {
    let root = mount().await;
    let mut line = String::from("MSET");
    for i in 0..5000 {
        line.push_str(&format!(" key:{i:05} v"));
    }
    type_line(&root, &line).await;
    let count = text(&root, "section[aria-label='Keyspace'] .count");
    assert_eq!(count, "5000 of 5000 keys");
    let rows = root
        .query_selector_all("section[aria-label='Keyspace'] li")
        .unwrap()
        .length();
    assert!(rows > 0 && rows < 200, "{rows} rows drawn for 5000 keys");
    // The echo of a long line is clipped; the reply is there.
    let output = text(&root, "[aria-label='Console output']");
    assert!(output.contains("more bytes not shown") && output.contains("OK"));
    root.remove();
}
