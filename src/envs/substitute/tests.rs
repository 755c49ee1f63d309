//! Substitution tests: what changes (whole values, kustomize names) and the
//! much larger rest that must not (keys, comments, URLs, block scalars,
//! other files), then hostile inputs: deep nesting, huge files, anchors and
//! aliases, CRLF, non-UTF-8 bytes, quotes that would need escaping.

use super::substitute;

/// `src` as the `pr-123` copy of a `staging` file named `path`.
fn sub(path: &str, src: &str) -> String {
    String::from_utf8(substitute(path, src.as_bytes(), "staging", "pr-123")).unwrap()
}

/// Asserts the file comes back byte-identical.
fn unchanged(path: &str, src: &[u8]) {
    assert_eq!(
        substitute(path, src, "staging", "pr-123"),
        src,
        "{path} changed"
    );
}

#[test]
fn whole_values_change_in_every_quoting_keeping_the_rest() {
    let src = "env: staging   # the env\nquoted: 'staging'\ndouble: \"staging\"\nlist:\n  - staging\n  - [staging, other]\nflow: {a: staging}\n";
    assert_eq!(
        sub("values.yaml", src),
        "env: pr-123   # the env\nquoted: 'pr-123'\ndouble: \"pr-123\"\nlist:\n  - pr-123\n  - [pr-123, other]\nflow: {a: pr-123}\n"
    );
}

#[test]
fn kustomize_names_change_inside() {
    let src = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: api-staging\nnamePrefix: staging-\nnameSuffix: \"-staging-x\"\nresources:\n  - ../../base\n";
    assert_eq!(
        sub("kustomization.yaml", src),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: api-pr-123\nnamePrefix: pr-123-\nnameSuffix: \"-pr-123-x\"\nresources:\n  - ../../base\n"
    );
    // Anywhere in the tree, every occurrence.
    let src = "metadata:\n  namespace: staging-staging\n";
    assert_eq!(sub("m.yml", src), "metadata:\n  namespace: pr-123-pr-123\n");
}

#[test]
fn keys_comments_urls_and_partial_values_stay() {
    let src = "# deploys to staging\nstaging: true\nstaging-db: staging-db\nurl: https://staging.example.com/\nname: api-staging\nnote: staging is fine\nnamespaces: [staging-x]\n";
    unchanged("a.yaml", src.as_bytes());
}

#[test]
fn keys_named_like_the_env_keep_their_name_and_lose_their_value() {
    // A key `staging` stays; its value `staging` is a value.
    assert_eq!(sub("a.yaml", "staging: staging\n"), "staging: pr-123\n");
    // A complex key is a key, all of it.
    unchanged("a.yaml", b"? [staging]\n: 1\n");
    unchanged("a.yaml", b"{? {a: staging} : 1}\n");
}

#[test]
fn block_scalars_never_change() {
    let src = "script: |\n  staging\nfolded: >\n  staging\nkeep: |-\n  staging\nnamespace: |\n  staging\n";
    unchanged("a.yaml", src.as_bytes());
    assert_eq!(
        sub("a.yaml", "a: |\n  staging\nb: staging\n"),
        "a: |\n  staging\nb: pr-123\n"
    );
}

#[test]
fn every_document_of_a_stream_changes() {
    let src = "---\nkind: Namespace\nmetadata:\n  name: staging\n---\n# two\nkind: ConfigMap\nmetadata:\n  namespace: staging\ndata:\n  env: staging\n...\n---\nstaging\n";
    assert_eq!(
        sub("all.yaml", src),
        "---\nkind: Namespace\nmetadata:\n  name: pr-123\n---\n# two\nkind: ConfigMap\nmetadata:\n  namespace: pr-123\ndata:\n  env: pr-123\n...\n---\npr-123\n"
    );
}

#[test]
fn only_yaml_files_by_extension_in_any_case() {
    assert_eq!(sub("A/B.YML", "x: staging\n"), "x: pr-123\n");
    assert_eq!(sub("a.Yaml", "x: staging\n"), "x: pr-123\n");
    for path in [
        "a.json",
        "a.yaml.tpl",
        "Dockerfile",
        "yaml",
        "a.txt",
        "staging.sh",
    ] {
        unchanged(path, b"x: staging\n");
    }
}

#[test]
fn files_that_do_not_parse_are_copied() {
    let helm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n  namespace: staging\n{{- if .Values.x }}\ndata:\n  env: staging\n{{- end }}\n";
    unchanged("templates/cm.yaml", helm.as_bytes());
    unchanged("a.yaml", b"a: [staging\nb: staging\n");
    unchanged("a.yaml", b"a: staging\n\tb: staging\n");
    unchanged("a.yaml", b"");
}

#[test]
fn nothing_happens_for_degenerate_names() {
    assert_eq!(
        substitute("a.yaml", b"a: staging\n", "", "x"),
        b"a: staging\n"
    );
    assert_eq!(
        substitute("a.yaml", b"a: staging\n", "staging", ""),
        b"a: staging\n"
    );
    assert_eq!(
        substitute("a.yaml", b"a: staging\n", "staging", "staging"),
        b"a: staging\n"
    );
}

#[test]
fn crlf_line_endings_are_kept() {
    let src = "a: staging\r\nnamespace: 'api-staging'\r\n# staging\r\nb: x\r\n";
    assert_eq!(
        sub("a.yaml", src),
        "a: pr-123\r\nnamespace: 'api-pr-123'\r\n# staging\r\nb: x\r\n"
    );
}

#[test]
fn non_utf8_bytes_come_back_identical() {
    let mut src = b"a: staging\nb: ".to_vec();
    src.extend([0xff, 0xfe, b'\n']);
    unchanged("a.yaml", &src);
    // The same bytes in a file that is not YAML, too.
    unchanged("blob.bin", &src);
}

