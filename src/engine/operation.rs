//! An operation: one request to change the config repo, carried through the
//! state machine of ARCHITECTURE.md and journaled at every transition.

use serde::{Deserialize, Serialize};

/// Where an operation is. Terminal states end it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum State {
    Requested,
    Denied {
        reason: String,
    },
    AwaitingApproval {
        needed: u32,
        have: u32,
    },
    Expired,
    Rejected {
        by: String,
        reason: Option<String>,
    },
    Cancelled,
    Approved,
    Committed {
        sha: String,
    },
    Pushed {
        sha: String,
    },
    /// The change waits in a pull request (`via: pull-request`): approvals,
    /// checks and the merge happen there.
    PrOpened {
        url: String,
        /// The PR's number on the forge (0 in journals written before it
        /// was recorded).
        #[serde(default)]
        number: u64,
    },
    Merged {
        sha: String,
    },
    Reconciling {
        phase: String,
    },
    Healthy,
    Degraded {
        message: String,
    },
    Failed {
        message: String,
    },
    TimedOut,
    /// The target already had the version: nothing to commit.
    Unchanged,
    /// Written, and nothing to follow: an environment destroyed or extended.
    Done,
}

impl State {
    /// The `state` word of `hoist exec --json`.
    pub fn label(&self) -> &'static str {
        match self {
            State::Requested | State::Approved | State::Committed { .. } => "requested",
            State::Denied { .. } => "refused",
            State::AwaitingApproval { .. } => "awaiting-approval",
            State::Expired => "expired",
            State::Rejected { .. } => "rejected",
            State::Cancelled => "cancelled",
            State::Pushed { .. } => "pushed",
            State::PrOpened { .. } => "pr-opened",
            State::Merged { .. } => "merged",
            State::Reconciling { .. } => "reconciling",
            State::Healthy => "healthy",
            State::Degraded { .. } => "degraded",
            State::Failed { .. } => "failed",
            State::TimedOut => "timed-out",
            State::Unchanged | State::Done => "done",
        }
    }

    /// The state's own name (unlike `label`, Approved and Committed are not
    /// folded into "requested"): what `transitions` records.
    pub fn name(&self) -> &'static str {
        match self {
            State::Approved => "approved",
            State::Committed { .. } => "committed",
            other => other.label(),
        }
    }

    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            State::Denied { .. }
                | State::Expired
                | State::Rejected { .. }
                | State::Cancelled
                | State::Healthy
                | State::Degraded { .. }
                | State::Failed { .. }
                | State::TimedOut
                | State::Unchanged
                | State::Done
        )
    }
}

/// One app's part of a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub app: String,
    /// The version asked for (`v1.2.4`, `sha256:...`, `v1@sha256:...`).
    pub version: String,
    pub file: String,
    pub old_value: Option<String>,
    pub new_value: String,
    pub lines: Vec<crate::engine::ports::LineChange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    pub id: u64,
    /// `deploy`, `promote` or `rollback`.
    pub verb: String,
    /// The request in words; the commit subject.
    pub summary: String,
    pub actor: String,
    pub channel: Option<String>,
    /// Link to the request in chat (`Hoist-Chat`), else the channel, else `cli`.
    pub chat: String,
    pub env: String,
    pub reason: Option<String>,
    pub ticket: Option<String>,
    pub created_at: i64,
    pub state: State,
    pub branch: String,
    /// The commit the plan was computed on.
    pub base: Option<String>,
    pub changes: Vec<Change>,
    pub commit: Option<String>,
    /// Approvals needed before writing (0: none).
    pub needed: u32,
    /// Who approved, in order; each counts once. Cleared when the plan changes.
    pub approvers: Vec<String>,
    /// When a request waiting for approvals expires (seconds since the epoch).
    pub expires_at: Option<i64>,
    /// Set on the incident path: why the usual gates were passed.
    pub break_glass: Option<String>,
    /// (time, state label) for every transition, oldest first.
    pub transitions: Vec<(i64, String)>,
    /// The platform groups each person (the requester, every approver)
    /// belonged to when they asked or voted: what the policy is checked
    /// against again at quorum and on resume.
    #[serde(default)]
    pub memberships: std::collections::BTreeMap<String, Vec<String>>,
    /// An ordered plan (`depends_on` among the apps of a promotion): the
    /// step, `changes[k]`, being written or followed now; every change
    /// before it went out healthy. `None`: all changes go out as one commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ordered: Option<usize>,
    /// Set for an environment that changes through a pull request
    /// (`via: pull-request`), from the moment the operation is journaled;
    /// its number and link once the PR is opened, its merge commit once merged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr: Option<PullRef>,
    /// The forge deployment recording this operation's rollout (GitHub
    /// Deployments), once one was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<u64>,
    /// An environment made from a template (`env-create`, `env-destroy`,
    /// `env-extend`): what the registry entry says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<EnvChange>,
}

/// The registry side of an environment operation. The environment's name
/// is the operation's `env`; its owner, for a creation, the requester.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvChange {
    /// The environment it is (or was) made from.
    pub template: String,
    /// When it expires (seconds since the epoch): set by create and extend;
    /// for a destroy by the runner, the expiry it was decided on (the
    /// entry must still expire by then where it lands).
    pub expires: i64,
    /// A creation: the directories it wrote, which its destruction removes
    /// (whatever the template's layout has become since).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dirs: Vec<String>,
    /// A destroy asked by the runner because the environment expired.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub expired: bool,
}

/// An operation's pull request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRef {
    /// 0 until the PR is opened.
    #[serde(default)]
    pub number: u64,
    /// Where people look at it; empty until opened.
    #[serde(default)]
    pub url: String,
    /// The commit the merge put on the environment's branch: what the
    /// rollout is followed at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged: Option<String>,
}

impl PullRef {
    /// hoist's branch for operation `id`.
    pub fn branch(id: u64) -> String {
        format!("hoist/{id}")
    }
}

impl Operation {
    /// Record a transition (the caller journals it before announcing it).
    pub fn enter(&mut self, state: State, now: i64) {
        let label = match &state {
            State::Reconciling { phase } => format!("reconciling:{phase}"),
            other => other.name().to_string(),
        };
        self.transitions.push((now, label));
        self.state = state;
    }

    /// The changes written by the current commit: the step of an ordered
    /// plan, else all of them.
    pub fn step_range(&self) -> std::ops::Range<usize> {
        let n = self.changes.len();
        match self.ordered {
            Some(k) => k.min(n)..(k + 1).min(n),
            None => 0..n,
        }
    }

    /// The commit a rollout is followed at (R): the PR's merge commit for
    /// a merged pull request, else the commit hoist pushed.
    pub fn revision(&self) -> Option<&str> {
        self.pr
            .as_ref()
            .and_then(|p| p.merged.as_deref())
            .or(self.commit.as_deref())
    }

    /// An ordered plan with steps after the current one.
    pub fn steps_left(&self) -> bool {
        matches!(self.ordered, Some(k) if k + 1 < self.changes.len())
    }

    /// An operation on an environment itself (`env-create`, `env-destroy`,
    /// `env-extend`) rather than on apps' versions.
    pub fn on_environment(&self) -> bool {
        self.verb.starts_with("env-")
    }

    /// Seconds since the state named `label` was first entered.
    pub fn entered(&self, label: &str) -> Option<i64> {
        self.transitions
            .iter()
            .find(|(_, l)| l == label)
            .map(|(t, _)| *t)
    }
}
