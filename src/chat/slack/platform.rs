//! Slack as a [`Platform`]: the Web API calls ([`Api`]), Block Kit
//! ([`render`]), Slack's markup ([`text`]: `<@U1>`, `<!subteam^S1>`,
//! `:emoji:`, escaping) and its permalinks ([`place`]). Posts go at most once
//! per second per channel (Slack's documented limit for `chat.postMessage`).

use super::api::{Api, CallError, Identity};
use super::{place, render, text};
use crate::chat::{Message, Place, Platform};
use std::sync::Arc;
use std::time::Duration;

/// The bot's Slack workspace, through its Web API client.
#[derive(Debug, Clone)]
pub struct SlackPlatform {
    api: Arc<Api>,
    team_url: String,
}

impl SlackPlatform {
    pub fn new(api: Arc<Api>, me: &Identity) -> SlackPlatform {
        SlackPlatform {
            api,
            team_url: me.team_url.clone(),
        }
    }
}

impl Platform for SlackPlatform {
    type Error = CallError;

    fn name(&self) -> &'static str {
        "slack"
    }

    fn group_kind(&self) -> &'static str {
        "slack-group"
    }

    fn post_gap(&self) -> Duration {
        Duration::from_secs(1)
    }

    async fn post(
        &self,
        channel: &str,
        thread: Option<&str>,
        message: &Message,
    ) -> Result<String, CallError> {
        self.api
            .post(channel, thread, render::content(message))
            .await
    }

    /// A Slack message is named by its channel and `ts`, in a thread or not.
    async fn edit(
        &self,
        channel: &str,
        _thread: Option<&str>,
        id: &str,
        message: &Message,
    ) -> Result<(), CallError> {
        self.api.update(channel, id, render::content(message)).await
    }

    async fn delete(
        &self,
        channel: &str,
        _thread: Option<&str>,
        id: &str,
    ) -> Result<(), CallError> {
        self.api.delete(channel, id).await
    }

    async fn ephemeral(
        &self,
        channel: &str,
        user: &str,
        thread: Option<&str>,
        text: &str,
    ) -> Result<(), CallError> {
        self.api.ephemeral(channel, user, thread, text).await
    }

    async fn group_members(&self, id: &str) -> Vec<String> {
        self.api.group_members(id).await
    }

    fn mention(&self, id: &str) -> String {
        text::mention(id)
    }

    fn mention_group(&self, id: &str) -> String {
        text::group(id)
    }

    fn escape(&self, t: &str) -> String {
        text::escape(t)
    }

    fn code(&self, t: &str) -> String {
        text::code(t)
    }

    fn emoji(&self, name: &str) -> String {
        format!(":{}:", text::escape(name))
    }

    fn permalink(&self, channel: &str, id: &str, thread: Option<&str>) -> String {
        place::permalink(&self.team_url, channel, id, thread)
    }

    fn place_of_link(&self, link: &str) -> Option<Place> {
        place::of_permalink(link)
    }
}
