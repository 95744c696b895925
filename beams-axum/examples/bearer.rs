//! The Beams auth route for mobile clients that authenticate with a bearer token.
//!
//! The Android and iOS SDKs send whatever headers the app puts in their `AuthData` (for
//! example `Authorization: Bearer <token>`) with the token request. Here the host's own
//! `BearerUser` extractor checks the token against a table in the host's state, and the Beams
//! route uses that extractor as is.
//!
//! ```text
//! BEAMS_INSTANCE_ID=… BEAMS_SECRET_KEY=… cargo run -p beams-axum --example bearer
//! curl -H 'Authorization: Bearer alice-token' 'http://127.0.0.1:3002/pusher/beams-auth?user_id=alice'
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use beams_axum::{BeamsAuth, Instance};

/// The host's state: which bearer token belongs to which user.
#[derive(Clone)]
struct AppState {
    tokens: Arc<HashMap<&'static str, &'static str>>,
}

/// The caller, as proven by its `Authorization: Bearer …` header.
struct BearerUser(String);

impl FromRequestParts<AppState> for BearerUser {
    type Rejection = (StatusCode, [(&'static str, HeaderValue); 1]);

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        match token.and_then(|t| state.tokens.get(t)) {
            Some(user) => Ok(Self((*user).to_owned())),
            // A 4xx rejection: the Beams route answers 401 and logs it at debug.
            None => Err((
                StatusCode::UNAUTHORIZED,
                [("www-authenticate", HeaderValue::from_static("Bearer"))],
            )),
        }
    }
}

fn app(beams: BeamsAuth, state: AppState) -> Router {
    Router::new()
        .merge(beams_axum::router(beams, |user: BearerUser| async move {
            Some(user.0)
        }))
        .with_state(state)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,beams=debug".into()),
        )
        .init();
    let beams = BeamsAuth::new(&Instance::from_env()?);
    let state = AppState {
        tokens: Arc::new(HashMap::from([
            ("alice-token", "alice"),
            ("bob-token", "bob"),
        ])),
    };
    let port = std::env::var("PORT").unwrap_or_else(|_| "3002".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app(beams, state)).await?;
    Ok(())
}
