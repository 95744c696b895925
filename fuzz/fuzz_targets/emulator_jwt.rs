//! The emulator's Beams Token verification (`PUT …/devices/web/{id}/user`) through its router.
//!
//! Input: a mode byte, then either a raw `Authorization` value, or a JWT header and claims
//! (split at the first 0xFF) that the harness base64url-encodes and signs with the emulator's
//! own secret, so the fuzzer reaches the claim checks behind the signature.
#![no_main]

#[path = "common.rs"]
mod common;

use axum::body::Body;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use beams_emulator::Platform;
use hmac::{Hmac, Mac};
use http::{HeaderValue, Request, StatusCode};
use libfuzzer_sys::fuzz_target;
use sha2::Sha256;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let authorization: Vec<u8> = match mode % 3 {
        0 => rest.to_vec(),
        1 => {
            let (header, claims) = match rest.iter().position(|&b| b == 0xFF) {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (&br#"{"alg":"HS256","typ":"JWT"}"#[..], rest),
            };
            let h = URL_SAFE_NO_PAD.encode(header);
            let p = URL_SAFE_NO_PAD.encode(claims);
            let mut mac = Hmac::<Sha256>::new_from_slice(common::SECRET.as_bytes()).unwrap();
            mac.update(format!("{h}.{p}").as_bytes());
            let s = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
            format!("Bearer {h}.{p}.{s}").into_bytes()
        }
        _ => {
            let mut v = b"Bearer ".to_vec();
            v.extend_from_slice(rest);
            v
        }
    };
    let Ok(value) = HeaderValue::from_bytes(&authorization) else {
        return;
    };
    let state = common::state();
    state.reset();
    let device = state.register_device(Platform::Web);
    let request = Request::put(format!(
        "/device_api/v1/instances/{}/devices/web/{}/user",
        common::INSTANCE,
        device.id
    ))
    .header(http::header::AUTHORIZATION, value)
    .body(Body::empty())
    .unwrap();
    let (status, _) = common::send(request);
    let user = state.device(&device.id).unwrap().user_id;
    if status == StatusCode::OK {
        let user = user.expect("a 200 associates the user");
        assert!((1..=164).contains(&user.len()));
    } else {
        assert!(user.is_none());
    }
});
