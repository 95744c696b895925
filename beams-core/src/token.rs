//! Beams Tokens: HS256 JWTs with exactly `sub`, `iss` and `exp`.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::{ConfigError, Instance, UserId};

/// `base64url({"alg":"HS256","typ":"JWT"})`, the header every Beams Token carries (in the
/// order the official SDKs write it, which the signature covers).
const HEADER_B64: &[u8] = b"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

/// Why a token could not be issued.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The system clock is before 1970 or the expiry does not fit.
    #[error("the system clock is unusable for token expiry")]
    Clock,
}

/// A signed Beams Token. `Debug` hides the token itself.
///
/// Serializes as the auth route's body: `{"token":"<jwt>"}`.
///
/// It has no `==`: a derived one would compare a bearer credential in variable time.
#[derive(Clone, serde::Serialize)]
pub struct BeamsToken {
    token: String,
    #[serde(skip)]
    expires_at: u64,
}

impl BeamsToken {
    /// The JWT.
    pub fn as_str(&self) -> &str {
        &self.token
    }

    /// The JWT, owned.
    pub fn into_string(self) -> String {
        self.token
    }

    /// The `exp` claim: seconds since the Unix epoch.
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }
}

impl fmt::Debug for BeamsToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BeamsToken")
            .field("token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// The claims, in the order the Go SDK writes them: `{"exp":…,"iss":…,"sub":…}`.
#[derive(serde::Serialize)]
struct Claims<'a> {
    exp: u64,
    iss: &'a str,
    sub: &'a str,
}

/// Issues Beams Tokens for one instance. Build it once; issuing is cheap.
///
/// Tokens are HS256 JWTs keyed with the secret key's UTF-8 bytes, with exactly the claims
/// `exp`, `iss` (`https://{instance id}.pushnotifications.pusher.com`) and `sub` — no `iat`,
/// so a clock running slightly ahead of Beams' cannot make them "used before issued".
///
/// The signature is HMAC-SHA256 from RustCrypto's `hmac` and `sha2`, keyed once here; the
/// claims are written by `serde_json` and encoded by the `base64` crate. HS256 is the only
/// algorithm Beams uses, so no JWT library (and none of its RSA, ECDSA or EdDSA code) is
/// linked, and nothing is installed process-wide that could clash with a host's own JWT
/// library.
///
/// ```
/// use beams_core::{BeamsAuth, Instance, TokenIssuer, UserId};
/// use std::time::Duration;
///
/// let instance = Instance::new("1b880590-6301-4bb5-b34f-45db1c5f5644", "secret")?;
/// let issuer = TokenIssuer::new(&instance);
/// assert_eq!(issuer.ttl(), TokenIssuer::MAX_TTL);
/// let token = issuer.issue(&UserId::new("alice")?)?;
/// assert_eq!(token.as_str().split('.').count(), 3);
///
/// // A shorter lifetime is a setting of the route: `BeamsAuth::builder(..).token_ttl(..)`.
/// let hourly = BeamsAuth::builder(&instance).token_ttl(Duration::from_secs(3600)).build()?;
/// assert_eq!(hourly.issuer().ttl(), Duration::from_secs(3600));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct TokenIssuer {
    /// The `iss` claim.
    issuer: Box<str>,
    /// HMAC-SHA256 keyed with the secret key; each token clones the keyed state.
    key: Hmac<Sha256>,
    ttl: Duration,
}

impl fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("issuer", &self.issuer)
            .field("key", &"<redacted>")
            .field("ttl", &self.ttl)
            .finish()
    }
}

impl TokenIssuer {
    /// The longest lifetime Beams accepts for a Beams Token, and the default: 24 hours.
    pub const MAX_TTL: Duration = Duration::from_secs(24 * 60 * 60);

    /// An issuer for `instance` whose tokens live [`MAX_TTL`](Self::MAX_TTL). For a shorter
    /// lifetime, set the route's [`token_ttl`](crate::BeamsAuthBuilder::token_ttl) and use
    /// its [`issuer`](crate::BeamsAuth::issuer).
    pub fn new(instance: &Instance) -> Self {
        Self {
            issuer: instance.issuer().into_boxed_str(),
            // HMAC takes keys of any length.
            key: Hmac::new_from_slice(instance.secret_key().expose_secret().as_bytes())
                .expect("HMAC accepts any key length"),
            ttl: Self::MAX_TTL,
        }
    }

