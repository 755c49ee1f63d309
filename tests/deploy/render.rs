//! Rendering `deploy/` with `kubectl kustomize` and reading the documents
//! with hoist's own YAML reader, and the small walkers the manifest tests
//! use to find a pod, a container, a probe, a volume or a Secret key.

use hoist::yaml::{self, Kind, Limits, Node};

use std::process::Command;

pub(super) const ROOT: &str = env!("CARGO_MANIFEST_DIR");
pub(super) const VARIANTS: [&str; 2] = ["deploy/base", "deploy/overlays/socket-mode"];
pub(super) const UID: &str = "10001";
pub(super) const DATA_DIR: &str = "/var/lib/hoist";

/// `kubectl kustomize DIR` (relative to the repo) as text; `None` when kubectl
/// is not installed and `HOIST_REQUIRE_KUBECTL` is not set.
pub(super) fn kustomize(dir: &str) -> Option<String> {
    let out = match Command::new("kubectl")
        .args(["kustomize", &format!("{ROOT}/{dir}")])
        .output()
    {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            assert!(
                std::env::var_os("HOIST_REQUIRE_KUBECTL").is_none(),
                "HOIST_REQUIRE_KUBECTL is set but kubectl is not on PATH"
            );
            eprintln!("skipped: kubectl is not on PATH, so {dir} was not rendered or checked");
            return None;
        }
        Err(e) => panic!("running kubectl kustomize {dir}: {e}"),
    };
    assert!(
        out.status.success(),
        "kubectl kustomize {dir} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).expect("kustomize prints UTF-8"))
}

/// Every document `dir` renders to.
pub(super) fn render(dir: &str) -> Option<Vec<Node>> {
    let text = kustomize(dir)?;
    let docs = yaml::load(&text, Limits::TARGET)
        .unwrap_or_else(|e| panic!("{dir} renders YAML hoist cannot read: {e}"));
    assert!(!docs.is_empty(), "{dir} renders nothing");
    Some(docs)
}

/// The node at a dotted path (`spec.template.spec`, list items by index).
pub(super) fn at<'a>(node: &'a Node, path: &str) -> Option<&'a Node> {
    path.split('.').try_fold(node, |n, key| match &n.kind {
        Kind::Seq(items) => items.get(key.parse::<usize>().ok()?),
        _ => n.get(key),
    })
}

/// The text at `path`, if it is a single value.
pub(super) fn text<'a>(node: &'a Node, path: &str) -> Option<&'a str> {
    at(node, path).and_then(Node::as_str)
}

/// The items of the list at `path` (none when absent or not a list).
pub(super) fn list<'a>(node: &'a Node, path: &str) -> &'a [Node] {
    match at(node, path).map(|n| &n.kind) {
        Some(Kind::Seq(items)) => items,
        _ => &[],
    }
}

/// The list at `path` as texts.
pub(super) fn texts<'a>(node: &'a Node, path: &str) -> Vec<&'a str> {
    list(node, path).iter().filter_map(Node::as_str).collect()
}

/// The key/value pairs of the mapping at `path` as texts.
pub(super) fn pairs<'a>(node: &'a Node, path: &str) -> Vec<(&'a str, &'a str)> {
    match at(node, path).map(|n| &n.kind) {
        Some(Kind::Map(entries)) => entries
            .iter()
            .filter_map(|(k, v)| Some((k.as_str()?, v.as_str()?)))
            .collect(),
        _ => Vec::new(),
    }
}

pub(super) fn kind(doc: &Node) -> &str {
    text(doc, "kind").unwrap_or("")
}

pub(super) fn name(doc: &Node) -> &str {
    text(doc, "metadata.name").unwrap_or("")
}

pub(super) fn all<'a>(docs: &'a [Node], k: &str) -> Vec<&'a Node> {
    docs.iter().filter(|d| kind(d) == k).collect()
}

/// The one object of kind `k` in `docs`.
pub(super) fn one<'a>(docs: &'a [Node], k: &str, dir: &str) -> &'a Node {
    let found = all(docs, k);
    assert_eq!(
        found.len(),
        1,
        "{dir}: expected one {k}, found {}",
        found.len()
    );
    found[0]
}

/// The one Deployment and its pod spec.
pub(super) fn pod<'a>(docs: &'a [Node], dir: &str) -> (&'a Node, &'a Node) {
    let deployment = one(docs, "Deployment", dir);
    let spec = at(deployment, "spec.template.spec").expect("a pod template");
    (deployment, spec)
}

/// Every container of the pod: init containers count too.
pub(super) fn containers(spec: &Node) -> Vec<&Node> {
    list(spec, "initContainers")
        .iter()
        .chain(list(spec, "containers"))
        .collect()
}

/// The container named `hoist`.
pub(super) fn hoist(spec: &Node) -> &Node {
    list(spec, "containers")
        .iter()
        .find(|c| text(c, "name") == Some("hoist"))
        .expect("a container named hoist")
}

/// The env entry `var` of a container.
pub(super) fn env<'a>(container: &'a Node, var: &str) -> Option<&'a Node> {
    list(container, "env")
        .iter()
        .find(|e| text(e, "name") == Some(var))
}

/// The container port a probe's `port` means (a number or a port's name).
pub(super) fn probe_port(container: &Node, probe: &str) -> Option<String> {
    let port = text(container, &format!("{probe}.httpGet.port"))?;
    if port.parse::<u16>().is_ok() {
        return Some(port.to_string());
    }
    list(container, "ports")
        .iter()
        .find(|p| text(p, "name") == Some(port))
        .and_then(|p| text(p, "containerPort"))
        .map(str::to_string)
}

/// The volume named `name` in the pod spec.
pub(super) fn volume<'a>(spec: &'a Node, name: &str) -> &'a Node {
    list(spec, "volumes")
        .iter()
        .find(|v| text(v, "name") == Some(name))
        .unwrap_or_else(|| panic!("no volume {name}"))
}

/// The volume mounted at `path` in `container`.
pub(super) fn mounted_at<'a>(spec: &'a Node, container: &Node, path: &str) -> &'a Node {
    let mount = list(container, "volumeMounts")
        .iter()
        .find(|m| text(m, "mountPath") == Some(path))
        .unwrap_or_else(|| panic!("nothing is mounted at {path}"));
    volume(spec, text(mount, "name").unwrap())
}

/// Secret keys the pod reads: (key, optional) for each secretKeyRef and each
/// item of a secret volume.
pub(super) fn secret_keys(spec: &Node) -> Vec<(String, bool)> {
    let mut keys = Vec::new();
    for c in containers(spec) {
        for e in list(c, "env") {
            if let Some(r) = at(e, "valueFrom.secretKeyRef") {
                assert_eq!(text(r, "name"), Some("hoist-secrets"), "{e:?}");
                let optional = text(r, "optional") == Some("true");
                keys.push((text(r, "key").unwrap().to_string(), optional));
            }
        }
    }
    for v in list(spec, "volumes") {
        if let Some(s) = at(v, "secret") {
            assert_eq!(text(s, "secretName"), Some("hoist-secrets"));
            let optional = text(s, "optional") == Some("true");
            for item in list(s, "items") {
                keys.push((text(item, "key").unwrap().to_string(), optional));
            }
        }
    }
    keys
}
