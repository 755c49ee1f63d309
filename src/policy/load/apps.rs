//! The `apps:` section of `hoist.yaml`: each app's targets (where its version
//! is written, per environment) and the GitOps object that reports on it.
//! A target's `file` must pass [`target_file_problem`]: never the policy,
//! git's or CI's files, or an un-normalised path.

use super::{APP_KEYS, ARGOCD_KEYS, FLUX_KEYS, Loader, Problem, TARGET_KEYS};
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
        depends_on: Vec::new(),
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
            "depends_on" => {
                for item in l.list(v, "depends_on") {
                    if let Some(dep) = l.name(item, "app") {
                        app.depends_on.push((dep, item.pos));
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

/// `depends_on` across apps: every name an app, never the app itself, and no
/// cycle (reported once, at the first edge of it, as `api -> web -> api`).
pub(super) fn dependencies(l: &mut Loader, apps: &[App]) {
    let known = |n: &Name| apps.iter().any(|a| &a.name == n);
    for app in apps {
        for (dep, pos) in &app.depends_on {
            let message = if dep == &app.name {
                format!("app `{}` depends on itself", app.name)
            } else if !known(dep) {
                format!("app `{}` depends on `{dep}`, which is not an app", app.name)
            } else {
                continue;
            };
            l.problems.push(Problem { pos: *pos, message });
        }
    }
    let mut reported: Vec<Vec<Name>> = Vec::new();
    for app in apps {
        if let Some((cycle, pos)) = cycle_from(apps, app) {
            let mut members = cycle[..cycle.len() - 1].to_vec();
            members.sort();
            if reported.contains(&members) {
                continue;
            }
            reported.push(members);
            let path: Vec<&str> = cycle.iter().map(Name::as_str).collect();
            l.problems.push(Problem {
                pos,
                message: format!("depends_on makes a cycle: {}", path.join(" -> ")),
            });
        }
    }
}

/// A cycle of two or more apps back to `start`, with the position of its
/// first edge: a depth-first walk over `depends_on`.
fn cycle_from(apps: &[App], start: &App) -> Option<(Vec<Name>, crate::yaml::Pos)> {
    let find = |n: &Name| apps.iter().find(|a| &a.name == n);
    let mut stack: Vec<(Name, usize)> = vec![(start.name.clone(), 0)];
    while let Some((name, next)) = stack.last().cloned() {
        let deps = find(&name).map_or(&[][..], |a| &a.depends_on[..]);
        let Some((dep, _)) = deps.get(next) else {
            stack.pop();
            continue;
        };
        stack.last_mut().expect("not empty").1 += 1;
        if dep == &name {
            continue;
        }
        if dep == &start.name {
            let mut path: Vec<Name> = stack.iter().map(|(n, _)| n.clone()).collect();
            path.push(start.name.clone());
            return Some((path, start.depends_on[stack[0].1 - 1].1));
        }
        if find(dep).is_some() && !stack.iter().any(|(n, _)| n == dep) {
            stack.push((dep.clone(), 0));
        }
    }
    None
}
