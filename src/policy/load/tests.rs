//! Loader tests for what a hostile or careless `hoist.yaml` can hold: deep
//! nesting, duplicate keys, targets that name the policy or git's files, and
//! property tests that no text makes `load` panic, abort or take long.

use super::*;
use crate::yaml::tests::on_small_stack;
use proptest::prelude::*;

fn problems(src: &str) -> Vec<String> {
    load(src).1.iter().map(ToString::to_string).collect()
}

const BASE: &str = "\
environments:
  dev:
    deployers: [\"*\"]
  prod:
    deployers: [console:carol]
    approvals: { count: 2 }
apps:
  banner:
    targets:
";

#[test]
fn deep_nesting_is_a_problem_with_its_position_not_an_abort() {
    let block = format!("groups:\n  sre:\n    {}x\n", "- ".repeat(100_000));
    let flow = format!("groups: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    for src in [block, flow] {
        let found = on_small_stack(move || problems(&src));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("hoist.yaml:"), "{found:?}");
        assert!(
            found[0].ends_with(": nesting deeper than 64 levels"),
            "{found:?}"
        );
    }
    let big = format!("groups: {{}}\n# {}\n", "x".repeat(2 << 20));
    let found = problems(&big);
    assert!(
        found[0].starts_with("hoist.yaml:1:1: the file is"),
        "{found:?}"
    );
}

