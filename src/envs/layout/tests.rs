//! Layouts hoist can copy (per-app overlays, per-env trees, Helm values
//! beside each other) and the ones it refuses, with the words it uses; an
//! environment made from a template as the policy then sees it; names
//! refused for being taken, unmatched or without a rule. Templates it
//! cannot make environments from are in [`templates`].

use crate::envs::{Copy, Entry, add, check_name, layout, merge, sample_name, sources};
use crate::policy::{self, Locator, Policy, Principal};
use hoist_commands::Name;

mod templates;

fn n(s: &str) -> Name {
    s.parse().unwrap()
}

const RULE: &str = "environments_from: { template: staging, name: \"^pr-[0-9]+$|^[a-z][a-z0-9-]{2,30}$\", deployers: [devs], approvals: 1 }\n";

/// A policy with staging and prod, these targets (`app: (staging file, prod file)`), and the rule.
fn policy_with(targets: &[(&str, &str, &str)], rule: &str) -> Policy {
    let mut src = String::from(
        "groups: { devs: [console:dev], sre: [console:sre] }\nenvironments:\n  staging:\n    deployers: [sre]\n    alerts: slack:C1\n    timeout: 7m\n  prod:\n    deployers: [sre]\n    promote_from: staging\n    soak: 10m\n    incident_channels: [slack:C2]\n    break_glass: { approvals: 0 }\napps:\n",
    );
    for (app, staging, prod) in targets {
        src.push_str(&format!(
            "  {app}:\n    targets:\n      staging: {{ file: {staging}, yaml_path: image.tag }}\n"
        ));
        if !prod.is_empty() {
            src.push_str(&format!(
                "      prod: {{ file: {prod}, yaml_path: image.tag }}\n"
            ));
        }
    }
    src.push_str(rule);
    let (p, problems) = policy::load(&src);
    assert_eq!(problems, vec![], "{src}");
    p
}

fn three_layouts() -> Policy {
    policy_with(
        &[
            (
                "api",
                "apps/api/overlays/staging/kustomization.yaml",
                "apps/api/overlays/prod/kustomization.yaml",
            ),
            (
                "web",
                "envs/staging/web/values.yaml",
                "envs/prod/web/values.yaml",
            ),
            (
                "worker",
                "apps/worker/staging/values.yaml",
                "apps/worker/prod/values.yaml",
            ),
        ],
        RULE,
    )
}

fn copy(app: &str, from: &str, to: &str) -> Copy {
    Copy {
        app: n(app),
        from: from.into(),
        to: to.into(),
    }
}

fn entry(name: &str) -> Entry {
    Entry {
        name: n(name),
        template: n("staging"),
        owner: "console:dev".into(),
        created: 1_796_162_400,
        expires: 1_796_166_000,
        operation: Some(4),
    }
}

#[test]
fn each_apps_template_directory_is_copied_with_the_name_replaced() {
    let p = three_layouts();
    assert_eq!(
        layout(&p, &n("staging"), &n("pr-123")).unwrap(),
        vec![
            copy(
                "api",
                "apps/api/overlays/staging",
                "apps/api/overlays/pr-123"
            ),
            copy("web", "envs/staging/web", "envs/pr-123/web"),
            copy("worker", "apps/worker/staging", "apps/worker/pr-123"),
        ]
    );
    // Two apps in one template directory: copied once, for the first app.
    let shared = policy_with(
        &[
            (
                "api",
                "envs/staging/values-api.yaml",
                "envs/prod/values-api.yaml",
            ),
            (
                "worker",
                "envs/staging/values-worker.yaml",
                "envs/prod/values-worker.yaml",
            ),
        ],
        RULE,
    );
    assert_eq!(
        layout(&shared, &n("staging"), &n("pr-1")).unwrap(),
        vec![copy("api", "envs/staging", "envs/pr-1")]
    );
    // A directory inside another app's: copied with it, once.
    let nested = policy_with(
        &[
            (
                "api",
                "envs/staging/api/values.yaml",
                "envs/prod/api/values.yaml",
            ),
            (
                "base",
                "envs/staging/kustomization.yaml",
                "envs/prod/kustomization.yaml",
            ),
        ],
        RULE,
    );
    assert_eq!(
        layout(&nested, &n("staging"), &n("pr-1")).unwrap(),
        vec![copy("base", "envs/staging", "envs/pr-1")]
    );
    // Every segment named after the template moves.
    let twice = policy_with(
        &[("api", "staging/api/staging/v.yaml", "prod/api/prod/v.yaml")],
        RULE,
    );
    assert_eq!(
        layout(&twice, &n("staging"), &n("pr-1")).unwrap(),
        vec![copy("api", "staging/api/staging", "pr-1/api/pr-1")]
    );
}

