//! Verification of Beams Tokens on `PUT /devices/{p}/{id}/user`, with Beams' answers.
//!
//! The checks and their order follow what the service is documented (and observed) to do: the
//! `Authorization` header, the HS256 signature with the secret's UTF-8 bytes, the time claims as
//! dgrijalva/jwt-go v3 checks them (zero leeway by default; when several fail, the last of exp, iat,
//! nbf is reported), then the presence of `exp`, `sub`, `iss`, the `sub` length and the issuer.

use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use http::StatusCode;
use serde_json::{Map, Value};
use sha2::Sha256;

/// Why a token was refused: a status and the `description` of the error body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenRejection {
    pub(crate) status: StatusCode,
    pub(crate) description: String,
}

fn reject(status: StatusCode, description: impl Into<String>) -> TokenRejection {
    TokenRejection {
        status,
        description: description.into(),
    }
}

fn malformed() -> TokenRejection {
    reject(
        StatusCode::UNAUTHORIZED,
        "`Authorization` header token is malformed",
    )
}

/// Extract the bearer token of an `Authorization` header value.
pub(crate) fn bearer(header: Option<&http::HeaderValue>) -> Result<&str, TokenRejection> {
    let missing = || {
        reject(
            StatusCode::UNAUTHORIZED,
            "`Authorization` header token is missing",
        )
    };
    let Some(value) = header else {
        return Err(missing());
    };
    let value = value.to_str().map_err(|_| malformed())?.trim();
    if value.is_empty() {
        return Err(missing());
    }
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(malformed());
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(missing());
    }
    Ok(token)
}

fn b64(segment: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .or_else(|_| URL_SAFE.decode(segment))
        .ok()
}

fn json_object(segment: &str) -> Result<Map<String, Value>, TokenRejection> {
    let bytes = b64(segment).ok_or_else(malformed)?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(malformed()),
    }
}

/// A numeric date claim: absent, or a JSON number (integer or float, like jwt-go's MapClaims).
fn numeric(claims: &Map<String, Value>, name: &str) -> Result<Option<i64>, TokenRejection> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                Ok(Some(i))
            } else if let Some(f) = n.as_f64() {
                // Truncation toward zero is what jwt-go's int64(float64) does.
                #[allow(clippy::cast_possible_truncation)]
                Ok(Some(f as i64))
            } else {
                Err(malformed())
            }
        }
        Some(_) => Err(reject(
            StatusCode::UNAUTHORIZED,
            format!("Invalid JWT claims: `{name}` must be a number"),
        )),
    }
}

