//! Templates hoist cannot make environments from (one changed through pull
//! requests, one whose app is followed through the same object in every
//! environment), refused in the same words by `hoist check` and by `add`;
//! and a made environment, which takes no ticket rule from its template.

use super::{RULE, entry, n};
use crate::envs::{add, template_problems};
use crate::policy::{self, Policy};

/// staging (with `staging_extra` under it), one app `api` (with `app_extra`
/// under it) and the rule.
fn template_policy(staging_extra: &str, app_extra: &str) -> Policy {
    let src = format!(
        "groups: {{ devs: [console:dev] }}\nenvironments:\n  staging:\n    deployers: [devs]\n{staging_extra}apps:\n  api:\n    targets:\n      staging: {{ file: apps/api/staging/v.yaml, yaml_path: image.tag }}\n{app_extra}{RULE}"
    );
    let (p, problems) = policy::load(&src);
    assert_eq!(problems, vec![], "{src}");
    p
}

#[test]
fn templates_hoist_cannot_honour_are_refused_in_words() {
    let via_pr = "environments are written by push; staging changes through pull requests, so \
                  hoist cannot make environments from it";
    let mut p = template_policy("    via: pull-request\n", "");
    assert_eq!(
        template_problems(&p, &n("staging")),
        vec![via_pr.to_string()]
    );
    assert_eq!(add(&mut p, &entry("pr-1")).unwrap_err(), via_pr);
    assert!(p.env(&n("pr-1")).is_none());
    for (watch, followed) in [
        ("    argocd: { application: api-staging }\n", "api-staging"),
        ("    flux: { name: api }\n", "api"),
    ] {
        let mut p = template_policy("", watch);
        let why = format!(
            "app `api` is followed through `{followed}` in every environment; environments made \
             from staging need `{{env}}` in its name so each is followed on its own"
        );
        assert_eq!(template_problems(&p, &n("staging")), vec![why.clone()]);
        assert_eq!(add(&mut p, &entry("pr-1")).unwrap_err(), why);
        assert!(p.env(&n("pr-1")).is_none());
    }
    // Followed per environment (by default, by name or by namespace), or
    // not followed at all: nothing to say.
    for watch in [
        "",
        "    argocd: {}\n",
        "    argocd: { application: 'web-{env}' }\n",
        "    flux: { kind: HelmRelease, name: 'api-{env}' }\n",
        "    flux: { namespace: '{env}', name: api }\n",
    ] {
        let p = template_policy("", watch);
        assert_eq!(
            template_problems(&p, &n("staging")),
            Vec::<String>::new(),
            "{watch}"
        );
    }
    assert!(template_problems(&p, &n("qa")).is_empty(), "said by check");
}

#[test]
fn an_added_environment_has_no_ticket_rule() {
    let mut p = template_policy(
        "    ticket: { required: true, pattern: '^OPS-[0-9]+$' }\n",
        "",
    );
    assert!(p.env(&n("staging")).unwrap().ticket.is_some());
    add(&mut p, &entry("pr-1")).unwrap();
    assert_eq!(p.env(&n("pr-1")).unwrap().ticket, None);
    assert_eq!(p.env(&n("pr-1")).unwrap().approvals.count, 1);
}
