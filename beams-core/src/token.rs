//! Beams Tokens: HS256 JWTs with exactly `sub`, `iss` and `exp`.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64_url::encode_into;
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

use jsonwebtoken::crypto::{CryptoProvider, JwtSigner};
use jsonwebtoken::{Algorithm, EncodingKey};

use crate::{BeamsConfig, UserId};

#[cfg(not(any(feature = "rust-crypto", feature = "aws-lc-rs")))]
compile_error!("beams-core needs a crypto backend: enable the `rust-crypto` or `aws-lc-rs` feature");

/// The crypto backend chosen by our features; `rust-crypto` wins when both are on.
#[cfg(feature = "rust-crypto")]
static PROVIDER: &CryptoProvider = &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
#[cfg(all(feature = "aws-lc-rs", not(feature = "rust-crypto")))]
static PROVIDER: &CryptoProvider = &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER;

/// Installs our backend as jsonwebtoken's process default unless one is set already (then
/// that one stays: we sign through `PROVIDER` directly, so either way nothing panics).
pub(crate) fn ensure_default_provider() {
    let _ = PROVIDER.install_default();
}

/// `base64url({"alg":"HS256","typ":"JWT"})`, the header every Beams Token carries.
const HEADER_B64: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

/// Why a token could not be issued.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The crypto backend failed to sign (it does not for HS256 with a non-empty key).
    #[error("signing the Beams Token failed: {0}")]
    Signing(#[from] jsonwebtoken::errors::Error),
    /// The system clock is before 1970 or the expiry does not fit.
    #[error("the system clock is unusable for token expiry")]
    Clock,
}

/// A signed Beams Token. `Debug` hides the token itself.
///
/// Serializes as the auth route's body: `{"token":"<jwt>"}`.
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
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

/// Issues Beams Tokens for one instance. Build it once; issuing is cheap.
///
/// The key, header and the JSON of the issuer are prepared when the issuer is built.
/// The crypto backend is chosen by this crate's features (`rust-crypto` by default,
/// `aws-lc-rs` optional) and used directly, so jsonwebtoken's process-wide provider
/// selection can never panic at the first signature; it is also installed as the
/// process default when none is set yet.
///
/// ```
/// use beams_core::{BeamsConfig, TokenIssuer, UserId};
///
/// let config = BeamsConfig::new("1b880590-6301-4bb5-b34f-45db1c5f5644", "secret")?;
/// let issuer = TokenIssuer::new(&config);
/// let token = issuer.issue(&UserId::new("alice")?)?;
/// assert_eq!(token.as_str().split('.').count(), 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct TokenIssuer {
    /// Identifies this issuer's key in the per-thread signer cache (clones share it).
    id: u64,
    key: EncodingKey,
    /// `,"iss":"https://…","sub":` — the claims between `exp` and the subject.
    iss_part: Box<str>,
    ttl: Duration,
}

impl fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("key", &"<redacted>")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl TokenIssuer {
    /// Prepares an issuer for `config`'s instance, secret and TTL.
    pub fn new(config: &BeamsConfig) -> Self {
        ensure_default_provider();
        let issuer = serde_json::to_string(&config.issuer()).expect("a string serializes");
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            key: EncodingKey::from_secret(config.secret_key().expose_secret().as_bytes()),
            iss_part: format!(",\"iss\":{issuer},\"sub\":").into_boxed_str(),
            ttl: config.token_ttl(),
        }
    }

    /// The lifetime of the tokens this issuer signs.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Issues a token for `user` that expires after the configured TTL.
    pub fn issue(&self, user: &UserId) -> Result<BeamsToken, TokenError> {
        self.issue_at(user, SystemTime::now())
    }

    /// Issues a token as if the time were `now` (for tests and reproducible vectors).
    pub fn issue_at(&self, user: &UserId, now: SystemTime) -> Result<BeamsToken, TokenError> {
        let now = now.duration_since(UNIX_EPOCH).map_err(|_| TokenError::Clock)?;
        let exp = now
            .as_secs()
            .checked_add(self.ttl.as_secs())
            .ok_or(TokenError::Clock)?;
        self.sign_with_exp(user, exp)
    }

    /// Signs the claims `{"exp":exp,"iss":…,"sub":user}` in that order (the Go SDK's order).
    pub(crate) fn sign_with_exp(&self, user: &UserId, exp: u64) -> Result<BeamsToken, TokenError> {
        let mut claims = String::with_capacity(32 + self.iss_part.len() + user.len() * 2);
        claims.push_str("{\"exp\":");
        claims.push_str(itoa_u64(exp, &mut [0u8; 20]));
        claims.push_str(&self.iss_part);
        json_string_into(user.as_str(), &mut claims);
        claims.push('}');

        let mut token = String::with_capacity(HEADER_B64.len() + claims.len() * 4 / 3 + 48);
        token.push_str(HEADER_B64);
        token.push('.');
        encode_into(claims.as_bytes(), &mut token);
        let signature = self.sign(token.as_bytes())?;
        token.push('.');
        encode_into(&signature, &mut token);
        Ok(BeamsToken {
            token,
            expires_at: exp,
        })
    }
}

