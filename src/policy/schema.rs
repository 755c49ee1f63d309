//! `hoist schema`: a JSON Schema (draft 2020-12) of `hoist.yaml`, so editors
//! with yaml-language-server complete and validate the file
//! (`# yaml-language-server: $schema=./hoist.schema.json`). The key lists come
//! from the loader's own constants, and a test checks every object of the
//! schema against them, so the schema cannot drift from what `load` accepts.

use super::load::{
    APP_KEYS, APPROVAL_KEYS, ARGOCD_KEYS, DEFAULT_MAX, DEFAULT_NAME, ENV_KEYS, FLUX_KEYS,
    FROM_KEYS, MAX_MAX, POLICY_KEYS, TARGET_KEYS, TICKET_KEYS, TOP_KEYS,
};
use serde_json::{Map, Value, json};

const NAME: &str = "^[a-z0-9][a-z0-9-]{0,62}$";
const DURATION: &str = "^[0-9]+[smhd]$";
const PERSON: &str = r"^(\*|(slack|discord|console):[^\s]+|github:[A-Za-z0-9-]{1,39}|(slack-group|discord-role):[^\s]+|github-team:[A-Za-z0-9-]{1,39}/[A-Za-z0-9_-]{1,100}|[a-z0-9][a-z0-9_-]*)$";

/// An object schema with exactly `keys`, described by `props` (key -> schema).
fn object(keys: &[&str], mut props: Map<String, Value>, description: &str) -> Value {
    let properties: Map<String, Value> = keys
        .iter()
        .map(|k| {
            let schema = props.remove(*k).unwrap_or_else(|| json!({}));
            (k.to_string(), schema)
        })
        .collect();
    debug_assert!(
        props.is_empty(),
        "schema describes keys the loader does not accept: {props:?}"
    );
    json!({
        "type": "object",
        "description": description,
        "properties": properties,
        "additionalProperties": false
    })
}

