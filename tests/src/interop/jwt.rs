//! Beams Tokens: local decoding and structural checks, and verification by the pinned JWT
//! libraries of other ecosystems (PyJWT, Node's `jsonwebtoken`).

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::peers;

/// The token TTL the example apps use (the default, 24 h).
pub const TTL_SECS: u64 = 24 * 60 * 60;

/// `base64url({"alg":"HS256","typ":"JWT"})`, the header every Beams Token must carry.
pub const HEADER_B64: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// The JSON of segment `index` (0 header, 1 claims) of `token`.
pub fn segment(token: &str, index: usize) -> Value {
    let part = token
        .split('.')
        .nth(index)
        .unwrap_or_else(|| panic!("{token:?} has no segment {index}"));
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .unwrap_or_else(|e| panic!("segment {index} of {token:?} is not base64url: {e}"));
    serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("segment {index} of {token:?} is not JSON: {e}"))
}

/// The sorted claim names of `claims`.
pub fn claim_names(claims: &Value) -> Vec<String> {
    let mut names: Vec<String> = claims
        .as_object()
        .expect("claims are an object")
        .keys()
        .cloned()
        .collect();
    names.sort();
    names
}

/// Local checks of a token we issued for `sub` just now: the exact header, exactly
/// `exp`/`iss`/`sub` (no `iat`), the issuer, the subject and `exp` = now + 24 h (± 2 min).
pub fn assert_beams_token(token: &str, sub: &str, issuer: &str) {
    assert_eq!(token.split('.').count(), 3, "not a JWS: {token}");
    assert_eq!(token.split('.').next(), Some(HEADER_B64), "header bytes");
    let claims = segment(token, 1);
    assert_eq!(
        claim_names(&claims),
        ["exp", "iss", "sub"],
        "claims: {claims}"
    );
    assert_eq!(claims["iss"], issuer);
    assert_eq!(claims["sub"], sub);
    let exp = claims["exp"]
        .as_u64()
        .unwrap_or_else(|| panic!("exp is not an integer: {claims}"));
    let expected = now() + TTL_SECS;
    assert!(
        exp + 120 >= expected && exp <= expected + 5,
        "exp {exp} is not now + 24 h ({expected}): {claims}"
    );
}

/// One token to verify and the subject it must carry.
#[derive(Debug, Clone)]
pub struct Expected {
    /// The JWT.
    pub token: String,
    /// The required `sub`.
    pub sub: String,
}

impl Expected {
    /// `token` must verify with subject `sub`.
    pub fn new(token: impl Into<String>, sub: impl Into<String>) -> Self {
        Self {
            token: token.into(),
            sub: sub.into(),
        }
    }
}

fn input(secret: &str, issuer: &str, tokens: &[Expected]) -> Value {
    json!({
        "secret": secret,
        "issuer": issuer,
        "tokens": tokens.iter().map(|t| json!({"token": t.token, "sub": t.sub})).collect::<Vec<_>>(),
    })
}

fn results(out: Value, n: usize, who: &str) -> Vec<Value> {
    let list = out
        .as_array()
        .unwrap_or_else(|| panic!("{who} printed no array: {out}"))
        .clone();
    assert_eq!(list.len(), n, "{who}: one result per token");
    list
}

/// Verifies each token with Node's `jsonwebtoken` (`jwt.verify`: HS256 only, issuer,
/// subject, expiry; `exp`, `iss`, `sub` required). One `{"ok":…}` result per token, with the
/// decoded `header` and `payload` or the library's `error`.
pub async fn verify_with_node(secret: &str, issuer: &str, tokens: &[Expected]) -> Vec<Value> {
    let out = peers::node("interop-verify-tokens.mjs")
        .stdin_json(&input(secret, issuer, tokens))
        .run_json_async()
        .await;
    results(out, tokens.len(), "jsonwebtoken")
}

/// Verifies each token with PyJWT (`jwt.decode`: HS256 only, issuer, subject, expiry,
/// `options={"require": ["exp", "iss", "sub"]}`). Results as for [`verify_with_node`].
pub async fn verify_with_pyjwt(secret: &str, issuer: &str, tokens: &[Expected]) -> Vec<Value> {
    let out = peers::python("interop_verify_tokens.py")
        .stdin_json(&input(secret, issuer, tokens))
        .run_json_async()
        .await;
    results(out, tokens.len(), "PyJWT")
}

/// Every token verifies with both libraries, and both decode the same header and claims,
/// which are exactly ours.
pub async fn assert_verified_everywhere(secret: &str, issuer: &str, tokens: &[Expected]) {
    assert!(!tokens.is_empty(), "nothing to verify");
    let node = verify_with_node(secret, issuer, tokens).await;
    let python = verify_with_pyjwt(secret, issuer, tokens).await;
    for ((expected, node), python) in tokens.iter().zip(&node).zip(&python) {
        for (who, result) in [("jsonwebtoken", node), ("PyJWT", python)] {
            assert_eq!(
                result["ok"], true,
                "{who} rejected our token for {:?}: {result}",
                expected.sub
            );
            assert_eq!(
                result["header"],
                json!({"alg": "HS256", "typ": "JWT"}),
                "{who}: header"
            );
            assert_eq!(
                result["payload"],
                segment(&expected.token, 1),
                "{who}: claims"
            );
            assert_eq!(
                result["payload"]["sub"],
                expected.sub.as_str(),
                "{who}: sub"
            );
        }
    }
}
