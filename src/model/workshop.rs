//! Workshop mode: a lesson an instructor wrote, opened from a `.scn` file or from a link that
//! carries the file itself (`#lesson=<base64url of the deflated text>`), so that it works on a
//! static site with no server. Everything here is pure; the browser side only reads the file or
//! the location and dispatches `Action::OpenLessonText`.

use cachelab_scenario::parse::render_errors;
use cachelab_scenario::{parse, ParseError, Scenario};

use super::session::{base64url_decode, base64url_encode};

/// The largest lesson file (and inflated link) accepted: a real lesson is a few kilobytes, and
/// the text is kept in the saved session.
pub const MAX_LESSON_BYTES: usize = 1 << 20;
/// A file with more errors than this is listed in part (a file that is not a lesson at all
/// would otherwise fill the page).
const MAX_ERRORS_SHOWN: usize = 10;

/// FNV-1a, 64 bits, folded to 32 and written as 8 hex digits. Not for security: it only tells
/// apart two files that share an `id:` line, so that they keep separate progress.
pub fn short_hash(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{:08x}", (h ^ (h >> 32)) as u32)
}

/// The name an instructor's lesson keeps its progress under in this browser: its id and a hash
/// of its text (a shipped lesson's is its bare id, which no such name can equal).
pub fn progress_id(id: &str, text: &str) -> String {
    format!("{id}~{}", short_hash(text))
}

/// The progress name of a lesson text, if it parses (to look up what was passed before opening).
pub fn progress_id_of_text(text: &str) -> Option<String> {
    let scenario = parse("", text).ok()?;
    Some(progress_id(&scenario.id, text))
}

/// What follows `#lesson=` in a lesson link: the text deflated, in base64url.
pub fn encode_lesson(text: &str) -> String {
    base64url_encode(&miniz_oxide::deflate::compress_to_vec(text.as_bytes(), 9))
}

/// The scenario text carried by a lesson link. The text may also be given undeflated (plain
/// base64url of the file, which a shell can make with `base64`): it is recognised by the
/// format's first word.
pub fn decode_lesson(payload: &str) -> Result<String, String> {
    let damaged = |why: &str| format!("This lesson link is damaged ({why}); ask for it again.");
    let bytes = base64url_decode(payload.trim()).ok_or_else(|| damaged("it is not base64url"))?;
    if bytes.starts_with(b"cachelab-scenario") {
        if bytes.len() > MAX_LESSON_BYTES {
            return Err(too_large(bytes.len()));
        }
        return String::from_utf8(bytes).map_err(|_| damaged("it is not text"));
    }
    let text = miniz_oxide::inflate::decompress_to_vec_with_limit(&bytes, MAX_LESSON_BYTES)
        .map_err(|e| match e.status {
            // The limit stops inflating, so the true size is unknown: "over" the limit.
            miniz_oxide::inflate::TINFLStatus::HasMoreOutput => too_large(MAX_LESSON_BYTES + 1),
            _ => damaged("it does not decompress: cut short, or not a lesson link"),
        })?;
    String::from_utf8(text).map_err(|_| damaged("it is not text"))
}

/// The refusal of a file or link over `MAX_LESSON_BYTES`.
pub fn too_large(bytes: usize) -> String {
    format!(
        "This lesson is too large ({} KB); a lesson file can be at most {} MB.",
        bytes.div_ceil(1024),
        MAX_LESSON_BYTES >> 20
    )
}

/// Parses a lesson's text; `origin` (a file name, or empty for a link) names it in the errors.
/// The error is the notice to show: every malformed line with its reason, up to a limit.
pub fn read_lesson(origin: &str, text: &str) -> Result<Scenario, String> {
    if text.len() > MAX_LESSON_BYTES {
        return Err(too_large(text.len()));
    }
    parse(origin, text).map_err(|errors| errors_notice(origin, &errors))
}

fn errors_notice(origin: &str, errors: &[ParseError]) -> String {
    let what = if origin.is_empty() {
        "This lesson".to_string()
    } else {
        format!("The lesson file {origin}")
    };
    let shown = &errors[..errors.len().min(MAX_ERRORS_SHOWN)];
    let mut text = format!(
        "{what} has errors and was not opened:\n{}",
        render_errors(shown)
    );
    if errors.len() > shown.len() {
        text.push_str(&format!("\n… and {} more", errors.len() - shown.len()));
    }
    text
}

