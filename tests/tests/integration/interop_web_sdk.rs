//! The official web SDK's `TokenProvider` (`@pusher/push-notifications-web` 2.1.0, pinned in
//! tests/js) against both example apps, run in Node 20 with its global `fetch` by
//! tests/js/interop-token-provider.mjs.
//!
//! Both apps run in-process on `127.0.0.1:0` in emulator mode with a fixed instance, so every
//! token is checked locally and then verified by PyJWT and Node's `jsonwebtoken`. Sessions are
//! made with reqwest cookie jars and handed to the SDK as its `headers: {Cookie: …}` option
//! (browsers send cookies themselves; Node's fetch has no cookie jar).

use beams_tests::interop::AWKWARD_USER_IDS;
use beams_tests::interop::apps::{App, SECRET_KEY, demo_beams, issuer};
use beams_tests::interop::encode::web_query;
use beams_tests::interop::jwt::{Expected, assert_beams_token, assert_verified_everywhere};
use beams_tests::interop::peers;
use serde_json::{Map, Value, json};

/// One `fetchToken` call: the provider's options and the user id asked for.
fn case(url: &str, user_id: &str, options: Value) -> Value {
    json!({"url": url, "userId": user_id, "options": options})
}

/// Runs the cases through the SDK; one result per case.
async fn token_provider(cases: Vec<Value>) -> Vec<Value> {
    let n = cases.len();
    let out = peers::node("interop-token-provider.mjs")
        .stdin_json(&Value::Array(cases))
        .run_json_async()
        .await;
    let results = out.as_array().expect("an array of results").clone();
    assert_eq!(results.len(), n);
    results
}

/// The token of a successful result, after checking the SDK resolved with exactly `{token}`.
fn token_of<'a>(result: &'a Value, what: &str) -> &'a str {
    assert_eq!(result["ok"], true, "{what}: {result}");
    let value = result["value"]
        .as_object()
        .expect("fetchToken resolves to an object");
    assert_eq!(value.len(), 1, "{what}: exactly the token field: {result}");
    value["token"].as_str().expect("a string token")
}

