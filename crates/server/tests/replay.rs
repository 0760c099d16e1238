//! `cachelab replay`: a shipped lesson replayed against a real redis-server (which this test
//! starts on a free loopback port) and on the engine, and a malformed file reported by line.
//!
//! Without `redis-server` on PATH the real-Redis test fails, unless `CACHELAB_SKIP_REDIS=1` says
//! to skip it.

use std::process::{Command, Output};

use cachelab_difftest::RedisServer;

fn cachelab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cachelab"))
        .args(args)
        .output()
        .expect("run cachelab")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn replays_a_shipped_lesson_on_a_real_redis() {
    if std::env::var("CACHELAB_SKIP_REDIS").is_ok_and(|v| v == "1") {
        eprintln!("CACHELAB_SKIP_REDIS=1: not replaying against redis-server");
        return;
    }
    let server = match RedisServer::start() {
        Ok(s) => s,
        Err(e) => panic!("the replay test needs redis-server: {e}"),
    };
    let url = format!("redis://{}", server.addr());
    let out = cachelab(&["replay", "lock", "--url", &url, "--flush"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.starts_with(&format!("lock.scn (lock) on redis {}: ok,", server.addr())),
        "{stdout}"
    );
    assert!(stdout.ends_with("1 passed, 0 failed\n"), "{stdout}");

    // What only the engine can do (take an instance down, skew a clock) is skipped with a note.
    let out = cachelab(&["replay", "redlock", "--url", &url, "--flush"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("  note: step 3: skipped: engine-only (instance 3 down"),
        "{stdout}"
    );

    // The lesson left keys behind: without --flush, replay refuses to empty the server.
    let mut conn = std::net::TcpStream::connect(server.addr()).expect("connect");
    std::io::Write::write_all(&mut conn, b"*3\r\n$3\r\nSET\r\n$4\r\nmine\r\n$1\r\n1\r\n")
        .expect("send SET");
    let mut reply = [0u8; 5];
    std::io::Read::read_exact(&mut conn, &mut reply).expect("read +OK");
    let out = cachelab(&["replay", "lock", "--url", &url]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("FAILED"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn replays_on_the_engine_and_notes_nothing_for_a_full_lesson() {
    let out = cachelab(&["replay", "cache-aside", "lock", "--engine"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("cache-aside.scn (cache-aside) on engine: ok,"),
        "{stdout}"
    );
    assert!(stdout.contains("lock.scn (lock) on engine:"), "{stdout}");
    assert!(stdout.ends_with("2 passed, 0 failed\n"), "{stdout}");
}

#[test]
fn a_malformed_file_is_reported_by_line_and_fails() {
    let dir = std::env::temp_dir().join(format!("cachelab-replay-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("bad.scn");
    std::fs::write(
        &path,
        "cachelab-scenario 1\nid: bad\ntitle: Bad\nsummary: S\nview: keyspace\nclients: A\n\nstep: One\nA: SET k v\nfrobnicate the keys\n",
    )
    .expect("write bad.scn");
    let path_text = path.to_string_lossy().into_owned();
    let out = cachelab(&["replay", &path_text, "--engine"]);
    let stdout = text(&out.stdout);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.starts_with(&format!(
            "{path_text}: line 10: unknown directive 'frobnicate'\n"
        )),
        "{stdout}"
    );
    assert!(stdout.ends_with("0 passed, 1 failed\n"), "{stdout}");
}

#[test]
fn usage_errors_exit_with_2() {
    for args in [
        &["replay"][..],
        &["replay", "lock", "--frob"],
        &["replay", "lock", "--url", "redis://user@host/1"],
    ] {
        let out = cachelab(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            text(&out.stderr).contains("cachelab replay SCENARIO..."),
            "{args:?}"
        );
    }
    let out = cachelab(&["replay", "no-such-lesson", "--engine"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("no shipped lesson has that id"),
        "{}",
        text(&out.stdout)
    );
}
