//! Beams Tokens: HS256 JWTs with exactly `sub`, `iss` and `exp`.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64_url::{Base64Writer, PreEncoded, encode_into};
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

use jsonwebtoken::crypto::{CryptoProvider, JwtSigner};
use jsonwebtoken::{Algorithm, EncodingKey};

use crate::{BeamsConfig, UserId};

#[cfg(not(any(feature = "rust-crypto", feature = "aws-lc-rs")))]
compile_error!(
    "beams-core needs a crypto backend: enable the `rust-crypto` or `aws-lc-rs` feature"
);

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
    /// `,"iss":"https://…","sub":` — the claims between `exp` and the subject — with its
    /// base64url prepared for each of the three positions it can start at.
    iss_encoded: PreEncoded,
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
        let iss_part = format!(",\"iss\":{issuer},\"sub\":");
        Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            key: EncodingKey::from_secret(config.secret_key().expose_secret().as_bytes()),
            iss_encoded: PreEncoded::new(&iss_part),
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
        self.sign_with_exp(user, self.expiry_at(now)?)
    }

    /// Signs the claims `{"exp":exp,"iss":…,"sub":user}` in that order (the Go SDK's order).
    pub(crate) fn sign_with_exp(&self, user: &UserId, exp: u64) -> Result<BeamsToken, TokenError> {
        let mut token = Vec::with_capacity(self.token_len_hint(user));
        self.write_token(user, exp, &mut token)?;
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

    /// The length of `user`'s token when its id needs no JSON escaping (else a little more).
    pub(crate) fn token_len_hint(&self, user: &UserId) -> usize {
        // `{"exp":` + up to 20 digits + iss part + quoted user + `}`
        let claims = 7 + 20 + self.iss_encoded.len() + user.len() + 3;
        HEADER_B64.len() + 1 + claims.div_ceil(3) * 4 + 1 + 43
    }

    /// Appends the token — header, claims and signature — to `out`, without an intermediate
    /// buffer: the claims are base64url-encoded as they are written, and the signing input is
    /// the appended bytes themselves.
    pub(crate) fn write_token(
        &self,
        user: &UserId,
        exp: u64,
        out: &mut Vec<u8>,
    ) -> Result<(), TokenError> {
        let start = out.len();
        out.extend_from_slice(HEADER_B64.as_bytes());
        out.push(b'.');
        let mut claims = Base64Writer::new(out);
        claims.write_str("{\"exp\":");
        claims.write_str(itoa_u64(exp, &mut [0u8; 20]));
        claims.write_pre_encoded(&self.iss_encoded);
        json_string_into(user.as_str(), &mut claims);
        claims.write_str("}");
        claims.finish();
        let signature = self.sign(&out[start..])?;
        out.push(b'.');
        encode_into(&signature, out);
        Ok(())
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

/// Where [`json_string_into`] writes: a `String`, or the base64url encoder of the claims.
trait StrSink {
    fn write_str(&mut self, s: &str);
}

#[cfg(test)]
impl StrSink for String {
    fn write_str(&mut self, s: &str) {
        self.push_str(s);
    }
}

/// Appends `s` as a JSON string literal (RFC 8259 escaping, as serde_json does).
fn json_string_into(s: &str, out: &mut impl StrSink) {
    out.write_str("\"");
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
        out.write_str(&s[start..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let hex = [HEX[(b >> 4) as usize], HEX[(b & 0xf) as usize]];
            out.write_str("\\u00");
            out.write_str(std::str::from_utf8(&hex).expect("hex digits are ASCII"));
        } else {
            out.write_str(escape);
        }
        start = i + 1;
    }
    out.write_str(&s[start..]);
    out.write_str("\"");
}

mod base64_url {
    //! Unpadded base64url, appended to a byte buffer: whole 3-byte groups are encoded straight
    //! into the buffer's new tail (one length check per call, not per character).
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    /// Appends the encoding of `input` (no padding).
    pub(super) fn encode_into(input: &[u8], out: &mut Vec<u8>) {
        let whole = input.len() / 3 * 3;
        encode_groups(&input[..whole], out);
        encode_tail(&input[whole..], out);
    }

    /// Encodes `input`, a multiple of 3 bytes long.
    fn encode_groups(input: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        out.resize(start + input.len() / 3 * 4, 0);
        for (c, o) in input.chunks_exact(3).zip(out[start..].chunks_exact_mut(4)) {
            let n = (u32::from(c[0]) << 16) | (u32::from(c[1]) << 8) | u32::from(c[2]);
            o[0] = ALPHABET[(n >> 18) as usize & 63];
            o[1] = ALPHABET[(n >> 12) as usize & 63];
            o[2] = ALPHABET[(n >> 6) as usize & 63];
            o[3] = ALPHABET[n as usize & 63];
        }
    }

    /// Encodes the last 0, 1 or 2 bytes.
    fn encode_tail(tail: &[u8], out: &mut Vec<u8>) {
        match *tail {
            [a] => {
                let n = u32::from(a) << 16;
                out.extend_from_slice(&[
                    ALPHABET[(n >> 18) as usize & 63],
                    ALPHABET[(n >> 12) as usize & 63],
                ]);
            }
            [a, b] => {
                let n = (u32::from(a) << 16) | (u32::from(b) << 8);
                out.extend_from_slice(&[
                    ALPHABET[(n >> 18) as usize & 63],
                    ALPHABET[(n >> 12) as usize & 63],
                    ALPHABET[(n >> 6) as usize & 63],
                ]);
            }
            _ => {}
        }
    }

    /// Base64url of everything written to it, as if it were one contiguous input: up to two
    /// bytes wait for the next write; [`finish`](Self::finish) encodes them.
    pub(super) struct Base64Writer<'a> {
        out: &'a mut Vec<u8>,
        pending: [u8; 3],
        pending_len: usize,
    }

    impl<'a> Base64Writer<'a> {
        pub(super) fn new(out: &'a mut Vec<u8>) -> Self {
            Self {
                out,
                pending: [0; 3],
                pending_len: 0,
            }
        }

        pub(super) fn write(&mut self, mut input: &[u8]) {
            if self.pending_len > 0 {
                while self.pending_len < 3 {
                    let Some((&b, rest)) = input.split_first() else {
                        return;
                    };
                    self.pending[self.pending_len] = b;
                    self.pending_len += 1;
                    input = rest;
                }
                encode_groups(&self.pending, self.out);
                self.pending_len = 0;
            }
            let whole = input.len() / 3 * 3;
            encode_groups(&input[..whole], self.out);
            let rest = &input[whole..];
            self.pending[..rest.len()].copy_from_slice(rest);
            self.pending_len = rest.len();
        }

        pub(super) fn finish(self) {
            encode_tail(&self.pending[..self.pending_len], self.out);
        }
    }

    /// The base64url of a fixed text for each position (0, 1 or 2 bytes pending) at which a
    /// [`Base64Writer`] may reach it, so that the writer only copies it (the issuer part of the
    /// claims is most of a token's claims).
    #[derive(Clone)]
    pub(super) struct PreEncoded {
        text: Box<[u8]>,
        /// Indexed by the writer's pending count `k`: the aligned middle of `text` — after the
        /// `(3 - k) % 3` bytes that complete the pending group, before the last bytes that
        /// stay pending — encoded.
        middles: [Box<[u8]>; 3],
    }

    impl PreEncoded {
        /// The length of the text before encoding.
        pub(super) fn len(&self) -> usize {
            self.text.len()
        }

        pub(super) fn new(text: &str) -> Self {
            let text = text.as_bytes();
            let middles = [0, 1, 2].map(|pending: usize| {
                let head = ((3 - pending) % 3).min(text.len());
                let body = &text[head..];
                let mut out = Vec::new();
                encode_groups(&body[..body.len() / 3 * 3], &mut out);
                out.into_boxed_slice()
            });
            Self {
                text: text.into(),
                middles,
            }
        }
    }

    impl Base64Writer<'_> {
        /// Writes `pre`'s text, as [`write`](Self::write) would.
        pub(super) fn write_pre_encoded(&mut self, pre: &PreEncoded) {
            let head = ((3 - self.pending_len) % 3).min(pre.text.len());
            if self.pending_len + head < 3 && self.pending_len > 0 {
                // Too short to complete the pending group: nothing to copy.
                self.write(&pre.text);
                return;
            }
            let middle = &pre.middles[self.pending_len];
            self.write(&pre.text[..head]);
            debug_assert_eq!(self.pending_len, 0);
            self.out.extend_from_slice(middle);
            let rest = &pre.text[head + middle.len() / 4 * 3..];
            self.pending[..rest.len()].copy_from_slice(rest);
            self.pending_len = rest.len();
        }
    }

    impl super::StrSink for Base64Writer<'_> {
        fn write_str(&mut self, s: &str) {
            self.write(s.as_bytes());
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
        assert_eq!(
            data.claims.iss,
            format!("https://{INSTANCE}.pushnotifications.pusher.com")
        );
        let expected = now.duration_since(UNIX_EPOCH).unwrap().as_secs() + 86_400;
        assert_eq!(data.claims.exp, expected);
        assert_eq!(token.expires_at(), expected);
        // The claims JSON is exactly what serde_json would write for the same values.
        let raw = URL_SAFE_NO_PAD
            .decode(token.as_str().split('.').nth(1).unwrap())
            .unwrap();
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
            assert!(
                a.as_str()
                    .ends_with(".CTtrDXh7vae3rSSKBKf5X0y4RQpFg7YvIlirmBQqJn4")
            );
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
            .issue_at(
                &UserId::new("a").unwrap(),
                UNIX_EPOCH + Duration::from_secs(1000),
            )
            .unwrap();
        assert_eq!(t.expires_at(), 1060);
        assert!(
            TokenIssuer::new(&config)
                .issue_at(
                    &UserId::new("a").unwrap(),
                    UNIX_EPOCH - Duration::from_secs(1)
                )
                .is_err()
        );
    }

    #[test]
    fn json_escaping_matches_serde_json() {
        for s in [
            "plain",
            "q\"b\\s",
            "\u{0}\u{1f}\u{7f}",
            "tab\tnl\ncr\r\u{8}\u{c}",
            "é😀/<>&",
        ] {
            let mut out = String::new();
            json_string_into(s, &mut out);
            assert_eq!(out, serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn base64_matches_reference() {
        for len in 0..20 {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let mut out = Vec::new();
            base64_url::encode_into(&data, &mut out);
            assert_eq!(out, URL_SAFE_NO_PAD.encode(&data).into_bytes());
        }
    }

    #[test]
    fn streamed_base64_matches_reference_for_any_split() {
        let data: Vec<u8> = (0..23u8)
            .map(|i| i.wrapping_mul(91).wrapping_add(7))
            .collect();
        for a in 0..=data.len() {
            for b in a..=data.len() {
                let mut out = b"prefix".to_vec();
                let mut w = base64_url::Base64Writer::new(&mut out);
                w.write(&data[..a]);
                w.write(&data[a..b]);
                w.write(&[]);
                w.write(&data[b..]);
                w.finish();
                let expected = format!("prefix{}", URL_SAFE_NO_PAD.encode(&data));
                assert_eq!(out, expected.into_bytes(), "split at {a}, {b}");
            }
        }
    }

    #[test]
    fn pre_encoded_text_matches_reference_at_every_position() {
        let text = ",\"iss\":\"https://x.pushnotifications.pusher.com\",\"sub\":";
        for text in [text, "", "a", "ab", "abc", "abcd"] {
            let pre = base64_url::PreEncoded::new(text);
            for before in 0..7 {
                for after in 0..4 {
                    let lead = &"0123456"[..before];
                    let tail = &"xyz"[..after];
                    let mut out = Vec::new();
                    let mut w = base64_url::Base64Writer::new(&mut out);
                    w.write(lead.as_bytes());
                    w.write_pre_encoded(&pre);
                    w.write(tail.as_bytes());
                    w.finish();
                    let expected = URL_SAFE_NO_PAD.encode(format!("{lead}{text}{tail}"));
                    assert_eq!(out, expected.into_bytes(), "{text:?} after {before} bytes");
                }
            }
        }
    }

    #[test]
    fn token_len_hint_is_exact_for_plain_ids() {
        let i = issuer();
        for user in [
            "a",
            "ab",
            "abc",
            "cucas",
            "user-42@example.com",
            &"x".repeat(164),
        ] {
            let user = UserId::new(user).unwrap();
            let token = i.sign_with_exp(&user, 4_707_992_302).unwrap();
            // 10 digits instead of the 20 reserved: at most 16 bytes to spare.
            let hint = i.token_len_hint(&user);
            assert!(hint >= token.as_str().len() && hint - token.as_str().len() <= 16);
        }
    }

    #[test]
    fn debug_hides_token_and_key() {
        let i = issuer();
        let t = i.issue(&UserId::new("a").unwrap()).unwrap();
        assert!(!format!("{t:?}").contains(t.as_str()));
        assert!(!format!("{i:?}").contains(SECRET));
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            format!("{{\"token\":\"{}\"}}", t.as_str())
        );
    }
}
