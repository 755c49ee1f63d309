//! Counters and histograms for `GET /metrics` and their Prometheus text
//! form. A counter is a map from a label set to a count, a histogram a map
//! from a label set to bucket counts, a sum and a count; the HTTP server,
//! the Slack client and the operation observers (`server/ops.rs`) keep
//! theirs, `server.rs` renders them all.

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
        out.push_str(&format!("{name}{} {n}\n", braced(&labels)));
    }
}

/// Upper bounds (seconds) of the duration histograms: a push takes
/// seconds, a rollout minutes, an approval up to a day.
pub const SECONDS_BUCKETS: &[f64] = &[
    1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 21600.0, 86400.0,
];

#[derive(Debug, Clone, Default)]
struct Buckets {
    /// Observations at or below each bound of [`Histograms::bounds`]
    /// (not cumulative here; rendering adds them up).
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

/// Histograms by label set, all with the same bucket bounds.
#[derive(Debug)]
pub struct Histograms<K> {
    bounds: &'static [f64],
    by: Mutex<BTreeMap<K, Buckets>>,
}

impl<K> Histograms<K> {
    pub fn new(bounds: &'static [f64]) -> Self {
        Histograms {
            bounds,
            by: Mutex::new(BTreeMap::new()),
        }
    }
}

impl<K: Ord + Clone> Histograms<K> {
    pub fn observe(&self, key: K, value: f64) {
        let mut m = self.by.lock().unwrap_or_else(|p| p.into_inner());
        let h = m.entry(key).or_insert_with(|| Buckets {
            counts: vec![0; self.bounds.len()],
            ..Buckets::default()
        });
        if let Some(i) = self.bounds.iter().position(|b| value <= *b) {
            h.counts[i] += 1;
        }
        h.sum += value;
        h.count += 1;
    }

    /// Append the family: `# HELP`, `# TYPE histogram`, then per label set
    /// the cumulative `_bucket{...,le="..."}` rows (`+Inf` last), `_sum` and
    /// `_count`; `labels` writes a key as `key="value",...`.
    pub fn render(&self, out: &mut String, name: &str, help: &str, labels: impl Fn(&K) -> String) {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} histogram\n"));
        let m = self.by.lock().unwrap_or_else(|p| p.into_inner());
        for (k, h) in m.iter() {
            let l = labels(k);
            let sep = if l.is_empty() { "" } else { "," };
            let mut cumulative = 0;
            for (bound, n) in self.bounds.iter().zip(&h.counts) {
                cumulative += n;
                out.push_str(&format!(
                    "{name}_bucket{{{l}{sep}le=\"{bound}\"}} {cumulative}\n"
                ));
            }
            out.push_str(&format!(
                "{name}_bucket{{{l}{sep}le=\"+Inf\"}} {}\n",
                h.count
            ));
            let l = braced(&l);
            out.push_str(&format!("{name}_sum{l} {}\n", h.sum));
            out.push_str(&format!("{name}_count{l} {}\n", h.count));
        }
    }
}

/// `{labels}`, or nothing for a series without labels.
fn braced(labels: &str) -> String {
    if labels.is_empty() {
        String::new()
    } else {
        format!("{{{labels}}}")
    }
}

/// Append one gauge with a single value.
pub fn gauge(out: &mut String, name: &str, help: &str, labels: &str, value: i64) {
    let labels = braced(labels);
    out.push_str(&format!(
        "# HELP {name} {help}\n# TYPE {name} gauge\n{name}{labels} {value}\n"
    ));
}

/// A label value as the text format wants it: `\`, `"` and line ends escaped.
pub fn label_value(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_render_cumulative_buckets_sum_and_count() {
        let h = Histograms::new(&[1.0, 10.0]);
        h.observe("prod", 0.5);
        h.observe("prod", 7.0);
        h.observe("prod", 70.0);
        let mut out = String::new();
        h.render(&mut out, "wait_seconds", "Waits.", |e| {
            format!("env=\"{e}\"")
        });
        assert_eq!(
            out,
            "# HELP wait_seconds Waits.\n# TYPE wait_seconds histogram\n\
             wait_seconds_bucket{env=\"prod\",le=\"1\"} 1\n\
             wait_seconds_bucket{env=\"prod\",le=\"10\"} 2\n\
             wait_seconds_bucket{env=\"prod\",le=\"+Inf\"} 3\n\
             wait_seconds_sum{env=\"prod\"} 77.5\n\
             wait_seconds_count{env=\"prod\"} 3\n"
        );
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

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
