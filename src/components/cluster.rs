//! Cluster mode's regions: the toggle in the top bar, the nodes, the slots and redirects, the
//! replication stream and the cluster's events.
//!
//! Each picture is a component whose props are plain data from `crate::model::cluster_views`
//! (`NodesView`, `SlotsView`, `RedirectsView`, `ReplicationView`, `ClusterLog`), so that anything
//! holding a `Cluster` and its events (a guided lesson) can draw the same views; the `Cluster*`
//! regions below only derive that data from the playground's cluster mode.

use yew::prelude::*;

use crate::app::{AppContext, Dispatch};
use crate::components::{fmt_bytes, fmt_duration};
use crate::model::cluster::{ClusterModel, LAGS, MAX_MASTERS};
use crate::model::cluster_views::{
    addrs, hot_view, node_stats, repl_view, show, slot_strip, HotView, LogKind, LogLine, NodeStat,
    RedirectKind, RedirectRecord, ReplView, SlotStrip, HOT_WINDOW_MS,
};
use crate::model::events::fmt_time;
use crate::model::Action;

/// A colour per node (a replica has its own; the slot strip colours by owner). Shapes and text
/// carry the same meaning for those who do not see the colours.
const PALETTE: [&str; 9] = [
    "#1c7ed6", "#e8590c", "#2b8a3e", "#ae3ec9", "#f08c00", "#0c8599", "#c2255c", "#5c940d",
    "#6741d9",
];

pub fn node_colour(node: usize) -> &'static str {
    PALETTE[node % PALETTE.len()]
}

fn node_style(node: usize) -> String {
    format!("--node: {}", node_colour(node))
}

/// Node `node`'s address, empty for a node the list does not have.
fn addr_of(addrs: &[String], node: usize) -> String {
    addrs.get(node).cloned().unwrap_or_default()
}

/// The port of a `host:port` address, as `redis-cli -p` takes it.
fn port_of(addr: &str) -> &str {
    addr.rsplit(':').next().unwrap_or_default()
}

/// The redirect's error word, as the reply spells it.
fn redirect_word(kind: RedirectKind) -> &'static str {
    match kind {
        RedirectKind::Moved => "MOVED",
        RedirectKind::Ask => "ASK",
    }
}

/// A select's change handler: dispatches `action` of the chosen option's value, parsed as `T`.
fn on_select<T: std::str::FromStr + 'static>(
    d: Dispatch,
    action: impl Fn(T) -> Action + 'static,
) -> Callback<Event> {
    Callback::from(move |e: Event| {
        let v = e
            .target_unchecked_into::<web_sys::HtmlSelectElement>()
            .value();
        if let Ok(value) = v.parse::<T>() {
            d.dispatch(action(value));
        }
    })
}

/// Draws a cluster-mode region from the playground's cluster; nothing while cluster mode is
/// closed.
fn with_cluster(ctx: &AppContext, draw: impl FnOnce(&ClusterModel) -> Html) -> Html {
    let m = ctx.model.0.borrow();
    m.cluster.as_ref().map_or_else(Html::default, draw)
}

/// The top bar's control: opens cluster mode, and while open sets its shape or closes it.
#[component(ClusterToggle)]
pub fn cluster_toggle() -> Html {
    let ctx = use_context::<AppContext>().expect("AppContext");
    let d = ctx.dispatcher();
    let shape = {
        let m = ctx.model.0.borrow();
        m.cluster.as_ref().map(|c| (c.masters, c.replicas))
    };
    let Some((masters, replicas)) = shape else {
        let open = Callback::from(move |_: MouseEvent| {
            d.dispatch(Action::OpenCluster {
                masters: 3,
                replicas: 0,
            })
        });
        return html! {
            <div class="cluster-toggle" role="group" aria-label="Cluster">
                <button type="button" aria-pressed="false" title="A Redis Cluster of three masters, with consoles that follow redirections as redis-cli -c does" onclick={open}>{"⬡ Cluster"}</button>
            </div>
        };
    };
    let close = {
        let d = d.clone();
        Callback::from(move |_: MouseEvent| d.dispatch(Action::CloseCluster))
    };
    let on_masters = on_select(d.clone(), move |n: usize| Action::OpenCluster {
        masters: n,
        replicas,
    });
    let on_replicas = on_select(d.clone(), move |n: usize| Action::OpenCluster {
        masters,
        replicas: n,
    });
    html! {
        <div class="cluster-toggle" role="group" aria-label="Cluster">
            <button type="button" class="on" aria-pressed="true" title="Back to the single instance (the cluster is discarded)" onclick={close}>{"⬡ Cluster"}</button>
            <select aria-label="Masters" title="Masters (a new cluster)" onchange={on_masters}>
                { for (1..=MAX_MASTERS).map(|n| html! {
                    <option value={n.to_string()} selected={n == masters}>{format!("{n} masters")}</option>
                }) }
            </select>
            <select aria-label="Replicas per master" title="Replicas per master (a new cluster)" onchange={on_replicas}>
                { for (0..=1usize).map(|n| html! {
                    <option value={n.to_string()} selected={n == replicas}>{format!("{n} replica{}", if n == 1 { "" } else { "s" })}</option>
                }) }
            </select>
        </div>
    }
}