#[test]
fn layouts_that_cannot_be_copied_say_why() {
    let banner = policy_with(
        &[
            ("api", "apps/api/staging/v.yaml", ""),
            ("banner", "web/banner.yaml", ""),
        ],
        RULE,
    );
    assert_eq!(
        layout(&banner, &n("staging"), &n("pr-1")).unwrap_err(),
        "app `banner`: its staging target web/banner.yaml is not in a directory named after staging, \
         so hoist cannot copy it for a new environment"
    );
    let root = policy_with(&[("api", "staging.yaml", "")], RULE);
    assert!(
        sources(&root, &n("staging"))
            .unwrap_err()
            .contains("not in a directory named after staging")
    );
    // prod's file inside staging's directory.
    let nested = policy_with(
        &[("api", "envs/staging/api.yaml", "envs/staging/prod/api.yaml")],
        RULE,
    );
    let why = sources(&nested, &n("staging")).unwrap_err();
    assert!(
        why.contains(
            "envs/staging/ also holds prod's target envs/staging/prod/api.yaml (app `api`)"
        ),
        "{why}"
    );
    // Two environments' targets in one directory (named after staging).
    let same_dir = policy_with(
        &[("api", "apps/staging/staging.yaml", "apps/staging/prod.yaml")],
        RULE,
    );
    let why = sources(&same_dir, &n("staging")).unwrap_err();
    assert!(
        why.contains(
            "staging directory apps/staging/ also holds prod's target apps/staging/prod.yaml"
        ),
        "{why}"
    );
    // A copy landing where an environment lives.
    let p = three_layouts();
    let why = layout(&p, &n("staging"), &n("prod")).unwrap_err();
    assert!(
        why.contains("would go to apps/api/overlays/prod/, where prod's target"),
        "{why}"
    );
    // A template with no targets.
    let empty = policy_with(&[("api", "apps/api/staging/v.yaml", "")], RULE);
    assert!(
        sources(&empty, &n("prod"))
            .unwrap_err()
            .contains("no app has a target in prod")
    );
}

#[test]
fn an_added_environment_copies_the_template_with_the_rules_people() {
    let mut p = three_layouts();
    add(&mut p, &entry("pr-123")).unwrap();
    let env = p.env(&n("pr-123")).unwrap().clone();
    let staging = p.env(&n("staging")).unwrap();
    assert_eq!(
        env.deployers,
        vec![Principal::Group(
            "devs".into(),
            env.deployers
                .iter()
                .find_map(|d| match d {
                    Principal::Group(_, pos) => Some(*pos),
                    _ => None,
                })
                .unwrap()
        )]
    );
    assert_eq!(env.approvals.count, 1);
    assert_eq!(env.timeout_secs, staging.timeout_secs);
    assert_eq!(env.branch, staging.branch);
    assert_eq!(
        (env.alerts, env.promote_from, env.soak_secs, env.break_glass),
        (None, None, None, None)
    );
    assert!(env.incident_channels.is_empty());
    assert_eq!(env.made, Some(entry("pr-123")));
    let files: Vec<(&str, &str)> = p
        .apps
        .iter()
        .map(|a| (a.name.as_str(), a.targets[&n("pr-123")].file.as_str()))
        .collect();
    assert_eq!(
        files,
        vec![
            ("api", "apps/api/overlays/pr-123/kustomization.yaml"),
            ("web", "envs/pr-123/web/values.yaml"),
            ("worker", "apps/worker/pr-123/values.yaml"),
        ]
    );
    assert_eq!(
        p.apps[0].targets[&n("pr-123")].locator,
        Locator::YamlPath("image.tag".into())
    );
    // Made environments do not break the check, nor the next layout.
    assert_eq!(
        policy::check(&p, &|_, _| policy::TargetRead::Readable),
        vec![]
    );
    assert!(layout(&p, &n("staging"), &n("pr-124")).is_ok());
    assert!(
        layout(&p, &n("staging"), &n("pr-123"))
            .unwrap_err()
            .contains("where pr-123's target")
    );
}

