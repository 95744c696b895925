//! A local, in-memory server that speaks the Pusher Beams protocol, for development and tests.
//!
//! It serves one Beams instance over plain HTTP and behaves like the real service where the official
//! SDKs can tell: the publish API (`/publishes`, `/publishes/interests`, `/publishes/users`), the
//! customer API's delete user (on `customer_api` and the older `user_api` path), the device API for
//! `web`, `fcm` and `apns` (register, get, set user with a verified Beams Token, interests,
//! metadata, delete), the reporting API, Beams' limits, status codes and
//! `{"error","description"}` bodies. Publishes are routed to the matching devices and recorded with
//! the payload each platform would receive, so tests and demo pages can see them — over the
//! inspection API under `/_emulator/` or through the typed [`EmulatorState`]. To serve it from
//! your own axum app instead of its own server, build the state and mount [`router`].
//!
//! ```
//! use beams_emulator::{Emulator, Fault, Platform};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let emu = Emulator::builder().start().await?; // 127.0.0.1, ephemeral port
//! let state = emu.state();
//! // Point a Beams client at emu.base_url(), state.instance_id(), state.secret_key() …
//! let device = state.register_device(Platform::Web);
//! state.add_device_interest(&device.id, "donuts");
//!
//! let publish = format!(
//!     "{}/publish_api/v1/instances/{}/publishes/interests",
//!     emu.base_url(),
//!     state.instance_id()
//! );
//! let client = reqwest::Client::new();
//! let body = serde_json::json!({"interests": ["donuts"], "web": {"notification": {"title": "New donuts"}}});
//! let response = client.post(&publish).bearer_auth(state.secret_key()).json(&body).send().await?;
//! assert_eq!(response.status(), 200);
//!
//! let delivered = state.deliveries(&device.id);
//! assert_eq!(delivered[0].payload["notification"]["title"], "New donuts");
//! assert_eq!(delivered[0].payload["data"]["pusher"]["publishId"], state.publishes()[0].publish_id);
//!
//! // The next publish is rate limited.
//! state.inject_fault(Fault::status(429).retry_after("1"));
//! let response = client.post(&publish).bearer_auth(state.secret_key()).json(&body).send().await?;
//! assert_eq!(response.status(), 429);
//! # Ok(())
//! # }
//! ```
//!
//! # The binary and its feature
//!
//! The `beams-emulator` binary needs the `cli` feature (it adds the log subscriber):
//! `cargo install beams-emulator --features cli`, or in this repository
//! `cargo run -p beams-emulator --features cli -- --port 4000`. The library does not.
//!
//! # The hardened server
//!
//! The emulator serves itself with [`serve`](fn@serve), which an app can use too: an axum
//! [`Router`](axum::Router) on a [`TcpListener`](tokio::net::TcpListener) over HTTP/1, with a
//! header-read timeout, a connection cap, a request deadline and a graceful end (see the
//! [`serve`](mod@serve) module).
//!
//! # HTTP endpoints
//!
//! Beams (all under the instance id the emulator serves; other ids get 404):
//!
//! | Method and path | Answer |
//! |---|---|
//! | `POST /publish_api/v1/instances/{id}/publishes[/interests]` | `{"publishId":"pubid-…"}`; 400/401/404/422/429 |
//! | `POST /publish_api/v1/instances/{id}/publishes/users` | the same |
//! | `DELETE /{customer_api,user_api}/v1/instances/{id}/users/{user}` | 200, the user's devices are deleted |
//! | `GET /device_api/v1/instances/{id}/web-vapid-public-key` | `{"vapidPublicKey"}` |
//! | `POST /device_api/v1/instances/{id}/devices/{platform}` | `{"id"}` (+ `initialInterestSet` for fcm/apns) |
//! | `GET`, `DELETE …/devices/{platform}/{device}` | `{"id","userId","metadata"}`; DELETE is 200 even when unknown |
//! | `PUT …/devices/{platform}/{device}/user` | Bearer Beams Token, verified |
//! | `GET`, `PUT …/devices/{platform}/{device}/interests` | `{"interests","responseMetadata"}` (`limit`, `cursor`) |
//! | `POST`, `DELETE …/devices/{platform}/{device}/interests/{interest}` | 200 |
//! | `PUT …/devices/{platform}/{device}/metadata`, `PUT …/devices/fcm/{device}/token` | 200 |
//! | `POST /reporting_api/v2/instances/{id}/events` | 200 |
//!
//! The device and reporting APIs answer CORS preflights from any origin, as Beams' do.
//!
//! Inspection (no authentication, never affected by faults). It shows every notification,
//! user id and push token and can inject faults or reset the emulator, so browsers may only
//! call it from origins allowed with [`EmulatorBuilder::inspection_origin`] (or
//! `--inspection-origin`); any other `Origin` gets a `403` before the request is handled.
//! Non-browser clients (no `Origin`) are served.
//!
//! | Method and path | Answer |
//! |---|---|
//! | `GET /_emulator/info` | `{"instanceId","vapidPublicKey"}` |
//! | `GET /_emulator/publishes` | [`RecordedPublish`]es |
//! | `GET /_emulator/devices`, `/_emulator/devices/{device}` | [`Device`]s |
//! | `GET /_emulator/devices/{device}/deliveries`, `/_emulator/users/{user}/deliveries`, `/_emulator/deliveries` | [`Delivery`]s |
//! | `GET /_emulator/users/{user}/devices` | [`Device`]s |
//! | `GET /_emulator/users/{user}/token` | `{"token"}`: a Beams Token for `user`, as your auth route would issue it (24 h), for clients tested without a backend; only with [`EmulatorBuilder::issue_tokens`] (`--issue-tokens`), else `403` |
//! | `GET /_emulator/devices/{device}/stream` | server-sent events: one `delivery` event per delivery (data: the [`Delivery`] JSON, `id`: its id, `Last-Event-ID` honoured), keep-alive comments |
//! | `GET /_emulator/events` | [`ReportedEvent`]s |
//! | `GET /_emulator/webhooks` | [`WebhookAttempt`]s |
//! | `GET /_emulator/webhooks/stats` | [`WebhookStats`]: events pending, requests in flight, events dropped at the [`Limits`] |
//! | `POST /_emulator/reset` | 204, everything forgotten |
//! | `GET`, `POST`, `DELETE /_emulator/faults` | queue ([`Fault`] JSON or an array), list, clear |
//!
//! # Fault "drop"
//!
//! The emulator's own server wraps each accepted TCP stream in a stream with a kill switch. A
//! "drop" fault flips the switch of the request's connection; the connection's next read or write
//! closes the socket with `SO_LINGER` 0 before any byte of a response is written, so the client
//! sees a connection reset (or "connection closed before message completed"). Served through
//! [`router`] in another server, a drop can only abort the response body.

#![warn(missing_docs)]

mod api;
mod builder;
mod conn;
mod emulator;
mod error;
mod jwt;
mod limits;
mod model;
mod payload;
pub mod serve;
mod state;
mod webhook;

pub use api::router;
pub use builder::EmulatorBuilder;
pub use emulator::Emulator;
pub use error::{BuildError, StartError};
pub use limits::Limits;
pub use model::{
    Delivery, Device, Fault, PublishTarget, RecordedPublish, ReportedEvent, WebhookAttempt,
    WebhookTarget,
};
#[doc(no_inline)]
pub use serve::serve;
pub use state::{EmulatorState, SetUserRefused};
pub use webhook::WebhookStats;

#[doc(no_inline)]
pub use beams_core::Platform;
