//! Chat surfaces: each turns platform traffic into engine [`Request`]s and
//! renders operation updates back: the console (`hoist try`, `hoist exec`)
//! and chat platforms (`hoist serve`: Slack and Discord).
//!
//! What every chat platform needs is here, platform-neutral, and a platform
//! is a thin adapter behind the [`Platform`] trait (calls, formats) plus its
//! own decoding of inbound traffic:
//!
//! - `adapter`: [`Chat`], the shared adapter (engine, dedupe, memberships).
//! - `requests`: what people say ([`Said`]) becomes requests; the echo of a
//!   command nobody else saw; answers in the thread or to the asker only.
//! - `votes`: reactions and buttons become votes, and withdrawals.
//! - `live`: the engine's `Notify` port, one edited message per operation,
//!   and milestone replies posted once.
//! - `compose`: what those messages say.
//! - `notes`: which of hoist's messages belongs to which operation.
//! - `outbox`: posts paced per channel, escaping, failures logged.
//! - `work`: the bounded runtime the work after an acknowledgement runs on.
//! - `platform`: the [`Platform`] trait and the neutral [`Message`].
//! - `slack`, `discord`: the platforms, each a thin adapter on the above.
//!
//! Only `slack` (and its children) names slack-morphism types, only
//! `discord` serenity's; nothing else here names a platform.
//!
//! [`Request`]: crate::engine::Request

pub mod adapter;
pub mod compose;
pub mod console;
pub mod discord;
pub mod live;
pub mod notes;
pub mod outbox;
pub mod platform;
pub mod requests;
pub mod slack;
#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;
pub mod votes;
pub mod work;

pub use adapter::{Chat, Parts};
pub use platform::{Message, Place, Platform};
pub use requests::{Audience, Said};
pub use votes::{Press, Reaction, Reactions};
pub use work::Work;
