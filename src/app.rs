use yew::prelude::*;

#[component(App)]
fn app() -> Html {
    html! { <h1>{"Cachelab"}</h1> }
}

pub fn mount() {
    let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("app"))
    else {
        return;
    };
    yew::Renderer::<App>::with_root(root).render();
}