#[test]
fn non_ascii_text_keeps_its_offsets() {
    let src = "é: ü # ß\nb: staging\nc: \"ünï staging\"\nnamespace: ä-staging\n";
    assert_eq!(
        sub("a.yaml", src),
        "é: ü # ß\nb: pr-123\nc: \"ünï staging\"\nnamespace: ä-pr-123\n"
    );
    // A byte order mark before the first key.
    assert_eq!(sub("a.yaml", "\u{feff}a: staging\n"), "\u{feff}a: pr-123\n");
}

#[test]
fn escaped_and_multi_line_values_are_left_alone() {
    // The value is `staging` but its bytes are not: not replaced.
    unchanged("a.yaml", b"a: \"stag\\x69ng\"\n");
    unchanged("a.yaml", b"namespace: \"x\\tstaging\"\n");
    unchanged("a.yaml", b"namespace: 'it''s-staging'\n");
    // A value spread over lines.
    unchanged("a.yaml", b"namespace: \"api-\n  staging\"\n");
}

#[test]
fn a_replacement_that_would_read_differently_is_not_made() {
    // Plain `a: b` would be a mapping; `#x` a comment: refused, file unchanged.
    let src = b"a: staging\n";
    assert_eq!(substitute("a.yaml", src, "staging", "x: y"), src);
    assert_eq!(substitute("a.yaml", src, "staging", "#x"), src);
    // Quoted scalars take the escapes their quotes need.
    assert_eq!(
        substitute(
            "a.yaml",
            b"a: 'staging'\nb: \"staging\"\n",
            "staging",
            "it's \"q\""
        ),
        b"a: 'it''s \"q\"'\nb: \"it's \\\"q\\\"\"\n"
    );
}

#[test]
fn anchored_values_change_with_their_aliases() {
    let src = "base: &env staging\nother: *env\nlist: [*env]\n";
    assert_eq!(
        sub("a.yaml", src),
        "base: &env pr-123\nother: *env\nlist: [*env]\n"
    );
    // A merge of an anchored mapping.
    let src = "x: &common\n  env: staging\ny:\n  <<: *common\n  name: staging-y\n";
    assert_eq!(
        sub("a.yaml", src),
        "x: &common\n  env: pr-123\ny:\n  <<: *common\n  name: staging-y\n"
    );
}

#[test]
fn an_alias_used_as_a_key_keeps_anchored_values() {
    // `*k` is a key: changing `&k staging` would rename that key.
    let src = "a: &k staging\n*k : 1\nb: staging\n";
    assert_eq!(sub("a.yaml", src), "a: &k staging\n*k : 1\nb: pr-123\n");
    // An anchored key aliased as a value: the key stays, so the value does.
    unchanged("a.yaml", b"&k staging: 1\nb: *k\n");
}

#[test]
fn empty_values_next_to_changed_ones_are_fine() {
    let src = "a:\nb: staging\nc: ~\nd:\n- staging\n-\n";
    assert_eq!(sub("a.yaml", src), "a:\nb: pr-123\nc: ~\nd:\n- pr-123\n-\n");
}

#[test]
fn deep_nesting_is_bounded() {
    // Past the reader's depth: copied unchanged, no stack overflow.
    let deep = format!("{}staging{}", "[".repeat(100_000), "]".repeat(100_000));
    unchanged("a.yaml", deep.as_bytes());
    let mut block = String::new();
    for i in 0..200 {
        block.push_str(&format!("{}k{i}:\n", " ".repeat(i)));
    }
    block.push_str(&format!("{}namespace: staging\n", " ".repeat(200)));
    unchanged("a.yaml", block.as_bytes());
    // Within the depth: found at the bottom.
    let ok = format!("{}staging{}\n", "[".repeat(100), "]".repeat(100));
    assert_eq!(
        sub("a.yaml", &ok),
        format!("{}pr-123{}\n", "[".repeat(100), "]".repeat(100))
    );
}

#[test]
fn huge_files_are_bounded() {
    // Over the reader's 4 MiB: copied unchanged.
    let mut huge = String::from("a: staging\n");
    while huge.len() <= 4 << 20 {
        huge.push_str("# padding padding padding padding padding padding\n");
    }
    unchanged("a.yaml", huge.as_bytes());
    // Under it, with many values: every one changes, quickly.
    let mut big = String::new();
    let mut want = String::new();
    for i in 0..50_000 {
        big.push_str(&format!("k{i}: staging\n"));
        want.push_str(&format!("k{i}: pr-123\n"));
    }
    let started = std::time::Instant::now();
    assert_eq!(sub("a.yaml", &big), want);
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    // Too many nodes: copied unchanged.
    let many = format!("[{}]", "staging,".repeat(1_000_001));
    unchanged("a.yaml", many.as_bytes());
}

#[test]
fn the_example_overlay_becomes_the_new_env() {
    let src = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n# staging overlay\nnamespace: staging\nresources:\n  - ../../base\nlabels:\n  - pairs:\n      env: staging\n      tier: staging-db\nimages:\n  - name: ghcr.io/acme/api\n    newTag: \"1.4.0\" # hoist:staging\n";
    assert_eq!(
        sub("apps/api/overlays/staging/kustomization.yaml", src),
        src.replace("namespace: staging", "namespace: pr-123")
            .replace("env: staging", "env: pr-123")
    );
}

#[test]
fn tagged_values_keep_their_tags() {
    let src = "a: !!str staging\nb: &x !!str 'staging'\nc: *x\nnamespace: !custom api-staging\n";
    assert_eq!(
        sub("a.yaml", src),
        "a: !!str pr-123\nb: &x !!str 'pr-123'\nc: *x\nnamespace: !custom api-pr-123\n"
    );
}