/// The console's node, as `redis-cli -c -p <port>` chooses it.
#[derive(Properties, PartialEq)]
pub struct NodePickerProps {
    pub pane: usize,
}

#[component(NodePicker)]
pub fn node_picker(props: &NodePickerProps) -> Html {
    let ctx = use_context::<AppContext>().expect("AppContext");
    with_cluster(&ctx, |c| {
        let current = c.pane_nodes.get(props.pane).copied().unwrap_or(0);
        let pane = props.pane;
        let onchange = on_select(ctx.dispatcher(), move |node: usize| {
            Action::ClusterConnect { pane, node }
        });
        html! {
            <select class="node-picker" aria-label="Connect to node" title="Connect this console to another node (redis-cli -c -p <port>)" {onchange}>
                { for (0..c.cluster.len()).map(|i| html! {
                    <option value={i.to_string()} selected={i == current}>{format!("-p {}", port_of(&c.cluster.addr(i)))}</option>
                }) }
            </select>
        }
    })
}

/// Cluster mode's nodes region.
#[component(ClusterNodes)]
pub fn cluster_nodes() -> Html {
    let ctx = use_context::<AppContext>().expect("AppContext");
    with_cluster(&ctx, |c| {
        let stats = node_stats(&c.cluster);
        let hot = hot_view(&c.records, c.cluster.len(), c.now, HOT_WINDOW_MS);
        let d = ctx.dispatcher();
        let on_fail = {
            let d = d.clone();
            Callback::from(move |n: usize| d.dispatch(Action::ClusterFailNode(n)))
        };
        let on_recover = Callback::from(move |n: usize| d.dispatch(Action::ClusterRecoverNode(n)));
        html! {
            <section class="cluster-nodes region" aria-label="Cluster nodes">
                <header><h2>{"Nodes"}</h2><span class="dim">{format!("load: last {}", fmt_duration(HOT_WINDOW_MS))}</span></header>
                <NodesView {stats} {hot} {on_fail} {on_recover} />
            </section>
        }
    })
}

#[derive(Properties, PartialEq)]
pub struct NodesViewProps {
    pub stats: Vec<NodeStat>,
    pub hot: HotView,
    /// Engine-only controls; a view without them shows none.
    #[prop_or_default]
    pub on_fail: Option<Callback<usize>>,
    #[prop_or_default]
    pub on_recover: Option<Callback<usize>>,
}

