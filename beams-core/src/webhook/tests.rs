//! Signatures here were computed with Python's `hmac` module (`hmac.new(key, body,
//! hashlib.sha1).hexdigest()`), not by this crate.

use super::*;

const BODY: &[u8] = br#"{"payload":{"instance_id":"inst","publish_id":"pubid-1","user_id":"alice"},"metadata":{"created_at":"2019-03-11T10:42:16+0000","event_type":"v1.UserNotificationOpen","event_id":"ev-1","product":"beams"},"custom_data":{"team":"mobile"}}"#;
/// `hmac.new(b"webhook-secret", BODY, hashlib.sha1).hexdigest()`
const SIGNATURE: &str = "69c01ea9afa2a8604c85dd266812d4efedbf300d";
/// The same with `b"other-secret"`.
const OTHER_SIGNATURE: &str = "53243896a6141969a86eaa79e8fb16db2604d778";
/// `hmac.new(b"webhook-secret", BODY, hashlib.sha256).hexdigest()`
const SHA256_SIGNATURE: &str = "252c114c5ddda9c4b7a8ef30549b56ff24c75b850ed847a015b249aa2c49a031";

fn headers(signature: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("webhook-signature", signature.parse().unwrap());
    headers.insert("webhook-id-uuid", "hook-1".parse().unwrap());
    headers.insert("webhook-request-id-uuid", "req-1".parse().unwrap());
    headers
}

fn receiver() -> WebhookReceiver {
    WebhookReceiver::new("webhook-secret").unwrap()
}

#[test]
fn an_empty_secret_is_a_configuration_error() {
    assert_eq!(
        WebhookReceiver::new("").unwrap_err(),
        crate::ConfigError::EmptyWebhookSecret
    );
    assert_eq!(
        WebhookReceiver::builder("a")
            .secret("")
            .build()
            .unwrap_err(),
        crate::ConfigError::EmptyWebhookSecret
    );
}

#[test]
fn a_signed_body_becomes_a_typed_webhook() {
    let webhook = receiver().verify(&headers(SIGNATURE), BODY).unwrap();
    assert_eq!(
        webhook.event,
        WebhookEvent::UserNotificationOpen(UserNotification {
            instance_id: "inst".into(),
            publish_id: "pubid-1".into(),
            user_id: "alice".into(),
        })
    );
    assert_eq!(webhook.metadata.event_id, "ev-1");
    assert_eq!(webhook.metadata.created_at, "2019-03-11T10:42:16+0000");
    assert_eq!(webhook.metadata.product, "beams");
    assert_eq!(webhook.custom_data, serde_json::json!({"team": "mobile"}));
    assert_eq!(webhook.webhook_id.as_deref(), Some("hook-1"));
    assert_eq!(webhook.request_id.as_deref(), Some("req-1"));
}

#[test]
fn either_hex_case_and_any_configured_secret() {
    let r = WebhookReceiver::builder("other-secret")
        .secret("webhook-secret")
        .build()
        .unwrap();
    for signature in [
        SIGNATURE,
        &SIGNATURE.to_ascii_uppercase(),
        OTHER_SIGNATURE,
        &format!(" {SIGNATURE} "),
    ] {
        assert!(r.verify(&headers(signature), BODY).is_ok(), "{signature}");
    }
}

#[test]
fn anything_else_is_a_401_before_parsing() {
    let r = receiver();
    let mut tampered = BODY.to_vec();
    tampered[20] ^= 1;
    let cases: [(HeaderMap, &[u8], WebhookRejection); 8] = [
        (HeaderMap::new(), BODY, WebhookRejection::MissingSignature),
        (headers(""), BODY, WebhookRejection::MissingSignature),
        (headers("   "), BODY, WebhookRejection::MissingSignature),
        (headers("not-hex"), BODY, WebhookRejection::BadSignature),
        (
            headers(&SIGNATURE[..39]),
            BODY,
            WebhookRejection::BadSignature,
        ),
        (
            headers(OTHER_SIGNATURE),
            BODY,
            WebhookRejection::BadSignature,
        ),
        (
            headers(SHA256_SIGNATURE),
            BODY,
            WebhookRejection::BadSignature,
        ),
        (
            headers(SIGNATURE),
            &tampered,
            WebhookRejection::BadSignature,
        ),
    ];
    for (headers, body, expected) in cases {
        let got = r.verify(&headers, body).unwrap_err();
        assert_eq!(got, expected);
        assert_eq!(got.status(), 401);
    }
    // Even a body that is not JSON is refused for its signature, not parsed.
    assert_eq!(
        r.verify(&headers(SIGNATURE), b"not json").unwrap_err(),
        WebhookRejection::BadSignature
    );
}

