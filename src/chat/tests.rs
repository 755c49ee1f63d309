//! The shared adapter end to end on a real engine (a bare origin on disk,
//! hoist's mirror and redb journal, a throw-away signing key), with the
//! recording platform standing in for a chat platform: a command nobody
//! else saw is echoed once the dry run holds, and a reaction on any of
//! hoist's messages of the operation (the echo, the live message, the
//! approval request) is a vote on it, with the voter's groups looked up on
//! the platform; an approving reaction taken back withdraws the approval;
//! the requester's own reaction is refused, to them.

use super::live::{Live, LiveNotify};
use super::outbox::Outbox;
use super::testing::{Call, Recorder};
use super::{Audience, Chat, Parts, Reaction, Reactions, Said};
use crate::engine::ports::{Journal, SystemClock};
use crate::engine::{Engine, Settings, State};
use crate::gitops::credentials::Access;
use crate::gitops::sign::Signer;
use crate::gitops::{Author, GitRepo};
use crate::store::Store;
use std::sync::Arc;
use std::time::Duration;

const POLICY: &str = "\
groups:
  sre: [discord:U2, discord-role:G1]
environments:
  prod:
    deployers: [discord:U1, sre]
    approvals: { count: 2, from: [sre] }
apps:
  api:
    targets:
      prod: { file: apps/api/prod/kustomization.yaml, kustomize_image: ghcr.io/acme/api }
";

const KUSTOMIZATION: &str = "\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
images:
- name: ghcr.io/acme/api
  newTag: v1.2.3
";

struct World {
    platform: Arc<Recorder>,
    chat: Arc<Chat<Recorder>>,
    journal: Arc<dyn Journal>,
    runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let seed = dir.path().join("config");
        let target = seed.join("apps/api/prod");
        std::fs::create_dir_all(&target).expect("the seed's directories");
        std::fs::write(seed.join("hoist.yaml"), POLICY).expect("the policy");
        std::fs::write(target.join("kustomization.yaml"), KUSTOMIZATION).expect("a target");
        let origin = crate::cli::seed_origin(dir.path(), Some(&seed)).expect("an origin");
        let data = dir.path().join("data");
        let signer = Signer::generate().expect("a signing key");
        let origin = origin.to_str().expect("a UTF-8 path");
        let repo = GitRepo::open(
            &data,
            origin,
            Some(signer),
            Author::default(),
            &Access::default(),
        )
        .expect("the mirror");
        let journal: Arc<dyn Journal> = Arc::new(Store::open(&data).expect("a journal"));
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        let platform = Arc::new(Recorder::new(Duration::ZERO));
        platform.set_group("G1", &["U3"]);
        let reactions = Reactions::new(&["ok"], &["no"]);
        let live = {
            let _in_runtime = runtime.enter();
            let out = Arc::new(Outbox::new(platform.clone()));
            Live::with_edit_gap(out, journal.clone(), reactions.clone(), Duration::ZERO)
        };
        let engine = Engine::new(
            Arc::new(repo),
            journal.clone(),
            None,
            Arc::new(LiveNotify(live.clone())),
            Arc::new(SystemClock),
            Settings::default(),
        );
        let chat = Chat::new(Parts {
            engine,
            live,
            journal: journal.clone(),
            clock: Arc::new(SystemClock),
            reactions,
        });
        World {
            platform,
            chat,
            journal,
            runtime,
            _dir: dir,
        }
    }

    /// `user` reacts `name` (or takes it back) on message `id` in C1.
    fn react(&self, user: &str, name: &str, id: &str, added: bool) {
        self.runtime.block_on(self.chat.on_reaction(Reaction {
            user: user.into(),
            channel: "C1".into(),
            message: id.into(),
            name: name.into(),
            added,
        }))
    }

    fn state(&self) -> State {
        let op = self.journal.get(1).expect("the journal reads");
        op.expect("operation #1").state
    }
}

fn posted(calls: &[Call], needle: &str) -> Option<Call> {
    calls
        .iter()
        .find(|c| c.method == "post" && c.text.contains(needle))
        .cloned()
}

#[test]
fn a_reaction_on_any_of_hoists_messages_of_an_operation_is_a_vote_on_it() {
    let w = World::new();
    w.runtime.block_on(w.chat.on_words(Said {
        user: "U1".into(),
        channel: "C1".into(),
        message: None,
        thread: None,
        text: "deploy api v1.2.4 to prod --reason \"<!here>\"".into(),
        addressed: true,
        audience: Audience::Asker,
    }));
    let calls = w
        .platform
        .wait_for("the echo, the live message and the request", |c| {
            posted(c, "Approval needed").is_some()
        });
    let echo = posted(&calls, " asked: ").expect("the echo");
    assert_eq!(
        echo.text,
        "{@U1} asked: `deploy api v1.2.4 to prod --reason \"(lt)!here(gt)\"`"
    );
    assert_eq!(echo.thread, None, "the echo roots the thread");
    let echo = echo.id.expect("the echo's id");
    let live = calls
        .iter()
        .find(|c| c.message.as_ref().is_some_and(|m| m.header.is_some()))
        .expect("the live message");
    assert_eq!(live.thread.as_deref(), Some(echo.as_str()));
    let ask = posted(&calls, "Approval needed").expect("the approval request");
    assert!(ask.text.contains("{@U2}, {group:G1}"), "{}", ask.text);
    let (live, ask) = (live.id.clone().expect("an id"), ask.id.expect("an id"));
    assert_eq!(w.state(), State::AwaitingApproval { needed: 2, have: 0 });

    // The requester's own reaction does not count, and they are told.
    w.react("U1", "ok", &echo, true);
    let told = w.platform.calls_of("ephemeral");
    assert_eq!(told.len(), 1, "{told:#?}");
    assert_eq!(told[0].user.as_deref(), Some("U1"));
    assert_eq!(told[0].thread.as_deref(), Some(echo.as_str()));

    // On the echo: a vote; taken back: withdrawn; on the live message: a vote.
    w.react("U2", "ok", &echo, true);
    assert_eq!(w.state(), State::AwaitingApproval { needed: 2, have: 1 });
    w.react("U2", "ok", &echo, false);
    assert_eq!(w.state(), State::AwaitingApproval { needed: 2, have: 0 });
    w.react("U2", "ok", &live, true);
    assert_eq!(w.state(), State::AwaitingApproval { needed: 2, have: 1 });
    // Someone else's message is not hoist's: nothing.
    w.react("U3", "ok", "not-hoists", true);
    assert_eq!(w.state(), State::AwaitingApproval { needed: 2, have: 1 });
    // On the approval request, from a member of a group: the second vote,
    // and the change is pushed.
    w.react("U3", "ok", &ask, true);
    assert!(matches!(w.state(), State::Pushed { .. }), "{:?}", w.state());
    assert_eq!(w.platform.calls_of("ephemeral").len(), 1, "no vote refused");
}
