//! Who hoist is on Discord, and its `/hoist` application command.
//! [`identify`] asks `GET /users/@me` and `GET /oauth2/applications/@me`
//! (the bot's user id, so its own messages and reactions are ignored; the
//! application id, for interaction webhooks and commands). [`register`]
//! overwrites the application's commands with `/hoist` (one required
//! string option, `command`, with autocomplete) globally
//! (`PUT /applications/{app}/commands`) or for one guild
//! (`PUT /applications/{app}/guilds/{guild}/commands`, which shows at once).
//! Both go through the platform's REST client, so `DISCORD_API_URL` applies.

use super::{CallError, Discord, text};
use serde_json::{Value, json};
use serenity::http::{LightMethod, Route};
use serenity::model::id::{ApplicationId, GuildId};

/// The command's name and its option's.
pub const COMMAND: &str = "hoist";
pub const OPTION: &str = "command";

/// The `/hoist` command as Discord takes it (type 1: a slash command; the
/// option's type 3: a string).
pub fn command() -> Value {
    json!({
        "name": COMMAND,
        "type": 1,
        "description": "Ask hoist: deploy, promote, rollback, env, status, approve...",
        "options": [{
            "type": 3,
            "name": OPTION,
            "description": "A hoist command, like `deploy api v1.2.3 to staging`",
            "required": true,
            "autocomplete": true,
        }],
    })
}

/// hoist's user id and application id, as Discord says them; remembered
/// in `d` too.
pub async fn identify(d: &Discord) -> Result<(String, String), CallError> {
    let user = d.call(Route::UserMe, LightMethod::Get, None).await?;
    let app = d
        .call(Route::Oauth2ApplicationCurrent, LightMethod::Get, None)
        .await?;
    let id = |v: &Value| {
        let id = v["id"].as_str().unwrap_or_default();
        text::id(id)
            .map(|_| id.to_string())
            .ok_or_else(|| CallError::not_an_id(id))
    };
    let (user, app) = (id(&user)?, id(&app)?);
    d.set_identity(&user, &app);
    Ok((user, app))
}

/// Where `/hoist` was registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registered {
    pub application: String,
    pub guild: Option<String>,
    /// The command's id, as Discord answered.
    pub id: Option<String>,
}

/// Overwrite the application's commands (globally, or in `guild`) with `/hoist`.
pub async fn register(d: &Discord, guild: Option<&str>) -> Result<Registered, CallError> {
    let (_, application) = identify(d).await?;
    let app = text::id(&application).ok_or_else(|| CallError::not_an_id(&application))?;
    let application_id = ApplicationId::new(app);
    let route = match guild {
        Some(g) => {
            let g = text::id(g).ok_or_else(|| CallError::not_an_id(g))?;
            Route::GuildCommands {
                application_id,
                guild_id: GuildId::new(g),
            }
        }
        None => Route::Commands { application_id },
    };
    let answer = d
        .call(route, LightMethod::Put, Some(&json!([command()])))
        .await?;
    let id = answer[0]["id"]
        .as_str()
        .filter(|i| text::snowflake(i))
        .map(str::to_string);
    Ok(Registered {
        application,
        guild: guild.map(str::to_string),
        id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_has_one_required_autocompleted_string_option() {
        let c = command();
        assert_eq!(
            (c["name"].as_str(), c["type"].as_u64()),
            (Some("hoist"), Some(1))
        );
        let options = c["options"].as_array().unwrap();
        assert_eq!(options.len(), 1);
        let o = &options[0];
        assert_eq!(o["name"], "command");
        assert_eq!(
            (o["type"].as_u64(), o["required"].as_bool()),
            (Some(3), Some(true))
        );
        assert_eq!(o["autocomplete"], true);
        // Discord's limits: descriptions of 1 to 100 characters.
        for d in [&c["description"], &o["description"]] {
            assert!((1..=100).contains(&d.as_str().unwrap().chars().count()));
        }
    }
}
