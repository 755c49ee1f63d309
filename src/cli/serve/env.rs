//! What the process's surroundings allow `hoist serve`, beside what its
//! settings say ([`super::super::settings`] reads every variable): the
//! listener's connection cap never exceeds what the open-file limit leaves.

use crate::server::Limits;

/// File descriptors kept for everything but inbound connections: git's
/// pipes, the journal, the Slack and Kubernetes clients, the runtimes.
const FD_RESERVE: usize = 64;

/// The soft limit on open files (Linux; `None` elsewhere or unlimited).
fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// `limits` (`HOIST_HTTP_*`) with the connection cap lowered, and said, when
/// the open-file limit leaves less room than it after [`FD_RESERVE`], so
/// accepting never runs the process out of descriptors.
pub fn within_open_files(mut limits: Limits) -> Limits {
    if let Some(files) = open_file_limit() {
        let room = files.saturating_sub(FD_RESERVE).max(files / 2).max(1);
        if limits.max_connections > room {
            super::life::tell(
                true,
                &format!("serving at most {room} connections at once (open-file limit {files})"),
            );
            limits.max_connections = room;
        }
    }
    limits
}