    /// This issuer with another TTL, if it is within bounds.
    pub(crate) fn checked_ttl(mut self, ttl: Duration) -> Result<Self, ConfigError> {
        if ttl.as_secs() == 0 || ttl > Self::MAX_TTL {
            return Err(ConfigError::InvalidTokenTtl(ttl));
        }
        self.ttl = ttl;
        Ok(self)
    }

    /// The lifetime of the tokens this issuer signs.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Issues a token for `user` that expires after the issuer's TTL.
    pub fn issue(&self, user: &UserId) -> Result<BeamsToken, TokenError> {
        self.issue_at(user, SystemTime::now())
    }

    /// Issues a token as if the time were `now` (for tests and reproducible vectors).
    pub fn issue_at(&self, user: &UserId, now: SystemTime) -> Result<BeamsToken, TokenError> {
        let exp = self.expiry_at(now)?;
        let mut token = Vec::with_capacity(self.token_len_hint(user));
        self.write_token(user, exp, &mut token);
        Ok(BeamsToken {
            token: String::from_utf8(token).expect("a token is ASCII"),
            expires_at: exp,
        })
    }

    /// The `exp` of a token issued at `now`.
    pub(crate) fn expiry_at(&self, now: SystemTime) -> Result<u64, TokenError> {
        let now = now
            .duration_since(UNIX_EPOCH)
            .map_err(|_| TokenError::Clock)?;
        now.as_secs()
            .checked_add(self.ttl.as_secs())
            .ok_or(TokenError::Clock)
    }

    /// An upper bound of the length of `user`'s token when its id needs no JSON escaping.
    pub(crate) fn token_len_hint(&self, user: &UserId) -> usize {
        // {"exp":<up to 20 digits>,"iss":"<issuer>","sub":"<user>"}
        let claims = 7 + 20 + 8 + self.issuer.len() + 9 + user.len() + 2;
        HEADER_B64.len() + 1 + claims.div_ceil(3) * 4 + 1 + 43
    }

    /// Appends the token — header, claims and signature — to `out`; the signing input is the
    /// appended bytes themselves.
    pub(crate) fn write_token(&self, user: &UserId, exp: u64, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(HEADER_B64);
        out.push(b'.');
        let claims = serde_json::to_vec(&Claims {
            exp,
            iss: &self.issuer,
            sub: user.as_str(),
        })
        .expect("integers and strings serialize");
        append_base64url(&claims, out);
        let mut mac = self.key.clone();
        mac.update(&out[start..]);
        let signature = mac.finalize().into_bytes();
        out.push(b'.');
        append_base64url(&signature, out);
    }
}

