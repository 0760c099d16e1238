//! The `cachelab` console and command line, driven through stdin and the process exit status.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn cachelab(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cachelab"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start cachelab");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait for cachelab")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn console_reads_redis_cli_lines_from_a_pipe() {
    let input = "SET greeting \"hello\\nworld\"\nGET greeting\n\n  GET 'missing'\nSET a \"unclosed\nPING\nNOPE x\nQUIT\nPING\n";
    let out = cachelab(&[], input);
    assert!(out.status.success(), "{}", stderr(&out));
    // No prompt without a terminal; the console stops at QUIT.
    assert_eq!(
        stdout(&out),
        "OK\n\"hello\\nworld\"\n(nil)\nInvalid argument(s)\nPONG\n\
         (error) ERR unknown command 'NOPE', with args beginning with: 'x' \n"
    );
}

#[test]
fn console_ends_at_end_of_input_and_on_exit() {
    let out = cachelab(&["repl"], "PING");
    assert!(out.status.success());
    assert_eq!(stdout(&out), "PONG\n");
    let out = cachelab(&["repl", "--seed", "5"], "exit\nPING\n");
    assert!(out.status.success());
    assert_eq!(stdout(&out), "");
}

#[test]
fn help_and_version() {
    let out = cachelab(&["--help"], "");
    assert!(out.status.success());
    let help = stdout(&out);
    for needle in [
        "cachelab serve",
        "--port",
        "--bind",
        "--seed",
        "--hz",
        "repl",
    ] {
        assert!(help.contains(needle), "help lacks {needle}: {help}");
    }
    let out = cachelab(&["--version"], "");
    assert!(out.status.success());
    assert_eq!(
        stdout(&out),
        format!("cachelab {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn bad_command_lines_are_refused_with_a_reason() {
    for (args, reason) in [
        (
            &["serve", "--port", "99999"][..],
            "cachelab: invalid port '99999': expected a number from 0 to 65535",
        ),
        (
            &["serve", "--port", "six"][..],
            "cachelab: invalid port 'six'",
        ),
        (
            &["serve", "--verbose"][..],
            "cachelab: unknown option '--verbose'",
        ),
        (
            &["--frobnicate"][..],
            "cachelab: unknown option '--frobnicate'",
        ),
        (
            &["serve", "--hz", "1000"][..],
            "cachelab: invalid hz '1000'",
        ),
    ] {
        let out = cachelab(args, "");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&out).starts_with(reason),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(stderr(&out).contains("Usage:"), "{args:?}");
        assert_eq!(stdout(&out), "");
    }
}

#[test]
fn serve_reports_a_port_it_cannot_listen_on() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    let out = cachelab(&["serve", "--port", &port], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with(&format!("cachelab: cannot listen on 127.0.0.1:{port}")),
        "{}",
        stderr(&out)
    );
}

#[test]
fn console_waits_out_a_blocking_commands_timeout() {
    if stdout(&cachelab(&[], "COMMAND INFO blpop\n")) == "1) (nil)\n" {
        let _ = writeln!(
            std::io::stderr(),
            "note: the engine has no BLPOP yet; test skipped"
        );
        return;
    }
    let started = std::time::Instant::now();
    let out = cachelab(&[], "BLPOP q 0.2\nRPUSH q a\nBLPOP q 0\nPING\n");
    assert_eq!(
        stdout(&out),
        "(nil)\n(integer) 1\n1) \"q\"\n2) \"a\"\nPONG\n"
    );
    assert!(started.elapsed() >= std::time::Duration::from_millis(200));
}

#[test]
fn console_reports_the_biggest_keys_by_count_and_by_memory() {
    let input = "SET short ab\nSET long abcdefghijklmnopqrstuvwxyz\n\
                 RPUSH few a\nRPUSH many a b c d e\nSADD s x y\n\
                 :bigkeys\n:MEMKEYS\n:bigkeys extra\nPING\n";
    let out = cachelab(&[], input);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let (replies, rest) = text.split_at(text.find("Sampled").expect("a report"));
    assert_eq!(replies, "OK\nOK\n(integer) 1\n(integer) 5\n(integer) 2\n");
    let (by_count, rest) = rest.split_at(rest[1..].find("Sampled").expect("two reports") + 1);
    assert!(
        by_count.starts_with("Sampled 5 keys in the keyspace!\n"),
        "{by_count}"
    );
    assert!(
        by_count.contains("Biggest string found 'long' (db 0) has 26 bytes\n"),
        "{by_count}"
    );
    assert!(
        by_count.contains("Biggest   list found 'many' (db 0) has 5 items\n"),
        "{by_count}"
    );
    assert!(
        by_count.contains("2 lists with 6 items (avg size 3.00)\n"),
        "{by_count}"
    );
    assert!(by_count.contains("1 sets with 2 members"), "{by_count}");
    // By memory every size is in bytes, and the longer string still weighs more.
    assert!(
        rest.starts_with("Sampled 5 keys in the keyspace!\n"),
        "{rest}"
    );
    assert!(
        rest.contains("Biggest string found 'long' (db 0) has "),
        "{rest}"
    );
    assert!(!rest.contains(" items"), "{rest}");
    assert!(
        rest.ends_with("(error) :bigkeys takes no arguments\nPONG\n"),
        "{rest}"
    );
}
