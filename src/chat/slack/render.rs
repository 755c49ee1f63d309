//! hoist's messages in Slack's shape: the text (Slack's notification and
//! accessibility fallback) plus Block Kit blocks when there is more than
//! words: the live message is a bold header, the report, a context line and,
//! while it waits for votes, Approve / Deny buttons (`hoist_approve` /
//! `hoist_deny`, whose value is the operation's id); an approval request is
//! its words and the buttons. Words alone are plain text.

use crate::chat::Message;
use slack_morphism::prelude::*;

/// The action ids of the vote buttons.
pub const APPROVE: &str = "hoist_approve";
pub const DENY: &str = "hoist_deny";

/// `message` as Slack message content.
pub fn content(message: &Message) -> SlackMessageContent {
    let body = message.body.as_str();
    let Some(header) = &message.header else {
        let Some(id) = message.vote_on else {
            return SlackMessageContent::new().with_text(body.to_string());
        };
        let blocks = vec![section(body), buttons(id)];
        return with_blocks(body.to_string(), blocks);
    };
    let context = message.context.as_deref().unwrap_or("");
    let fallback = format!("{header}\n{body}\n{context}");
    let mut blocks = vec![section(&format!("*{header}*"))];
    if !body.trim().is_empty() {
        blocks.push(section(body));
    }
    if !context.is_empty() {
        blocks.push(
            serde_json::json!({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]}),
        );
    }
    if let Some(id) = message.vote_on {
        blocks.push(buttons(id));
    }
    with_blocks(fallback, blocks)
}

fn section(text: &str) -> serde_json::Value {
    serde_json::json!({"type": "section", "text": {"type": "mrkdwn", "text": text}})
}

fn buttons(id: u64) -> serde_json::Value {
    serde_json::json!({"type": "actions", "block_id": format!("hoist-{id}"), "elements": [
        {"type": "button", "action_id": APPROVE, "value": id.to_string(), "style": "primary",
         "text": {"type": "plain_text", "text": "Approve"}},
        {"type": "button", "action_id": DENY, "value": id.to_string(), "style": "danger",
         "text": {"type": "plain_text", "text": "Deny"}}
    ]})
}

fn with_blocks(text: String, blocks: Vec<serde_json::Value>) -> SlackMessageContent {
    let parsed: Option<Vec<SlackBlock>> = serde_json::from_value(blocks.into()).ok();
    let mut c = SlackMessageContent::new().with_text(text);
    c.blocks = parsed;
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(c: &SlackMessageContent) -> serde_json::Value {
        serde_json::to_value(&c.blocks).expect("blocks serialize")
    }

    #[test]
    fn a_live_message_is_header_report_context_and_buttons() {
        let c = content(&Message {
            header: Some("#1 deploy: waiting".into()),
            body: "needs 2".into(),
            context: Some("requested by <@U1>".into()),
            vote_on: Some(1),
        });
        assert_eq!(
            c.text.as_deref(),
            Some("#1 deploy: waiting\nneeds 2\nrequested by <@U1>")
        );
        let b = blocks(&c);
        assert_eq!(b[0]["text"]["text"], "*#1 deploy: waiting*");
        assert_eq!(b[1]["text"]["text"], "needs 2");
        assert_eq!(b[2]["type"], "context");
        assert_eq!(b[3]["elements"][0]["action_id"], APPROVE);
        assert_eq!(b[3]["elements"][1]["value"], "1");
    }

    #[test]
    fn words_alone_are_plain_text_and_an_approval_request_has_buttons() {
        let plain = content(&Message::text("hello"));
        assert_eq!(plain.text.as_deref(), Some("hello"));
        assert!(plain.blocks.is_none());
        let ask = content(&Message {
            vote_on: Some(7),
            ..Message::text("Approval needed")
        });
        let b = blocks(&ask);
        assert_eq!(b[0]["text"]["text"], "Approval needed");
        assert_eq!(b[1]["elements"][1]["action_id"], DENY);
    }
}