/// Keys, memory, slots and recent load per node; the node taking most of the load glows.
#[component(NodesView)]
pub fn nodes_view(props: &NodesViewProps) -> Html {
    let max_load = props
        .hot
        .loads
        .iter()
        .map(|l| l.commands)
        .max()
        .unwrap_or(0)
        .max(1);
    html! {
        <ul class="cluster-node-list">
            { for props.stats.iter().map(|s| {
                let load = props.hot.loads.get(s.node);
                let commands = load.map_or(0, |l| l.commands);
                let is_hot = props.hot.hot == Some(s.node);
                let state = if !s.up && s.failed { "FAIL" } else if !s.up { "down" } else if s.failed { "FAIL" } else { "up" };
                let role = match s.master {
                    None => "master".to_string(),
                    Some(m) => format!("replica of {}", props.stats.get(m).map_or(String::new(), |x| x.addr.clone())),
                };
                let toggle = if s.up {
                    props.on_fail.clone().map(|cb| {
                        let n = s.node;
                        html! { <button type="button" aria-label={format!("Fail {}", s.addr)} title="The node stops answering, as if its process died" onclick={Callback::from(move |_: MouseEvent| cb.emit(n))}>{"✕ fail"}</button> }
                    })
                } else {
                    props.on_recover.clone().map(|cb| {
                        let n = s.node;
                        html! { <button type="button" aria-label={format!("Recover {}", s.addr)} title="The node answers again, with the data it had" onclick={Callback::from(move |_: MouseEvent| cb.emit(n))}>{"↻ recover"}</button> }
                    })
                };
                html! {
                    <li class={classes!("cluster-node", (!s.up).then_some("down"), is_hot.then_some("hot"), s.master.is_some().then_some("replica"))}
                        style={node_style(s.node)} aria-label={format!("Node {}", s.addr)}>
                        <div class="line1">
                            <span class="swatch" aria-hidden="true">{if s.master.is_some() { "◇" } else { "◆" }}</span>
                            <b class="mono">{&s.addr}</b>
                            <span class={classes!("state", format!("s-{}", state.to_ascii_lowercase()))}>{state}</span>
                            {toggle.unwrap_or_default()}
                        </div>
                        <div class="dim">{role}{format!(" · epoch {}", s.epoch)}</div>
                        <div class="mono id" title="Node id (CLUSTER MYID): select to copy">{&s.id}</div>
                        <dl class="facts">
                            <dt>{"keys"}</dt><dd>{s.keys}</dd>
                            <dt>{"memory"}</dt><dd>{fmt_bytes(s.used_memory)}</dd>
                            if s.master.is_none() {
                                <dt>{"slots"}</dt><dd>{if s.slots == 0 { "none".to_string() } else { format!("{} ({})", s.ranges, s.slots) }}</dd>
                            }
                            <dt>{"load"}</dt>
                            <dd>
                                <span class="bar load" aria-hidden="true"><span style={format!("transform: scaleX({})", commands as f64 / max_load as f64)}></span></span>
                                {format!("{commands} cmds")}
                            </dd>
                        </dl>
                        if is_hot {
                            if let Some((key, n)) = load.and_then(|l| l.hottest.clone()) {
                                <p class="hot-key" role="status">{"◉ hot: "}<code>{show(&key)}</code>{format!(" ×{n} of {} commands in the cluster", props.hot.total)}</p>
                            }
                        }
                    </li>
                }
            }) }
        </ul>
    }
}

/// Cluster mode's slots region: the strip and the latest redirects.
#[component(ClusterSlots)]
pub fn cluster_slots() -> Html {
    let ctx = use_context::<AppContext>().expect("AppContext");
    with_cluster(&ctx, |c| {
        let strip = slot_strip(&c.cluster);
        let addrs = addrs(&c.cluster);
        let redirects: Vec<RedirectRecord> = c.records.redirects.iter().cloned().collect();
        let masters: Vec<usize> = (0..c.cluster.len()).collect();
        html! {
            <section class="cluster-centre region" aria-label="Cluster">
                <header><h2>{"Hash slots"}</h2><span class="dim">{"CRC16(key) mod 16384 · a {tag} hashes only the tag"}</span></header>
                <SlotsView strip={strip} addrs={addrs.clone()} />
                <RedirectsView {redirects} {addrs} nodes={masters} now={c.now} />
                <details class="cluster-tips">
                    <summary>{"Things to try"}</summary>
                    <ul>
                        <li><code>{"SET foo bar"}</code>{": the console is redirected to the node that owns slot 12182, and stays there."}</li>
                        <li><code>{"MSET a 1 b 2"}</code>{" is refused (CROSSSLOT); "}<code>{"MSET {user}:a 1 {user}:b 2"}</code>{" is not: only the tag is hashed."}</li>
                        <li><code>{"100 INCR hits"}</code>{" repeats a command, as redis-cli does: one node takes all the load."}</li>
                        <li>{"Choose 1 replica and a 5s lag, write, fail that master, then +10s twice: its replica takes over and the write is lost."}</li>
                        <li>{"Resharding: on the target ("}<code>{"-p"}</code>{" picks a console's node) "}<code>{"CLUSTER SETSLOT <slot> IMPORTING <source id>"}</code>
                            {", on the source "}<code>{"CLUSTER SETSLOT <slot> MIGRATING <target id>"}</code>{", "}<code>{"CLUSTER GETKEYSINSLOT <slot> 10"}</code>
                            {", "}<code>{"MIGRATE 127.0.0.1 <port> \"\" 0 5000 KEYS <key>"}</code>{" (a GET now gets ASK), then "}
                            <code>{"CLUSTER SETSLOT <slot> NODE <target id>"}</code>{" on both."}</li>
                    </ul>
                </details>
            </section>
        }
    })
}

