//! Names refused for where substitution would take them: a namespace the
//! cluster or its tools own, an app's name, or a value YAML reads as null,
//! a boolean, a number or a date; and the names that stay allowed.

use super::{check_name, sample_name, yaml_type};
use crate::policy::{self, Policy};
use hoist_commands::Name;

fn n(s: &str) -> Name {
    s.parse().unwrap()
}

/// staging, one app `api`, and a rule whose pattern takes any name, so
/// every refusal below is check_name's own.
fn open_policy() -> Policy {
    let src = "groups: { devs: [console:dev] }\nenvironments:\n  staging:\n    deployers: [devs]\napps:\n  api:\n    targets:\n      staging: { file: apps/api/staging/v.yaml, yaml_path: image.tag }\nenvironments_from: { template: staging, name: '^[a-z0-9][a-z0-9-]*$', deployers: [devs] }\n";
    let (p, problems) = policy::load(src);
    assert_eq!(problems, vec![]);
    p
}

#[test]
fn cluster_and_tool_namespaces_are_reserved() {
    let p = open_policy();
    for name in [
        "default",
        "kube-system",
        "kube-public",
        "kube-node-lease",
        "kube-anything",
        "argocd",
        "flux-system",
        "cert-manager",
        "ingress-nginx",
        "monitoring",
        "istio-system",
        "gatekeeper-system",
        "openshift",
        "openshift-config",
    ] {
        assert_eq!(
            check_name(&p, &n(name)).unwrap_err(),
            format!(
                "`{name}` is reserved: clusters or the tools running in them use a namespace of \
                 that name, and the copies' `namespace: staging` would become `namespace: {name}`; \
                 choose another name"
            )
        );
    }
    assert_eq!(
        check_name(&p, &n("api")).unwrap_err(),
        "`api` is reserved: it is the name of app `api`, and the copies' `namespace: staging` \
         would become `namespace: api`, which may be that app's own; choose another name"
    );
    assert_eq!(
        check_name(&p, &n("staging")).unwrap_err(),
        "an environment named `staging` already exists (in hoist.yaml)"
    );
    // Near misses stay allowed.
    for name in [
        "kube",
        "kubernetes",
        "my-kube-system",
        "defaults",
        "api-2",
        "argo",
    ] {
        assert_eq!(check_name(&p, &n(name)), Ok(()), "{name}");
    }
}

#[test]
fn names_yaml_reads_as_another_type_are_refused() {
    let p = open_policy();
    for (name, kind) in [
        ("null", "null"),
        ("true", "boolean"),
        ("false", "boolean"),
        ("yes", "boolean"),
        ("no", "boolean"),
        ("on", "boolean"),
        ("off", "boolean"),
        ("y", "boolean"),
        ("n", "boolean"),
        ("123", "number"),
        ("0", "number"),
        ("017", "number"),
        ("1e3", "number"),
        ("1e-3", "number"),
        ("0x1f", "number"),
        ("0o17", "number"),
        ("0b101", "number"),
        ("2026-12-01", "date"),
    ] {
        assert_eq!(
            check_name(&p, &n(name)).unwrap_err(),
            format!(
                "`{name}` cannot name an environment: YAML reads `{name}` as a {kind}, not text, \
                 so the copies' `namespace: staging` would become `namespace: {name}` and no \
                 longer name a namespace; choose another name"
            )
        );
    }
    for name in [
        "pr-123",
        "nope",
        "yesterday",
        "one",
        "n1",
        "1a",
        "0x",
        "0xg",
        "0o8",
        "1e",
        "e3",
        "2026-12",
        "12-01",
        "true-1",
    ] {
        assert_eq!(check_name(&p, &n(name)), Ok(()), "{name}");
    }
}

#[test]
fn yaml_types_follow_both_schemas_whatever_the_case() {
    for (plain, kind) in [
        ("~", Some("null")),
        ("", Some("null")),
        ("NULL", Some("null")),
        ("Null", Some("null")),
        ("TRUE", Some("boolean")),
        ("Yes", Some("boolean")),
        ("OFF", Some("boolean")),
        ("Y", Some("boolean")),
        (".inf", Some("number")),
        ("-.Inf", Some("number")),
        (".NaN", Some("number")),
        ("+12", Some("number")),
        ("1_000", Some("number")),
        ("1.5", Some("number")),
        ("1.", Some("number")),
        (".5", Some("number")),
        ("1.5E+3", Some("number")),
        ("0X1F", Some("number")),
        ("1:30", Some("number")),
        ("2026-12-01T10:00:00Z", Some("date")),
        ("2026-12-01 10:00:00", Some("date")),
        ("staging", None),
        ("1.2.3-x", None),
        ("v1", None),
    ] {
        assert_eq!(yaml_type(plain), kind, "{plain:?}");
    }
}

#[test]
fn the_sample_name_is_never_a_refused_form() {
    // A rule taking only digits gets no sample rather than a number.
    let rule = |name: &str| {
        let mut p = open_policy();
        p.environments_from.as_mut().unwrap().name = name.into();
        sample_name(p.environments_from.as_ref().unwrap()).map(|n| n.to_string())
    };
    assert_eq!(rule("^[0-9]+$"), None);
    assert_eq!(rule("^x$").as_deref(), Some("x"));
}