fn props(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// The whole schema.
pub fn schema() -> Value {
    let people = json!({
        "type": "array",
        "description": "group names, actor ids (slack:U123, discord:80351110224678912, github:octocat, console:alice), platform groups (slack-group:S1, discord-role:1, github-team:acme/sre) or \"*\"",
        "items": {"type": "string", "pattern": PERSON}
    });
    let duration = json!({"type": "string", "pattern": DURATION, "description": "30m, 2h, 1d"});
    let approvals_obj = object(
        APPROVAL_KEYS,
        props(&[
            ("count", json!({"type": "integer", "minimum": 0})),
            ("from", people.clone()),
            ("expires", duration.clone()),
        ]),
        "approvals needed before writing; the requester never counts",
    );
    let approvals = json!({"oneOf": [{"type": "integer", "minimum": 0}, approvals_obj]});
    let from = object(
        FROM_KEYS,
        props(&[
            (
                "template",
                json!({"type": "string", "pattern": NAME, "description": "the environment a new one copies (its files, one directory per app, with its name replaced)"}),
            ),
            (
                "name",
                json!({"type": "string", "format": "regex", "default": DEFAULT_NAME, "description": "a regular expression a new environment's name must match"}),
            ),
            (
                "ttl",
                json!({"type": "string", "pattern": DURATION, "default": "3d", "description": "how long one lives unless `env create ... for` says otherwise, and the longest allowed; at most 90d"}),
            ),
            (
                "max",
                json!({"type": "integer", "minimum": 1, "maximum": MAX_MAX, "default": DEFAULT_MAX, "description": "how many may exist at once"}),
            ),
            ("deployers", people.clone()),
            ("approvals", approvals.clone()),
        ]),
        "environments made from chat (`env create NAME`), recorded in hoist-environments.yaml",
    );
    let mut from = from;
    if let Value::Object(m) = &mut from {
        m.insert("required".into(), json!(["template", "deployers"]));
    }
    let policy = object(
        POLICY_KEYS,
        props(&[("approvals", approvals.clone())]),
        "who must approve a change to hoist.yaml itself; takes effect with pull requests \
         (until then only HOIST_POLICY_SIGNERS' signatures make a change trusted)",
    );
    let ticket = object(
        TICKET_KEYS,
        props(&[
            ("required", json!({"type": "boolean"})),
            ("pattern", json!({"type": "string", "format": "regex"})),
        ]),
        "a ticket key per request, written as Hoist-Ticket",
    );
    let channels = json!({"type": "array", "items": {"type": "string"}});
    let env = object(
        ENV_KEYS,
        props(&[
            ("branch", json!({"type": "string", "default": "main"})),
            (
                "via",
                json!({"enum": ["push", "pull-request"], "default": "push"}),
            ),
            ("deployers", people.clone()),
            ("approvals", approvals.clone()),
            ("promote_from", json!({"type": "string", "pattern": NAME})),
            ("soak", duration.clone()),
            ("channels", channels.clone()),
            ("incident_channels", channels),
            (
                "alerts",
                json!({"type": "string", "description": "channel for drift alerts, e.g. slack:C0ALERTS"}),
            ),
            (
                "break_glass",
                object(
                    &["approvals"],
                    props(&[("approvals", approvals)]),
                    "rules for rollbacks from an incident channel",
                ),
            ),
            (
                "freeze",
                json!({"type": "array", "items": {"type": "string"}, "description": "`Fri 16:00 - Mon 08:00 Europe/Berlin` or `2026-12-24 - 2027-01-02 Europe/Berlin`"}),
            ),
            ("timeout", duration),
            ("ticket", ticket),
            (
                "merge",
                json!({"enum": ["merge", "squash", "rebase"], "default": "merge", "description": "how hoist merges its pull requests (via: pull-request)"}),
            ),
            (
                "github_reviews",
                json!({"type": "boolean", "default": false, "description": "GitHub APPROVED reviews by people named here (github:<login>, github-team:<org>/<slug>) count toward approvals"}),
            ),
            (
                "github_deployments",
                json!({"type": "boolean", "default": true, "description": "record each push or merge hoist follows as a GitHub Deployment"}),
            ),
            (
                "labels",
                json!({"type": "array", "items": {"type": "string", "maxLength": 50}, "default": ["hoist"], "description": "labels of hoist's pull requests (env:<env> is always added)"}),
            ),
        ]),
        "one environment; listed in promotion order",
    );
    let target = object(
        TARGET_KEYS,
        props(&[
            (
                "file",
                json!({
                    "type": "string",
                    "minLength": 1,
                    "maxLength": super::paths::MAX_PATH,
                    "description": "path from the repository's root, e.g. apps/api/overlays/prod/kustomization.yaml; \
                        never hoist.yaml (in any case), .git* or .github/ files, and no `.`/`..`/empty segments, \
                        leading or trailing `/`, backslashes or control characters; at most 4 MiB and 128 levels of nesting"
                }),
            ),
            ("kustomize_image", json!({"type": "string"})),
            (
                "yaml_path",
                json!({"type": "string", "description": "image.tag, a.b[2].c; escape dots in keys with \\\\."}),
            ),
            (
                "marker",
                json!({"type": "string", "description": "NAME of the line marked `# {\"$hoist\": \"NAME\"}` in any text file"}),
            ),
        ]),
        "where the version lives: a file and one of kustomize_image, yaml_path or marker",
    );
    let argocd = object(
        ARGOCD_KEYS,
        props(&[
            ("namespace", json!({"type": "string"})),
            (
                "application",
                json!({"type": "string", "description": "{env} is replaced"}),
            ),
        ]),
        "the Argo CD Application that reports on this app",
    );
    let flux = object(
        FLUX_KEYS,
        props(&[
            ("kind", json!({"enum": ["Kustomization", "HelmRelease"]})),
            ("namespace", json!({"type": "string"})),
            (
                "name",
                json!({"type": "string", "description": "{env} is replaced"}),
            ),
        ]),
        "the Flux object that reports on this app",
    );
    let app = object(
        APP_KEYS,
        props(&[
            (
                "targets",
                json!({"type": "object", "propertyNames": {"pattern": NAME}, "additionalProperties": target}),
            ),
            ("argocd", argocd),
            ("flux", flux),
            (
                "depends_on",
                json!({"type": "array", "items": {"type": "string", "pattern": NAME}, "uniqueItems": true,
                       "description": "apps an ordered promotion writes and sees healthy before this one"}),
            ),
        ]),
        "one app and its target per environment",
    );
    let mut top = object(
        TOP_KEYS,
        props(&[
            (
                "signing",
                json!({"enum": ["required", "optional"], "default": "required"}),
            ),
            (
                "groups",
                json!({"type": "object", "additionalProperties": people}),
            ),
            (
                "people",
                json!({"type": "object", "propertyNames": {"pattern": NAME}, "additionalProperties": {"type": "array", "items": {"type": "string"}},
                       "description": "one human's ids on every platform (alice: [slack:U0SRE1, github:alice]): approvals count people, not ids"}),
            ),
            (
                "environments",
                json!({"type": "object", "propertyNames": {"pattern": NAME}, "additionalProperties": env}),
            ),
            (
                "apps",
                json!({"type": "object", "propertyNames": {"pattern": NAME}, "additionalProperties": app}),
            ),
            ("policy", policy),
            ("environments_from", from),
        ]),
        "hoist policy: who may deploy what where (the config repo's root hoist.yaml); \
         one document, unknown and duplicate keys are errors, at most 1 MiB and 64 levels of nesting",
    );
    if let Value::Object(m) = &mut top {
        m.insert(
            "$schema".into(),
            json!("https://json-schema.org/draft/2020-12/schema"),
        );
        m.insert(
            "$id".into(),
            json!("https://hoist.dev/schema/hoist.yaml.json"),
        );
        m.insert("title".into(), json!("hoist.yaml"));
    }
    top
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every object in the schema lists exactly the keys the loader accepts.
    #[test]
    fn schema_objects_match_the_loaders_keys() {
        let s = schema();
        let keys = |v: &Value| -> Vec<String> {
            let mut k: Vec<String> = v["properties"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect();
            k.sort();
            k
        };
        let sorted = |k: &[&str]| {
            let mut k: Vec<String> = k.iter().map(|s| s.to_string()).collect();
            k.sort();
            k
        };
        let env = &s["properties"]["environments"]["additionalProperties"];
        let app = &s["properties"]["apps"]["additionalProperties"];
        assert_eq!(keys(&s), sorted(TOP_KEYS));
        assert_eq!(keys(env), sorted(ENV_KEYS));
        assert_eq!(
            keys(&env["properties"]["approvals"]["oneOf"][1]),
            sorted(APPROVAL_KEYS)
        );
        assert_eq!(keys(&env["properties"]["ticket"]), sorted(TICKET_KEYS));
        assert_eq!(keys(app), sorted(APP_KEYS));
        assert_eq!(
            keys(&app["properties"]["targets"]["additionalProperties"]),
            sorted(TARGET_KEYS)
        );
        assert_eq!(keys(&app["properties"]["argocd"]), sorted(ARGOCD_KEYS));
        assert_eq!(keys(&app["properties"]["flux"]), sorted(FLUX_KEYS));
        assert_eq!(keys(&s["properties"]["policy"]), sorted(POLICY_KEYS));
        let from = &s["properties"]["environments_from"];
        assert_eq!(keys(from), sorted(FROM_KEYS));
        assert_eq!(from["required"], json!(["template", "deployers"]));
        for v in [&s, env, app, from] {
            assert_eq!(v["additionalProperties"], json!(false));
        }
    }

    #[test]
    fn example_policy_names_match_the_schema_patterns() {
        let person = regex::Regex::new(PERSON).unwrap();
        for p in [
            "*",
            "sre",
            "slack:U0SRE1",
            "console:alice",
            "slack-group:S0DEVS",
            "discord-role:12",
        ] {
            assert!(person.is_match(p), "{p}");
        }
        assert!(!person.is_match("two words"));
        assert!(regex::Regex::new(DURATION).unwrap().is_match("10m"));
    }
}
