//! Which Slack requests are the same request. A signature only proves that
//! Slack sent a body within the last five minutes, so the same signed body
//! POSTed again (or the same Socket Mode payload pushed again) must not act
//! again. Each request kind has an id Slack gives once: events their
//! `event_id`, slash commands and button presses their `trigger_id` (and a
//! button its `action_ts`). These are the journal's dedupe keys, so a request
//! is acted on once even across restarts. A request that carries no id is
//! keyed by a hash of its whole decoded payload, which a replay of the same
//! signed body reproduces exactly.

use slack_morphism::prelude::*;

/// `sha256:<hex>` of `value` as JSON (serde_json writes a value's fields in
/// a fixed order, so the same payload always hashes the same).
fn digest<T: serde::Serialize>(value: &T) -> String {
    use sha2::Digest;
    // Serializing a slack-morphism type that was just deserialized cannot
    // fail (no maps with non-string keys); an empty body still hashes.
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    let hash = sha2::Sha256::digest(&bytes);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// The dedupe key of an Events API callback.
pub fn event_key(ev: &SlackPushEventCallback) -> String {
    format!("slack:event:{}", ev.event_id.0)
}

/// The dedupe key of a slash command: its `trigger_id`, else its payload.
pub fn command_key(ev: &SlackCommandEvent) -> String {
    let trigger = ev.trigger_id.0.trim();
    if trigger.is_empty() {
        format!("slack:command:{}", digest(ev))
    } else {
        format!("slack:command:{trigger}")
    }
}

/// The dedupe key of a button press: its `trigger_id` and `action_ts`s, else
/// its payload.
pub fn actions_key(ev: &SlackInteractionBlockActionsEvent) -> String {
    let trigger = ev.trigger_id.0.trim();
    let stamps: Vec<&str> = ev
        .actions
        .iter()
        .flatten()
        .filter_map(|a| a.action_ts.as_ref().map(|t| t.0.as_str()))
        .collect();
    if trigger.is_empty() && stamps.is_empty() {
        format!("slack:interaction:{}", digest(ev))
    } else {
        format!("slack:interaction:{trigger}:{}", stamps.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(trigger: &str, text: &str) -> SlackCommandEvent {
        serde_json::from_value(serde_json::json!({
            "team_id": "T1", "channel_id": "C1", "user_id": "U1", "command": "/hoist",
            "text": text, "response_url": "https://hooks.slack.com/commands/T1/1/x",
            "trigger_id": trigger}))
        .expect("a well-formed slash command")
    }

    #[test]
    fn a_command_is_known_by_its_trigger_id() {
        assert_eq!(
            command_key(&command("13345224609.738", "deploy api v1 to dev")),
            "slack:command:13345224609.738"
        );
    }

    #[test]
    fn without_a_trigger_id_the_payload_is_the_key() {
        let a = command_key(&command("", "deploy api v1 to dev"));
        assert_eq!(a, command_key(&command("", "deploy api v1 to dev")));
        assert_ne!(a, command_key(&command(" ", "deploy api v2 to dev")));
        assert!(a.starts_with("slack:command:sha256:"), "{a}");
    }

    fn press(trigger: &str, action_ts: Option<&str>) -> SlackInteractionBlockActionsEvent {
        let mut action = serde_json::json!({"type": "button", "action_id": "hoist_approve",
            "value": "1"});
        if let Some(ts) = action_ts {
            action["action_ts"] = ts.into();
        }
        serde_json::from_value(serde_json::json!({
            "team": {"id": "T1"}, "user": {"id": "U1"}, "api_app_id": "A1",
            "container": {"type": "message", "message_ts": "1.2"}, "trigger_id": trigger,
            "actions": [action]}))
        .expect("a well-formed block_actions payload")
    }

    #[test]
    fn a_button_press_is_known_by_its_trigger_id_and_action_ts() {
        assert_eq!(
            actions_key(&press("1.2.3", Some("1795600999.000100"))),
            "slack:interaction:1.2.3:1795600999.000100"
        );
        assert_ne!(
            actions_key(&press("", None)),
            actions_key(&press("", Some("1.0")))
        );
        assert!(actions_key(&press("", None)).contains("sha256:"));
    }
}
