//! Session menu: export to a file, import one, share a link, switch theme.

use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::app::AppContext;
use crate::model::Action;
use crate::web;

#[component(SessionMenu)]
pub fn session_menu() -> Html {
    let ctx = use_context::<AppContext>().expect("AppContext");
    let link = use_state(|| None::<String>);
    let theme = use_state(|| web::load(web::THEME_KEY).unwrap_or_else(|| "auto".into()));
    let d = ctx.dispatcher();

    let export = {
        let model = ctx.model.clone();
        let d = d.clone();
        Callback::from(move |_: MouseEvent| {
            let json = model.0.borrow().session().to_json();
            if web::download("cachelab-session.json", &json).is_err() {
                d.dispatch(Action::Notify("The browser refused the download.".into()));
            }
        })
    };
    let import = {
        let d = d.clone();
        Callback::from(move |e: Event| {
            let input = e.target_unchecked_into::<web_sys::HtmlInputElement>();
            let Some(file) = input.files().and_then(|f| f.get(0)) else {
                return;
            };
            input.set_value("");
            let d = d.clone();
            spawn_local(async move {
                match web::read_file(file).await {
                    Ok(text) => d.dispatch(Action::LoadJson(text)),
                    Err(e) => {
                        d.dispatch(Action::Notify(format!("Could not open the session: {e}.")))
                    }
                }
            });
        })
    };
    let share = {
        let model = ctx.model.clone();
        let link = link.clone();
        Callback::from(move |_: MouseEvent| {
            if link.is_some() {
                link.set(None);
                return;
            }
            let url = format!(
                "{}#s={}",
                web::page_url(),
                model.0.borrow().session().to_link_fragment()
            );
            web::copy_to_clipboard(&url);
            link.set(Some(url));
        })
    };
    let toggle_theme = {
        let theme = theme.clone();
        Callback::from(move |_: MouseEvent| {
            let next = match theme.as_str() {
                "auto" => "dark",
                "dark" => "light",
                _ => "auto",
            };
            web::apply_theme(next);
            web::save(web::THEME_KEY, next);
            theme.set(next.to_string());
        })
    };
    let theme_label = match theme.as_str() {
        "dark" => "◐ dark",
        "light" => "◑ light",
        _ => "◒ auto",
    };

    html! {
        <div class="session" role="group" aria-label="Session">
            <button type="button" onclick={export} title="Save the session to a file">{"Export"}</button>
            <label class="button" title="Open a session file">
                {"Import"}
                <input type="file" accept=".json,application/json" aria-label="Import session" onchange={import} />
            </label>
            <button type="button" onclick={share} aria-expanded={link.is_some().to_string()} title="A link that opens this session">{"Share"}</button>
            <button type="button" onclick={toggle_theme} aria-label="Theme" title="Theme: follow the system, dark or light">{theme_label}</button>
            if let Some(url) = (*link).clone() {
                <div class="share-box">
                    <input type="text" readonly=true aria-label="Share link" value={url} onfocus={Callback::from(|e: FocusEvent| {
                        e.target_unchecked_into::<web_sys::HtmlInputElement>().select();
                    })} />
                    <span class="dim">{"Copied if the browser allowed it; anyone opening it replays this session."}</span>
                </div>
            }
        </div>
    }
}