#[test]
fn signed_bodies_that_are_not_webhooks_are_400() {
    // Receivers keyed so that these bodies carry a valid signature: sign them here with the
    // receiver's own check (the 401 cases above are the independent ones).
    let secret = "s";
    let r = WebhookReceiver::new(secret).unwrap();
    let sign = |body: &[u8]| {
        let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(body);
        hex::encode(mac.finalize().into_bytes())
    };
    for body in [
        &b"not json"[..],
        b"[]",
        b"{}",
        br#"{"payload":{},"metadata":{}}"#,
        br#"{"payload":{},"metadata":{"event_type":"v1.X"}}"#,
        br#"{"payload":[],"metadata":{"event_type":"v1.X","event_id":"e"}}"#,
        br#"{"payload":{"publish_id":"p"},"metadata":{"event_type":"v1.PublishToUsersAttempt","event_id":"e"}}"#,
    ] {
        let got = r.verify(&headers(&sign(body)), body).unwrap_err();
        assert!(matches!(got, WebhookRejection::NotAWebhook(_)), "{got:?}");
        assert_eq!(got.status(), 400);
    }
    // An unknown event type is taken, as it came.
    let body = br#"{"payload":{"x":1},"metadata":{"event_type":"v2.Future","event_id":"e"}}"#;
    let webhook = r.verify(&headers(&sign(body)), body).unwrap();
    assert_eq!(
        webhook.event,
        WebhookEvent::Other {
            event_type: "v2.Future".into(),
            payload: serde_json::json!({"x": 1})
        }
    );
    assert_eq!(webhook.custom_data, serde_json::json!({}));
}

#[test]
fn head_checks_and_answers() {
    let r = WebhookReceiver::builder("s")
        .body_limit(10)
        .build()
        .unwrap();
    assert!(r.check_head(&Method::POST, None).is_ok());
    assert!(r.check_head(&Method::POST, Some(10)).is_ok());
    assert_eq!(
        r.check_head(&Method::POST, Some(11)),
        Err(WebhookRejection::TooLarge { limit: 10 })
    );
    let res = r.check_head(&Method::GET, None).unwrap_err().to_response();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "POST");
    for rejection in [
        WebhookRejection::MethodNotAllowed,
        WebhookRejection::TooLarge { limit: 10 },
        WebhookRejection::MissingSignature,
        WebhookRejection::BadSignature,
        WebhookRejection::NotAWebhook("x".into()),
        WebhookRejection::BodyUnreadable,
    ] {
        let status = rejection.status();
        let res = rejection.to_response();
        assert_eq!(res.status(), status);
        assert_eq!(res.headers()["content-type"], "application/json");
        assert_eq!(res.headers()["cache-control"], "no-store");
        let body: serde_json::Value = serde_json::from_str(res.body()).unwrap();
        assert_eq!(body["error"], status.canonical_reason().unwrap());
        assert!(body["description"].is_string());
    }
    let webhook = receiver().verify(&headers(SIGNATURE), BODY).unwrap();
    let (outcome, ok) = super::respond(&webhook.metadata, Ok(()));
    assert_eq!(outcome, crate::telemetry::WebhookOutcome::Accepted);
    assert_eq!(
        (ok.status().as_u16(), ok.body().as_str()),
        (200, r#"{"status":"ok"}"#)
    );
    let (outcome, failed) = super::respond(&webhook.metadata, Err("database down".into()));
    assert_eq!(outcome, crate::telemetry::WebhookOutcome::HandlerError);
    assert_eq!(failed.status(), 500);
    assert!(!failed.body().contains("database down"));
}

#[test]
fn secrets_are_required_and_never_shown() {
    assert!(WebhookReceiver::builder("").build().is_err());
    assert!(WebhookReceiver::builder("a").secret("").build().is_err());
    assert!(matches!(
        WebhookReceiver::builder("a").path("nope").build(),
        Err(ConfigError::InvalidPath(_))
    ));
    let r = WebhookReceiver::builder("TOP-SECRET")
        .secret("ALSO-SECRET")
        .build()
        .unwrap();
    let shown = format!("{r:?} {:?}", WebhookReceiver::builder("TOP-SECRET"));
    assert!(
        !shown.contains("TOP-SECRET") && !shown.contains("ALSO-SECRET"),
        "{shown}"
    );
}
