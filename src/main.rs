//! The Cachelab playground. The Yew UI grows here; until then this binary runs a short session
//! against the engine so the web target builds and links the engine.

use cachelab_engine::{to_cli_text, Config, Engine};

fn main() {
    let mut engine = Engine::new(Config::default());
    let client = engine.connect(0);
    let reply = engine.run(client, &["PING"], 0);
    print!("{}", to_cli_text(&reply));
}