#[derive(Properties, PartialEq)]
pub struct SlotsViewProps {
    pub strip: SlotStrip,
    pub addrs: Vec<String>,
}

/// The 16384 slots as one strip coloured by owner, migrating slots marked, the ranges as text.
#[component(SlotsView)]
pub fn slots_view(props: &SlotsViewProps) -> Html {
    let s = &props.strip;
    let addr = |i: usize| addr_of(&props.addrs, i);
    let pct = |slot: u16| f64::from(slot) * 100.0 / 16384.0;
    html! {
        <div class="slots" role="group" aria-label="Cluster slots">
            <div class="slot-strip" role="img" aria-label={format!("{} runs of slots; {} migrating", s.segments.len(), s.moves.len())}>
                { for s.segments.iter().map(|seg| {
                    let len = u32::from(seg.last) - u32::from(seg.first) + 1;
                    let title = format!("{}-{}: {}", seg.first, seg.last, seg.owner.map_or("unassigned".to_string(), addr));
                    html! {
                        <span class={classes!("seg", seg.owner.is_none().then_some("unassigned"))}
                            style={format!("flex-grow: {len}; {}", seg.owner.map(node_style).unwrap_or_default())} {title}></span>
                    }
                }) }
                { for s.moves.iter().map(|mv| html! {
                    <span class="migrating-mark" style={format!("left: {:.3}%", pct(mv.slot))} title={format!("slot {} migrating", mv.slot)}>{"▼"}</span>
                }) }
            </div>
            <div class="slot-scale dim" aria-hidden="true"><span>{"0"}</span><span>{"8192"}</span><span>{"16383"}</span></div>
            <ul class="slot-ranges">
                { for s.ranges.iter().map(|(node, text, count)| html! {
                    <li style={node_style(*node)}><span class="swatch" aria-hidden="true">{"■"}</span><b class="mono">{addr(*node)}</b>{format!(" {text} ({count} slots)")}</li>
                }) }
                if !s.unassigned.is_empty() {
                    <li class="unassigned"><span class="swatch" aria-hidden="true">{"□"}</span>{format!("unassigned: {}", s.unassigned)}</li>
                }
                { for s.moves.iter().map(|mv| html! {
                    <li class="migrating">{"▼ "}{format!("slot {} migrating {} → {}", mv.slot,
                        mv.from.map_or("?".to_string(), addr), mv.to.map_or("?".to_string(), addr))}</li>
                }) }
            </ul>
        </div>
    }
}

#[derive(Properties, PartialEq)]
pub struct RedirectsViewProps {
    /// Oldest first; the newest is drawn strongest.
    pub redirects: Vec<RedirectRecord>,
    pub addrs: Vec<String>,
    /// The nodes to draw, in order.
    pub nodes: Vec<usize>,
    pub now: i64,
}

