//! The auth request exactly as the native mobile SDKs put it on the wire, sent as raw bytes
//! over TCP (no URL parser in between) to both example apps:
//!
//! - iOS `BeamsTokenProvider`: `URLComponents.queryItems` = custom params + `user_id`, encoded
//!   with `URLQueryAllowed` minus `&=`, so `+` (and `/?:@;,$!'()*~`) stay literal and
//!   `john+test@example.com` arrives as is. The auth URL's own query is dropped.
//! - Android `BeamsTokenProvider`: OkHttp `HttpUrl.Builder`, auth URL query kept, then
//!   `addQueryParameter("user_id")` and the custom params: `+` is `%2B`, space `%20`.
//!
//! The encoders live in `beams_tests::interop::encode` (with unit tests of their bytes).

use beams_tests::interop::AWKWARD_USER_IDS;
use beams_tests::interop::apps::{App, SECRET_KEY, demo_beams, issuer};
use beams_tests::interop::encode::{android_query, ios_query};
use beams_tests::interop::jwt::{Expected, assert_beams_token, assert_verified_everywhere};
use beams_tests::interop::raw_http::{self, RawResponse};
use serde_json::json;

/// Headers as the SDKs' `AuthData.headers` would add them (the session cookie, a custom one).
fn auth_headers(cookie: &str) -> Vec<(&str, &str)> {
    vec![("Cookie", cookie), ("X-Beams-Client", "mobile")]
}

fn assert_json_headers(response: &RawResponse, what: &str) {
    assert_eq!(
        response.header("content-type"),
        Some("application/json"),
        "{what}"
    );
    assert_eq!(response.header("cache-control"), Some("no-store"), "{what}");
    assert_eq!(
        response.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
}

/// Logs each awkward user in on each app, sends the query `build(user)` with the session
/// cookie, and checks the token; returns the tokens for verification.
async fn tokens_for(apps: &[App], build: impl Fn(&str) -> String) -> Vec<Expected> {
    let mut tokens = Vec::new();
    for app in apps {
        for &user in AWKWARD_USER_IDS {
            let session = app.login(user).await;
            let target = format!("{}?{}", app.auth_path(), build(user));
            let response =
                raw_http::get(app.base_url(), &target, &auth_headers(&session.cookie)).await;
            let what = format!("{} GET {target}", app.framework().name());
            assert_eq!(
                response.status,
                200,
                "{what}: {}",
                String::from_utf8_lossy(&response.body)
            );
            assert_json_headers(&response, &what);
            let body = response.json();
            assert_eq!(body.as_object().map(|o| o.len()), Some(1), "{what}: {body}");
            let token = body["token"].as_str().expect("token").to_owned();
            assert_beams_token(&token, user, &issuer());
            tokens.push(Expected::new(token, user));
        }
    }
    tokens
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ios_query_bytes_get_tokens_from_both_apps() {
    let params = [("platform", "ios"), ("app version", "4.0.0 (1)")];
    // What the bytes look like: `+`, `@`, `/`, `?`, `;`, `,` unescaped.
    assert_eq!(
        ios_query("john+test@example.com", &params),
        "platform=ios&app%20version=4.0.0%20(1)&user_id=john+test@example.com"
    );
    assert_eq!(
        ios_query("semi;colon,comma/slash?q#frag", &[]),
        "user_id=semi;colon,comma/slash?q%23frag"
    );
    let beams = demo_beams().await;
    let apps = App::start_both(&beams).await;
    let tokens = tokens_for(&apps, |user| ios_query(user, &params)).await;
    assert_verified_everywhere(SECRET_KEY, &issuer(), &tokens).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn android_query_bytes_get_tokens_from_both_apps() {
    let params = [("lang", "en"), ("session hint", "a+b=c&d")];
    assert_eq!(
        android_query(Some("client=android"), "john+test@example.com", &params),
        "client=android&user_id=john%2Btest%40example.com&lang=en&session%20hint=a%2Bb%3Dc%26d"
    );
    let beams = demo_beams().await;
    let apps = App::start_both(&beams).await;
    // The auth URL configured in the app is `…/pusher/beams-auth?client=android`.
    let tokens = tokens_for(&apps, |user| {
        android_query(Some("client=android"), user, &params)
    })
    .await;
    assert_verified_everywhere(SECRET_KEY, &issuer(), &tokens).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ios_plus_is_a_literal_plus_and_errors_are_our_json() {
    let beams = demo_beams().await;
    let apps = App::start_both(&beams).await;
    for app in &apps {
        let name = app.framework().name();
        // Logged in as "john test@example.com" (a space): the iOS `+` must not match it.
        let spaced = app.login("john test@example.com").await;
        let target = format!(
            "{}?{}",
            app.auth_path(),
            ios_query("john+test@example.com", &[])
        );
        let response = raw_http::get(app.base_url(), &target, &auth_headers(&spaced.cookie)).await;
        assert_eq!(response.status, 401, "{name}");
        assert_json_headers(&response, name);
        assert_eq!(
            response.json(),
            json!({"error": "Unauthorized", "description": "The requested user_id is not the logged-in user."}),
            "{name}"
        );

        // The same bytes without a session.
        let response = raw_http::get(app.base_url(), &target, &[]).await;
        assert_eq!(response.status, 401, "{name}");
        assert_json_headers(&response, name);
        assert_eq!(
            response.json(),
            json!({"error": "Unauthorized", "description": "You must be logged in to get a Beams Token."}),
            "{name}"
        );

        // iOS with an empty user id (`user_id=`), and a malformed escape no SDK sends.
        for (query, description) in [
            (
                ios_query("", &[]),
                "The user_id query parameter must not be empty.",
            ),
            (
                "user_id=%E2%28".to_owned(),
                "The user_id query parameter must be valid UTF-8.",
            ),
        ] {
            let target = format!("{}?{query}", app.auth_path());
            let response =
                raw_http::get(app.base_url(), &target, &auth_headers(&spaced.cookie)).await;
            assert_eq!(response.status, 400, "{name} {target}");
            assert_json_headers(&response, name);
            assert_eq!(
                response.json(),
                json!({"error": "Bad Request", "description": description}),
                "{name} {target}"
            );
        }
    }
}