/// The link that opens a lesson: a shipped one by id (`?scenario=<id>`), an instructor's by its
/// text in the fragment (never sent to a server). `base` is the page's address without query or
/// fragment.
pub fn lesson_link(base: &str, id: &str, text: Option<&str>) -> String {
    match text {
        Some(text) => format!("{base}#lesson={}", encode_lesson(text)),
        None => format!("{base}?scenario={id}"),
    }
}

/// The payload of a `#lesson=` fragment (`hash` as the location gives it, with its `#`).
pub fn lesson_in_fragment(hash: &str) -> Option<&str> {
    hash.strip_prefix('#')?
        .split('&')
        .find_map(|part| part.strip_prefix("lesson="))
        .filter(|p| !p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const LESSON: &str = "cachelab-scenario 1
id: counter
title: Counting page views
summary: INCR makes a counter.
view: keyspace
clients: A

step: Count
> One view.
A: INCR views:home
expect A: (integer) 1

try: Your turn
> Count a view of the about page.
check: exists views:about
solution A: INCR views:about
";

    #[test]
    fn links_round_trip_and_read() {
        let link = encode_lesson(LESSON);
        assert!(!link.contains(['+', '/', '=', '#', '&']));
        assert_eq!(decode_lesson(&link).as_deref(), Ok(LESSON));
        let s = read_lesson("", &decode_lesson(&link).unwrap()).unwrap();
        assert_eq!(s.id, "counter");
        // Plain base64url of the file works too.
        let plain = base64url_encode(LESSON.as_bytes());
        assert_eq!(decode_lesson(&plain).as_deref(), Ok(LESSON));
    }

    #[test]
    fn garbled_and_truncated_links_are_refused_with_a_reason() {
        let e = decode_lesson("not*base64").unwrap_err();
        assert!(e.contains("damaged") && e.contains("base64url"), "{e}");
        let mut link = encode_lesson(LESSON);
        link.truncate(link.len() / 2);
        let e = decode_lesson(&link).unwrap_err();
        assert!(e.contains("damaged") && e.contains("decompress"), "{e}");
        assert!(decode_lesson("AAAA").is_err());
        // Text that decodes but is not a lesson: the parser's errors.
        let e = read_lesson(
            "",
            &decode_lesson(&base64url_encode(b"cachelab-scenario 1\n")).unwrap(),
        )
        .unwrap_err();
        assert!(e.starts_with("This lesson has errors"), "{e}");
    }

    #[test]
    fn a_file_with_errors_names_each_line_and_reason() {
        let bad = LESSON.replace("expect A: (integer) 1", "wiat 5s");
        let e = read_lesson("mine.scn", &bad).unwrap_err();
        assert!(e.starts_with("The lesson file mine.scn has errors"), "{e}");
        assert!(
            e.contains("mine.scn: line 11: unknown directive 'wiat'"),
            "{e}"
        );
        // A file that is not a lesson at all is listed in part.
        let junk: String = (0..40).map(|i| format!("junk {i}\n")).collect();
        let e = read_lesson("x.scn", &junk).unwrap_err();
        assert!(e.lines().count() <= MAX_ERRORS_SHOWN + 2, "{e}");
        assert!(e.contains("more"), "{e}");
    }

    #[test]
    fn large_files_and_links_are_refused() {
        let big = format!(
            "{LESSON}{}",
            "# padding\n".repeat(MAX_LESSON_BYTES / 10 + 1)
        );
        let e = read_lesson("big.scn", &big).unwrap_err();
        assert!(e.contains("too large"), "{e}");
        let e = decode_lesson(&encode_lesson(&big)).unwrap_err();
        assert!(e.contains("too large"), "{e}");
    }

    #[test]
    fn progress_ids_tell_apart_texts_with_one_id() {
        let other = LESSON.replace("One view.", "One view, told differently.");
        assert_ne!(
            progress_id("counter", LESSON),
            progress_id("counter", &other)
        );
        assert_eq!(
            progress_id("counter", LESSON),
            progress_id("counter", LESSON)
        );
        assert_eq!(
            progress_id_of_text(LESSON),
            Some(progress_id("counter", LESSON))
        );
        assert_ne!(progress_id("counter", LESSON), "counter");
        assert_eq!(progress_id_of_text("nonsense"), None);
        // FNV-1a's published value for "a", folded.
        let h: u64 = 0xaf63dc4c8601ec8c;
        assert_eq!(short_hash("a"), format!("{:08x}", (h ^ (h >> 32)) as u32));
    }

    #[test]
    fn the_reducer_opens_a_lesson_text_or_says_why_not() {
        use crate::model::{Action, Model};
        let mut m = Model::default();
        m.dispatch(Action::OpenLessonText {
            origin: "mine.scn".into(),
            text: LESSON.replace("view: keyspace", "view: kyespace"),
            passed: vec![],
        });
        assert!(m.lesson.is_none());
        let notice = m.notice.clone().unwrap_or_default();
        assert!(notice.contains("mine.scn: line 5:"), "{notice}");
        // The page keeps working: the playground still runs commands.
        m.dispatch(Action::DismissNotice);
        m.dispatch(Action::Run {
            pane: 0,
            line: "SET a 1".into(),
        });
        assert_eq!(m.timeline.cursor, 1);

        m.dispatch(Action::OpenLessonText {
            origin: "mine.scn".into(),
            text: LESSON.into(),
            passed: vec![1],
        });
        let l = m.lesson.as_ref().expect("the lesson opens");
        assert_eq!(l.id, "counter");
        assert_eq!(l.progress_id, progress_id("counter", LESSON));
        assert!(l.passed.contains(&1));
        assert_eq!(m.notice, None);
    }

    #[test]
    fn a_session_reopens_the_instructors_lesson_and_old_sessions_still_load() {
        use crate::model::session::Session;
        use crate::model::{Action, Model};
        let mut m = Model::default();
        m.dispatch(Action::Run {
            pane: 0,
            line: "SET a 1".into(),
        });
        m.dispatch(Action::OpenLessonText {
            origin: "mine.scn".into(),
            text: LESSON.into(),
            passed: vec![],
        });
        let s = m.session();
        assert_eq!(s.scenario.as_deref(), Some("counter"));
        assert_eq!(s.lesson_text.as_deref(), Some(LESSON));
        let back = Session::from_json(&s.to_json()).unwrap();
        assert_eq!(back, s);
        let linked = Session::from_link_fragment(&s.to_link_fragment()).unwrap();
        let mut other = Model::default();
        other.load(linked);
        let l = other.lesson.as_ref().expect("the lesson is open again");
        assert_eq!(l.text.as_deref(), Some(LESSON));
        assert_eq!(l.progress_id, progress_id("counter", LESSON));
        assert_eq!(other.timeline.cursor, 1);

        // A session saved before instructor lessons existed: no `lesson_text`.
        let old = r#"{"format":1,"seed":7,"clients":["A"],"steps":[{"t":"cmd","pane":0,"line":"SET a 1"}],"cursor":1,"clock_ms":0,"speed":1.0,"scenario":"lock"}"#;
        let s = Session::from_json(old).unwrap();
        assert_eq!(s.lesson_text, None);
        let mut m = Model::default();
        m.load(s);
        let l = m.lesson.as_ref().expect("the shipped lesson opens");
        assert_eq!((l.id.as_str(), l.text.as_ref()), ("lock", None));
        assert_eq!(l.progress_id, "lock");
        // And one without a lesson does not grow the field.
        assert!(!Model::default().session().to_json().contains("lesson_text"));
    }

    #[test]
    fn links_name_shipped_lessons_by_id_and_others_by_text() {
        let base = "https://example.org/cachelab/index.html";
        assert_eq!(
            lesson_link(base, "lock", None),
            "https://example.org/cachelab/index.html?scenario=lock"
        );
        let link = lesson_link(base, "counter", Some(LESSON));
        let hash = &link[link.find('#').unwrap()..];
        assert_eq!(
            decode_lesson(lesson_in_fragment(hash).unwrap()).as_deref(),
            Ok(LESSON)
        );
        assert_eq!(lesson_in_fragment("#s=abc"), None);
        assert_eq!(lesson_in_fragment("#x=1&lesson=abc"), Some("abc"));
        assert_eq!(lesson_in_fragment("#lesson="), None);
    }
}
