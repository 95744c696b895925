//! Publish client CPU costs: request bodies, response parsing, fan-out bookkeeping.
//!
//! `cargo bench -p beams-core --bench publish`

use std::hint::black_box;

use async_trait::async_trait;
use beams_core::publish::{
    ApnsPayload, Aps, FanOut, FcmNotification, FcmPayload, Notification, PublishError,
    PublishResponse, Publisher, WebNotification, WebPayload,
};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use http::{HeaderMap, StatusCode};
use serde_json::json;

fn typical() -> Notification {
    Notification::new()
        .web(
            WebPayload::new()
                .notification(
                    WebNotification::new("Order shipped", "Your order #4242 is on its way")
                        .icon("https://shop.example.com/icon.png")
                        .deep_link("https://shop.example.com/orders/4242"),
                )
                .data(json!({"order": 4242, "carrier": "DHL"})),
        )
        .fcm(
            FcmPayload::new()
                .notification(FcmNotification::new(
                    "Order shipped",
                    "Your order #4242 is on its way",
                ))
                .data(json!({"order": "4242"})),
        )
        .apns(
            ApnsPayload::new(Aps::new().alert("Your order #4242 is on its way").badge(1))
                .data(json!({"order": 4242})),
        )
}

fn users(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("user-{i:08}@example.com")).collect()
}

fn bodies(c: &mut Criterion) {
    let notification = typical();
    let mut group = c.benchmark_group("publish/body");
    for n in [1, 1000] {
        let owned = users(n);
        let refs: Vec<&str> = owned.iter().map(String::as_str).collect();
        group.throughput(Throughput::Elements(1));
        group.bench_function(format!("users_{n}"), |b| {
            b.iter(|| {
                black_box(&notification)
                    .users_body(black_box(&refs))
                    .unwrap()
            })
        });
    }
    let interests = ["orders", "shipping", "user-4242"];
    group.bench_function("interests_3", |b| {
        b.iter(|| {
            black_box(&notification)
                .interests_body(black_box(&interests))
                .unwrap()
        })
    });
    group.finish();
}

fn responses(c: &mut Criterion) {
    let headers = HeaderMap::new();
    let mut limited = HeaderMap::new();
    limited.insert("retry-after", "1".parse().unwrap());
    let mut group = c.benchmark_group("publish/response");
    group.bench_function("success", |b| {
        let body = br#"{"publishId":"pubid-2f6ab5b4-4d8e-4a3a-9d4b-96a4f5a3b3a1"}"#;
        b.iter(|| PublishResponse::from_http(StatusCode::OK, &headers, black_box(body)).unwrap())
    });
    group.bench_function("error_422", |b| {
        let body = br#"{"error":"Unprocessable Entity","description":"`users`: array items must be unique"}"#;
        b.iter(|| {
            PublishResponse::from_http(StatusCode::UNPROCESSABLE_ENTITY, &headers, black_box(body))
                .unwrap_err()
        })
    });
    group.bench_function("rate_limited_html", |b| {
        let body = b"<html><body><h1>429 Too Many Requests</h1></body></html>";
        b.iter(|| {
            PublishResponse::from_http(StatusCode::TOO_MANY_REQUESTS, &limited, black_box(body))
                .unwrap_err()
        })
    });
    group.finish();
}

/// Builds each batch's real body and answers at once: what the client spends besides I/O.
struct SerializeOnly;

#[async_trait]
impl Publisher for SerializeOnly {
    async fn publish_to_interests(
        &self,
        interests: &[&str],
        notification: &Notification,
    ) -> Result<PublishResponse, PublishError> {
        let body = notification.interests_body(interests)?;
        Ok(PublishResponse::new(body.len().to_string()))
    }

    async fn publish_to_users(
        &self,
        users: &[&str],
        notification: &Notification,
    ) -> Result<PublishResponse, PublishError> {
        let body = notification.users_body(users)?;
        Ok(PublishResponse::new(body.len().to_string()))
    }

    async fn delete_user(&self, _: &str) -> Result<(), PublishError> {
        Ok(())
    }
}

fn fan_out(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let notification = typical();
    let all = users(100_000);
    let mut group = c.benchmark_group("publish/fan_out");
    group.sample_size(10);
    // 100 requests per iteration: divide the time by 100 for the CPU per request.
    group.throughput(Throughput::Elements(100));
    group.bench_function("100k_users_100_requests", |b| {
        b.iter_batched(
            || all.clone(),
            |users| {
                runtime.block_on(async {
                    let report = FanOut::new()
                        .without_rate_limit()
                        .publish_to_users(&SerializeOnly, users, &notification)
                        .await
                        .unwrap();
                    assert_eq!(report.batches.len(), 100);
                    report
                })
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, bodies, responses, fan_out);
criterion_main!(benches);
