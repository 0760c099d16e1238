//! Every file in `static/scenarios/`: it parses, it plays on the engine with every expectation
//! and check met (what the engine lacks is skipped with a note), and it replays on a real
//! redis-server, which this test starts on a free loopback port, with real waits. The cluster
//! lessons (`cluster: N`) replay on a real Redis Cluster that the test builds on free loopback
//! ports (and bus ports) and tears down.
//!
//! Without `redis-server` on PATH the replay test fails, unless `CACHELAB_SKIP_REDIS=1` says to
//! skip it.

use std::path::PathBuf;

use cachelab_difftest::{free_ports, RedisCluster, RedisServer};
use cachelab_engine::Config;
use cachelab_scenario::format::ClusterSpec;
use cachelab_scenario::net::{RedisClusterTarget, RedisTarget};
use cachelab_scenario::{parse_bytes, replay, EngineTarget, Report, Scenario, SHIPPED};

fn scenario_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../static/scenarios")
}

/// Every `.scn` file, parsed, sorted by name.
fn scenarios() -> Vec<Scenario> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(scenario_dir())
        .expect("static/scenarios is readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "scn"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no scenarios found");
    let mut errors = Vec::new();
    let mut out = Vec::new();
    for path in paths {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let bytes = std::fs::read(&path).expect("readable scenario");
        match parse_bytes(&name, &bytes) {
            Ok(s) => out.push(s),
            Err(errs) => errors.extend(errs.iter().map(|e| e.to_string())),
        }
    }
    assert!(
        errors.is_empty(),
        "malformed scenarios:\n{}",
        errors.join("\n")
    );
    out
}

fn fail_on(reports: &[Report]) {
    for r in reports {
        for note in r.notes() {
            eprintln!("note: {}: {note}", r.file);
        }
    }
    let failed: Vec<String> = reports
        .iter()
        .filter(|r| !r.passed())
        .map(Report::render)
        .collect();
    assert!(
        failed.is_empty(),
        "{} scenario(s) failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

#[test]
fn every_file_is_embedded_and_ids_are_unique() {
    let all = scenarios();
    let mut on_disk: Vec<&str> = all.iter().map(|s| s.file.as_str()).collect();
    let mut embedded: Vec<&str> = SHIPPED.iter().map(|(n, _)| *n).collect();
    on_disk.sort();
    embedded.sort();
    assert_eq!(
        on_disk, embedded,
        "lib.rs's SHIPPED must list every file of static/scenarios"
    );
    for (name, text) in SHIPPED {
        let disk = std::fs::read_to_string(scenario_dir().join(name)).expect("readable");
        assert_eq!(&disk, text, "{name}: the embedded copy is stale");
    }
    let mut ids: Vec<&str> = all.iter().map(|s| s.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), all.len(), "two scenarios share an id");
    // Each names its own view, and the file is named after its id.
    for s in &all {
        assert_eq!(s.file, format!("{}.scn", s.id), "file name and id differ");
    }
}

#[test]
fn every_scenario_plays_on_the_engine() {
    let reports: Vec<Report> = scenarios()
        .iter()
        .map(|s| replay::run(s, &mut EngineTarget::new(Config::default())))
        .collect();
    fail_on(&reports);
    // The engine has strings, hashes, pub/sub and expiry: these lessons play in full today.
    for id in ["cache-aside", "session", "expiry"] {
        let r = reports.iter().find(|r| r.id == id).expect("shipped");
        assert!(
            r.skipped.is_none() && r.notes().is_empty(),
            "{}",
            r.render()
        );
    }
}

#[test]
fn every_scenario_replays_on_a_real_redis() {
    if std::env::var("CACHELAB_SKIP_REDIS").is_ok_and(|v| v == "1") {
        eprintln!("CACHELAB_SKIP_REDIS=1: not replaying the scenarios against redis-server");
        return;
    }
    let server = match RedisServer::start() {
        Ok(s) => s,
        Err(e) => panic!("the scenario replay test needs redis-server: {e}"),
    };
    let mut reports = Vec::new();
    for s in scenarios().into_iter().filter(|s| s.cluster.is_none()) {
        let mut target = RedisTarget::new(server.addr(), true);
        let report = replay::run(&s, &mut target);
        assert!(
            report.skipped.is_none(),
            "a real Redis has everything: {}",
            report.render()
        );
        reports.push(report);
    }
    fail_on(&reports);
}

#[test]
fn every_cluster_scenario_replays_on_a_real_redis_cluster() {
    if std::env::var("CACHELAB_SKIP_REDIS").is_ok_and(|v| v == "1") {
        eprintln!("CACHELAB_SKIP_REDIS=1: not replaying the cluster scenarios against Redis");
        return;
    }
    let all: Vec<Scenario> = scenarios()
        .into_iter()
        .filter(|s| s.cluster.is_some())
        .collect();
    assert!(
        all.len() >= 4,
        "the cluster lessons are shipped: {}",
        all.len()
    );
    let mut shapes: Vec<ClusterSpec> = all.iter().filter_map(|s| s.cluster).collect();
    shapes.sort_by_key(|c| (c.masters, c.replicas_per_master));
    shapes.dedup();
    let mut reports = Vec::new();
    for shape in shapes {
        // Node ports and bus ports the system picks: fixed ranges may be taken on this machine.
        let n = shape.nodes();
        let picked = free_ports(2 * n).expect("free loopback ports");
        let (ports, bus) = picked.split_at(n);
        let cluster = match RedisCluster::start_with_bus(
            shape.masters,
            shape.replicas_per_master,
            ports,
            bus,
            &[],
        ) {
            Ok(c) => c,
            Err(e) => panic!("the cluster replay test needs redis-server: {e}"),
        };
        for s in all.iter().filter(|s| s.cluster == Some(shape)) {
            let mut target = RedisClusterTarget::new(&cluster.addrs()[..1], true);
            let report = replay::run(s, &mut target);
            assert!(report.skipped.is_none(), "{}", report.render());
            // Only engine-only steps may be left out.
            let played = report.steps.iter().filter(|o| o.skipped.is_none()).count();
            let engine_only = s
                .steps
                .iter()
                .filter(|st| !st.engine_only().is_empty())
                .count();
            assert_eq!(played + engine_only, s.steps.len(), "{}", report.render());
            reports.push(report);
        }
    }
    fail_on(&reports);
}
