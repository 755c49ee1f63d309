//! A fake GitHub REST API on loopback (axum on 127.0.0.1:0) for the GitHub
//! forge adapter, stateful and speaking GitHub's wire shapes (field names
//! from the `@octokit/openapi` description): pull requests numbered from 1
//! whose `mergeable` is `null` on the first read, labels, comments, reviews
//! and check runs/statuses the test sets, deployments with statuses, team
//! memberships, `ETag`/304 on pulls, 422 "A pull request already exists",
//! 405 (not mergeable or conflicting) and 409 (head moved) on merge, a
//! secondary-limit 403 with `retry-after` on demand and an optional
//! enforced limit on content-creating requests (N per window), bearer-token
//! auth, and GitHub App installation tokens. Merges are real: `git
//! merge-tree` and `commit-tree` in a bare repository on disk, the base
//! moved with `update-ref` against its old value. Every call is recorded.

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use base64::Engine as _;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod app;
mod routes;
mod wire;

use routes::{follow_head, merge};
use wire::handle;

pub const TOKEN: &str = "ghp_test_token";
pub const APP_ID: u64 = 4242;
pub const INSTALLATION: u64 = 77;

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    /// Path and query.
    pub path: String,
    pub body: Value,
    pub status: u16,
}

#[derive(Debug, Clone)]
pub struct Pr {
    pub number: u64,
    pub title: String,
    pub body: String,
    pub head: String,
    pub base: String,
    pub head_sha: String,
    pub open: bool,
    pub merged_sha: Option<String>,
    pub merged_by: Option<String>,
    pub closed_by: Option<String>,
    pub labels: Vec<String>,
    pub comments: Vec<String>,
    reads: u32,
    /// A test said merging is blocked (405 with this message).
    pub blocked: Option<String>,
    /// A test said branch protection wants more (`mergeable_state`
    /// `blocked`).
    pub protected: bool,
}

#[derive(Debug, Clone)]
pub struct Deployment {
    pub id: u64,
    pub sha: String,
    pub environment: String,
    pub description: String,
    pub statuses: Vec<(String, String)>,
}

#[derive(Default)]
struct State {
    repo: PathBuf,
    owner: String,
    name: String,
    prs: BTreeMap<u64, Pr>,
    next_number: u64,
    reviews: HashMap<u64, Vec<Value>>,
    statuses: HashMap<String, Vec<(String, String)>>,
    checks: HashMap<String, Vec<(String, String, Option<String>)>>,
    deployments: Vec<Deployment>,
    teams: HashMap<String, Vec<String>>,
    calls: Vec<Call>,
    /// Requests counted against the primary limit (not 304s).
    counted: u64,
    /// The next this many requests answer the secondary-limit 403.
    secondary: u32,
    /// At most N content-creating requests in any window.
    content_limit: Option<(usize, Duration)>,
    content_log: VecDeque<Instant>,
    rejected: u32,
    /// Installation tokens issued, and their lifetime.
    issued: Vec<String>,
    token_ttl: Duration,
    /// The primary limit is spent until this (epoch seconds).
    spent_until: Option<i64>,
    /// The App's public key: JWTs must be RS256-signed with it.
    app_key: Option<rsa::RsaPublicKey>,
    /// Labelling answers 422 (the token may not create labels).
    refuse_labels: bool,
    /// Listing pulls ignores `base` (a hostile or buggy answer).
    list_any_base: bool,
}

pub struct FakeGitHub {
    pub url: String,
    state: Arc<Mutex<State>>,
    _runtime: tokio::runtime::Runtime,
}

/// Run git in the bare repository with a fixed identity.
pub fn bare_git(repo: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("git")
        .current_dir(repo)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", repo)
        .env("GIT_AUTHOR_NAME", "GitHub")
        .env("GIT_AUTHOR_EMAIL", "noreply@github.com")
        .env("GIT_COMMITTER_NAME", "GitHub")
        .env("GIT_COMMITTER_EMAIL", "noreply@github.com")
        .args(args)
        .output()
        .expect("git runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
    )
}