/// The latest redirects as arrows between the nodes, with slot and MOVED or ASK, and as a list.
#[component(RedirectsView)]
pub fn redirects_view(props: &RedirectsViewProps) -> Html {
    let n = props.nodes.len().max(1);
    let width = 100.0 * n as f64;
    let x = |node: usize| {
        let i = props.nodes.iter().position(|&x| x == node).unwrap_or(0);
        50.0 + 100.0 * i as f64
    };
    // Nodes on a middle line: redirects to the right arc above it, to the left below it, so
    // that a redirect and its way back do not cover each other.
    let base = 80.0;
    let count = props.redirects.len();
    html! {
        <div class="redirects" role="group" aria-label="Cluster redirects">
            <h3>{"Redirects"}</h3>
            <svg viewBox={format!("0 0 {width} 166")} class="redirect-map" aria-hidden="true">
                <defs>
                    <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse">
                        <path d="M0,0 L10,5 L0,10 z" fill="currentColor" />
                    </marker>
                </defs>
                { for props.redirects.iter().enumerate().map(|(i, r)| {
                    let (x1, x2) = (x(r.from), x(r.to));
                    let age = count - 1 - i;
                    // Above for rightwards, below for leftwards; older arcs lower, their labels
                    // stepped apart.
                    let dir = if x2 >= x1 { -1.0 } else { 1.0 };
                    let lift = (12.0 + (x2 - x1).abs() * 0.08 + age as f64 * 7.0).min(50.0);
                    let mid = (x1 + x2) / 2.0;
                    let y0 = base + dir * 17.0;
                    let d = format!("M{x1},{y0} Q{mid},{} {x2},{y0}", y0 + dir * lift * 2.0);
                    let label_y = y0 + dir * (lift + 4.0) + if dir > 0.0 { 9.0 } else { 0.0 };
                    let kind = match r.kind { RedirectKind::Moved => "moved", RedirectKind::Ask => "ask" };
                    let label = format!("{} {}", redirect_word(r.kind), r.slot);
                    html! {
                        <g class={classes!("redirect", kind, (age == 0).then_some("latest"))} style={format!("opacity: {}", 1.0 - age as f64 * 0.1)}>
                            <path d={d} fill="none" marker-end="url(#arrow)" />
                            <text x={mid.to_string()} y={label_y.to_string()} text-anchor="middle">{label}</text>
                        </g>
                    }
                }) }
                { for props.nodes.iter().map(|&node| {
                    let port = props.addrs.get(node).map_or("", |a| port_of(a));
                    html! {
                        <g class="map-node" style={node_style(node)}>
                            <circle cx={x(node).to_string()} cy={base.to_string()} r="16" />
                            <text x={x(node).to_string()} y={(base + 3.5).to_string()} text-anchor="middle">{port.to_string()}</text>
                        </g>
                    }
                }) }
            </svg>
            if props.redirects.is_empty() {
                <p class="dim">{"None yet: type SET foo bar in a console."}</p>
            } else {
                <ol class="redirect-list" reversed=true>
                    { for props.redirects.iter().rev().map(|r| {
                        let from = addr_of(&props.addrs, r.from);
                        let to = addr_of(&props.addrs, r.to);
                        let kind = redirect_word(r.kind);
                        html! { <li><span class="dim">{format!("t={} ", fmt_time(r.at))}</span>{format!("{} {from} → {to}: {kind} slot {}", r.command, r.slot)}</li> }
                    }) }
                </ol>
            }
        </div>
    }
}

/// Cluster mode's replication region.
#[component(ClusterReplication)]
pub fn cluster_replication() -> Html {
    let ctx = use_context::<AppContext>().expect("AppContext");
    with_cluster(&ctx, |c| {
        let view = repl_view(&c.cluster);
        let addrs = addrs(&c.cluster);
        let on_lag = on_select(ctx.dispatcher(), Action::ClusterSetLag);
        let lag = view.lag_ms;
        html! {
            <section class="cluster-repl region" aria-label="Cluster replication">
                <header>
                    <h2>{"Replication"}</h2>
                    <label class="dim" for="repl-lag">{"lag"}</label>
                    <select id="repl-lag" aria-label="Replication lag" title="How long a write takes to reach the replicas" onchange={on_lag}>
                        { for LAGS.iter().map(|ms| html! {
                            <option value={ms.to_string()} selected={*ms == lag}>{fmt_duration(*ms)}</option>
                        }) }
                    </select>
                </header>
                <ReplicationView {view} {addrs} now={c.now} />
            </section>
        }
    })
}

#[derive(Properties, PartialEq)]
pub struct ReplicationViewProps {
    pub view: ReplView,
    pub addrs: Vec<String>,
    pub now: i64,
}

