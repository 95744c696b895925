//! Property tests of Beams Tokens: for any instance id, secret, user id, TTL and clock,
//! the issued token verifies with jsonwebtoken's own `decode` (HS256 with the secret's UTF-8
//! bytes), carries exactly `exp`, `iss`, `sub` with the expected values, and stops verifying
//! under another secret or after any change to its payload.
//!
//! The emulator's verifier is exercised with the same generator in
//! `beams-emulator/tests/proptest_jwt.rs` (its verifier is private, so through its HTTP API).
//!
//! `cargo test -p beams-core --test integration proptest_token`

use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use beams_core::{BeamsAuth, Instance, TokenIssuer, UserId};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use proptest::prelude::*;

use crate::proptest_config as config;

fn user_id() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 1..60).prop_map(|chars| {
        let mut s = String::new();
        for c in chars {
            if s.len() + c.len_utf8() > 164 {
                break;
            }
            s.push(c);
        }
        s
    })
}

fn validation(instance: &str) -> Validation {
    // jsonwebtoken's own RustCrypto backend verifies (beams-core signs through its own
    // signer); with both of jsonwebtoken's backends unified on, it has no default to pick.
    let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
    let mut v = Validation::new(Algorithm::HS256);
    v.set_issuer(&[format!("https://{instance}.pushnotifications.pusher.com")]);
    v.set_required_spec_claims(&["exp", "iss", "sub"]);
    // The clock is arbitrary here; expiry is checked against the claims instead.
    v.validate_exp = false;
    v
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn issued_tokens_verify_with_jsonwebtoken(
        instance in "[A-Za-z0-9-]{1,64}",
        secret in prop_oneof![".{1,80}", "[0-9A-F]{64}"],
        user in user_id(),
        ttl in 1u64..=86_400,
        now in 0u64..=4_000_000_000,
    ) {
        let instance_config = Instance::new(instance.as_str(), secret.as_str()).unwrap();
        let auth = BeamsAuth::builder(&instance_config).token_ttl(Duration::from_secs(ttl)).build().unwrap();
        let issuer = auth.issuer();
        let id = UserId::new(user.as_str()).unwrap();
        let token = issuer.issue_at(&id, UNIX_EPOCH + Duration::from_secs(now)).unwrap();
        prop_assert_eq!(token.expires_at(), now + ttl);

        let header = decode_header(token.as_str()).unwrap();
        prop_assert_eq!(header.alg, Algorithm::HS256);
        prop_assert_eq!(header.typ.as_deref(), Some("JWT"));

        let data = decode::<serde_json::Map<String, serde_json::Value>>(
            token.as_str(),
            &DecodingKey::from_secret(secret.as_bytes()),
            &validation(&instance),
        )
        .unwrap();
        let claims = data.claims;
        let mut keys: Vec<&str> = claims.keys().map(String::as_str).collect();
        keys.sort_unstable();
        prop_assert_eq!(keys, vec!["exp", "iss", "sub"]);
        prop_assert_eq!(claims["sub"].as_str(), Some(user.as_str()));
        prop_assert_eq!(claims["exp"].as_u64(), Some(now + ttl));
        let iss = format!("https://{instance}.pushnotifications.pusher.com");
        prop_assert_eq!(claims["iss"].as_str(), Some(iss.as_str()));

        // Another secret: refused.
        let other = format!("{secret}x");
        prop_assert!(decode::<serde_json::Value>(
            token.as_str(),
            &DecodingKey::from_secret(other.as_bytes()),
            &validation(&instance),
        ).is_err());
    }

    /// Any single-character change inside the payload segment breaks verification.
    #[test]
    fn tampered_payloads_are_refused(
        user in user_id(),
        at in any::<prop::sample::Index>(),
        replacement in prop::sample::select(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".to_vec()),
    ) {
        let secret = "F8AC0B756E50DF235F642D6F0DC2CDE0328CD9184B3874C5E91AB2189BB722FE";
        let instance = "1b880590-6301-4bb5-b34f-45db1c5f5644";
        let issuer = TokenIssuer::new(&Instance::new(instance, secret).unwrap());
        let token = issuer.issue(&UserId::new(user.as_str()).unwrap()).unwrap().into_string();
        let (start, end) = {
            let first = token.find('.').unwrap();
            let last = token.rfind('.').unwrap();
            (first + 1, last)
        };
        // Not the segment's last character: its low bits may be padding.
        let i = start + at.index(end - start - 1);
        prop_assume!(token.as_bytes()[i] != replacement);
        let mut bytes = token.clone().into_bytes();
        bytes[i] = replacement;
        let tampered = String::from_utf8(bytes).unwrap();
        prop_assert!(decode::<serde_json::Value>(
            &tampered,
            &DecodingKey::from_secret(secret.as_bytes()),
            &validation(instance),
        ).is_err());
        // And the untouched token's payload is canonical base64url JSON.
        let payload = URL_SAFE_NO_PAD.decode(&token[start..end]).unwrap();
        prop_assert!(serde_json::from_slice::<serde_json::Value>(&payload).is_ok());
    }
}