/// Format a number of seconds like Go's `time.Duration.String()` does for whole seconds.
pub(crate) fn go_duration(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    if h > 0 {
        format!("{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

/// An HS256 token over `claims`, signed with the secret's UTF-8 bytes.
pub(crate) fn sign(claims: &Value, secret: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(header.as_bytes());
    mac.update(b".");
    mac.update(payload.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{header}.{payload}.{signature}")
}

/// A Beams Token for `user_id` as the auth route of a Beams app issues it: `sub`, `iss` and an
/// `exp` 24 hours after `now`.
pub(crate) fn issue(user_id: &str, secret: &str, instance_id: &str, now: i64) -> String {
    let claims = serde_json::json!({
        "sub": user_id,
        "iss": format!("https://{instance_id}.pushnotifications.pusher.com"),
        "exp": now + 24 * 3600,
    });
    sign(&claims, secret)
}

/// Verify `token` for `instance_id` at Unix time `now`; on success return the user id (`sub`).
pub(crate) fn verify(
    token: &str,
    secret: &[u8],
    instance_id: &str,
    now: i64,
    leeway_secs: i64,
) -> Result<String, TokenRejection> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed());
    };
    let header = json_object(h)?;
    let claims = json_object(p)?;
    let signature = b64(s).ok_or_else(malformed)?;

    if header.get("alg").and_then(Value::as_str) != Some("HS256") {
        return Err(reject(
            StatusCode::UNAUTHORIZED,
            "Invalid JWT: unexpected signing method (expected HS256)",
        ));
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| {
        reject(
            StatusCode::UNAUTHORIZED,
            "Invalid JWT: signature is invalid",
        )
    })?;
    mac.update(h.as_bytes());
    mac.update(b".");
    mac.update(p.as_bytes());
    if mac.verify_slice(&signature).is_err() {
        return Err(reject(
            StatusCode::UNAUTHORIZED,
            "Invalid JWT: signature is invalid",
        ));
    }

    // Time claims, as jwt-go v3 StandardClaims.Valid checks them: each only when present (non-zero);
    // the last failing check wins.
    let exp = numeric(&claims, "exp")?.filter(|&v| v != 0);
    let iat = numeric(&claims, "iat")?.filter(|&v| v != 0);
    let nbf = numeric(&claims, "nbf")?.filter(|&v| v != 0);
    let mut time_error = None;
    if let Some(exp) = exp
        && now > exp.saturating_add(leeway_secs)
    {
        let by = u64::try_from(now.saturating_sub(exp)).unwrap_or(0);
        time_error = Some(format!("token is expired by {}", go_duration(by)));
    }
    if let Some(iat) = iat
        && now.saturating_add(leeway_secs) < iat
    {
        time_error = Some("Token used before issued".to_owned());
    }
    if let Some(nbf) = nbf
        && now.saturating_add(leeway_secs) < nbf
    {
        time_error = Some("token is not valid yet".to_owned());
    }
    if let Some(e) = time_error {
        return Err(reject(
            StatusCode::UNAUTHORIZED,
            format!("Invalid JWT claims: {e}"),
        ));
    }

    if exp.is_none() {
        return Err(reject(
            StatusCode::BAD_REQUEST,
            "Missing expiration (exp) field in JWT",
        ));
    }
    let sub = match claims.get("sub") {
        None | Some(Value::Null) => {
            return Err(reject(
                StatusCode::BAD_REQUEST,
                "Missing subject (sub) field in JWT",
            ));
        }
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(malformed()),
    };
    if sub.is_empty() || sub.len() > 164 {
        return Err(reject(
            StatusCode::BAD_REQUEST,
            "JWT subject (sub) must be between 1-164 characters long",
        ));
    }
    let iss = match claims.get("iss") {
        None | Some(Value::Null) => {
            return Err(reject(
                StatusCode::BAD_REQUEST,
                "Missing issuer (iss) field in JWT",
            ));
        }
        Some(Value::String(s)) if s.is_empty() => {
            return Err(reject(
                StatusCode::BAD_REQUEST,
                "Missing issuer (iss) field in JWT",
            ));
        }
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err(malformed()),
    };
    if iss != format!("https://{instance_id}.pushnotifications.pusher.com") {
        return Err(reject(StatusCode::FORBIDDEN, "Invalid JWT issuer"));
    }
    Ok(sub)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The token of the web SDK's end-to-end tests.
    const INSTANCE: &str = "1b880590-6301-4bb5-b34f-45db1c5f5644";
    const SECRET: &str = "F8AC0B756E50DF235F642D6F0DC2CDE0328CD9184B3874C5E91AB2189BB722FE";

    #[test]
    fn accepts_the_reference_vector() {
        let claims = serde_json::json!({
            "exp": 4707992302_i64,
            "iss": format!("https://{INSTANCE}.pushnotifications.pusher.com"),
            "sub": "cucas",
        });
        let token = sign(&claims, SECRET);
        assert!(token.ends_with(".CTtrDXh7vae3rSSKBKf5X0y4RQpFg7YvIlirmBQqJn4"));
        assert_eq!(
            verify(&token, SECRET.as_bytes(), INSTANCE, 1_700_000_000, 0).unwrap(),
            "cucas"
        );
    }

    #[test]
    fn go_durations() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(59), "59s");
        assert_eq!(go_duration(61), "1m1s");
        assert_eq!(go_duration(3600), "1h0m0s");
        assert_eq!(go_duration(90061), "25h1m1s");
    }

    #[test]
    fn last_time_error_wins() {
        let claims = serde_json::json!({"exp": 10, "iat": 2000, "sub": "a",
            "iss": format!("https://{INSTANCE}.pushnotifications.pusher.com")});
        let err = verify(&sign(&claims, SECRET), SECRET.as_bytes(), INSTANCE, 1000, 0).unwrap_err();
        assert_eq!(
            err.description,
            "Invalid JWT claims: Token used before issued"
        );
    }

    #[test]
    fn bearer_parsing() {
        use http::HeaderValue;
        assert_eq!(
            bearer(Some(&HeaderValue::from_static("Bearer abc"))).unwrap(),
            "abc"
        );
        assert!(
            bearer(None)
                .unwrap_err()
                .description
                .ends_with("is missing")
        );
        assert!(
            bearer(Some(&HeaderValue::from_static("Basic abc")))
                .unwrap_err()
                .description
                .ends_with("is malformed")
        );
        assert!(
            bearer(Some(&HeaderValue::from_static("Bearer ")))
                .unwrap_err()
                .description
                .ends_with("is missing")
        );
    }
}
