//! Browser glue: local storage, the location's fragment, files in and out, the theme. Every
//! function here tolerates a browser that refuses (storage disabled, quota full): the playground
//! keeps working and says so where it matters.

use wasm_bindgen::{JsCast, JsValue};

/// Where the current session is kept between visits.
pub const SESSION_KEY: &str = "cachelab.session.v1";
pub const THEME_KEY: &str = "cachelab.theme";
/// Present while a saved session is being replayed at start-up.
pub const LOADING_KEY: &str = "cachelab.loading";
/// Where a session whose replay did not finish is set aside.
pub const CRASHED_KEY: &str = "cachelab.session.crashed";
/// "off" when the learner turned the advisor off.
pub const ADVISOR_KEY: &str = "cachelab.advisor";

pub fn window() -> Option<web_sys::Window> {
    web_sys::window()
}

pub fn document() -> Option<web_sys::Document> {
    window()?.document()
}

fn storage() -> Option<web_sys::Storage> {
    window()?.local_storage().ok().flatten()
}

pub fn load(key: &str) -> Option<String> {
    storage()?.get_item(key).ok().flatten()
}

/// Stores `value`; false when the browser refused (quota, privacy mode).
pub fn save(key: &str, value: &str) -> bool {
    storage().is_some_and(|s| s.set_item(key, value).is_ok())
}

pub fn remove(key: &str) {
    if let Some(s) = storage() {
        let _ = s.remove_item(key);
    }
}

/// The share-link payload in the location's fragment (`#s=...`), if there is one.
pub fn link_fragment() -> Option<String> {
    let hash = window()?.location().hash().ok()?;
    hash.strip_prefix("#s=").map(str::to_owned)
}

/// The lesson link's payload in the location's fragment (`#lesson=...`), if there is one.
pub fn lesson_fragment() -> Option<String> {
    let hash = window()?.location().hash().ok()?;
    crate::model::workshop::lesson_in_fragment(&hash).map(str::to_owned)
}

/// Removes the fragment without reloading or adding a history entry, so a reload restores the
/// session from storage instead of the link.
pub fn clear_fragment() {
    let Some(w) = window() else { return };
    let Ok(path) = w.location().pathname() else {
        return;
    };
    let search = w.location().search().unwrap_or_default();
    if let Ok(history) = w.history() {
        let _ =
            history.replace_state_with_url(&JsValue::NULL, "", Some(&format!("{path}{search}")));
    }
}

/// The page's own address without fragment, to build share links on.
pub fn page_url() -> String {
    let Some(w) = window() else {
        return String::new();
    };
    let l = w.location();
    format!(
        "{}{}{}",
        l.origin().unwrap_or_default(),
        l.pathname().unwrap_or_default(),
        l.search().unwrap_or_default()
    )
}

/// The page's own address without query or fragment, to build lesson links on.
pub fn page_base() -> String {
    let Some(w) = window() else {
        return String::new();
    };
    let l = w.location();
    format!(
        "{}{}",
        l.origin().unwrap_or_default(),
        l.pathname().unwrap_or_default()
    )
}

/// Offers `text` as a file download.
pub fn download(name: &str, text: &str) -> Result<(), JsValue> {
    let parts = js_sys::Array::of1(&JsValue::from_str(text));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type("application/json");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    let doc = document().ok_or_else(|| JsValue::from_str("no document"))?;
    let a: web_sys::HtmlAnchorElement = doc.create_element("a")?.dyn_into()?;
    a.set_href(&url);
    a.set_download(name);
    a.click();
    web_sys::Url::revoke_object_url(&url)?;
    Ok(())
}

/// Reads a file chosen in a file input as text.
pub async fn read_file(file: web_sys::File) -> Result<String, String> {
    let promise = file.text();
    let value = wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map_err(|_| "the file could not be read".to_string())?;
    value
        .as_string()
        .ok_or_else(|| "the file is not text".to_string())
}

/// Copies text to the clipboard where the browser allows it (best effort).
pub fn copy_to_clipboard(text: &str) {
    let Some(w) = window() else { return };
    let nav = w.navigator();
    let Ok(clip) = js_sys::Reflect::get(&nav, &JsValue::from_str("clipboard")) else {
        return;
    };
    if clip.is_undefined() {
        return;
    }
    if let Ok(f) = js_sys::Reflect::get(&clip, &JsValue::from_str("writeText")) {
        if let Some(f) = f.dyn_ref::<js_sys::Function>() {
            let _ = f.call1(&clip, &JsValue::from_str(text));
        }
    }
}

/// Sets `data-theme` on the root element: "light", "dark", or none (follow the system).
pub fn apply_theme(theme: &str) {
    let Some(root) = document().and_then(|d| d.document_element()) else {
        return;
    };
    if theme == "light" || theme == "dark" {
        let _ = root.set_attribute("data-theme", theme);
    } else {
        let _ = root.remove_attribute("data-theme");
    }
}

/// Milliseconds from the page's time origin (for the play loop's frame lengths).
pub fn now_ms() -> f64 {
    window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// Hides the loading indicator once the app has mounted.
pub fn hide_loading() {
    if let Some(el) = document().and_then(|d| d.get_element_by_id("loading")) {
        el.remove();
    }
}

/// A parameter of the page's query string (`?scenario=cache-aside`), decoded.
pub fn query_param(name: &str) -> Option<String> {
    let search = window()?.location().search().ok()?;
    let params = web_sys::UrlSearchParams::new_with_str(&search).ok()?;
    params.get(name).filter(|v| !v.is_empty())
}

/// Where a lesson's progress (its passed try steps) is kept in this browser: by its progress id
/// (`Lesson::progress_id`: a shipped lesson's id, an instructor's id and text hash).
pub fn progress_key(progress_id: &str) -> String {
    format!("cachelab.progress.{progress_id}")
}