fn requested_url(result: &Value) -> &str {
    let requests = result["requests"].as_array().expect("requests");
    assert_eq!(requests.len(), 1, "one fetch per fetchToken: {result}");
    requests[0]["url"].as_str().expect("url")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_provider_gets_tokens_for_the_logged_in_user_on_both_apps() {
    let beams = demo_beams().await;
    let apps = App::start_both(&beams).await;
    let mut cases = Vec::new();
    let mut asked = Vec::new();
    for app in &apps {
        for &user in AWKWARD_USER_IDS {
            let session = app.login(user).await;
            cases.push(case(
                &app.auth_url(),
                user,
                json!({"headers": {"Cookie": session.cookie}}),
            ));
            asked.push((app, user));
        }
    }
    let results = token_provider(cases).await;

    let mut tokens = Vec::new();
    for ((app, user), result) in asked.into_iter().zip(&results) {
        let what = format!("{} {user:?}", app.framework().name());
        // The SDK encodes with encodeURIComponent: a space is %20, `+` is %2B.
        assert_eq!(
            requested_url(result),
            format!("{}?{}", app.auth_url(), web_query(user, &[])),
            "{what}"
        );
        let token = token_of(result, &what);
        assert_beams_token(token, user, &issuer());
        tokens.push(Expected::new(token, user));
    }
    let spaced = results[1]["requests"][0]["url"].as_str().unwrap();
    assert!(spaced.ends_with("?user_id=john%20doe"), "{spaced}");
    assert_verified_everywhere(SECRET_KEY, &issuer(), &tokens).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_provider_extra_query_params_and_headers_are_ignored_by_the_route() {
    let beams = demo_beams().await;
    let apps = App::start_both(&beams).await;
    let user = "john+test@example.com";
    // A JSON object: the SDK sees the keys in this (sorted) order.
    let params: Map<String, Value> = [
        ("app version", "2.1.0 (web)"),
        ("filter", "a&b=c"),
        ("lang", "en"),
        ("user", "mallory"),
        ("ünï", "cødé + 😀"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), Value::from(v)))
    .collect();
    let param_pairs: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
        .collect();

    let mut cases = Vec::new();
    let mut tokens = Vec::new();
    for app in &apps {
        let session = app.login(user).await;
        let headers = json!({
            "Cookie": session.cookie,
            "X-Requested-With": "beams-web",
            "Authorization": "Bearer not-for-this-route",
            "Accept": "application/json",
        });
        // Extra params and headers, credentials "include".
        cases.push(case(
            &app.auth_url(),
            user,
            json!({"queryParams": params, "headers": headers, "credentials": "include"}),
        ));
        // A `user_id` in queryParams replaces the argument of fetchToken (object spread).
        cases.push(case(
            &app.auth_url(),
            "somebody-else",
            json!({"queryParams": {"user_id": user}, "headers": {"Cookie": session.cookie}}),
        ));
        // The SDK appends "?" even when the URL has a query: `…?lang=en?user_id=…` carries no
        // user_id parameter, and our 400 says so in words the SDK shows.
        cases.push(case(
            &format!("{}?lang=en", app.auth_url()),
            user,
            json!({"headers": {"Cookie": session.cookie}}),
        ));
    }
    let results = token_provider(cases).await;

    for (app, results) in apps.iter().zip(results.chunks(3)) {
        let name = app.framework().name();
        let [extra, replaced, double_question] = results else {
            unreachable!()
        };

        assert_eq!(
            requested_url(extra),
            format!("{}?{}", app.auth_url(), web_query(user, &param_pairs)),
            "{name}"
        );
        let sent = &extra["requests"][0];
        assert_eq!(sent["credentials"], "include", "{name}");
        assert_eq!(sent["headers"]["X-Requested-With"], "beams-web", "{name}");
        let token = token_of(extra, name);
        assert_beams_token(token, user, &issuer());
        tokens.push(Expected::new(token, user));

        assert_eq!(
            requested_url(replaced),
            format!("{}?user_id=john%2Btest%40example.com", app.auth_url()),
            "{name}"
        );
        let token = token_of(replaced, name);
        assert_beams_token(token, user, &issuer());
        tokens.push(Expected::new(token, user));

        assert_eq!(
            requested_url(double_question),
            format!(
                "{}?lang=en?user_id=john%2Btest%40example.com",
                app.auth_url()
            ),
            "{name}"
        );
        assert_eq!(
            double_question["error"],
            "Unexpected status code 400: Bad Request, The user_id query parameter is required.",
            "{name}: {double_question}"
        );
    }
    assert_verified_everywhere(SECRET_KEY, &issuer(), &tokens).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_provider_errors_show_our_json_never_cannot_parse() {
    let beams = demo_beams().await;
    let apps = App::start_both(&beams).await;
    const NOT_LOGGED_IN: &str =
        "Unexpected status code 401: Unauthorized, You must be logged in to get a Beams Token.";
    const MISMATCH: &str = "Unexpected status code 401: Unauthorized, The requested user_id is not the logged-in user.";

    let mut cases = Vec::new();
    let mut expected = Vec::new();
    for app in &apps {
        let name = app.framework().name();
        let url = app.auth_url();
        let alice = app.login("alice").await;
        let spaced = app.login("john test@example.com").await;

        cases.push(case(&url, "alice", json!({})));
        expected.push((format!("{name}: no session"), NOT_LOGGED_IN));

        cases.push(case(
            &url,
            "alice",
            json!({"headers": {"Cookie": "id=forged-session-id; beams-example-session=forged"}}),
        ));
        expected.push((format!("{name}: forged session cookie"), NOT_LOGGED_IN));

        cases.push(case(
            &url,
            "bob",
            json!({"headers": {"Cookie": alice.cookie}}),
        ));
        expected.push((format!("{name}: alice asks for bob"), MISMATCH));

        // `+` is %2B on the wire, so it is not the space of the logged-in id.
        cases.push(case(
            &url,
            "john+test@example.com",
            json!({"headers": {"Cookie": spaced.cookie}}),
        ));
        expected.push((format!("{name}: plus versus space"), MISMATCH));

        cases.push(case(
            &url,
            "Alice",
            json!({"headers": {"Cookie": alice.cookie}}),
        ));
        expected.push((format!("{name}: case differs"), MISMATCH));

        cases.push(case(&url, "", json!({"headers": {"Cookie": alice.cookie}})));
        expected.push((
            format!("{name}: empty user id"),
            "Unexpected status code 400: Bad Request, The user_id query parameter must not be empty.",
        ));

        cases.push(case(
            &url,
            &"é".repeat(83),
            json!({"headers": {"Cookie": alice.cookie}}),
        ));
        expected.push((
            format!("{name}: 166 bytes"),
            "Unexpected status code 400: Bad Request, The user_id query parameter must be at most 164 bytes of UTF-8.",
        ));
    }
    let results = token_provider(cases).await;
    for ((what, message), result) in expected.iter().zip(&results) {
        assert_eq!(result["ok"], false, "{what}: {result}");
        let error = result["error"].as_str().unwrap();
        assert!(
            !error.contains("Cannot parse error response"),
            "{what}: the SDK could not parse our error body: {error}"
        );
        assert_eq!(error, *message, "{what}");
    }
}
