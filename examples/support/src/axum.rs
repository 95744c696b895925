//! The axum app's machinery: where tower-sessions keeps its sessions (bounded in memory, or
//! Redis with timeouts), the cross-site refusal, and [`ApiError`] as an axum response.

use std::time::Duration;

use async_trait::async_trait;
use axum::Json;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tower_sessions::SessionStore;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store;
use tower_sessions_moka_store::MokaStore;
use tower_sessions_redis_store::RedisStore;
use tower_sessions_redis_store::fred::prelude::{
    Builder, ClientLike, Config, Pool, ReconnectPolicy,
};

use crate::api::{ApiError, is_cross_site};
use crate::settings::{Error, Settings};

/// How long one session-store operation may take before the request is answered `503`.
pub const STORE_TIMEOUT: Duration = Duration::from_millis(500);

/// Where the sessions are: in memory (at most a given number), or in Redis (shared by every
/// replica).
#[derive(Debug, Clone)]
pub enum AppStore {
    /// In this process ([`memory_store`]).
    Memory(MokaStore),
    /// In Redis ([`redis_store`]).
    Redis(RedisStore<Pool>),
}

impl AppStore {
    /// The store `settings` ask for: in Redis with `REDIS_URL`, else in memory, at most
    /// `SESSION_CAPACITY` sessions.
    pub async fn from_settings(settings: &Settings) -> Result<Self, Error> {
        Ok(match &settings.redis_url {
            Some(url) => {
                tracing::info!("sessions in Redis");
                Self::Redis(redis_store(url).await?)
            }
            None => Self::Memory(memory_store(settings.session_capacity)),
        })
    }
}

#[async_trait]
impl SessionStore for AppStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            Self::Memory(store) => store.create(record).await,
            Self::Redis(store) => store.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            Self::Memory(store) => store.save(record).await,
            Self::Redis(store) => store.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            Self::Memory(store) => store.load(id).await,
            Self::Redis(store) => store.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            Self::Memory(store) => store.delete(id).await,
            Self::Redis(store) => store.delete(id).await,
        }
    }
}

/// Sessions in memory: at most `capacity`, each dropped when it expires.
///
/// ```
/// use tower_sessions::SessionManagerLayer;
///
/// let layer = SessionManagerLayer::new(example_support::axum::memory_store(1_000));
/// # let _ = layer;
/// ```
pub fn memory_store(capacity: u64) -> MokaStore {
    MokaStore::new(Some(capacity))
}

/// Sessions in the Redis at `url`, shared by every replica. Each operation gives up after
/// [`STORE_TIMEOUT`] (so a Redis that is down or paused makes requests fail quickly, never
/// hang), and the connection is re-established in the background when Redis returns.
pub async fn redis_store(url: &str) -> Result<RedisStore<Pool>, Error> {
    let config = Config::from_url(url).map_err(|e| Error::new(format!("REDIS_URL: {e}")))?;
    let pool = Builder::from_config(config)
        .with_connection_config(|c| {
            c.connection_timeout = STORE_TIMEOUT;
            c.internal_command_timeout = STORE_TIMEOUT;
        })
        .with_performance_config(|p| p.default_command_timeout = STORE_TIMEOUT)
        .set_policy(ReconnectPolicy::new_constant(0, 200))
        .build_pool(2)
        .map_err(|e| Error::new(format!("REDIS_URL: {e}")))?;
    pool.connect();
    if tokio::time::timeout(Duration::from_secs(2), pool.wait_for_connect())
        .await
        .is_err()
    {
        tracing::warn!("Redis is not reachable yet; session requests answer 503 until it is");
    }
    Ok(RedisStore::new(pool))
}

/// Middleware (`axum::middleware::from_fn(refuse_cross_site)`) that refuses a state-changing
/// request from another site with a `403` (see [`is_cross_site`]).
pub async fn refuse_cross_site(request: Request, next: Next) -> Response {
    let headers = request.headers();
    let header = |name: &str| headers.get(name).map(HeaderValue::as_bytes);
    let cross_site = is_cross_site(
        header("sec-fetch-site"),
        header(header::ORIGIN.as_str()),
        header(header::HOST.as_str()),
    );
    if cross_site {
        return ApiError::cross_site().into_response();
    }
    next.run(request).await
}

/// JSON that no cache keeps.
pub fn no_store(body: Value) -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "no-store")], Json(body))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, no_store(self.body())).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// A form that could not be read: `413` when too large, else `400`, saying `what` to send.
pub fn form_error(rejection: &axum::extract::rejection::FormRejection, what: &str) -> ApiError {
    ApiError::form(rejection.status().as_u16(), what)
}
