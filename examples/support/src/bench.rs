//! `GET /bench/bare`, for the benchmark binaries only (bench/load.sh, bench/profile.sh,
//! bench/instructions.sh): the same session extractor as the Beams route, answering a JSON
//! body and headers of the same size as the route's, without the query check and the token.
//! The route-vs-bare throughput ratio is the route's own cost.

use beams_core::{BeamsAuth, UserId};

use crate::api::USER_KEY;

/// The user the benchmarks log in as; `/bench/bare` answers with a body as long as this
/// user's `{"token":"…"}`.
pub const BENCH_USER: &str = "bench-user";

/// The path of the bare route.
pub const BARE_PATH: &str = "/bench/bare";

/// `{"token":"xxx…"}` as long as [`BENCH_USER`]'s token from `auth`.
fn bare_body(auth: &BeamsAuth) -> String {
    let user = UserId::new(BENCH_USER).expect("a valid user id");
    let token_len = auth.issuer().issue(&user).map_or(0, |t| t.as_str().len());
    format!("{{\"token\":\"{}\"}}", "x".repeat(token_len))
}

/// The bare route for the axum app: merge it before the session layer.
#[cfg(feature = "axum")]
pub fn axum_routes<S: Clone + Send + Sync + 'static>(auth: &BeamsAuth) -> axum::Router<S> {
    use axum::http::{HeaderValue, StatusCode, header};
    use tower_sessions::Session;

    let body: std::sync::Arc<str> = bare_body(auth).into();
    axum::Router::new().route(
        BARE_PATH,
        axum::routing::get(move |session: Session| async move {
            let status = match session.get::<String>(USER_KEY).await {
                Ok(Some(_)) => StatusCode::OK,
                _ => StatusCode::UNAUTHORIZED,
            };
            let mut res = http::Response::new(body.to_string());
            *res.status_mut() = status;
            let headers = res.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            headers.insert(
                "x-content-type-options",
                HeaderValue::from_static("nosniff"),
            );
            res
        }),
    )
}

/// The bare route for the actix-web app: configure it after the app's routes.
#[cfg(feature = "actix")]
pub fn actix_routes(auth: &BeamsAuth) -> impl FnOnce(&mut actix_web::web::ServiceConfig) + use<> {
    use actix_session::Session;
    use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
    use actix_web::{HttpResponse, web};

    let body: std::rc::Rc<str> = bare_body(auth).into();
    move |config: &mut web::ServiceConfig| {
        config.route(
            BARE_PATH,
            web::get().to(move |session: Session| {
                let body = body.clone();
                async move {
                    let mut res = match session.get::<String>(USER_KEY) {
                        Ok(Some(_)) => HttpResponse::Ok(),
                        _ => HttpResponse::Unauthorized(),
                    };
                    res.insert_header((CONTENT_TYPE, "application/json"))
                        .insert_header((CACHE_CONTROL, "no-store"))
                        .insert_header(("x-content-type-options", "nosniff"))
                        .body(body.to_string())
                }
            }),
        );
    }
}
