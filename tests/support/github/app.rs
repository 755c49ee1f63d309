//! The fake's GitHub App endpoint: installation tokens for a JWT whose
//! `iss` is the App and, when the test asks, whose RS256 signature is the
//! App key's.

use super::{APP_ID, INSTALLATION, State, message, reply};
use axum::http::StatusCode;
use base64::Engine as _;
use serde_json::{Value, json};

/// `POST /app/installations/{id}/access_tokens` with the App's JWT.
pub(super) fn installation_token(s: &mut State, id: &str, auth: &str) -> (StatusCode, Value) {
    let jwt = auth.strip_prefix("Bearer ").unwrap_or("");
    let claims = jwt
        .split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .ok()
        })
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .unwrap_or(Value::Null);
    let now = jiff::Timestamp::now().as_second();
    let iss = claims["iss"]
        .as_u64()
        .or_else(|| claims["iss"].as_str()?.parse().ok());
    let fresh = claims["exp"]
        .as_i64()
        .is_some_and(|e| e > now && e <= now + 600);
    let signed = match &s.app_key {
        Some(key) => rs256_signed(key, jwt),
        None => true,
    };
    if iss != Some(APP_ID) || !fresh || !signed {
        return message(
            StatusCode::UNAUTHORIZED,
            "A JSON web token could not be decoded",
        );
    }
    if id != INSTALLATION.to_string() {
        return message(StatusCode::NOT_FOUND, "Not Found");
    }
    let token = format!("ghs_installation_{}", s.issued.len() + 1);
    s.issued.push(token.clone());
    let expires = jiff::Timestamp::from_second(now + s.token_ttl.as_secs() as i64).unwrap();
    reply(
        StatusCode::CREATED,
        json!({
            "token": token, "expires_at": expires.to_string(),
            "permissions": { "pull_requests": "write", "contents": "write" },
            "repository_selection": "selected",
        }),
    )
}

/// Whether `jwt` carries an RS256 signature by `key` over its first two
/// parts.
fn rs256_signed(key: &rsa::RsaPublicKey, jwt: &str) -> bool {
    use rsa::signature::Verifier;
    let Some((signed, signature)) = jwt.rsplit_once('.') else {
        return false;
    };
    let Ok(signature) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(signature) else {
        return false;
    };
    let Ok(signature) = rsa::pkcs1v15::Signature::try_from(signature.as_slice()) else {
        return false;
    };
    rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(key.clone())
        .verify(signed.as_bytes(), &signature)
        .is_ok()
}