/// Each master's stream: what it queued, what each replica applied, what is on its way; then
/// the writes a failover lost.
#[component(ReplicationView)]
pub fn replication_view(props: &ReplicationViewProps) -> Html {
    let v = &props.view;
    let addr = |i: usize| addr_of(&props.addrs, i);
    html! {
        <div class="repl-body">
            if v.streams.is_empty() {
                <p class="dim">{"No master has a replica: choose 1 replica in the top bar to see writes stream to them."}</p>
            }
            { for v.streams.iter().map(|s| html! {
                <div class="stream" style={node_style(s.master)} role="group" aria-label={format!("Stream of {}", addr(s.master))}>
                    <div><span class="swatch" aria-hidden="true">{"◆"}</span><b class="mono">{addr(s.master)}</b>
                        {format!(" queued to offset {}", s.offset)}{if s.up { "" } else { " (down)" }}</div>
                    { for s.replicas.iter().map(|r| {
                        let frac = if s.offset > 0 { r.applied as f64 / s.offset as f64 } else { 1.0 };
                        html! {
                            <div class={classes!("replica-line", (r.behind > 0).then_some("behind"))} style={node_style(r.node)}>
                                <span class="swatch" aria-hidden="true">{"◇"}</span>
                                <span class="mono">{addr(r.node)}</span>
                                <span class="bar" aria-hidden="true"><span style={format!("transform: scaleX({:.3})", frac.clamp(0.0, 1.0))}></span></span>
                                <span>{format!("applied {}", r.applied)}{if r.behind > 0 { format!(" · {} bytes behind", r.behind) } else { " · in sync".to_string() }}</span>
                            </div>
                        }
                    }) }
                    if !s.in_flight.is_empty() {
                        <ul class="in-flight" aria-label="Writes on their way">
                            { for s.in_flight.iter().rev().take(6).map(|w| {
                                let left = (w.due - props.now).max(0);
                                html! { <li><code>{&w.command}</code><span class="dim">{format!(" offset {} · arrives in {}", w.offset, fmt_duration(left))}</span></li> }
                            }) }
                            if s.in_flight.len() > 6 {
                                <li class="dim">{format!("… {} more", s.in_flight.len() - 6)}</li>
                            }
                        </ul>
                    }
                </div>
            }) }
            <div class="lost" role="group" aria-label="Lost writes">
                <h3>{"Lost writes"}</h3>
                if v.lost.is_empty() {
                    <p class="dim">{"None: fail a master while its writes are on their way (raise the lag), and wait for its replica to take over."}</p>
                } else {
                    <ul>
                        { for v.lost.iter().map(|w| html! {
                            <li><span class="k">{"✗ "}</span><code>{&w.command}</code>
                                <span class="dim">{format!(" acknowledged by {} at t={} (offset {}), never replicated", addr(w.master), fmt_time(w.at), w.offset)}</span></li>
                        }) }
                    </ul>
                }
            </div>
        </div>
    }
}

/// Cluster mode's event log.
#[component(ClusterEvents)]
pub fn cluster_events() -> Html {
    let ctx = use_context::<AppContext>().expect("AppContext");
    with_cluster(&ctx, |c| {
        let lines: Vec<LogLine> = c.records.log.iter().rev().take(120).cloned().collect();
        html! {
            <section class="events cluster-events region" aria-label="Cluster events">
                <header><h2>{"Cluster events"}</h2></header>
                <ClusterLog {lines} />
            </section>
        }
    })
}

#[derive(Properties, PartialEq)]
pub struct ClusterLogProps {
    /// Newest first.
    pub lines: Vec<LogLine>,
}

#[component(ClusterLog)]
pub fn cluster_log(props: &ClusterLogProps) -> Html {
    html! {
        <ol class="eventlist cluster-log" role="log" aria-label="Cluster event log">
            { for props.lines.iter().map(|l| {
                let kind = match l.kind {
                    LogKind::Write => "write",
                    LogKind::Redirect => "redirect",
                    LogKind::Replication => "repl",
                    LogKind::Failure => "failure",
                    LogKind::Slots => "slots",
                };
                html! { <li class={format!("c-{kind}")}><span class="dim">{format!("{} ", fmt_time(l.at))}</span>{&l.text}</li> }
            }) }
        </ol>
    }
}
