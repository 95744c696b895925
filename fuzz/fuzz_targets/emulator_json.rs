//! The emulator's JSON request handling through its router: any body to the publish,
//! customer, device and reporting APIs, authorized and with a JSON content type (so the body
//! is parsed and validated), must answer below 500 in Beams' shape.
//!
//! Input: a selector byte (endpoint) then the body.
#![no_main]

#[path = "common.rs"]
mod common;

use axum::body::Body;
use beams_emulator::Platform;
use http::{Method, Request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let state = common::state();
    let i = common::INSTANCE;
    let device = state.register_device(if selector & 0x80 == 0 { Platform::Web } else { Platform::Fcm });
    let p = device.platform.as_str();
    let d = &device.id;
    let (method, path) = match selector % 9 {
        0 => (Method::POST, format!("/publish_api/v1/instances/{i}/publishes")),
        1 => (Method::POST, format!("/publish_api/v1/instances/{i}/publishes/interests")),
        2 => (Method::POST, format!("/publish_api/v1/instances/{i}/publishes/users")),
        3 => (Method::POST, format!("/device_api/v1/instances/{i}/devices/{p}")),
        4 => (Method::PUT, format!("/device_api/v1/instances/{i}/devices/{p}/{d}/interests")),
        5 => (Method::PUT, format!("/device_api/v1/instances/{i}/devices/{p}/{d}/metadata")),
        6 => (Method::PUT, format!("/device_api/v1/instances/{i}/devices/fcm/{d}/token")),
        7 => (Method::POST, format!("/reporting_api/v2/instances/{i}/events")),
        _ => (Method::POST, "/_emulator/faults".to_owned()),
    };
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::AUTHORIZATION, format!("Bearer {}", common::SECRET))
        .body(Body::from(body.to_vec()))
        .unwrap();
    common::send(request);
    // Keep memory flat and queued faults from leaking into the next input.
    state.reset();
});
