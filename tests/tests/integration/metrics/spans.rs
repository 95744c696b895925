//! The spans that join a publish to its delivery reports: a publish's span carries
//! `operation`, `attempt` and the `publish_id` Beams answered; the webhook handler runs in a
//! span with the event's `event_id` and `publish_id`. Captured by a subscriber local to the
//! test's thread.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use beams_core::Instance;
use beams_core::publish::{
    BeamsClient, Notification, Publisher, RetryPolicy, WebNotification, WebPayload,
};
use beams_core::webhook::Webhook;
use beams_emulator::{Emulator, Fault, Platform};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

use super::webhook::{events, receiver, signed};
use super::{USER, block_on};

/// A span's fields, as text.
#[derive(Debug, Default, Clone)]
struct Fields(BTreeMap<String, String>);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

/// Every closed span: its target, name and final fields.
type Closed = Arc<Mutex<Vec<(String, String, Fields)>>>;

struct Capture(Closed);

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        ctx.span(id).unwrap().extensions_mut().insert(fields);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let span = ctx.span(id).unwrap();
        let mut extensions = span.extensions_mut();
        values.record(extensions.get_mut::<Fields>().unwrap());
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let span = ctx.span(&id).unwrap();
        let fields = span.extensions().get::<Fields>().cloned().unwrap();
        let meta = span.metadata();
        self.0
            .lock()
            .unwrap()
            .push((meta.target().to_owned(), meta.name().to_owned(), fields));
    }
}

/// Runs `f` with the capturing subscriber as this thread's; returns the closed spans of
/// `name`, their fields as `(field, value)` pairs.
fn spans_of(name: &str, f: impl FnOnce()) -> Vec<(String, BTreeMap<String, String>)> {
    let closed = Closed::default();
    let subscriber = tracing_subscriber::registry().with(Capture(closed.clone()));
    tracing::subscriber::with_default(subscriber, f);
    let closed = closed.lock().unwrap();
    closed
        .iter()
        .filter(|(_, n, _)| n == name)
        .map(|(target, _, fields)| (target.clone(), fields.0.clone()))
        .collect()
}

fn field<'a>(fields: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    fields.get(name).map(String::as_str)
}

#[test]
fn a_publish_span_carries_operation_attempt_and_publish_id() {
    let published = Arc::new(Mutex::new(String::new()));
    let spans = spans_of("beams.publish", || {
        block_on(async {
            let emu = Emulator::builder().start().await.unwrap();
            let device = emu.state().register_device(Platform::Web);
            emu.state().set_device_user(&device.id, USER).unwrap();
            emu.state().inject_fault(
                Fault::status(429)
                    .retry_after("0")
                    .path_prefix("/publish_api"),
            );
            let instance = Instance::builder(emu.state().instance_id(), emu.state().secret_key())
                .endpoint(emu.base_url())
                .build()
                .unwrap();
            let client = BeamsClient::builder(&instance)
                .retry_policy(RetryPolicy::default().with_base_delay(Duration::from_millis(5)))
                .build()
                .unwrap();
            let web = Notification::new()
                .web(WebPayload::new().notification(WebNotification::new("Hi", "there")));
            let response = client.publish_to_users(&[USER], &web).await.unwrap();
            *published.lock().unwrap() = response.publish_id().to_owned();
            client.delete_user(USER).await.unwrap();
        })
    });
    assert_eq!(spans.len(), 2, "{spans:?}");
    let (target, publish) = &spans[0];
    assert_eq!(target, "beams::publish");
    assert_eq!(field(publish, "operation"), Some("publish_to_users"));
    // The 429, then the attempt that got the publish id.
    assert_eq!(field(publish, "attempt"), Some("2"));
    let published = published.lock().unwrap();
    assert!(published.starts_with("pubid-"), "{published}");
    assert_eq!(field(publish, "publish_id"), Some(published.as_str()));
    let (_, delete) = &spans[1];
    assert_eq!(field(delete, "operation"), Some("delete_user"));
    assert_eq!(field(delete, "attempt"), Some("1"));
    assert_eq!(field(delete, "publish_id"), None);
}

/// A handler call's event id, and the name of the span it ran in.
type SpanOfCall = (String, Option<&'static str>);

#[test]
fn the_webhook_handler_runs_in_a_span_with_event_and_publish_ids() {
    // Each call's event id, and the name of the span the handler ran in.
    let inside: Arc<Mutex<Vec<SpanOfCall>>> = Arc::default();
    let handler = {
        let inside = inside.clone();
        move |webhook: Webhook| {
            let name = tracing::Span::current().metadata().map(|m| m.name());
            inside
                .lock()
                .unwrap()
                .push((webhook.metadata.event_id.clone(), name));
            std::future::ready(())
        }
    };
    let spans = spans_of("beams.webhook", || {
        block_on(async {
            let receiver = receiver();
            for body in events() {
                let res = receiver.receive_request(signed(body), &handler).await;
                assert_eq!(res.status(), 200);
            }
        })
    });
    let inside = inside.lock().unwrap();
    assert_eq!(inside.len(), 4);
    assert!(
        inside
            .iter()
            .all(|(_, name)| *name == Some("beams.webhook")),
        "{inside:?}"
    );
    let by_event: Vec<_> = spans
        .iter()
        .map(|(target, fields)| {
            assert_eq!(target, "beams::webhook");
            (
                field(fields, "event_id").unwrap().to_owned(),
                field(fields, "publish_id").map(str::to_owned),
            )
        })
        .collect();
    let publish_id = Some("pubid-zz-distinctive-1".to_owned());
    assert_eq!(
        by_event,
        [
            ("ev-zz-attempt".to_owned(), publish_id.clone()),
            ("ev-zz-ack".to_owned(), publish_id.clone()),
            ("ev-zz-open".to_owned(), publish_id),
            ("ev-zz-other".to_owned(), None),
        ]
    );
}
