//! Raw Slack request bodies to typed values, for bodies whose signature held:
//! a slash command is a form (`application/x-www-form-urlencoded`) whose
//! fields are read as a JSON object; an Events API callback is JSON; a button
//! press is a form with one `payload` field holding JSON. Every input, however
//! malformed (invalid UTF-8, control characters, nesting past serde_json's
//! recursion limit of 128, megabytes of text), is an error, never a panic.

use slack_morphism::prelude::{SlackCommandEvent, SlackInteractionEvent, SlackPushEvent};

/// A form body as a JSON object of its fields (the last of a repeated name
/// wins; invalid UTF-8 is replaced, as `form_urlencoded` does).
pub fn form_json(body: &[u8]) -> serde_json::Value {
    let map: serde_json::Map<String, serde_json::Value> = form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), serde_json::Value::String(v.into_owned())))
        .collect();
    serde_json::Value::Object(map)
}

/// A slash command (`POST /slack/commands`).
pub fn command(body: &[u8]) -> Result<SlackCommandEvent, String> {
    serde_json::from_value(form_json(body)).map_err(|e| format!("not a slash command: {e}"))
}

/// An Events API body (`POST /slack/events`).
pub fn event(body: &[u8]) -> Result<SlackPushEvent, String> {
    serde_json::from_slice(body).map_err(|e| format!("not an Events API payload: {e}"))
}

/// A button press or other interaction (`POST /slack/interactive`).
pub fn interaction(body: &[u8]) -> Result<SlackInteractionEvent, String> {
    let payload = form_urlencoded::parse(body)
        .find(|(k, _)| k == "payload")
        .map(|(_, v)| v.into_owned())
        .ok_or("not an interaction payload: no `payload` field")?;
    serde_json::from_str(&payload).map_err(|e| format!("not an interaction payload: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::{Duration, Instant};

    fn encode(s: &str) -> String {
        form_urlencoded::byte_serialize(s.as_bytes()).collect()
    }

    #[test]
    fn slack_shapes_decode() {
        let body = "team_id=T1&channel_id=C1&user_id=U1&command=%2Fhoist&text=deploy+api+v1+to+dev\
                    &response_url=https%3A%2F%2Fhooks.slack.com%2Fx&trigger_id=1.2.3";
        let c = command(body.as_bytes()).expect("a slash command");
        assert_eq!(c.text.as_deref(), Some("deploy api v1 to dev"));
        assert_eq!(c.trigger_id.0, "1.2.3");
        let press = serde_json::json!({"type": "block_actions", "team": {"id": "T1"},
            "user": {"id": "U1"}, "api_app_id": "A1", "trigger_id": "1.2.3",
            "container": {"type": "message", "message_ts": "1.2"}, "actions": []});
        let body = format!("payload={}", encode(&press.to_string()));
        assert!(matches!(
            interaction(body.as_bytes()),
            Ok(SlackInteractionEvent::BlockActions(_))
        ));
        let challenge = r#"{"type": "url_verification", "challenge": "x", "token": "t"}"#;
        assert!(matches!(
            event(challenge.as_bytes()),
            Ok(SlackPushEvent::UrlVerification(_))
        ));
    }

    /// JSON nested `depth` arrays deep inside an object field Slack sends.
    fn nested(depth: usize) -> String {
        format!(
            r#"{{"type":"event_callback","event":{}1{}}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        )
    }

    #[test]
    fn deep_nesting_and_huge_bodies_are_errors_quickly() {
        let start = Instant::now();
        for depth in [127, 128, 129, 10_000, 1_000_000] {
            let body = nested(depth);
            assert!(event(body.as_bytes()).is_err(), "depth {depth}");
            let form = format!("payload={}", encode(&body));
            assert!(interaction(form.as_bytes()).is_err(), "depth {depth}");
        }
        let mib = "<!channel>`\u{0}".repeat(1 << 17);
        let body = format!("text={}&user_id={}", encode(&mib), encode(&mib));
        assert!(command(body.as_bytes()).is_err(), "no trigger_id etc.");
        assert!(event(mib.as_bytes()).is_err());
        assert!(start.elapsed() < Duration::from_secs(20));
    }

    /// Bytes that look a little like what Slack sends, and bytes that do not.
    fn hostile_body() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..512),
            proptest::collection::vec(
                prop_oneof![
                    Just(b"payload=".to_vec()),
                    Just(b"&".to_vec()),
                    Just(b"=".to_vec()),
                    Just(b"%".to_vec()),
                    Just(b"%7B%22type%22%3A%22block_actions%22".to_vec()),
                    Just(b"{\"type\":\"event_callback\",\"event\":".to_vec()),
                    Just(b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[".to_vec()),
                    Just(b"trigger_id=&command=%2Fhoist&text=".to_vec()),
                    Just(vec![0xff, 0xfe, 0x00, 0xc3]),
                    proptest::collection::vec(any::<u8>(), 0..16),
                ],
                0..64
            )
            .prop_map(|v| v.concat()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn no_body_panics_a_decoder(body in hostile_body()) {
            let _ = command(&body);
            let _ = event(&body);
            let _ = interaction(&body);
            let _ = form_json(&body);
        }

        #[test]
        fn any_form_fields_decode_or_fail_cleanly(
            fields in proptest::collection::vec((".{0,12}", ".{0,40}"), 0..12)
        ) {
            let body: String = fields
                .iter()
                .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                .collect::<Vec<_>>()
                .join("&");
            let json = form_json(body.as_bytes());
            let obj = json.as_object().expect("form_json makes an object");
            prop_assert!(obj.len() <= fields.len());
            let _ = command(body.as_bytes());
            let _ = interaction(body.as_bytes());
        }
    }
}
