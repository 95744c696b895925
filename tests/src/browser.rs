//! What the example apps' HTTP tests share: a cookie-keeping client, the demo's login, and
//! the headers every answer of the auth route carries.

use crate::process::AppProcess;

/// A `reqwest` client that keeps cookies, as a browser does.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("a reqwest client")
}

/// `POST /login` with `username` on `app` through `client` (whose cookie store, if it has
/// one, keeps the session).
pub async fn login(
    client: &reqwest::Client,
    app: &AppProcess,
    username: &str,
) -> reqwest::Response {
    client
        .post(app.url("/login"))
        .form(&[("username", username)])
        .send()
        .await
        .expect("the app answers /login")
}

/// Asserts the three headers every answer of the auth route carries.
pub fn assert_route_headers(res: &reqwest::Response) {
    let headers = res.headers();
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["x-content-type-options"], "nosniff");
}
