//! `environments_from` as the loader reads it and `check` judges it: its
//! defaults, every problem at its position, and the registry never a target.

use super::super::*;

fn problems(src: &str) -> Vec<String> {
    load(src).1.iter().map(ToString::to_string).collect()
}

const FROM_BASE: &str = "\
groups: { devs: [console:dev] }
environments:
  staging:
    deployers: [devs]
  prod:
    deployers: [devs]
apps:
  api:
    targets:
      staging: { file: apps/api/staging/k.yaml, yaml_path: a }
      prod: { file: apps/api/prod/k.yaml, yaml_path: a }
";

/// Problems of `FROM_BASE` with `rule` appended, after `check`.
fn from_problems(rule: &str) -> Vec<String> {
    let src = format!("{FROM_BASE}{rule}");
    let (p, mut found) = load(&src);
    found.extend(crate::policy::check(&p, &|_, _| {
        crate::policy::TargetRead::Readable
    }));
    found.iter().map(ToString::to_string).collect()
}

#[test]
fn environments_from_reads_with_defaults() {
    let src = format!("{FROM_BASE}environments_from: {{ template: staging, deployers: [devs] }}\n");
    let (p, found) = load(&src);
    assert_eq!(found, vec![]);
    let rule = p.environments_from.unwrap();
    assert_eq!(rule.template.as_str(), "staging");
    assert_eq!(rule.pos.line, 12);
    assert_eq!(rule.name, DEFAULT_NAME);
    assert_eq!(
        (rule.ttl_secs, rule.max, rule.approvals.count),
        (3 * 86_400, 20, 0)
    );
    let src = format!(
        "{FROM_BASE}environments_from:\n  template: staging\n  name: '^pr-[0-9]+$'\n  ttl: 2h\n  max: 5\n  deployers: [devs, console:eve]\n  approvals: {{ count: 1, from: [devs] }}\n"
    );
    let (p, found) = load(&src);
    assert_eq!(found, vec![]);
    let rule = p.environments_from.unwrap();
    assert_eq!(
        (rule.name.as_str(), rule.ttl_secs, rule.max),
        ("^pr-[0-9]+$", 7200, 5)
    );
    assert_eq!(rule.deployers.len(), 2);
    assert_eq!(rule.approvals.count, 1);
    assert!(
        from_problems(
            "environments_from: { template: staging, deployers: [devs], approvals: 2 }\n"
        )
        .is_empty()
    );
}