#[test]
fn duplicate_keys_anywhere_are_problems_naming_both_positions() {
    let src = "\
environments:
  prod:
    deployers: [console:carol]
    approvals: 2
    deployers: [\"*\"]
  prod:
    deployers: [\"*\"]
apps: {}
";
    let found = problems(src);
    assert!(
        found.contains(&"hoist.yaml:5:5: duplicate key `deployers` (first at 3:5)".into()),
        "{found:?}"
    );
    assert!(
        found.contains(&"hoist.yaml:6:3: duplicate key `prod` (first at 2:3)".into()),
        "{found:?}"
    );
    let flow = "groups: {sre: [console:a], \"sre\": [console:b]}\n";
    assert_eq!(
        problems(flow),
        ["hoist.yaml:1:28: duplicate key `sre` (first at 1:10)"]
    );
}

#[test]
fn a_target_may_not_be_the_policy_git_or_an_unnormalised_path() {
    for (file, why) in [
        ("hoist.yaml", "the policy itself"),
        ("HOIST.yaml", "the policy itself"),
        (".git/config", "git's own files"),
        (".gitmodules", "git's own files"),
        (".github/workflows/deploy.yaml", "git's own files"),
        ("../../etc/passwd", "`.` or `..`"),
        ("apps//x.yaml", "empty segment"),
        ("/etc/passwd", "absolute"),
    ] {
        let src = format!(
            "{BASE}      dev: {{ file: \"{file}\", yaml_path: environments.prod.approvals.count }}\n"
        );
        let (policy, found) = load(&src);
        assert_eq!(found.len(), 1, "{file}: {found:?}");
        let text = found[0].to_string();
        assert!(text.starts_with("hoist.yaml:10:20: file `"), "{text}");
        assert!(text.contains(why), "{file}: {text}");
        assert!(
            policy.apps[0].targets.is_empty(),
            "{file} must not be a target"
        );
    }
    let ok = format!("{BASE}      dev: {{ file: web/banner.yaml, marker: banner }}\n");
    assert_eq!(problems(&ok), Vec::<String>::new());
}

/// Text that stresses the reader: random snippets of YAML syntax, control
/// characters and deep openers, repeated.
fn hostile() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("- ".to_string()),
        Just("[".to_string()),
        Just("{a: ".to_string()),
        Just("]".to_string()),
        Just("}".to_string()),
        Just("\n".to_string()),
        Just("\r\n".to_string()),
        Just("environments:\n  prod:\n    deployers: [\"*\"]\n".to_string()),
        Just("  deployers: [\"*\"]\n".to_string()),
        Just("&a ".to_string()),
        Just("*a ".to_string()),
        Just("? ".to_string()),
        Just("---\n".to_string()),
        "[\\x00-\\x1f\\x7f\\u{85}\\u{2028}\\u{feff}]{1,4}",
        "[a-z:#'\" ]{1,12}",
    ];
    prop::collection::vec((piece, 1..200usize), 1..24).prop_map(|parts| {
        parts
            .into_iter()
            .map(|(p, n)| p.repeat(n))
            .collect::<String>()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// No text makes `load` panic or abort, and every problem has a position.
    #[test]
    fn load_survives_hostile_text(src in hostile()) {
        let started = std::time::Instant::now();
        let (_, found) = on_small_stack(move || load(&src));
        for p in &found {
            prop_assert!(p.pos.line >= 1 && p.pos.col >= 1, "{p}");
        }
        prop_assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    /// Arbitrary bytes, decoded as a server would (lossily).
    #[test]
    fn load_survives_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        let src = String::from_utf8_lossy(&bytes).into_owned();
        on_small_stack(move || load(&src));
    }
}

#[test]
fn the_policy_section_names_who_approves_changes_to_hoist_yaml() {
    let src = format!("policy:\n  approvals: {{ count: 2, from: [sre, console:erin] }}\n{BASE}");
    let (policy, found) = load(&src);
    assert!(found.is_empty(), "{found:?}");
    let a = policy.policy_approvals.clone().expect("read");
    assert_eq!(a.count, 2);
    assert_eq!(a.from[1], Principal::Actor("console:erin".into()));
    let refs = crate::policy::check(&policy, &|_, _| crate::policy::TargetRead::Readable);
    let refs: Vec<String> = refs.iter().map(ToString::to_string).collect();
    assert_eq!(refs[0], "hoist.yaml:2:33: unknown group `sre`");
    let found = problems(&format!("policy:\n  approval: 2\n{BASE}"));
    assert_eq!(
        found,
        ["hoist.yaml:2:3: unknown key `approval` in policy; did you mean `approvals`?"]
    );
    assert_eq!(
        problems(&format!("policy:\n  approvals: {{ count: many }}\n{BASE}")),
        ["hoist.yaml:2:23: approvals.count should be a whole number"]
    );
}

#[test]
fn depends_on_is_read_in_order_and_checked_for_unknown_names_self_and_cycles() {
    let ok =
        "apps:\n  api: {}\n  web: { depends_on: [api] }\n  worker:\n    depends_on: [web, api]\n";
    let (policy, found) = load(ok);
    assert!(found.is_empty(), "{found:?}");
    let worker = &policy.apps[2];
    let deps: Vec<&str> = worker.depends_on.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(deps, ["web", "api"]);
    assert_eq!(worker.depends_on[0].1.line, 5);

    let bad = "apps:\n  api: { depends_on: [web] }\n  web: { depends_on: [api] }\n  solo: { depends_on: [solo, ghost] }\n";
    let found = problems(bad);
    assert_eq!(
        found,
        [
            "hoist.yaml:4:24: app `solo` depends on itself",
            "hoist.yaml:4:30: app `solo` depends on `ghost`, which is not an app",
            "hoist.yaml:2:23: depends_on makes a cycle: api -> web -> api",
        ],
        "one problem per cycle, at its first edge"
    );
    let long =
        "apps:\n  a: { depends_on: [c] }\n  b: { depends_on: [a] }\n  c: { depends_on: [b] }\n";
    assert_eq!(
        problems(long),
        ["hoist.yaml:2:21: depends_on makes a cycle: a -> c -> b -> a"]
    );
    assert!(problems("apps:\n  a: { depends_on: [1x] }\n")[0].contains("1x"));
}

#[test]
fn pull_request_rules_and_github_people_are_read_and_checked() {
    let src = "\
environments:
  prod:
    via: pull-request
    deployers: [github:octo-cat, github-team:acme/sre_team]
    approvals: { count: 1, from: [github-team:acme/sre_team] }
    merge: squash
    github_reviews: true
    github_deployments: false
    labels: [hoist, deploys]
apps:
  banner:
    targets:
";
    let (policy, found) = load(src);
    assert!(found.is_empty(), "{found:?}");
    let env = &policy.environments[0];
    assert_eq!(env.via, Via::PullRequest);
    assert_eq!(
        env.pr,
        PrRules {
            merge: MergeMethod::Squash,
            github_reviews: true,
            github_deployments: false,
            labels: vec!["hoist".into(), "deploys".into()],
        }
    );
    assert_eq!(env.deployers[0], Principal::Actor("github:octo-cat".into()));
    assert_eq!(
        env.deployers[1],
        Principal::PlatformGroup("github-team:acme/sre_team".into())
    );
    // Defaults: merge commits, deployments on, the `hoist` label, reviews off.
    let (policy, _) = load(BASE);
    assert_eq!(policy.environments[1].pr, PrRules::default());
    assert!(policy.environments[1].pr.github_deployments);

    let env = |extra: &str| {
        format!("environments:\n  prod:\n    deployers: [\"*\"]\n{extra}apps: {{}}\n")
    };
    for (extra, said) in [
        (
            "    merge: fast-forward\n",
            "merge should be `merge`, `squash` or `rebase`",
        ),
        (
            "    github_reviews: yes please\n",
            "github_reviews should be true or false",
        ),
        (
            "    labels: [\"a\\u202eb\"]\n",
            "a label may not hold control or invisible characters",
        ),
        (
            "    labels: [aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\n",
            "a label is 1 to 50 characters",
        ),
        (
            "    deployers: [github:-bad]\n",
            "unknown platform `github` (or a malformed id)",
        ),
        (
            "    deployers: [github:a/../b]\n",
            "unknown platform `github` (or a malformed id)",
        ),
        (
            "    deployers: [github-team:acme]\n",
            "unknown platform `github-team` (or a malformed id)",
        ),
        (
            "    deployers: [github-team:acme/x/y]\n",
            "unknown platform `github-team` (or a malformed id)",
        ),
    ] {
        let found = problems(&env(extra));
        assert!(
            found.iter().any(|p| p.contains(said)),
            "{extra:?}: {found:?}"
        );
    }
}

#[test]
fn people_link_one_humans_ids_so_the_requester_never_approves_through_another() {
    let src = "\
people:
  alice: [slack:U0SRE1, github:alice]
  bob: [slack:U0SRE2, github:bob]
groups:
  sre: [slack:U0SRE1, slack:U0SRE2, github:alice, github:bob]
environments:
  prod:
    deployers: [sre]
    approvals: { count: 2, from: [sre] }
    github_reviews: true
apps: {}
";
    let (policy, found) = load(src);
    assert!(found.is_empty(), "{found:?}");
    assert!(policy.same_person("github:alice", "slack:U0SRE1"));
    assert!(!policy.same_person("github:alice", "slack:U0SRE2"));
    assert_eq!(policy.person("github:bob"), "person:bob");
    assert_eq!(policy.person("slack:U9"), "slack:U9");
    let env = &policy.environments[0];
    let refused = crate::policy::may_vote(
        &policy,
        env,
        &env.approvals,
        "slack:U0SRE1",
        "github:alice",
        &[],
    )
    .expect_err("the requester's GitHub review");
    assert!(refused.0.contains("one person (alice"), "{}", refused.0);
    assert!(
        crate::policy::may_vote(
            &policy,
            env,
            &env.approvals,
            "slack:U0SRE1",
            "github:bob",
            &[]
        )
        .is_ok()
    );

    // `*` never lets an unnamed GitHub login approve.
    let open = "environments:\n  dev:\n    deployers: [\"*\"]\n    approvals: 1\napps: {}\n";
    let (policy, _) = load(open);
    let env = &policy.environments[0];
    assert!(
        crate::policy::may_vote(
            &policy,
            env,
            &env.approvals,
            "console:a",
            "github:stranger",
            &[]
        )
        .is_err()
    );
    assert!(
        crate::policy::may_vote(&policy, env, &env.approvals, "console:a", "console:b", &[])
            .is_ok()
    );

    for (people, said) in [
        (
            "people:\n  a: [sre]\n",
            "person `a` lists `sre`: a person's ids are actor ids",
        ),
        (
            "people:\n  a: [github:x]\n  b: [github:x]\n",
            "`github:x` is already a's id",
        ),
        (
            "people:\n  a: [github:-x]\n",
            "person `a` lists `github:-x`",
        ),
    ] {
        let found = problems(&format!("{people}{BASE}"));
        assert!(
            found.iter().any(|p| p.contains(said)),
            "{people:?}: {found:?}"
        );
    }
}
