//! The live messages driven as the engine drives them (synchronous
//! `Notify` calls from its own thread) against the recording platform and a
//! real journal: one post then edits in place, coalesced and spaced by the
//! edit gap; milestones posted once, even by a restarted process; every
//! message of hoist's noted as the operation's.

use super::*;
use crate::chat::testing::{Call, Recorder};
use crate::engine::State;
use crate::store::Store;
use std::time::Instant;

const GAP: Duration = Duration::from_millis(200);

struct Setup {
    platform: Arc<Recorder>,
    journal: Arc<dyn Journal>,
    runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let journal: Arc<dyn Journal> = Arc::new(Store::open(dir.path()).expect("a journal"));
        Setup {
            platform: Arc::new(Recorder::new(Duration::ZERO)),
            journal,
            runtime: tokio::runtime::Runtime::new().expect("a runtime"),
            _dir: dir,
        }
    }

    /// A `Notify` as `hoist serve` makes one (a restart makes another).
    fn live(&self) -> (Arc<Live<Recorder>>, LiveNotify<Recorder>) {
        let _in_runtime = self.runtime.enter();
        let out = Arc::new(Outbox::new(self.platform.clone()));
        let reactions = Reactions::new(&["ok"], &["no"]);
        let live = Live::with_edit_gap(out, self.journal.clone(), reactions, GAP);
        (live.clone(), LiveNotify(live))
    }

    fn note(&self, key: &str) -> Option<String> {
        self.journal.recall(key).expect("a note can be read")
    }

    /// The note `key`, waiting up to 10 s for it to be written (a note is
    /// kept just after the call it is about answered).
    fn note_soon(&self, key: &str) -> Option<String> {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if let Some(v) = self.note(key) {
                return Some(v);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }
}

/// Operation `id` of `discord:U1`, asked in thread `m0` of `C1`.
fn op(id: u64, state: State) -> Operation {
    let json = serde_json::json!({
        "id": id, "verb": "deploy", "summary": "deploy api v2 to prod", "actor": "discord:U1",
        "channel": "discord:C1", "chat": "test://C1/m0", "env": "prod", "reason": null,
        "ticket": null, "created_at": 100, "state": state, "branch": "main", "base": null,
        "changes": [], "commit": null, "needed": 1, "approvers": [], "expires_at": null,
        "break_glass": null, "transitions": [],
    });
    serde_json::from_value(json).expect("an operation in the journal's shape")
}

fn quiet_for(platform: &Recorder, d: Duration) -> Vec<Call> {
    let before = platform.calls().len();
    std::thread::sleep(d);
    let calls = platform.calls();
    assert_eq!(calls.len(), before, "more calls: {:#?}", &calls[before..]);
    calls
}

#[test]
fn the_first_report_is_posted_in_the_thread_and_later_ones_edit_it_newest_first() {
    let s = Setup::new();
    let (_, notify) = s.live();
    let running = op(
        1,
        State::Reconciling {
            phase: "syncing".into(),
        },
    );
    notify.update(&running, "one");
    let calls = s.platform.wait_for("the live message", |c| !c.is_empty());
    let post = &calls[0];
    assert_eq!((post.method, post.channel.as_str()), ("post", "C1"));
    assert_eq!(
        post.thread.as_deref(),
        Some("m0"),
        "in the request's thread"
    );
    assert_eq!(post.text, "one");
    let live = post.id.clone().expect("the post's id");

    // Reports faster than the gap: one edit, with the newest.
    let start = Instant::now();
    for text in ["two", "three", "<four>"] {
        notify.update(&running, text);
    }
    let calls = s.platform.wait_for("an edit", |c| c.len() == 2);
    let edit = &calls[1];
    assert_eq!(edit.method, "edit");
    assert_eq!(edit.id.as_deref(), Some(live.as_str()), "edited in place");
    assert_eq!(edit.text, "(lt)four(gt)", "the newest, escaped");
    assert!(edit.at.duration_since(post.at) >= GAP, "edits are spaced");
    assert!(start.elapsed() < 10 * GAP);
    quiet_for(&s.platform, 2 * GAP);

    assert_eq!(s.note("discord:live:1"), Some(live.clone()));
    assert_eq!(
        s.note(&format!("discord:msg:C1:{live}")).as_deref(),
        Some("1")
    );
    assert_eq!(s.note("discord:thread:C1:m0").as_deref(), Some("1"));
}

