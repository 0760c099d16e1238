//! The Yew side: the reducer handle shared by context, the top-level layout, the play loop,
//! keyboard shortcuts and saving the session.

use std::cell::RefCell;
use std::rc::Rc;

use gloo_timers::callback::{Interval, Timeout};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use yew::prelude::*;

use crate::components::{
    advisor::AdvisorCard,
    clock::ClockBar,
    cluster::{ClusterEvents, ClusterNodes, ClusterReplication, ClusterSlots, ClusterToggle},
    console::Consoles,
    events::EventsPanel,
    inspector::Inspector,
    keyspace::Keyspace,
    lesson::{saved_progress, saved_progress_of_text, LessonPanel, ScenarioPicker},
    narration::Narration,
    session::SessionMenu,
    timeline::TimelineBar,
    views::PatternView,
};
use crate::model::lesson::{progress_from_text, progress_to_text};
use crate::model::session::Session;
use crate::model::{Action, Model};
use crate::web;

/// The model behind a shared reference: the engine it owns is too large to clone per action,
/// so the reducer mutates it in place and hands out a new `AppState` with a bumped revision,
/// which is what tells Yew that something changed.
#[derive(Clone)]
pub struct ModelRef(pub Rc<RefCell<Model>>);

impl PartialEq for ModelRef {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

#[derive(Clone)]
pub struct AppState {
    pub model: ModelRef,
    pub rev: u64,
}

impl PartialEq for AppState {
    fn eq(&self, other: &Self) -> bool {
        self.model == other.model && self.rev == other.rev
    }
}

impl Reducible for AppState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        self.model.0.borrow_mut().dispatch(action);
        Rc::new(AppState {
            model: self.model.clone(),
            rev: self.rev + 1,
        })
    }
}

pub type AppContext = UseReducerHandle<AppState>;
pub type Dispatch = UseReducerDispatcher<AppState>;

/// The initial model: the session saved in this browser, if any and if it replays.
fn initial_model() -> Model {
    let mut model = Model::default();
    // A replay that never finished (the page crashed or was closed while loading) leaves this
    // mark: the saved session is set aside instead of being replayed into the same crash.
    if web::load(web::LOADING_KEY).is_some() {
        if let Some(text) = web::load(web::SESSION_KEY) {
            web::save(web::CRASHED_KEY, &text);
        }
        web::remove(web::SESSION_KEY);
        web::remove(web::LOADING_KEY);
        model.notice = Some(format!(
            "The saved session could not be replayed last time, so this is a fresh one (the \
             old one is kept in this browser's storage as {}).",
            web::CRASHED_KEY
        ));
        return model;
    }
    if let Some(text) = web::load(web::SESSION_KEY) {
        if Session::from_json(&text).is_ok() {
            web::save(web::LOADING_KEY, "1");
            model.dispatch(Action::LoadJson(text));
            web::remove(web::LOADING_KEY);
        } else {
            model.notice =
                Some("The session saved in this browser was damaged; starting afresh.".into());
        }
    }
    if let Some(fragment) = web::link_fragment() {
        model.dispatch(Action::LoadLink(fragment));
        web::clear_fragment();
    }
    // A lesson reopened with the session starts with what this browser remembers of it.
    if let Some(l) = model.lesson.as_mut() {
        l.passed.extend(saved_progress(&l.progress_id));
    }
    model
}

#[derive(Properties, PartialEq)]
pub struct AppProps {
    /// Start from this model instead of the saved session (tests).
    #[prop_or_default]
    pub fresh: bool,
}

