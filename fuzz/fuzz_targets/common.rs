//! What the emulator targets share: one runtime and one emulator state per process, and the
//! check that an answer is below 500 and Beams-shaped.
#![allow(dead_code)]

use std::sync::OnceLock;

use axum::body::Body;
use beams_emulator::{Emulator, EmulatorState};
use http::{Request, StatusCode};
use tower::ServiceExt;

pub const INSTANCE: &str = "1b880590-6301-4bb5-b34f-45db1c5f5644";
pub const SECRET: &str = "F8AC0B756E50DF235F642D6F0DC2CDE0328CD9184B3874C5E91AB2189BB722FE";

pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
    })
}

pub fn state() -> &'static EmulatorState {
    static STATE: OnceLock<EmulatorState> = OnceLock::new();
    STATE.get_or_init(|| {
        Emulator::builder()
            .instance_id(INSTANCE)
            .secret_key(SECRET)
            .build_state()
            .unwrap()
    })
}

/// Sends `request` through the emulator's router; panics (a finding) on a 5xx or on an error
/// answer that is not `{"error","description"}` JSON.
pub fn send(request: Request<Body>) -> (StatusCode, Vec<u8>) {
    runtime().block_on(async {
        let response = beams_emulator::router(state().clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec();
        assert!(
            !status.is_server_error(),
            "{status}: {}",
            String::from_utf8_lossy(&body)
        );
        if !status.is_success() {
            let v: serde_json::Value = serde_json::from_slice(&body).expect("error body is JSON");
            assert!(v["error"].is_string() && v["description"].is_string(), "{v}");
        }
        (status, body)
    })
}
