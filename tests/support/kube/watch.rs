//! Watches as the API server streams them: chunked newline-delimited events
//! (ADDED, MODIFIED, DELETED, BOOKMARK) replayed from the asked
//! resourceVersion then live, closed at `timeoutSeconds` (or the fake's
//! cap); a resourceVersion older than the last compaction, or a watch that
//! fell behind, answered as an in-stream `ERROR` event with code 410 (what
//! makes a watcher relist).

use super::wire::{Filter, Target};
use super::{Event, State, status};
use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};

pub(super) async fn watch(
    state: Arc<Mutex<State>>,
    events: broadcast::Sender<Event>,
    target: Target,
    filter: Filter,
    q: HashMap<String, String>,
) -> Response {
    // Subscribed before the backlog is read, so nothing falls in between.
    let mut live = events.subscribe();
    let since: u64 = q
        .get("resourceVersion")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let (resource, ns) = (target.resource, target.ns);
    let wants = move |e: &Event| {
        e.resource == resource
            && ns.as_deref().is_none_or(|n| n == e.namespace)
            && filter.matches(&e.object)
    };
    let (backlog, expired, secs, rv_now) = {
        let mut st = state.lock().unwrap();
        st.watches.push(format!("{q:?}"));
        let asked: u64 = q
            .get("timeoutSeconds")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1800);
        let secs = st.max_watch_secs.map_or(asked, |m| m.min(asked));
        let expired = since != 0 && since < st.expired_below;
        let backlog: Vec<Event> = st
            .log
            .iter()
            .filter(|e| e.rv > since && wants(e))
            .cloned()
            .collect();
        (backlog, expired, secs, st.rv)
    };
    let bookmarks = q.get("allowWatchBookmarks").is_some_and(|v| v == "true");
    let (tx, rx) = mpsc::channel::<Bytes>(4096);
    let line = |kind: &str, object: &Value| {
        Bytes::from(format!("{}\n", json!({"type": kind, "object": object})))
    };
    tokio::spawn(async move {
        if expired {
            let gone = status(
                410,
                "Expired",
                &format!("too old resource version: {since} ({rv_now})"),
            );
            let _ = tx.send(line("ERROR", &gone)).await;
            return;
        }
        let mut last = since;
        for e in backlog {
            last = e.rv;
            if tx.send(line(e.kind, &e.object)).await.is_err() {
                return;
            }
        }
        let deadline = tokio::time::sleep(Duration::from_secs(secs));
        tokio::pin!(deadline);
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            tokio::select! {
                _ = &mut deadline => return,
                got = live.recv() => match got {
                    Ok(e) if e.rv > last && wants(&e) => {
                        last = e.rv;
                        if tx.send(line(e.kind, &e.object)).await.is_err() { return; }
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        let gone = status(410, "Expired", "watch fell behind");
                        let _ = tx.send(line("ERROR", &gone)).await;
                        return;
                    }
                    Err(_) => return,
                },
                _ = tick.tick(), if bookmarks => {
                    let mark = json!({"kind": "Bookmark", "apiVersion": "v1", "metadata": {"resourceVersion": last.max(since).to_string()}});
                    if tx.send(line("BOOKMARK", &mark)).await.is_err() { return; }
                }
            }
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, std::convert::Infallible>(b), rx))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .body(Body::from_stream(stream))
        .unwrap()
}