#[test]
fn merge_adds_what_it_can_and_says_what_it_skipped() {
    let mut p = three_layouts();
    let mut from_prod = entry("pr-9");
    from_prod.template = n("prod");
    let problems = merge(
        &mut p,
        &[
            entry("pr-1"),
            entry("pr-1"),
            entry("prod"),
            from_prod,
            entry("x"),
            entry("pr-2"),
        ],
    );
    let names: Vec<&str> = p.environments.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["staging", "prod", "pr-1", "pr-2"]);
    assert_eq!(problems.len(), 4, "{problems:?}");
    assert!(problems[0].contains("environment `pr-1` skipped: an environment named `pr-1` already exists (made from staging by console:dev)"), "{problems:?}");
    assert!(
        problems[1]
            .contains("`prod` skipped: an environment named `prod` already exists (in hoist.yaml)"),
        "{problems:?}"
    );
    assert!(
        problems[2]
            .contains("`pr-9` was made from prod, but environments_from's template is staging"),
        "{problems:?}"
    );
    assert!(problems[3].contains("`x` is not a name environments_from allows: it must match `^pr-[0-9]+$|^[a-z][a-z0-9-]{2,30}$`"), "{problems:?}");
    let mut no_rule = policy_with(&[("api", "apps/api/staging/v.yaml", "")], "");
    let problems = merge(&mut no_rule, &[entry("pr-1")]);
    assert!(
        problems[0].contains("hoist.yaml has no environments_from now"),
        "{problems:?}"
    );
}

#[test]
fn names_are_refused_in_words() {
    let p = three_layouts();
    assert_eq!(check_name(&p, &n("pr-12")), Ok(()));
    assert_eq!(check_name(&p, &n("feature-x")), Ok(()));
    assert_eq!(
        check_name(&p, &n("prod")).unwrap_err(),
        "an environment named `prod` already exists (in hoist.yaml)"
    );
    assert!(
        check_name(&p, &n("pr-x1")).is_ok(),
        "the second alternative takes it"
    );
    assert!(
        check_name(&p, &n("9lives"))
            .unwrap_err()
            .contains("must match")
    );
    let none = policy_with(&[("api", "apps/api/staging/v.yaml", "")], "");
    assert!(
        check_name(&none, &n("pr-1"))
            .unwrap_err()
            .contains("no `environments_from` rule")
    );
}

#[test]
fn the_sample_name_is_one_the_rule_accepts() {
    let rule = |name: &str| {
        let p = policy_with(
            &[("api", "apps/api/staging/v.yaml", "")],
            &format!(
                "environments_from: {{ template: staging, name: '{name}', deployers: [devs] }}\n"
            ),
        );
        sample_name(p.environments_from.as_ref().unwrap()).map(|n| n.to_string())
    };
    assert_eq!(rule("^pr-[0-9]+$").as_deref(), Some("pr-1"));
    assert_eq!(rule("^[a-z]{4}$").as_deref(), Some("test"));
    assert_eq!(rule("^qa-[0-9]{3}$"), None);
    assert_eq!(rule("^[a-z][a-z0-9-]{1,30}$").as_deref(), Some("pr-1"));
}
