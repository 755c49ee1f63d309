//! Slack's permalinks, and the thread they point at. The request's
//! permalink (the `Hoist-Chat` trailer) says where an operation lives:
//! `https://acme.slack.com/archives/C1/p1531420618000100` is channel `C1`,
//! message `1531420618.000100`, and a reply in a thread adds
//! `?thread_ts=...&cid=C1`. So no table is needed to find the thread of an
//! operation, before or after a restart.

use crate::chat::Place;

/// `https://acme.slack.com/archives/C1/p1531420618000100` (with
/// `?thread_ts=..&cid=..` when the message is a reply in a thread).
pub fn permalink(team_url: &str, channel: &str, ts: &str, thread_ts: Option<&str>) -> String {
    let base = team_url.trim_end_matches('/');
    let p = ts.replace('.', "");
    match thread_ts {
        Some(t) if t != ts => format!("{base}/archives/{channel}/p{p}?thread_ts={t}&cid={channel}"),
        _ => format!("{base}/archives/{channel}/p{p}"),
    }
}

/// The thread of a permalink: its `thread_ts`, else the message itself.
pub fn of_permalink(link: &str) -> Option<Place> {
    let rest = link.split_once("/archives/")?.1;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (channel, p) = path.split_once('/')?;
    let digits = p.strip_prefix('p')?;
    if digits.len() <= 6 || !digits.bytes().all(|b| b.is_ascii_digit()) || channel.is_empty() {
        return None;
    }
    let (secs, micros) = digits.split_at(digits.len() - 6);
    let thread = form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "thread_ts")
        .map(|(_, v)| v.into_owned());
    Some(Place {
        channel: channel.to_string(),
        thread: Some(thread.unwrap_or_else(|| format!("{secs}.{micros}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_permalink_round_trips_to_its_thread() {
        let link = permalink(
            "https://acme.slack.com/",
            "C0DEPLOY",
            "1531420618.000100",
            None,
        );
        assert_eq!(
            link,
            "https://acme.slack.com/archives/C0DEPLOY/p1531420618000100"
        );
        assert_eq!(
            of_permalink(&link),
            Some(Place {
                channel: "C0DEPLOY".into(),
                thread: Some("1531420618.000100".into())
            })
        );
    }

    #[test]
    fn a_reply_in_a_thread_points_at_the_thread() {
        let link = permalink(
            "https://acme.slack.com",
            "C1",
            "1531420700.000200",
            Some("1531420618.000100"),
        );
        assert!(
            link.ends_with("?thread_ts=1531420618.000100&cid=C1"),
            "{link}"
        );
        assert_eq!(
            of_permalink(&link).and_then(|p| p.thread).as_deref(),
            Some("1531420618.000100")
        );
    }

    #[test]
    fn other_links_are_not_places() {
        assert_eq!(of_permalink("slack:C0DEPLOY"), None);
        assert_eq!(of_permalink("https://x/archives/C1/pnope"), None);
        assert_eq!(of_permalink("cli"), None);
    }
}
