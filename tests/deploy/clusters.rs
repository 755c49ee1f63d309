//! The example config repo's `clusters/`: how Argo CD (an ApplicationSet
//! with a git directory generator) and Flux (a Kustomization per
//! environment) pick up the directories `env create` makes. Each manifest is
//! read with hoist's own YAML reader, and the ApplicationSet's naming is
//! checked against `hoist.yaml`: the Application it generates for an
//! overlay is the one hoist follows, in the overlay's own namespace.

use hoist::yaml::{self, Limits, Node};
use std::path::Path;

const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/example-config-repo");

fn docs(path: &str) -> Vec<Node> {
    let text = std::fs::read_to_string(Path::new(REPO).join(path)).unwrap();
    yaml::load(&text, Limits::TARGET).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn text<'a>(node: &'a Node, path: &str) -> Option<&'a str> {
    path.split('.')
        .try_fold(node, |n, key| match &n.kind {
            yaml::Kind::Seq(items) => items.get(key.parse::<usize>().ok()?),
            _ => n.get(key),
        })
        .and_then(Node::as_str)
}

/// The generator's fasttemplate for one matched directory.
fn expand(template: &str, dir: &str) -> String {
    let segments: Vec<&str> = dir.split('/').collect();
    let mut out = template
        .replace("{{path.basename}}", segments[segments.len() - 1])
        .replace("{{path}}", dir);
    for (i, s) in segments.iter().enumerate() {
        out = out.replace(&format!("{{{{path[{i}]}}}}"), s);
    }
    out
}

#[test]
fn the_applicationset_names_applications_as_hoist_follows_them() {
    let set = &docs("clusters/argocd/applicationset.yaml")[0];
    assert_eq!(text(set, "apiVersion"), Some("argoproj.io/v1alpha1"));
    assert_eq!(text(set, "kind"), Some("ApplicationSet"));
    assert_eq!(
        text(set, "spec.generators.0.git.directories.0.path"),
        Some("apps/*/overlays/*")
    );
    let name = text(set, "spec.template.metadata.name").unwrap();
    let namespace = text(set, "spec.template.spec.destination.namespace").unwrap();
    assert_eq!(
        text(set, "spec.template.spec.source.path"),
        Some("{{path}}")
    );
    // Every Argo CD app of hoist.yaml whose target is an overlay.
    let policy = &docs("hoist.yaml")[0];
    let yaml::Kind::Map(apps) = &policy.get("apps").unwrap().kind else {
        panic!("apps")
    };
    let mut checked = 0;
    for (app, spec) in apps {
        let Some(application) = text(spec, "argocd.application") else {
            continue;
        };
        let yaml::Kind::Map(targets) = &spec.get("targets").unwrap().kind else {
            panic!("targets")
        };
        for (env, target) in targets {
            let file = text(target, "file").unwrap();
            let dir = file.rsplit_once('/').unwrap().0;
            let env = env.as_str().unwrap();
            assert_eq!(
                dir,
                format!("apps/{}/overlays/{env}", app.as_str().unwrap())
            );
            assert_eq!(expand(name, dir), application.replace("{env}", env));
            let overlay = &docs(file)[0];
            assert_eq!(
                text(overlay, "namespace"),
                Some(expand(namespace, dir).as_str())
            );
            // And the copy `env create pr-123` makes of it.
            let copied = hoist::envs::substitute(
                file,
                &std::fs::read(Path::new(REPO).join(file)).unwrap(),
                env,
                "pr-123",
            );
            let copied =
                &yaml::load(std::str::from_utf8(&copied).unwrap(), Limits::TARGET).unwrap()[0];
            let new_dir = dir.replace(&format!("/{env}"), "/pr-123");
            assert_eq!(
                text(copied, "namespace"),
                Some(expand(namespace, &new_dir).as_str())
            );
            checked += 1;
        }
    }
    assert!(checked >= 5, "{checked}");
}

#[test]
fn the_flux_example_uses_stable_apis() {
    let apps = docs("clusters/flux/apps.yaml");
    assert!(apps.len() >= 2);
    for doc in &apps {
        assert_eq!(
            text(doc, "apiVersion"),
            Some("kustomize.toolkit.fluxcd.io/v1")
        );
        assert_eq!(text(doc, "kind"), Some("Kustomization"));
        let name = text(doc, "metadata.name").unwrap();
        let path = text(doc, "spec.path").unwrap();
        let (app, env) = name.split_once('-').unwrap();
        assert_eq!(path, format!("./apps/{app}/overlays/{env}"));
        assert_eq!(text(doc, "spec.sourceRef.name"), Some("config"));
    }
    let source = &docs("clusters/flux/source.yaml")[0];
    assert_eq!(
        text(source, "apiVersion"),
        Some("source.toolkit.fluxcd.io/v1")
    );
    assert_eq!(text(source, "metadata.name"), Some("config"));
}
