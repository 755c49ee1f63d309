//! How hoist authenticates to GitHub: a token as given (`GITHUB_TOKEN`),
//! or a GitHub App. An App signs a short JWT (RS256, issued 60 s in the
//! past, expiring in 9 minutes) with its private key to ask
//! `POST /app/installations/{id}/access_tokens` for an installation token;
//! that token is kept and asked for again 5 minutes before its
//! `expires_at`. The same token is what git uses over HTTPS (see
//! [`crate::gitops::credentials::TokenSource`]).

use super::api::Api;
use crate::engine::ports::ForgeError;
use octocrab::jsonwebtoken::EncodingKey;
use std::time::{Duration, SystemTime};

/// How hoist proves who it is.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// A personal, fine-grained or Actions token.
    Token(String),
    /// A GitHub App installed on the repository's owner.
    App {
        app_id: u64,
        private_key_pem: String,
        installation_id: u64,
    },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Token(_) => f.write_str("Token(..)"),
            Auth::App {
                app_id,
                installation_id,
                ..
            } => write!(
                f,
                "App {{ app_id: {app_id}, installation_id: {installation_id} }}"
            ),
        }
    }
}

/// Refresh an installation token this long before it expires.
pub const REFRESH_BEFORE: Duration = Duration::from_secs(5 * 60);

/// An installation token and when it expires.
#[derive(Clone)]
pub struct Installation {
    token: String,
    expires: SystemTime,
}

/// The credential in use.
pub enum Auther {
    Token(String),
    App {
        app_id: u64,
        key: EncodingKey,
        installation_id: u64,
        current: tokio::sync::Mutex<Option<Installation>>,
    },
}

impl Auther {
    pub fn new(auth: &Auth) -> Result<Auther, ForgeError> {
        Ok(match auth {
            Auth::Token(token) => Auther::Token(token.clone()),
            Auth::App {
                app_id,
                private_key_pem,
                installation_id,
            } => Auther::App {
                app_id: *app_id,
                key: EncodingKey::from_rsa_pem(private_key_pem.as_bytes()).map_err(|_| {
                    ForgeError::Refused("the GitHub App private key is not an RSA PEM key".into())
                })?,
                installation_id: *installation_id,
                current: tokio::sync::Mutex::new(None),
            },
        })
    }

    /// The token to use now (an App's refreshed when due).
    pub async fn token(&self, api: &Api) -> Result<String, ForgeError> {
        let (app_id, key, installation_id, current) = match self {
            Auther::Token(token) => return Ok(token.clone()),
            Auther::App {
                app_id,
                key,
                installation_id,
                current,
            } => (*app_id, key, *installation_id, current),
        };
        let mut current = current.lock().await;
        if let Some(i) = current.as_ref()
            && i.expires > SystemTime::now() + REFRESH_BEFORE
        {
            return Ok(i.token.clone());
        }
        let doing = "asking GitHub for the App's installation token";
        let jwt = octocrab::auth::create_jwt(octocrab::models::AppId(app_id), key)
            .map_err(|e| ForgeError::api(doing, e))?;
        let path = format!("/app/installations/{installation_id}/access_tokens");
        let reply = api
            .send::<()>(
                http::Method::POST,
                &path,
                None,
                &format!("Bearer {jwt}"),
                doing,
            )
            .await?
            .ok(doing)?;
        #[derive(serde::Deserialize)]
        struct Issued {
            token: String,
            expires_at: String,
        }
        let issued: Issued = reply.json(doing)?;
        let expires = issued
            .expires_at
            .parse::<jiff::Timestamp>()
            .map_err(|e| ForgeError::api(doing, e))?;
        let expires = SystemTime::from(expires);
        if issued.token.is_empty() || !issued.token.chars().all(|c| c.is_ascii_graphic()) {
            return Err(ForgeError::api(doing, "GitHub gave an unusable token"));
        }
        *current = Some(Installation {
            token: issued.token.clone(),
            expires,
        });
        Ok(issued.token)
    }

    /// GitHub refused the token (401): an App asks for a new one next time.
    pub async fn forget(&self) {
        if let Auther::App { current, .. } = self {
            *current.lock().await = None;
        }
    }

    /// The `Authorization` header's value.
    pub async fn header(&self, api: &Api) -> Result<String, ForgeError> {
        Ok(format!("Bearer {}", self.token(api).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_never_printed() {
        let token = Auth::Token("ghp_sekrit".into());
        let app = Auth::App {
            app_id: 1,
            private_key_pem: "-----BEGIN RSA PRIVATE KEY-----sekrit".into(),
            installation_id: 2,
        };
        for auth in [token, app] {
            assert!(!format!("{auth:?}").contains("sekrit"), "{auth:?}");
        }
        assert!(matches!(
            Auther::new(&Auth::App {
                app_id: 1,
                private_key_pem: "not a key".into(),
                installation_id: 2
            }),
            Err(ForgeError::Refused(_))
        ));
    }
}
