//! A member's roles, which is what a `discord-role:<id>` group in a policy
//! asks about. Discord has no call listing a role's members, but every
//! message, reaction and interaction in a guild carries its author's
//! `member` object with their roles ([`Members::learn`]); when none was seen
//! within the TTL (`HOIST_DISCORD_ROLE_TTL`), GET /guilds/G/members/U asks
//! (a 404: not a member, no roles). A lookup that fails uses what was known
//! for one more TTL, then nothing (fail closed). At most [`MEMBERS_MAX`]
//! members are kept, the oldest forgotten first. Every member has the
//! guild's `@everyone` role, whose id is the guild's.

use super::places::{Bounded, lock};
use super::{CallError, Discord, text};
use serenity::http::{LightMethod, Route};
use serenity::model::id::{GuildId, UserId};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// At most this many members' roles are kept.
pub const MEMBERS_MAX: usize = 10_000;
/// At most this many roles are kept per member.
pub const ROLES_MAX: usize = 250;

/// A member's roles and when they were seen.
type Seen = (Vec<String>, Instant);

/// The roles of members hoist heard of, per (guild, user).
#[derive(Debug)]
pub struct Members {
    ttl: Duration,
    known: Mutex<Bounded<(String, String), Seen>>,
}

impl Members {
    pub fn new(ttl: Duration) -> Members {
        Members {
            ttl,
            known: Mutex::new(Bounded::new(MEMBERS_MAX)),
        }
    }

    /// `user`'s roles in `guild`, as just seen (only snowflakes kept).
    pub fn learn(&self, guild: &str, user: &str, roles: &[String]) {
        let roles = clean(roles);
        lock(&self.known).insert(
            (guild.to_string(), user.to_string()),
            (roles, Instant::now()),
        );
    }

    /// `user`'s roles in `guild` as an event of time `at` carried them:
    /// their TTL runs from `at` (a late or replayed event is already old),
    /// and roles seen later are never replaced by these. A time in the
    /// future counts as now.
    pub fn learn_at(&self, guild: &str, user: &str, roles: &[String], at: SystemTime) {
        let age = SystemTime::now().duration_since(at).unwrap_or_default();
        let Some(seen) = Instant::now().checked_sub(age) else {
            return;
        };
        let key = (guild.to_string(), user.to_string());
        let mut known = lock(&self.known);
        if known.get(&key).is_some_and(|(_, was)| *was >= seen) {
            return;
        }
        known.insert(key, (clean(roles), seen));
    }

    /// The roles known for `user` in `guild` and how old they are.
    fn known(&self, guild: &str, user: &str) -> Option<(Vec<String>, Duration)> {
        let known = lock(&self.known);
        let (roles, at) = known.get(&(guild.to_string(), user.to_string()))?;
        Some((roles.clone(), at.elapsed()))
    }
}

/// The roles that are snowflakes, at most [`ROLES_MAX`].
fn clean(roles: &[String]) -> Vec<String> {
    roles
        .iter()
        .filter(|r| text::snowflake(r))
        .take(ROLES_MAX)
        .cloned()
        .collect()
}

/// Which of `groups` (role ids) `user` has in the guild of `channel`.
pub async fn member_of(d: &Discord, user: &str, channel: &str, groups: &[String]) -> Vec<String> {
    if groups.is_empty() || !text::snowflake(user) {
        return Vec::new();
    }
    let Some(guild) = guild_of(d, channel).await else {
        return Vec::new();
    };
    let roles = roles(d, &guild, user).await;
    groups
        .iter()
        .filter(|g| **g == guild || roles.iter().any(|r| r == *g))
        .cloned()
        .collect()
}

/// The guild of `channel`: learned, or read (GET /channels/{id}).
async fn guild_of(d: &Discord, channel: &str) -> Option<String> {
    if let Some(g) = d.places().guild(channel) {
        return Some(g);
    }
    d.locate(channel).await;
    d.places().guild(channel)
}

/// `user`'s roles in `guild`: fresh ones as known, else asked; when asking
/// fails, what is known for one more TTL; else none.
async fn roles(d: &Discord, guild: &str, user: &str) -> Vec<String> {
    let members = d.members();
    let known = members.known(guild, user);
    if let Some((roles, age)) = &known
        && *age < members.ttl
    {
        return roles.clone();
    }
    match fetch(d, guild, user).await {
        Ok(roles) => {
            members.learn(guild, user, &roles);
            clean(&roles)
        }
        Err(e) => {
            tracing::warn!(error = %e, "discord: could not read a member's roles");
            match known {
                Some((roles, age)) if age < grace(members.ttl) => roles,
                _ => Vec::new(),
            }
        }
    }
}

/// How long roles are used when asking fails: two TTLs (saturating: a
/// TTL near `Duration::MAX` never overflows).
pub(crate) fn grace(ttl: Duration) -> Duration {
    ttl.saturating_mul(2)
}

/// GET /guilds/G/members/U: the member's roles; not a member (404): none.
async fn fetch(d: &Discord, guild: &str, user: &str) -> Result<Vec<String>, CallError> {
    let (Some(g), Some(u)) = (text::id(guild), text::id(user)) else {
        return Err(CallError::not_an_id(guild));
    };
    let route = Route::GuildMember {
        guild_id: GuildId::new(g),
        user_id: UserId::new(u),
    };
    match d.call(route, LightMethod::Get, None).await {
        Ok(member) => Ok(member["roles"]
            .as_array()
            .map(|roles| {
                roles
                    .iter()
                    .filter_map(|r| r.as_str())
                    .take(ROLES_MAX)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()),
        Err(e) if e.status() == Some(404) => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}
