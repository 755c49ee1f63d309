//! `hoist check`: validate a config repo's `hoist.yaml` on disk, printing
//! every problem as `hoist.yaml:LINE:COL: message`. Exit 1 if any.

use crate::policy;
use std::path::Path;

pub fn run(dir: &Path) -> anyhow::Result<i32> {
    let path = dir.join("hoist.yaml");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("hoist.yaml:1:1: cannot read {}: {e}", path.display());
            return Ok(1);
        }
    };
    let (loaded, mut problems) = policy::load(&text);
    problems.extend(policy::check(&loaded, &|_env, file| {
        dir.join(file).is_file()
    }));
    problems.sort_by_key(|p| (p.pos.line, p.pos.col));
    for p in &problems {
        println!("{p}");
    }
    if problems.is_empty() {
        println!(
            "hoist.yaml: ok ({} environments, {} apps)",
            loaded.environments.len(),
            loaded.apps.len()
        );
        Ok(0)
    } else {
        Ok(1)
    }
}
