//! What the console knows about commands, all read from the engine's command table: the hint
//! shown while typing, Tab completion of command names, and redis-cli's `HELP <command>`.

use cachelab_engine::table::{self, CommandSpec};

/// The spec for what has been typed so far: the command, or its subcommand when the command is
/// a container (CONFIG GET, CLIENT LIST...) and the second word names one.
pub fn spec_for(words: &[&str]) -> Option<&'static CommandSpec> {
    let first = words.first()?;
    let spec = table::get(first.as_bytes())?;
    if !spec.subcommands.is_empty() {
        if let Some(sub) = words.get(1) {
            if let Some(s) = table::get_sub(spec, sub.as_bytes()) {
                return Some(s);
            }
        }
    }
    Some(spec)
}

fn words(input: &str) -> Vec<&str> {
    input.split_whitespace().collect()
}

/// The hint under the input: the command's syntax and summary, or the commands that start with
/// what has been typed.
pub fn hint(input: &str) -> Option<Hint> {
    let w = words(input);
    let first = *w.first()?;
    if w.len() == 1 && !input.ends_with(' ') {
        let matches = completions(first);
        if let Some(spec) = table::get(first.as_bytes()) {
            return Some(Hint::Command(describe(spec)));
        }
        if matches.is_empty() {
            return None;
        }
        return Some(Hint::Candidates(matches));
    }
    if first.eq_ignore_ascii_case(":bigkeys") || first.eq_ignore_ascii_case(":memkeys") {
        return Some(Hint::Command(CommandHint {
            name: first.to_ascii_lowercase(),
            syntax: String::new(),
            summary: "Lists the biggest key of each type, by elements (:bigkeys) or by memory \
                      (:memkeys), as redis-cli --bigkeys does (answered by the console)."
                .into(),
            group: "console".into(),
        }));
    }
    if first.eq_ignore_ascii_case("help") {
        return Some(Hint::Command(CommandHint {
            name: "HELP".into(),
            syntax: "command".into(),
            summary: "Shows a command's syntax and what it does (answered by the console).".into(),
            group: "console".into(),
        }));
    }
    spec_for(&w).map(|s| Hint::Command(describe(s)))
}

#[derive(Clone, Debug, PartialEq)]
pub enum Hint {
    Command(CommandHint),
    /// Command names that start with what was typed (upper case).
    Candidates(Vec<String>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct CommandHint {
    pub name: String,
    pub syntax: String,
    pub summary: String,
    pub group: String,
}

fn describe(spec: &CommandSpec) -> CommandHint {
    CommandHint {
        name: spec.display_name(),
        syntax: spec.syntax.to_string(),
        summary: spec.summary.to_string(),
        group: spec.group.to_string(),
    }
}

/// Top-level command names (upper case) starting with `prefix`, case-insensitively.
pub fn completions(prefix: &str) -> Vec<String> {
    let p = prefix.to_ascii_lowercase();
    table::all()
        .iter()
        .filter(|s| s.name.starts_with(&p))
        .map(|s| s.name.to_ascii_uppercase())
        .collect()
}

/// Tab: completes the command name being typed (only the first word). A unique match is
/// completed with a space after it; several matches are completed to their common prefix.
pub fn complete(input: &str) -> Option<String> {
    if input.trim_start().contains(' ') || input.trim().is_empty() {
        return None;
    }
    let typed = input.trim();
    let found = completions(typed);
    match found.len() {
        0 => None,
        1 => Some(format!("{} ", found[0])),
        _ => {
            let mut common = found[0].clone();
            for f in &found[1..] {
                let n = common
                    .chars()
                    .zip(f.chars())
                    .take_while(|(a, b)| a == b)
                    .count();
                common.truncate(n);
            }
            (common.len() >= typed.len() && common != typed).then_some(common)
        }
    }
}

/// `help_text` for the words typed after `HELP`, as the console split them.
pub fn help_for(args: &[Vec<u8>]) -> String {
    let args: Vec<String> = args
        .iter()
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    help_text(&args)
}

/// redis-cli's `HELP` answered locally: the command's syntax, summary, version and group.
pub fn help_text(args: &[String]) -> String {
    if args.is_empty() {
        return "To get help about a command, type \"HELP <command>\". Press Tab to complete a \
                command name; the line under the input shows the syntax of what you type.\n"
            .to_string();
    }
    let w: Vec<&str> = args.iter().map(String::as_str).collect();
    match spec_for(&w) {
        Some(spec) => {
            let mut out = format!("\n  {} {}\n", spec.display_name(), spec.syntax);
            out.push_str(&format!("  summary: {}\n", spec.summary));
            out.push_str(&format!("  since: {}\n", spec.since));
            out.push_str(&format!("  group: {}\n", spec.group));
            if !spec.subcommands.is_empty() {
                out.push_str("  subcommands:");
                for s in spec.subcommands {
                    out.push_str(&format!(" {}", s.name.rsplit('|').next().unwrap_or(s.name)));
                }
                out.push('\n');
            }
            out
        }
        None => format!("No help for '{}'.\n", args.join(" ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_and_completion_come_from_the_table() {
        match hint("SET k") {
            Some(Hint::Command(h)) => {
                assert_eq!(h.name, "SET");
                assert!(h.syntax.contains("value"));
            }
            other => panic!("{other:?}"),
        }
        match hint("config g") {
            Some(Hint::Command(h)) => assert_eq!(h.name, "CONFIG"),
            other => panic!("{other:?}"),
        }
        match hint("config get x") {
            Some(Hint::Command(h)) => assert_eq!(h.name, "CONFIG GET"),
            other => panic!("{other:?}"),
        }
        assert_eq!(complete("pers").as_deref(), Some("PERSIST "));
        assert_eq!(complete("SET k"), None);
        let c = complete("get").unwrap_or_default();
        assert!(c == "GET" || c.starts_with("GET"), "{c}");
        assert!(help_text(&["set".into()]).contains("summary:"));
        assert!(help_text(&["nosuch".into()]).contains("No help"));
    }
}