#[component(App)]
pub fn app(props: &AppProps) -> Html {
    let fresh = props.fresh;
    let state = use_reducer(move || {
        let mut model = if fresh {
            Model::default()
        } else {
            initial_model()
        };
        // Workshop links: `?scenario=<id>` opens that lesson (the playground stays behind it).
        if !fresh {
            if let Some(id) = web::query_param("scenario") {
                let passed = saved_progress(&id);
                model.dispatch(Action::OpenLesson { id, passed });
            }
            // Lesson links: `#lesson=<deflated text, base64url>` (or `?lesson=`) carries an
            // instructor's lesson itself. The fragment stays, so a reload reopens the lesson.
            if let Some(payload) = web::lesson_fragment().or_else(|| web::query_param("lesson")) {
                match crate::model::workshop::decode_lesson(&payload) {
                    Ok(text) => {
                        let passed = saved_progress_of_text(&text);
                        model.dispatch(Action::OpenLessonText {
                            origin: String::new(),
                            text,
                            passed,
                        });
                    }
                    Err(notice) => model.dispatch(Action::Notify(notice)),
                }
            }
            // `?cluster=3` (and `&replicas=1`) opens cluster mode with that many masters.
            if let Some(masters) = web::query_param("cluster").and_then(|v| v.parse().ok()) {
                let replicas = web::query_param("replicas")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                model.dispatch(Action::OpenCluster { masters, replicas });
            }
        }
        model.defer_snapshots = true;
        AppState {
            model: ModelRef(Rc::new(RefCell::new(model))),
            rev: 0,
        }
    });
    let dispatch = state.dispatcher();
    let model = state.model.clone();
    let (playing, revision, cursor, notice, in_lesson, in_cluster) = {
        let m = model.0.borrow();
        (
            m.playing,
            m.timeline.revision,
            m.timeline.cursor,
            m.notice.clone(),
            m.lesson.is_some(),
            m.cluster.is_some(),
        )
    };
    let lesson_playing = model.0.borrow().lesson.as_ref().is_some_and(|l| l.playing);
    let embed = use_memo((), |_| web::query_param("embed").is_some_and(|v| v != "0"));

    // Keep the open lesson's progress (its passed try steps) in this browser, per lesson.
    {
        let model = model.clone();
        use_effect_with(state.rev, move |_| {
            let m = model.0.borrow();
            if let Some(l) = &m.lesson {
                // Merged with what is saved: a lesson opened from a link starts with none.
                let key = web::progress_key(&l.progress_id);
                let mut passed = progress_from_text(&web::load(&key).unwrap_or_default());
                let before = passed.len();
                passed.extend(l.passed.iter().copied());
                if passed.len() > before {
                    web::save(&key, &progress_to_text(&passed));
                }
            }
        });
    }

    use_effect_with((), |_| {
        web::hide_loading();
        if let Some(theme) = web::load(web::THEME_KEY) {
            web::apply_theme(&theme);
        }
    });

    // Play: virtual time follows real time times the speed; each tick of this timer is a frame.
    // A playing lesson only counts reading time, so a few frames a second are enough for it.
    {
        let dispatch = dispatch.clone();
        use_effect_with(
            (playing, lesson_playing),
            move |(playing, lesson_playing)| {
                let period = if *playing { 16 } else { 100 };
                let interval = (*playing || *lesson_playing).then(|| {
                    let last = Rc::new(RefCell::new(web::now_ms()));
                    Interval::new(period, move || {
                        let now = web::now_ms();
                        let dt = now - *last.borrow();
                        *last.borrow_mut() = now;
                        dispatch.dispatch(Action::Frame(dt));
                    })
                });
                move || drop(interval)
            },
        );
    }

    // Save after every step and every move along the timeline: shortly after (a large session
    // takes a while to serialise, and that must not hold up the frame that shows the step),
    // at most once a second while playing, and at once when the page is hidden or closed.
    let saver = use_memo((), {
        let model = model.clone();
        let dispatch = dispatch.clone();
        move |_| Saver {
            model,
            dispatch,
            pending: RefCell::new(None),
        }
    });
    // Opening or closing a lesson changes the session too (it names the lesson, or carries an
    // instructor's lesson's text), though not the timeline.
    let open_lesson = model
        .0
        .borrow()
        .lesson
        .as_ref()
        .map(|l| l.progress_id.clone());
    {
        let saver = saver.clone();
        use_effect_with(
            (revision, cursor, playing, open_lesson),
            move |(_, _, playing, _)| {
                Saver::schedule(&saver, if *playing { 1000 } else { 200 }, !*playing);
            },
        );
    }
    {
        let saver = saver.clone();
        use_effect_with((), move |_| {
            let listener = Closure::<dyn Fn(web_sys::Event)>::new(move |_| saver.flush());
            let win = web::window();
            if let Some(w) = &win {
                for ev in ["pagehide", "beforeunload"] {
                    let _ =
                        w.add_event_listener_with_callback(ev, listener.as_ref().unchecked_ref());
                }
            }
            move || {
                if let Some(w) = win {
                    for ev in ["pagehide", "beforeunload"] {
                        let _ = w.remove_event_listener_with_callback(
                            ev,
                            listener.as_ref().unchecked_ref(),
                        );
                    }
                }
            }
        });
    }

    // When nothing has happened for a moment, take the timeline snapshot that fell due.
    let idle = use_mut_ref(|| None::<Timeout>);
    {
        let model = model.clone();
        let dispatch = dispatch.clone();
        use_effect_with(state.rev, move |_| {
            let timeout = Timeout::new(400, move || {
                let due = {
                    let m = model.0.borrow();
                    !m.playing && m.timeline.snapshot_due()
                };
                if due {
                    dispatch.dispatch(Action::Idle);
                }
            });
            *idle.borrow_mut() = Some(timeout);
        });
    }

    // Keyboard: space plays or pauses (the open lesson, or the clock), → steps, ← steps back
    // (not while typing).
    {
        let dispatch = dispatch.clone();
        use_effect_with((), move |_| {
            let listener = Closure::<dyn Fn(KeyboardEvent)>::new(move |e: KeyboardEvent| {
                if e.ctrl_key() || e.meta_key() || e.alt_key() {
                    return;
                }
                let typing = e
                    .target()
                    .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                    .is_some_and(|el| {
                        matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
                            || el.closest("[contenteditable]").ok().flatten().is_some()
                    });
                // Space on a focused button or link presses it; leave that alone.
                let pressing = e.key() == " "
                    && e.target()
                        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                        .is_some_and(|el| matches!(el.tag_name().as_str(), "BUTTON" | "A"));
                if typing || pressing {
                    return;
                }
                let action = match e.key().as_str() {
                    " " => Action::TogglePlay,
                    "ArrowRight" => Action::StepForward,
                    "ArrowLeft" => Action::StepBack,
                    _ => return,
                };
                e.prevent_default();
                dispatch.dispatch(action);
            });
            let doc = web::document();
            if let Some(d) = &doc {
                let _ = d
                    .add_event_listener_with_callback("keydown", listener.as_ref().unchecked_ref());
            }
            move || {
                if let Some(d) = doc {
                    let _ = d.remove_event_listener_with_callback(
                        "keydown",
                        listener.as_ref().unchecked_ref(),
                    );
                }
            }
        });
    }

    let dismiss = {
        let dispatch = dispatch.clone();
        Callback::from(move |_| dispatch.dispatch(Action::DismissNotice))
    };

    if *embed {
        return html! {
            <ContextProvider<AppContext> context={state.clone()}>
                <div class="shell embed">
                    if let Some(text) = notice {
                        <div class="notice" role="alert"><span>{text}</span></div>
                    }
                    <main class="regions">
                        <LessonPanel />
                        <PatternView />
                    </main>
                </div>
            </ContextProvider<AppContext>>
        };
    }

    html! {
        <ContextProvider<AppContext> context={state.clone()}>
            <div class={classes!("shell", in_lesson.then_some("in-lesson"), in_cluster.then_some("in-cluster"))}>
                <header class="topbar">
                    <h1 class="brand">{"Cache"}<span>{"lab"}</span></h1>
                    <ScenarioPicker />
                    <ClusterToggle />
                    if !in_lesson {
                        <ClockBar />
                    }
                    <SessionMenu />
                </header>
                if let Some(text) = notice {
                    <div class="notice" role="alert">
                        <span>{text}</span>
                        <button type="button" onclick={dismiss} aria-label="Dismiss">{"✕"}</button>
                    </div>
                }
                if in_cluster {
                    <main class="regions">
                        <ClusterNodes />
                        <ClusterSlots />
                        <ClusterReplication />
                        <Consoles />
                        <ClusterEvents />
                    </main>
                } else {
                <main class="regions">
                    if in_lesson {
                        <LessonPanel />
                    } else {
                        <Narration />
                    }
                    if in_lesson {
                        <PatternView />
                    } else {
                        <Inspector />
                    }
                    <Keyspace />
                    <Consoles />
                    <AdvisorCard />
                    <EventsPanel />
                </main>
                }
                if !in_lesson && !in_cluster {
                    <TimelineBar />
                }
            </div>
        </ContextProvider<AppContext>>
    }
}

