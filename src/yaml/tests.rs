//! Reader tests: positions and extents, anchors, errors, and the limits
//! (depth, size, node count) on inputs built to overflow a stack.

use super::*;

#[test]
fn nodes_know_their_positions() {
    let src = "# c\nimages:\n  - name: ghcr.io/acme/api # x\n    newTag: \"v1\"\n";
    let docs = load(src, Limits::TARGET).unwrap();
    let images = docs[0].get("images").unwrap();
    let Kind::Seq(items) = &images.kind else {
        panic!()
    };
    let tag = items[0].get("newTag").unwrap();
    assert_eq!(tag.pos, Pos { line: 4, col: 13 });
    assert_eq!(&src[scalar_extent(src, tag).unwrap()], "\"v1\"");
    let name = items[0].get("name").unwrap();
    assert_eq!(&src[scalar_extent(src, name).unwrap()], "ghcr.io/acme/api");
}

#[test]
fn extents_cover_quotes_and_escapes() {
    let src = "a: 'it''s'\nb: \"x\\\"y\"\nc: é-plain  \r\nd: |\n  block\n";
    let doc = &load(src, Limits::TARGET).unwrap()[0];
    let ext = |k| &src[scalar_extent(src, doc.get(k).unwrap()).unwrap()];
    assert_eq!(ext("a"), "'it''s'");
    assert_eq!(ext("b"), "\"x\\\"y\"");
    assert_eq!(ext("c"), "é-plain");
    assert_eq!(scalar_extent(src, doc.get("d").unwrap()), None);
}

#[test]
fn anchors_and_aliases_are_visible() {
    let doc = &load("a: &x 1\nb: *x\n", Limits::TARGET).unwrap()[0];
    assert!(doc.get("a").unwrap().anchored);
    assert!(matches!(doc.get("b").unwrap().kind, Kind::Alias));
}

#[test]
fn syntax_errors_have_positions() {
    let err = load("a: [1, 2\nb: c\n", Limits::TARGET).unwrap_err();
    assert!(err.pos_line >= 1, "{err}");
}

/// Runs `f` on a thread with a 2 MiB stack (Rust's default for spawned
/// threads, smaller than the main thread's), so a recursion the limits
/// fail to stop aborts the test binary instead of passing by luck.
pub(crate) fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .expect("spawning a test thread")
        .join()
        .expect("the reader must return, not panic")
}

#[test]
fn deep_nesting_is_an_error_at_the_level_past_the_limit() {
    let block = "- ".repeat(100_000) + "x\n";
    let flow = "[".repeat(100_000) + &"]".repeat(100_000);
    let flow_maps = "{a: ".repeat(100_000) + &"}".repeat(100_000);
    for src in [block, flow, flow_maps] {
        let err = on_small_stack(move || load(&src, Limits::POLICY).unwrap_err());
        assert!(err.over_limit, "{err}");
        assert!(
            err.message.contains("nesting deeper than 64 levels"),
            "{err}"
        );
        assert_eq!(err.pos_line, 1, "{err}");
    }
    // At the limit itself it is fine.
    let ok = "[".repeat(64) + &"]".repeat(64);
    assert!(load(&ok, Limits::POLICY).is_ok());
    let deeper = "[".repeat(65) + &"]".repeat(65);
    assert_eq!(load(&deeper, Limits::POLICY).unwrap_err().pos_col, 65);
    assert!(load(&deeper, Limits::TARGET).is_ok());
}

#[test]
fn size_and_node_count_are_bounded() {
    let big = format!("a: {}\n", "x".repeat(Limits::POLICY.max_bytes));
    let err = load(&big, Limits::POLICY).unwrap_err();
    assert!(
        err.over_limit && err.message.contains("at most 1048576"),
        "{err}"
    );
    assert!(load(&big, Limits::TARGET).is_ok());
    let many = format!("[{}]", "1,".repeat(Limits::POLICY.max_nodes));
    let err = load(&many, Limits::POLICY).unwrap_err();
    assert!(err.message.contains("more than 100000 values"), "{err}");
}

#[test]
fn positions_are_bytes_in_non_ascii_text() {
    let src = "é: ü\nb: v1\n";
    let doc = &load(src, Limits::TARGET).unwrap()[0];
    let b = doc.get("b").unwrap();
    assert_eq!(&src[scalar_extent(src, b).unwrap()], "v1");
}

#[test]
fn duplicate_keys_are_found_in_every_mapping() {
    let src = "a: 1\nb:\n  c: 1\n  \"c\": 2\n  d: [{e: 1, e: 2}]\na: 3\n";
    let doc = &load(src, Limits::POLICY).unwrap()[0];
    let found: Vec<(Pos, Pos)> = duplicate_keys(doc)
        .into_iter()
        .map(|(first, dup)| (first.pos, dup.pos))
        .collect();
    let at = |line, col| Pos { line, col };
    assert_eq!(
        found,
        [
            (at(3, 3), at(4, 3)),
            (at(5, 8), at(5, 14)),
            (at(1, 1), at(6, 1))
        ]
    );
}
