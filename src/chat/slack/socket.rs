//! Socket Mode: with `SLACK_APP_TOKEN` (`xapp-...`) hoist opens Slack's
//! websocket itself (`apps.connections.open`) and receives the same slash
//! commands, events and button presses there, so it can run inside a cluster
//! with no inbound port at all. slack-morphism's listener keeps the
//! connections (reconnects, pings) and acknowledges each envelope; the work
//! is spawned, so an acknowledgement never waits for the engine. Retried
//! events (same `event_id`), and slash commands or button presses pushed
//! again (same `trigger_id`), are handled once, as over HTTP ([`super::replay`]).

use super::Slack;
use super::api::Connector;
use slack_morphism::prelude::*;
use std::sync::Arc;

/// A running Socket Mode listener; dropped or shut down with [`Self::stop`].
pub struct SocketMode {
    listener: SlackClientSocketModeListener<Connector>,
}

impl std::fmt::Debug for SocketMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SocketMode")
    }
}

async fn adapter(state: &SlackClientEventsUserState) -> Option<Arc<Slack>> {
    state.read().await.get_user_state::<Arc<Slack>>().cloned()
}

async fn on_command(
    ev: SlackCommandEvent,
    _client: Arc<SlackClient<Connector>>,
    state: SlackClientEventsUserState,
) -> UserCallbackResult<SlackCommandEventResponse> {
    if let Some(slack) = adapter(&state).await
        && !slack.work.try_run(slack.clone().on_command(ev))
    {
        tracing::warn!("busy: a Socket Mode request was dropped");
    }
    // An empty acknowledgement: what hoist says comes from its own messages.
    Ok(SlackCommandEventResponse::new(SlackMessageContent::new()))
}

async fn on_interaction(
    ev: SlackInteractionEvent,
    _client: Arc<SlackClient<Connector>>,
    state: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    if let Some(slack) = adapter(&state).await
        && !slack.work.try_run(slack.clone().on_interaction(ev))
    {
        tracing::warn!("busy: a Socket Mode request was dropped");
    }
    Ok(())
}

async fn on_push(
    ev: SlackPushEventCallback,
    _client: Arc<SlackClient<Connector>>,
    state: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    if let Some(slack) = adapter(&state).await
        && !slack.work.try_run(slack.clone().on_event(ev))
    {
        tracing::warn!("busy: a Socket Mode request was dropped");
    }
    Ok(())
}

impl SocketMode {
    /// Connect with the app-level token and start receiving.
    pub async fn start(
        slack: Arc<Slack>,
        app_token: &str,
    ) -> Result<SocketMode, super::api::SetupError> {
        let callbacks = SlackSocketModeListenerCallbacks::new()
            .with_command_events(on_command)
            .with_interaction_events(on_interaction)
            .with_push_events(on_push);
        let environment = Arc::new(
            SlackClientEventsListenerEnvironment::new(slack.api.client())
                .with_error_handler(|e, _client, _state| {
                    tracing::warn!(error = %e, "slack socket mode");
                    HttpStatusCode::OK
                })
                .with_user_state(slack.clone()),
        );
        let config = SlackClientSocketModeConfig::new().with_initial_backoff_in_seconds(1);
        let listener = SlackClientSocketModeListener::new(&config, environment, callbacks);
        let token = SlackApiToken::new(app_token.to_string().into());
        listener.listen_for(&token).await.map_err(|e| {
            super::api::SetupError::new("Socket Mode (apps.connections.open)", e.to_string())
        })?;
        listener.start().await;
        Ok(SocketMode { listener })
    }

    /// Close the websockets.
    pub async fn stop(&self) {
        self.listener.shutdown().await;
    }
}
