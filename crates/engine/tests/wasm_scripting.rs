//! EVAL inside the wasm32 build, where the web UI runs the engine: Lua (rilua) must behave there
//! as it does on the host. Run with scripts/wasm-engine-test.sh (wasm-bindgen-test under Node).
//! The expected texts are what redis-cli prints for the same commands against Redis 7.0.15.
#![cfg(target_arch = "wasm32")]

use cachelab_engine::{to_cli_text, Config, Engine};
use wasm_bindgen_test::wasm_bindgen_test;

/// Runs the commands on a fresh engine and returns the last reply as redis-cli prints it.
fn cli(commands: &[&[&str]]) -> String {
    let mut engine = Engine::new(Config::default());
    let client = engine.connect(0);
    let mut last = String::new();
    for argv in commands {
        last = to_cli_text(&engine.run(client, argv, 0));
    }
    last
}

fn eval(script: &str) -> String {
    cli(&[&["EVAL", script, "0"]])
}

#[wasm_bindgen_test]
fn lua_values_become_redis_replies() {
    assert_eq!(eval("return 3.99"), "(integer) 3\n");
    assert_eq!(
        eval("return {1, 2, nil, 4}"),
        "1) (integer) 1\n2) (integer) 2\n"
    );
    assert_eq!(
        eval("return {true, false, 'x'}"),
        "1) (integer) 1\n2) (nil)\n3) \"x\"\n"
    );
    assert_eq!(eval("return {err='MY error'}"), "(error) MY error\n");
    assert_eq!(
        cli(&[&["EVAL", "return redis.call('incr', KEYS[1]) + 0.5", "1", "n"]]),
        "(integer) 1\n"
    );
}

#[wasm_bindgen_test]
fn the_sandbox_refuses_globals() {
    assert_eq!(
        eval("x = 1"),
        "(error) ERR user_script:1: Attempt to modify a readonly table script: \
         34bce5f775de97f557a34088509c8bfe1ea17e52, on @user_script:1.\n"
    );
    assert_eq!(
        eval("return type(os)"),
        "(error) ERR user_script:1: Script attempted to access nonexistent global variable 'os' \
         script: 88bfcb2247db0b6fa4925f3cddc3fd0651459f99, on @user_script:1.\n"
    );
    assert_eq!(
        eval("return loadstring(string.dump(function() return 1 end))"),
        "(nil)\n"
    );
}

#[wasm_bindgen_test]
fn math_random_follows_redis_generator() {
    let script = "return tostring(math.random())";
    assert_eq!(cli(&[&["EVAL", script, "0"]]), "\"0.39646477363839\"\n");
    // The generator is not reseeded between scripts, as in Redis 7.0.
    assert_eq!(
        cli(&[&["EVAL", script, "0"], &["EVAL", script, "0"]]),
        "\"0.84048536971234\"\n"
    );
}

#[wasm_bindgen_test]
fn cjson_encodes_and_decodes() {
    assert_eq!(
        eval("return cjson.encode({1, 2, {a='b'}})"),
        "\"[1,2,{\\\"a\\\":\\\"b\\\"}]\"\n"
    );
    assert_eq!(
        eval("local t = cjson.decode('{\"a\":[1,2.5,\"x\"]}') return {t.a[1], tostring(t.a[2]), t.a[3]}"),
        "1) (integer) 1\n2) \"2.5\"\n3) \"x\"\n"
    );
    assert_eq!(
        eval("return cjson.decode('[1,')"),
        "(error) ERR user_script:1: Expected value but found T_END at character 4 script: \
         ad8248c68c719abd59f0dd09dea378bb946e7d3f, on @user_script:1.\n"
    );
}