#[test]
fn an_approval_request_is_posted_once_naming_the_approvers_even_after_a_restart() {
    let s = Setup::new();
    let (live, notify) = s.live();
    let (policy, problems) = crate::policy::load(
        "environments:\n  prod:\n    deployers: [discord:U1, discord:U2]\n    approvals: { count: 1 }\n\
         apps:\n  api:\n    targets:\n      prod: { file: p.yaml, kustomize_image: x }\n",
    );
    assert!(problems.is_empty(), "{problems:?}");
    live.read_policy_with(Arc::new(move || Some(policy.clone())));
    let waiting = op(2, State::AwaitingApproval { needed: 1, have: 0 });
    notify.update(&waiting, "needs 1 approval");
    notify.update(&waiting, "needs 1 approval, still");
    let calls = s
        .platform
        .wait_for("the live message and the request", |c| {
            c.iter().filter(|c| c.method == "post").count() == 2
        });
    let posts: Vec<&Call> = calls.iter().filter(|c| c.method == "post").collect();
    let ask = posts[1];
    assert_eq!(ask.thread.as_deref(), Some("m0"));
    assert!(
        ask.text.starts_with("Approval needed for #2 deploy api v2 to prod (1 of people allowed to approve, not {@U1}): {@U2}. React :ok: to approve or :no: to deny"),
        "{}",
        ask.text
    );
    let message = ask.message.as_ref().expect("a message");
    assert_eq!(message.vote_on, Some(2), "with buttons");
    assert_eq!(posts[0].message.as_ref().and_then(|m| m.vote_on), Some(2));
    let asked = ask.id.clone().expect("an id");
    let noted = s.note_soon(&format!("discord:msg:C1:{asked}"));
    assert_eq!(noted.as_deref(), Some("2"), "a reaction on it is a vote");

    // The first process's newest text has gone out (it may trail the post
    // by one edit gap); then it stops.
    s.platform.wait_for("the first process's newest text", |c| {
        c.iter().any(|c| c.text == "needs 1 approval, still")
    });
    // A restarted process edits the same live message and asks no more.
    let (_, again) = s.live();
    again.update(&waiting, "resumed");
    let is_resumed = |c: &Call| c.method == "edit" && c.text == "resumed";
    let calls = s
        .platform
        .wait_for("the edit", |c| c.iter().any(is_resumed));
    quiet_for(&s.platform, 2 * GAP);
    let edit = calls.iter().find(|c| is_resumed(c)).expect("an edit");
    assert_eq!(edit.id, posts[0].id);
    assert_eq!(s.platform.calls_of("post").len(), 2, "no second request");
}

#[test]
fn a_failure_asked_from_a_channel_is_told_in_the_live_messages_thread() {
    let s = Setup::new();
    let (_, notify) = s.live();
    let mut failed = op(
        3,
        State::Failed {
            message: "no <luck>".into(),
        },
    );
    failed.chat = "cli".into();
    failed.channel = Some("discord:C9".into());
    notify.update(&failed, "failed");
    let calls = s.platform.wait_for("two posts", |c| c.len() == 2);
    assert_eq!(
        (calls[0].channel.as_str(), calls[0].thread.as_deref()),
        ("C9", None)
    );
    assert_eq!(calls[1].thread, calls[0].id, "under the live message");
    assert_eq!(
        calls[1].text,
        "{@U1} #3 deploy api v2 to prod: failed: no (lt)luck(gt)"
    );
    assert_eq!(calls[1].message.as_ref().and_then(|m| m.vote_on), None);
}

#[test]
fn alerts_go_to_this_platforms_channels_and_others_are_left_alone() {
    let s = Setup::new();
    let (_, notify) = s.live();
    notify.alert("discord:C2", "drift in <prod>");
    notify.alert("slack:C2", "not ours");
    let mut elsewhere = op(4, State::Healthy);
    elsewhere.chat = "https://acme.slack.com/archives/C1/p1531420618000100".into();
    elsewhere.channel = Some("slack:C1".into());
    notify.update(&elsewhere, "healthy");
    let calls = s.platform.wait_for("the alert", |c| !c.is_empty());
    let calls = [calls, quiet_for(&s.platform, 2 * GAP)].concat();
    assert_eq!(calls.len(), 2, "{calls:#?}");
    assert_eq!(
        (calls[0].channel.as_str(), calls[0].thread.as_deref()),
        ("C2", None)
    );
    assert_eq!(calls[0].text, "drift in (lt)prod(gt)");
}
