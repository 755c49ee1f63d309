//! What `env create` and `env destroy` refuse, each with words that say why
//! and with nothing written: the remote's tip stays where it was.

use super::fixture;
use crate::support::World;

/// `actor` says `command`; it is refused with `words` in the message and
/// origin's main does not move.
fn refused(w: &World, actor: &str, command: &str, words: &str) {
    let before = w.tip();
    let (code, json) = w.exec(actor, command);
    assert_eq!(code, 1, "{command}: {json}");
    assert_eq!(json["state"], "refused", "{command}: {json}");
    assert!(json["commit"].is_null(), "{command}: {json}");
    let message = json["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(words),
        "{command}: `{words}` not in {json}"
    );
    assert_eq!(w.tip(), before, "{command}: nothing written");
}

#[test]
fn path_tricks_bad_names_and_unknown_templates_are_refused() {
    let w = fixture::world();
    // Not a name at all: the command language refuses it before the engine.
    for bad in ["../x", "pr-1/../../prod", "Pr-1", ".git", "pr_1"] {
        let words = format!("`{bad}` is not a valid name");
        refused(&w, "console:alice", &format!("env create {bad}"), &words);
    }
    // 64 characters: longer than any name may be.
    refused(
        &w,
        "console:alice",
        "env create toolong-name-that-does-not-match-the-regex-because-of-length-123",
        "is not a valid name: names are 1-63",
    );
    // 63: a name, but not one the rule's regex allows.
    refused(
        &w,
        "console:alice",
        "env create toolong-name-that-does-not-match-the-regex-because-of-length-12",
        "is not a name environments_from allows",
    );
    refused(
        &w,
        "console:alice",
        "env create x1",
        "is not a name environments_from allows",
    );
    refused(
        &w,
        "console:alice",
        "env create pr-1 from nosuch",
        "environments are made from staging (environments_from.template), not from nosuch",
    );
}

/// `namespace: staging` becomes `namespace: NAME` in the copies: a name a
/// cluster or its tools own, an app's, or one YAML does not read as text
/// is refused although the rule's pattern matches it.
#[test]
fn names_that_would_become_a_foreign_namespace_or_not_text_are_refused() {
    let w = fixture::world();
    for name in [
        "kube-system",
        "kube-anything",
        "default",
        "argocd",
        "flux-system",
    ] {
        refused(
            &w,
            "console:alice",
            &format!("env create {name}"),
            &format!("`{name}` is reserved"),
        );
    }
    refused(
        &w,
        "console:alice",
        "env create worker",
        "it is the name of app `worker`",
    );
    for (name, kind) in [("true", "boolean"), ("null", "null"), ("yes", "boolean")] {
        refused(
            &w,
            "console:alice",
            &format!("env create {name}"),
            &format!("YAML reads `{name}` as a {kind}"),
        );
    }
}

#[test]
fn an_environment_that_exists_is_not_created_again() {
    let w = fixture::world();
    for name in ["prod", "staging", "dev"] {
        refused(
            &w,
            "console:alice",
            &format!("env create {name}"),
            &format!("an environment named `{name}` already exists (in hoist.yaml)"),
        );
    }
    let (code, json) = w.exec("console:alice", "env create pr-123 from staging for 1h");
    assert_eq!(code, 0, "{json}");
    refused(
        &w,
        "console:alice",
        "env create pr-123",
        "an environment named `pr-123` already exists (made from staging by console:alice)",
    );
    refused(
        &w,
        "console:bob",
        "env create pr-123 for 2h",
        "`pr-123` already exists",
    );
}

#[test]
fn only_the_rules_deployers_may_create_and_outsiders_may_not_destroy() {
    let w = fixture::world();
    // carol may deploy to staging (sre) but is not among the rule's deployers.
    refused(
        &w,
        "console:carol",
        "env create pr-7",
        "may not create environments",
    );
    refused(
        &w,
        "console:mallory",
        "env create pr-7",
        "may not create environments",
    );
    let (code, json) = w.exec("console:alice", "env create pr-7");
    assert_eq!(code, 0, "{json}");
    refused(
        &w,
        "console:mallory",
        "env destroy pr-7",
        "only console:alice (who made pr-7) or someone who may approve in it may destroy it",
    );
    refused(
        &w,
        "console:mallory",
        "env extend pr-7 for 1d",
        "only console:alice (who made pr-7) or someone who may approve in it may extend it",
    );
    // The runner's name lends no authority to a request.
    for extra in [&[][..], &["--trusted"][..]] {
        let before = w.tip();
        let (code, json) = w.exec_with("hoist:expiry", "env destroy pr-7", extra, true);
        assert_eq!(code, 1, "{extra:?}: {json}");
        let message = json["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("only console:alice (who made pr-7)"),
            "{json}"
        );
        assert_eq!(w.tip(), before, "{extra:?}: nothing written");
    }
    // An environment written in hoist.yaml is not destroyed from chat.
    refused(
        &w,
        "console:alice",
        "env destroy staging",
        "is written in hoist.yaml",
    );
}

#[test]
fn the_21st_environment_is_refused_when_max_is_20() {
    let w = fixture::world();
    for n in 1..=20 {
        let (code, json) = w.exec("console:alice", &format!("env create pr-{n}"));
        assert_eq!(code, 0, "pr-{n}: {json}");
    }
    refused(
        &w,
        "console:bob",
        "env create pr-21",
        "at most 20 environments",
    );
    // One fewer makes room again.
    let (code, json) = w.exec("console:alice", "env destroy pr-20");
    assert_eq!(code, 0, "{json}");
    let (code, json) = w.exec("console:bob", "env create pr-21");
    assert_eq!(code, 0, "{json}");
}

/// `hoist-environments.yaml` is a file anyone with push access may edit: an
/// entry hoist's journal did not write (here one claiming the operation that
/// made pr-1) opens nothing, neither a deploy nor a destroy, and is not
/// listed.
#[test]
fn an_entry_pushed_by_hand_opens_nothing() {
    let w = fixture::world();
    let (code, json) = w.exec("console:alice", "env create pr-1");
    assert_eq!(code, 0, "{json}");
    let registry = w.show("main", "hoist-environments.yaml");
    let forged = format!(
        "{registry}  - name: evil\n    template: staging\n    owner: \"console:mallory\"\n    \
         created: \"2026-01-01T00:00:00Z\"\n    expires: \"2099-01-01T00:00:00Z\"\n    operation: 1\n"
    );
    assert_eq!(fixture::recorded(&forged).len(), 2, "{forged}");
    w.commit_files(
        &[
            ("hoist-environments.yaml".into(), forged),
            (
                "apps/api/overlays/evil/kustomization.yaml".into(),
                fixture::API_KUSTOMIZATION.into(),
            ),
        ],
        "an environment nobody asked hoist for",
    );
    let unknown = "unknown environment `evil`";
    refused(&w, "console:mallory", "deploy api v1.2.4 to evil", unknown);
    refused(&w, "console:mallory", "env destroy evil", unknown);
    refused(&w, "console:alice", "env destroy evil", unknown);
    let (code, json) = w.exec("console:alice", "env list");
    assert_eq!(code, 0, "{json}");
    let listed = json["message"].as_str().unwrap_or_default();
    assert!(
        listed.contains("pr-1") && !listed.contains("evil"),
        "{listed}"
    );
}