#[test]
fn environments_from_problems_have_positions() {
    // (rule, the text the problem points at (`{` for the rule itself), message)
    for (rule, at, want) in [
        (
            "{ template: staging, deployers: [devs], nmae: x }",
            "nmae",
            "unknown key `nmae` in environments_from; did you mean `name`?",
        ),
        (
            "{ template: staging, deployers: [devs], max: 1, max: 2 }",
            "max: 2",
            "duplicate key `max` (first at 12:60)",
        ),
        (
            "{ deployers: [devs] }",
            "{",
            "environments_from needs `template:`",
        ),
        (
            "{ template: staging }",
            "{",
            "environments_from needs `deployers:`",
        ),
        (
            "staging",
            "staging",
            "environments_from should be a mapping",
        ),
        (
            "{ template: Staging, deployers: [devs] }",
            "Staging",
            "`Staging` is not a valid environment name",
        ),
        (
            "{ template: staging, deployers: [devs], ttl: 91d }",
            "91d",
            "environments_from.ttl is at most 90d",
        ),
        (
            "{ template: staging, deployers: [devs], ttl: 0m }",
            "0m",
            "environments_from.ttl: `0m` is not a valid duration",
        ),
        (
            "{ template: staging, deployers: [devs], ttl: soon }",
            "soon",
            "environments_from.ttl: `soon` is not a valid duration",
        ),
        (
            "{ template: staging, deployers: [devs], max: 0 }",
            "0 }",
            "environments_from.max should be a whole number from 1 to 1000",
        ),
        (
            "{ template: staging, deployers: [devs], max: 1001 }",
            "1001",
            "environments_from.max should be",
        ),
        (
            "{ template: staging, deployers: [devz] }",
            "devz",
            "unknown group `devz`; did you mean `devs`?",
        ),
        (
            "{ template: staging, deployers: [devs], approvals: { count: 1, from: [ops] } }",
            "ops",
            "unknown group `ops`",
        ),
        (
            "{ template: qa, deployers: [devs] }",
            "{",
            "environments_from: template `qa` is not an environment of hoist.yaml",
        ),
        (
            "{ template: staging, deployers: [devs], name: '^pr-(' }",
            "{",
            "environments_from.name `^pr-(` is not a usable regular expression",
        ),
        (
            "{ template: staging, deployers: [devs], name: '^(a{1000}){1000}$' }",
            "{",
            "environments_from.name `^(a{1000}){1000}$` is not a usable regular expression",
        ),
    ] {
        let line = format!("environments_from: {rule}\n");
        let col = line.find(at).unwrap() + 1;
        let want = format!("hoist.yaml:12:{col}: {want}");
        let found = from_problems(&line);
        assert!(
            found.iter().any(|p| p.starts_with(&want)),
            "want {want}, found {found:?}"
        );
    }
    // A layout that cannot be copied, at the rule.
    let src = format!(
        "{}  banner:\n    targets:\n      staging: {{ file: web/banner.yaml, marker: b }}\nenvironments_from: {{ template: staging, deployers: [devs] }}\n",
        FROM_BASE
    );
    let (p, _) = load(&src);
    let found: Vec<String> = crate::policy::check(&p, &|_, _| crate::policy::TargetRead::Readable)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(found, vec!["hoist.yaml:15:20: environments_from: app `banner`: its staging target web/banner.yaml is not in a directory named after staging, so hoist cannot copy it for a new environment".to_string()]);
}

#[test]
fn the_registry_is_never_a_target() {
    let src = format!(
        "{}  reg:\n    targets:\n      staging: {{ file: hoist-environments.yaml, yaml_path: a }}\n",
        FROM_BASE
    );
    assert!(
        problems(&src)
            .iter()
            .any(|p| p.contains("is the registry of environments made from templates")),
        "{:?}",
        problems(&src)
    );
}

#[test]
fn templates_hoist_cannot_honour_are_problems_at_the_rule() {
    let rule = "environments_from: { template: staging, deployers: [devs] }\n";
    for (edit, want) in [
        (
            (
                "  staging:\n    deployers: [devs]\n",
                "  staging:\n    deployers: [devs]\n    via: pull-request\n",
            ),
            "environments_from: environments are written by push; staging changes through pull \
             requests, so hoist cannot make environments from it",
        ),
        (
            (
                "  api:\n",
                "  api:\n    argocd: { application: api-staging }\n",
            ),
            "environments_from: app `api` is followed through `api-staging` in every \
             environment; environments made from staging need `{env}` in its name so each is \
             followed on its own",
        ),
    ] {
        let src = format!("{}{rule}", FROM_BASE.replacen(edit.0, edit.1, 1));
        let (p, found) = load(&src);
        assert_eq!(found, vec![], "{src}");
        let line = src
            .lines()
            .position(|l| l.starts_with("environments_from"))
            .unwrap()
            + 1;
        let found: Vec<String> =
            crate::policy::check(&p, &|_, _| crate::policy::TargetRead::Readable)
                .iter()
                .map(ToString::to_string)
                .collect();
        assert_eq!(found, vec![format!("hoist.yaml:{line}:20: {want}")]);
    }
    // The default watch (`api-{env}`) is followed per environment.
    let src = format!(
        "{}{rule}",
        FROM_BASE.replacen("  api:\n", "  api:\n    argocd: {}\n", 1)
    );
    let (p, found) = load(&src);
    assert_eq!(found, vec![]);
    assert_eq!(
        crate::policy::check(&p, &|_, _| crate::policy::TargetRead::Readable),
        vec![]
    );
}