/// Appends the unpadded base64url of `input` to `out`.
fn append_base64url(input: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    let len = base64::encoded_len(input.len(), false).expect("a token is far from usize::MAX");
    out.resize(start + len, 0);
    URL_SAFE_NO_PAD
        .encode_slice(input, &mut out[start..])
        .expect("the slice has exactly the encoded length");
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    const INSTANCE: &str = "1b880590-6301-4bb5-b34f-45db1c5f5644";
    const SECRET: &str = "F8AC0B756E50DF235F642D6F0DC2CDE0328CD9184B3874C5E91AB2189BB722FE";

    fn instance() -> Instance {
        Instance::new(INSTANCE, SECRET).unwrap()
    }

    fn at(exp: u64, ttl: Duration) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(exp) - ttl
    }

    #[test]
    fn reproduces_the_web_sdk_vector_byte_for_byte() {
        let issuer = TokenIssuer::new(&instance());
        let token = issuer
            .issue_at(
                &UserId::new("cucas").unwrap(),
                at(4_707_992_302, issuer.ttl()),
            )
            .unwrap();
        let parts: Vec<&str> = token.as_str().split('.').collect();
        assert_eq!(parts[0].as_bytes(), HEADER_B64);
        assert_eq!(
            URL_SAFE_NO_PAD.decode(parts[0]).unwrap(),
            br#"{"alg":"HS256","typ":"JWT"}"#
        );
        assert_eq!(
            String::from_utf8(URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap(),
            r#"{"exp":4707992302,"iss":"https://1b880590-6301-4bb5-b34f-45db1c5f5644.pushnotifications.pusher.com","sub":"cucas"}"#
        );
        assert_eq!(parts[2], "CTtrDXh7vae3rSSKBKf5X0y4RQpFg7YvIlirmBQqJn4");
        assert_eq!(token.expires_at(), 4_707_992_302);
    }

    #[test]
    fn claims_are_escaped_like_serde_json_and_exactly_three() {
        let user = UserId::new("ünïcødé \"quoted\" \\ \n\u{1} 😀").unwrap();
        let now = SystemTime::now();
        let token = TokenIssuer::new(&instance()).issue_at(&user, now).unwrap();
        let raw = URL_SAFE_NO_PAD
            .decode(token.as_str().split('.').nth(1).unwrap())
            .unwrap();
        let value: serde_json::Value = serde_json::from_slice(&raw).unwrap();
        assert_eq!(value.as_object().unwrap().len(), 3);
        assert_eq!(value["sub"], user.as_str());
        let expected = now.duration_since(UNIX_EPOCH).unwrap().as_secs() + 86_400;
        assert_eq!(value["exp"], expected);
        assert_eq!(token.expires_at(), expected);
        assert!(value.get("iat").is_none());
    }

    #[test]
    fn two_issuers_use_their_own_keys() {
        let other = TokenIssuer::new(&Instance::new(INSTANCE, "other-secret").unwrap());
        let mine = TokenIssuer::new(&instance());
        let user = UserId::new("cucas").unwrap();
        let when = at(4_707_992_302, TokenIssuer::MAX_TTL);
        for _ in 0..3 {
            let a = mine.issue_at(&user, when).unwrap();
            let b = other.issue_at(&user, when).unwrap();
            assert!(
                a.as_str()
                    .ends_with(".CTtrDXh7vae3rSSKBKf5X0y4RQpFg7YvIlirmBQqJn4")
            );
            assert_ne!(a.as_str().rsplit('.').next(), b.as_str().rsplit('.').next());
        }
    }

    #[test]
    fn ttl_is_applied_and_bounded() {
        let with_ttl = |ttl| TokenIssuer::new(&instance()).checked_ttl(ttl);
        let issuer = with_ttl(Duration::from_secs(60)).unwrap();
        let t = issuer
            .issue_at(
                &UserId::new("a").unwrap(),
                UNIX_EPOCH + Duration::from_secs(1000),
            )
            .unwrap();
        assert_eq!(t.expires_at(), 1060);
        assert!(
            issuer
                .issue_at(
                    &UserId::new("a").unwrap(),
                    UNIX_EPOCH - Duration::from_secs(1)
                )
                .is_err()
        );
        for bad in [
            Duration::ZERO,
            Duration::from_millis(999),
            TokenIssuer::MAX_TTL + Duration::from_secs(1),
        ] {
            assert_eq!(
                with_ttl(bad).unwrap_err(),
                ConfigError::InvalidTokenTtl(bad)
            );
        }
        assert!(with_ttl(TokenIssuer::MAX_TTL).is_ok());
    }

    #[test]
    fn token_len_hint_is_an_upper_bound_for_plain_ids() {
        let i = TokenIssuer::new(&instance());
        for user in [
            "a",
            "ab",
            "abc",
            "cucas",
            "user-42@example.com",
            &"x".repeat(164),
        ] {
            let user = UserId::new(user).unwrap();
            let token = i.issue(&user).unwrap();
            // 10 digits instead of the 20 reserved: at most 16 bytes to spare.
            let hint = i.token_len_hint(&user);
            assert!(
                hint >= token.as_str().len() && hint - token.as_str().len() <= 16,
                "{hint} vs {}",
                token.as_str().len()
            );
        }
    }

    #[test]
    fn debug_hides_token_and_key() {
        let i = TokenIssuer::new(&instance());
        let t = i.issue(&UserId::new("a").unwrap()).unwrap();
        assert!(!format!("{t:?}").contains(t.as_str()));
        assert!(!format!("{i:?}").contains(SECRET));
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            format!("{{\"token\":\"{}\"}}", t.as_str())
        );
    }
}
