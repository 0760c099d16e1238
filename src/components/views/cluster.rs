//! The cluster lesson's view (`view: cluster`): cluster mode's pictures, drawn from
//! `crate::model::views::cluster` at the lesson's current position.

use yew::prelude::*;

use crate::app::AppContext;
use crate::components::cluster::{
    ClusterLog, NodesView, RedirectsView, ReplicationView, SlotsView,
};
use crate::model::events::fmt_time;
use crate::model::views::cluster::cluster_view;

#[component(LessonCluster)]
pub fn lesson_cluster() -> Html {
    let ctx = use_context::<AppContext>().expect("AppContext");
    let view = {
        let m = ctx.model.0.borrow();
        m.lesson.as_ref().and_then(|l| cluster_view(&l.player))
    };
    let Some(v) = view else {
        return html! {
            <section class="lesson-cluster region" aria-label="Cluster">
                <header><h2>{"Cluster"}</h2></header>
                <p class="dim">{"This lesson has no cluster: its header needs a cluster: line."}</p>
            </section>
        };
    };
    let nodes: Vec<usize> = (0..v.addrs.len()).collect();
    let show_repl = !v.repl.streams.is_empty() || !v.repl.lost.is_empty();
    html! {
        <section class="lesson-cluster region" aria-label="Cluster">
            <header>
                <h2>{"Cluster"}</h2>
                <span class="dim" title="A key's slot is CRC16(key) mod 16384; a {tag} hashes only the tag">{format!("t={}", fmt_time(v.now))}</span>
            </header>
            <div class="lesson-cluster-body">
                <SlotsView strip={v.strip} addrs={v.addrs.clone()} />
                <h3>{"Nodes"}<span class="dim">{" · load: the commands of this step"}</span></h3>
                <NodesView stats={v.stats} hot={v.hot} />
                if show_repl {
                    <h3>{"Replication"}</h3>
                    <ReplicationView view={v.repl} addrs={v.addrs.clone()} now={v.now} />
                }
                <RedirectsView redirects={v.redirects} addrs={v.addrs.clone()} {nodes} now={v.now} />
                <h3>{"Cluster events"}</h3>
                <ClusterLog lines={v.log} />
            </div>
        </section>
    }
}
