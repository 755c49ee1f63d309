//! `env create`, `env destroy`, `env extend` and `env list` through `hoist
//! exec` against a real bare origin, judged by the git CLI (issue 20's
//! acceptance): what one creation writes, byte for byte; that a deploy to the
//! new environment edits only its copy; that destroy takes exactly the copies
//! back; approvals as the rule asks; and every refusal writes nothing.

mod approvals;
mod fixture;
mod lifecycle;
mod refusals;
