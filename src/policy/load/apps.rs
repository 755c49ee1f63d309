//! The `apps:` section of `hoist.yaml`: each app's targets (where its version
//! is written, per environment) and the GitOps object that reports on it.
//! A target's `file` must pass [`target_file_problem`]: never the policy,
//! git's or CI's files, or an un-normalised path.

use super::{APP_KEYS, ARGOCD_KEYS, FLUX_KEYS, Loader, TARGET_KEYS};
use crate::policy::model::{App, Locator, Target, Watch};
use crate::policy::paths::target_file_problem;
use crate::yaml::Node;
use hoist_commands::Name;
use std::collections::BTreeMap;

pub(super) fn app(l: &mut Loader, name: Name, key: &Node, node: &Node) -> App {
    let mut app = App {
        name,
        pos: key.pos,
        targets: BTreeMap::new(),
        watch: None,
    };
    let what = format!("app `{}`", app.name);
    for (k, _, v) in l.entries(node, &what, APP_KEYS) {
        match k {
            "targets" => {
                for (_, env_key, t) in l.entries(v, "targets", &[]) {
                    let Some(env_name) = l.name(env_key, "environment") else {
                        continue;
                    };
                    let fields = l.entries(t, "a target", TARGET_KEYS);
                    let get = |f: &str| fields.iter().find(|(k, ..)| *k == f).map(|(_, _, v)| *v);
                    let file = get("file").and_then(|f| {
                        let file = l.string(f, "file")?;
                        match target_file_problem(&file) {
                            Some(why) => {
                                l.problem(f, why);
                                None
                            }
                            None => Some(file),
                        }
                    });
                    let locator = match (get("kustomize_image"), get("yaml_path"), get("marker")) {
                        (Some(i), None, None) => {
                            l.string(i, "kustomize_image").map(Locator::KustomizeImage)
                        }
                        (None, Some(p), None) => l.string(p, "yaml_path").map(Locator::YamlPath),
                        (None, None, Some(m)) => l.string(m, "marker").map(Locator::Marker),
                        _ => {
                            l.problem(t, "a target needs `file` and exactly one of `kustomize_image`, `yaml_path` or `marker`");
                            None
                        }
                    };
                    if file.is_none() && get("file").is_none() {
                        l.problem(t, "a target needs `file`");
                    }
                    if let (Some(file), Some(locator)) = (file, locator) {
                        app.targets.insert(
                            env_name,
                            Target {
                                file,
                                locator,
                                pos: env_key.pos,
                            },
                        );
                    }
                }
            }
            "argocd" => {
                let get = l.texts(v, "argocd", ARGOCD_KEYS);
                app.watch = Some(Watch::ArgoCd {
                    namespace: get("namespace").unwrap_or_else(|| "argocd".into()),
                    application: get("application")
                        .unwrap_or_else(|| format!("{}-{{env}}", app.name)),
                });
            }
            _ => {
                let get = l.texts(v, "flux", FLUX_KEYS);
                app.watch = Some(Watch::Flux {
                    kind: get("kind").unwrap_or_else(|| "Kustomization".into()),
                    namespace: get("namespace").unwrap_or_else(|| "flux-system".into()),
                    name: get("name").unwrap_or_else(|| format!("{}-{{env}}", app.name)),
                });
            }
        }
    }
    app
}
