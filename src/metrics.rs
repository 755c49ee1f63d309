//! Counters for `GET /metrics` and their Prometheus text form. A counter is
//! a map from a label set to a count; the HTTP server and the Slack client
//! keep theirs, `server.rs` renders them all.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// Counts by label set.
#[derive(Debug)]
pub struct Counters<K>(Mutex<BTreeMap<K, u64>>);

impl<K> Default for Counters<K> {
    fn default() -> Self {
        Counters(Mutex::new(BTreeMap::new()))
    }
}

impl<K: Ord + Clone> Counters<K> {
    pub fn inc(&self, key: K) {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *m.entry(key).or_default() += 1;
    }

    /// Every label set and its count, in order.
    pub fn snapshot(&self) -> Vec<(K, u64)> {
        let m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        m.iter().map(|(k, n)| (k.clone(), *n)).collect()
    }
}

/// Append one counter family: `# HELP`, `# TYPE`, then `name{labels} n` per row,
/// `labels` already written as `key="value",...`.
pub fn family(
    out: &mut String,
    name: &str,
    help: &str,
    rows: impl IntoIterator<Item = (String, u64)>,
) {
    out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} counter\n"));
    for (labels, n) in rows {
        out.push_str(&format!("{name}{{{labels}}} {n}\n"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_render_as_prometheus_text() {
        let c = Counters::default();
        c.inc(("chat.update", "ok"));
        c.inc(("chat.update", "ok"));
        c.inc(("auth.test", "ok"));
        let mut out = String::new();
        let rows = c
            .snapshot()
            .into_iter()
            .map(|((m, o), n)| (format!("method=\"{m}\",outcome=\"{o}\""), n));
        family(&mut out, "calls_total", "Calls.", rows);
        assert_eq!(
            out,
            "# HELP calls_total Calls.\n# TYPE calls_total counter\n\
             calls_total{method=\"auth.test\",outcome=\"ok\"} 1\n\
             calls_total{method=\"chat.update\",outcome=\"ok\"} 2\n"
        );
    }
}
