//! The Beams auth route on top of axum-login.
//!
//! axum-login's `AuthSession<Backend>` already knows the logged-in user; the Beams route only
//! needs a closure that reads it. A tiny in-memory backend stands in for a real user store.
//!
//! ```text
//! BEAMS_INSTANCE_ID=… BEAMS_SECRET_KEY=… cargo run -p beams-axum --example axum_login
//! curl -c jar -d 'username=alice&password=wonderland' http://127.0.0.1:3003/login
//! curl -b jar 'http://127.0.0.1:3003/pusher/beams-auth?user_id=alice'
//! ```

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use axum::http::StatusCode;
use axum::routing::post;
use axum::{Form, Router};
// axum-login 0.18 is built on tower-sessions 0.14: take the session layer from its re-export
// so the versions match.
use axum_login::tower_sessions::{MemoryStore, SessionManagerLayer};
use axum_login::{AuthManagerLayerBuilder, AuthSession, AuthUser, AuthnBackend};
use beams_axum::{BeamsAuth, Instance};
use serde::Deserialize;

#[derive(Clone, Debug)]
struct User {
    username: String,
    password: String,
}

impl AuthUser for User {
    type Id = String;

    fn id(&self) -> String {
        self.username.clone()
    }

    fn session_auth_hash(&self) -> &[u8] {
        // A real backend uses a password hash: changing it ends existing sessions.
        self.password.as_bytes()
    }
}

#[derive(Clone, Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

/// Users by name.
#[derive(Clone, Default)]
struct Backend {
    users: Arc<HashMap<String, User>>,
}

impl AuthnBackend for Backend {
    type User = User;
    type Credentials = Credentials;
    type Error = Infallible;

    async fn authenticate(&self, creds: Credentials) -> Result<Option<User>, Infallible> {
        Ok(self
            .users
            .get(&creds.username)
            .filter(|user| user.password == creds.password)
            .cloned())
    }

    async fn get_user(&self, username: &String) -> Result<Option<User>, Infallible> {
        Ok(self.users.get(username).cloned())
    }
}

async fn login(mut auth: AuthSession<Backend>, Form(creds): Form<Credentials>) -> StatusCode {
    match auth.authenticate(creds).await {
        Ok(Some(user)) => match auth.login(&user).await {
            Ok(()) => StatusCode::NO_CONTENT,
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
        },
        Ok(None) => StatusCode::UNAUTHORIZED,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn app(beams: BeamsAuth, backend: Backend) -> Router {
    let session_layer = SessionManagerLayer::new(MemoryStore::default()).with_secure(false);
    Router::new()
        .route("/login", post(login))
        // The Beams route reads the user axum-login has loaded for this request.
        .merge(beams_axum::router(
            beams,
            |auth: AuthSession<Backend>| async move { auth.user.map(|user| user.username) },
        ))
        // Layers after the routes, so they wrap the Beams route too.
        .layer(AuthManagerLayerBuilder::new(backend, session_layer).build())
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
    let users = ["alice", "bob"].map(|name| {
        let user = User {
            username: name.to_owned(),
            password: "wonderland".to_owned(),
        };
        (user.username.clone(), user)
    });
    let backend = Backend {
        users: Arc::new(HashMap::from(users)),
    };
    let port = std::env::var("PORT").unwrap_or_else(|_| "3003".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app(beams, backend)).await?;
    Ok(())
}