/// Writes the session to local storage, a little after it changed.
struct Saver {
    model: ModelRef,
    dispatch: Dispatch,
    pending: RefCell<Option<Timeout>>,
}

impl Saver {
    /// Saves in `delay_ms`; `restart` pushes back a save already waiting (debounce), otherwise
    /// the waiting one stands (throttle, while playing).
    fn schedule(this: &Rc<Saver>, delay_ms: u32, restart: bool) {
        if !restart && this.pending.borrow().is_some() {
            return;
        }
        let me = this.clone();
        let timeout = Timeout::new(delay_ms, move || {
            me.pending.borrow_mut().take();
            me.save();
        });
        // Replacing the handle cancels the save it replaces.
        *this.pending.borrow_mut() = Some(timeout);
    }

    fn flush(&self) {
        if self.pending.borrow_mut().take().is_some() {
            self.save();
        }
    }

    fn save(&self) {
        let json = self.model.0.borrow().session().to_json();
        if !web::save(web::SESSION_KEY, &json) {
            self.dispatch.dispatch(Action::Notify(
                "This browser refused to save the session (storage full or disabled); export \
                 it to keep it."
                    .into(),
            ));
        }
    }
}

pub fn mount() {
    let Some(root) = web::document().and_then(|d| d.get_element_by_id("app")) else {
        return;
    };
    yew::Renderer::<App>::with_root_and_props(root, AppProps { fresh: false }).render();
}