fn sha_of(repo: &Path, rev: &str) -> Option<String> {
    let (ok, sha) = bare_git(
        repo,
        &["rev-parse", "--verify", "-q", &format!("{rev}^{{commit}}")],
    );
    ok.then_some(sha)
}

/// The tree of merging `head` into `base`, or `None` on a conflict.
fn merged_tree(repo: &Path, base: &str, head: &str) -> Option<String> {
    let (ok, out) = bare_git(repo, &["merge-tree", "--write-tree", base, head]);
    ok.then(|| out.lines().next().unwrap_or("").to_string())
}

impl FakeGitHub {
    /// Serve the GitHub API for `owner/name`, whose git data is the bare
    /// repository `repo`.
    pub fn start(repo: &Path, owner: &str, name: &str) -> FakeGitHub {
        let state = Arc::new(Mutex::new(State {
            repo: repo.to_path_buf(),
            owner: owner.into(),
            name: name.into(),
            next_number: 1,
            token_ttl: Duration::from_secs(3600),
            ..State::default()
        }));
        let st = state.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let st = st.clone();
                async move { handle(&st, method, uri, headers, body) }
            },
        );
        let (url, runtime) = super::loopback::serve_loopback(app);
        FakeGitHub {
            url,
            state,
            _runtime: runtime,
        }
    }

    pub fn pr(&self, n: u64) -> Pr {
        let mut s = self.state.lock().unwrap();
        follow_head(&mut s, n);
        s.prs[&n].clone()
    }
    /// The bare repository over git's smart HTTP, demanding `token` as
    /// GitHub does (`x-access-token`); its clone URL.
    pub fn serve_git(&self, token: &str) -> (super::http_git::HttpGit, String) {
        let repo = self.state.lock().unwrap().repo.clone();
        let server =
            super::http_git::HttpGit::start(repo.parent().unwrap(), "x-access-token", token);
        let url = format!(
            "{}/{}",
            server.url,
            repo.file_name().unwrap().to_string_lossy()
        );
        (server, url)
    }
    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
    }
    pub fn deployments(&self) -> Vec<Deployment> {
        self.state.lock().unwrap().deployments.clone()
    }
    /// Requests counted against the primary rate limit (304s are not).
    pub fn counted(&self) -> u64 {
        self.state.lock().unwrap().counted
    }
    /// Content-creating requests refused by the enforced limit.
    pub fn rejected(&self) -> u32 {
        self.state.lock().unwrap().rejected
    }
    pub fn issued(&self) -> Vec<String> {
        self.state.lock().unwrap().issued.clone()
    }
    pub fn set_token_ttl(&self, ttl: Duration) {
        self.state.lock().unwrap().token_ttl = ttl;
    }
    /// A check run on `sha`: `status` queued/in_progress/completed.
    pub fn set_check(&self, sha: &str, name: &str, status: &str, conclusion: Option<&str>) {
        let mut s = self.state.lock().unwrap();
        let runs = s.checks.entry(sha.into()).or_default();
        runs.retain(|r| r.0 != name);
        runs.push((name.into(), status.into(), conclusion.map(Into::into)));
    }
    /// A commit status on `sha`: pending/success/failure/error.
    pub fn set_status(&self, sha: &str, context: &str, state: &str) {
        let mut s = self.state.lock().unwrap();
        let list = s.statuses.entry(sha.into()).or_default();
        list.retain(|r| r.0 != context);
        list.push((context.into(), state.into()));
    }
    /// A review by a collaborator.
    pub fn add_review(&self, n: u64, login: &str, state: &str, commit: &str) {
        self.add_review_as(n, login, state, commit, "COLLABORATOR");
    }
    /// A review whose `author_association` is `association` (`NONE`,
    /// `CONTRIBUTOR`, `MEMBER`, ...).
    pub fn add_review_as(&self, n: u64, login: &str, state: &str, commit: &str, association: &str) {
        let mut s = self.state.lock().unwrap();
        let list = s.reviews.entry(n).or_default();
        let id = list.len() as u64 + 80;
        list.push(json!({
            "id": id, "node_id": format!("PRR_{id}"),
            "user": { "login": login, "id": 1, "type": "User" },
            "body": "", "state": state, "commit_id": commit,
            "html_url": format!("https://github.com/o/r/pull/{n}#pullrequestreview-{id}"),
            "submitted_at": "2026-01-01T00:00:00Z", "author_association": association,
        }));
    }
    pub fn set_team(&self, org: &str, slug: &str, members: &[&str]) {
        let members = members.iter().map(|m| m.to_string()).collect();
        self.state
            .lock()
            .unwrap()
            .teams
            .insert(format!("{org}/{slug}"), members);
    }
    /// Replace PR `n`'s body (as a person editing it on GitHub would).
    pub fn set_body(&self, n: u64, body: &str) {
        self.state.lock().unwrap().prs.get_mut(&n).unwrap().body = body.into();
    }
    /// Branch protection wants more of PR `n` (`mergeable_state`
    /// `blocked`).
    pub fn protect(&self, n: u64) {
        self.state
            .lock()
            .unwrap()
            .prs
            .get_mut(&n)
            .unwrap()
            .protected = true;
    }
    /// Labelling answers 422 from now on.
    pub fn refuse_labels(&self) {
        self.state.lock().unwrap().refuse_labels = true;
    }
    /// Listing pulls ignores the `base` asked for from now on.
    pub fn list_any_base(&self) {
        self.state.lock().unwrap().list_any_base = true;
    }
    /// Merging PR `n` answers 405 with `message`.
    pub fn block_merge(&self, n: u64, message: &str) {
        self.state.lock().unwrap().prs.get_mut(&n).unwrap().blocked = Some(message.into());
    }
    pub fn close(&self, n: u64, by: &str) {
        let mut s = self.state.lock().unwrap();
        let pr = s.prs.get_mut(&n).unwrap();
        pr.open = false;
        pr.closed_by = Some(by.into());
    }
    /// Merge PR `n` as a person on GitHub would (a merge commit).
    pub fn merge_as_human(&self, n: u64, by: &str) -> String {
        let mut s = self.state.lock().unwrap();
        let head = s.prs[&n].head_sha.clone();
        let title = format!("Merge pull request #{n}");
        let (status, body) = merge(&mut s, n, &head, "merge", &title, "");
        assert_eq!(status, StatusCode::OK, "{body}");
        s.prs.get_mut(&n).unwrap().merged_by = Some(by.into());
        body["sha"].as_str().unwrap().to_string()
    }
    /// The next `n` requests answer the secondary-limit 403.
    pub fn secondary_limit(&self, n: u32) {
        self.state.lock().unwrap().secondary = n;
    }
    /// From now on App JWTs must be signed with the key whose private half
    /// is `private_pem` (PKCS#1 PEM, as `ssh-keygen -m PEM` writes it).
    pub fn require_app_key(&self, private_pem: &str) {
        use rsa::pkcs1::DecodeRsaPrivateKey;
        let body: String = private_pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap();
        let key = rsa::RsaPrivateKey::from_pkcs1_der(&der).unwrap();
        self.state.lock().unwrap().app_key = Some(key.to_public_key());
    }
    /// From now on the primary limit is spent for `for_` (answers say
    /// `x-ratelimit-remaining: 0`; requests are refused with 403).
    pub fn spend_primary(&self, for_: Duration) {
        let until = jiff::Timestamp::now().as_second() + for_.as_secs() as i64;
        self.state.lock().unwrap().spent_until = Some(until);
    }
    /// Refuse content-creating requests beyond `n` in any `window`.
    pub fn limit_content(&self, n: usize, window: Duration) {
        self.state.lock().unwrap().content_limit = Some((n, window));
    }
}

fn reply(status: StatusCode, body: Value) -> (StatusCode, Value) {
    (status, body)
}

fn message(status: StatusCode, text: &str) -> (StatusCode, Value) {
    reply(
        status,
        json!({ "message": text, "documentation_url": "https://docs.github.com/rest" }),
    )
}
