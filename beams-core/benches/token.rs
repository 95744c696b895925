//! Token issuing next to a raw HMAC-SHA256 over the same signing input, in one run.
//!
//! `cargo bench -p beams-core --bench token`
//!
//! The whole auth decision (query, session, token, response) is bench `auth`.

use std::hint::black_box;
use std::time::{SystemTime, UNIX_EPOCH};

use beams_core::{Instance, TokenIssuer, UserId};
use criterion::{Criterion, criterion_group, criterion_main};
use hmac::{Hmac, Mac};
use sha2::Sha256;

const INSTANCE: &str = "1b880590-6301-4bb5-b34f-45db1c5f5644";
const SECRET: &str = "F8AC0B756E50DF235F642D6F0DC2CDE0328CD9184B3874C5E91AB2189BB722FE";

fn bench(c: &mut Criterion) {
    let instance = Instance::new(INSTANCE, SECRET).unwrap();
    let issuer = TokenIssuer::new(&instance);
    let user = UserId::new("user-42@example.com").unwrap();
    let now = SystemTime::now();

    // The signing input of a real token: everything before the last '.'.
    let token = issuer.issue_at(&user, now).unwrap();
    let signing_input = token.as_str().rsplit_once('.').unwrap().0.to_owned();
    let keyed = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();

    let mut group = c.benchmark_group("token");
    group.bench_function("raw_hmac_sha256_prekeyed", |b| {
        b.iter(|| {
            let mut mac = keyed.clone();
            mac.update(black_box(signing_input.as_bytes()));
            black_box(mac.finalize().into_bytes())
        })
    });
    group.bench_function("issue", |b| {
        b.iter(|| black_box(issuer.issue_at(black_box(&user), now).unwrap()))
    });
    group.bench_function("jsonwebtoken_encode", |b| {
        #[derive(serde::Serialize)]
        struct Claims<'a> {
            exp: u64,
            iss: &'a str,
            sub: &'a str,
        }
        let key = jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes());
        let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        let iss = format!("https://{INSTANCE}.pushnotifications.pusher.com");
        // jsonwebtoken's own RustCrypto backend (a dev-dependency feature); with its two
        // backends unified on it has no default to pick.
        let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
        let exp = now.duration_since(UNIX_EPOCH).unwrap().as_secs() + 86_400;
        b.iter(|| {
            let claims = Claims {
                exp,
                iss: &iss,
                sub: user.as_str(),
            };
            black_box(jsonwebtoken::encode(&header, black_box(&claims), &key).unwrap())
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