impl TokenIssuer {
    /// HMAC-SHA256 through the crypto backend. The backend's signer holds the keyed HMAC
    /// state; it is not `Send`, so each thread keeps the last one it built (keyed by issuer
    /// id) instead of re-deriving the key for every token.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, TokenError> {
        thread_local! {
            static SIGNER: RefCell<Option<(u64, Box<dyn JwtSigner>)>> = const { RefCell::new(None) };
        }
        SIGNER.with(|cell| {
            let mut slot = cell.borrow_mut();
            let signer = match &mut *slot {
                Some((id, signer)) if *id == self.id => signer,
                slot => {
                    let signer = (PROVIDER.signer_factory)(&Algorithm::HS256, &self.key)?;
                    &mut slot.insert((self.id, signer)).1
                }
            };
            signer.try_sign(message).map_err(|e| {
                TokenError::Signing(jsonwebtoken::errors::ErrorKind::Signing(e.to_string()).into())
            })
        })
    }
}

fn itoa_u64(mut n: u64, buf: &mut [u8; 20]) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[i..]).expect("digits are ASCII")
}

/// Appends `s` as a JSON string literal (RFC 8259 escaping, as serde_json does).
fn json_string_into(s: &str, out: &mut String) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 0xf) as usize] as char);
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

mod base64_url {
    //! Unpadded base64url, appended to a `String` without intermediate allocations.
    const ALPHABET: &[u8; 64] =
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    pub(super) fn encode_into(input: &[u8], out: &mut String) {
        let mut chunks = input.chunks_exact(3);
        for c in &mut chunks {
            let n = (u32::from(c[0]) << 16) | (u32::from(c[1]) << 8) | u32::from(c[2]);
            for shift in [18, 12, 6, 0] {
                out.push(ALPHABET[((n >> shift) & 63) as usize] as char);
            }
        }
        match *chunks.remainder() {
            [a] => {
                let n = u32::from(a) << 16;
                out.push(ALPHABET[((n >> 18) & 63) as usize] as char);
                out.push(ALPHABET[((n >> 12) & 63) as usize] as char);
            }
            [a, b] => {
                let n = (u32::from(a) << 16) | (u32::from(b) << 8);
                for shift in [18, 12, 6] {
                    out.push(ALPHABET[((n >> shift) & 63) as usize] as char);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::{DecodingKey, Validation, decode};

    const INSTANCE: &str = "1b880590-6301-4bb5-b34f-45db1c5f5644";
    const SECRET: &str = "F8AC0B756E50DF235F642D6F0DC2CDE0328CD9184B3874C5E91AB2189BB722FE";

    fn issuer() -> TokenIssuer {
        TokenIssuer::new(&BeamsConfig::new(INSTANCE, SECRET).unwrap())
    }

    #[test]
    fn reproduces_the_web_sdk_vector_byte_for_byte() {
        let token = issuer()
            .sign_with_exp(&UserId::new("cucas").unwrap(), 4_707_992_302)
            .unwrap();
        let parts: Vec<&str> = token.as_str().split('.').collect();
        assert_eq!(parts[0], HEADER_B64);
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

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    struct Claims {
        sub: String,
        iss: String,
        exp: u64,
    }

    #[test]
    fn decode_round_trip_with_exactly_three_claims() {
        let now = SystemTime::now();
        let user = UserId::new("ünïcødé \"quoted\" \\ \n\u{1} 😀").unwrap();
        let token = issuer().issue_at(&user, now).unwrap();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[format!("https://{INSTANCE}.pushnotifications.pusher.com")]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        let data = decode::<Claims>(
            token.as_str(),
            &DecodingKey::from_secret(SECRET.as_bytes()),
            &validation,
        )
        .unwrap();
        assert_eq!(data.claims.sub, user.as_str());
        assert_eq!(data.claims.iss, format!("https://{INSTANCE}.pushnotifications.pusher.com"));
        let expected = now.duration_since(UNIX_EPOCH).unwrap().as_secs() + 86_400;
        assert_eq!(data.claims.exp, expected);
        assert_eq!(token.expires_at(), expected);
        // The claims JSON is exactly what serde_json would write for the same values.
        let raw = URL_SAFE_NO_PAD.decode(token.as_str().split('.').nth(1).unwrap()).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&raw).unwrap();
        assert_eq!(value.as_object().unwrap().len(), 3);
        assert!(value.get("iat").is_none());
    }

    #[test]
    fn two_issuers_on_one_thread_use_their_own_keys() {
        let other = TokenIssuer::new(&BeamsConfig::new(INSTANCE, "other-secret").unwrap());
        let mine = issuer();
        let user = UserId::new("cucas").unwrap();
        for _ in 0..3 {
            let a = mine.sign_with_exp(&user, 4_707_992_302).unwrap();
            let b = other.sign_with_exp(&user, 4_707_992_302).unwrap();
            assert!(a.as_str().ends_with(".CTtrDXh7vae3rSSKBKf5X0y4RQpFg7YvIlirmBQqJn4"));
            assert_ne!(a.as_str().rsplit('.').next(), b.as_str().rsplit('.').next());
        }
    }

    #[test]
    fn wrong_key_does_not_verify() {
        let token = issuer().issue(&UserId::new("a").unwrap()).unwrap();
        let res = decode::<Claims>(
            token.as_str(),
            &DecodingKey::from_secret(b"other"),
            &Validation::new(Algorithm::HS256),
        );
        assert!(res.is_err());
    }

    #[test]
    fn ttl_is_applied() {
        let config = BeamsConfig::builder(INSTANCE, SECRET)
            .token_ttl(Duration::from_secs(60))
            .build()
            .unwrap();
        let t = TokenIssuer::new(&config)
            .issue_at(&UserId::new("a").unwrap(), UNIX_EPOCH + Duration::from_secs(1000))
            .unwrap();
        assert_eq!(t.expires_at(), 1060);
        assert!(TokenIssuer::new(&config)
            .issue_at(&UserId::new("a").unwrap(), UNIX_EPOCH - Duration::from_secs(1))
            .is_err());
    }

    #[test]
    fn json_escaping_matches_serde_json() {
        for s in ["plain", "q\"b\\s", "\u{0}\u{1f}\u{7f}", "tab\tnl\ncr\r\u{8}\u{c}", "é😀/<>&"] {
            let mut out = String::new();
            json_string_into(s, &mut out);
            assert_eq!(out, serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn base64_matches_reference() {
        for len in 0..20 {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let mut out = String::new();
            base64_url::encode_into(&data, &mut out);
            assert_eq!(out, URL_SAFE_NO_PAD.encode(&data));
        }
    }

    #[test]
    fn debug_hides_token_and_key() {
        let i = issuer();
        let t = i.issue(&UserId::new("a").unwrap()).unwrap();
        assert!(!format!("{t:?}").contains(t.as_str()));
        assert!(!format!("{i:?}").contains(SECRET));
        assert_eq!(serde_json::to_string(&t).unwrap(), format!("{{\"token\":\"{}\"}}", t.as_str()));
    }
}
