//! [`TimeoutSessionStore`]: an actix-session store whose every call gives up after a timeout.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time;

/// The session state actix-session hands to a store.
type State = HashMap<String, String>;

/// Wraps any actix-session [`SessionStore`] so that each of its calls (load, save, update,
/// update of the TTL, delete) fails once `timeout` has passed, instead of waiting for as long
/// as the store does. actix-session's own `RedisSessionStore` has no timeout: with Redis
/// frozen or unreachable, every request that touches the session hangs. Wrapped, the session
/// middleware fails the request quickly with its own `500` (the failed call's error, a
/// [`SessionStoreTimeout`] when it timed out, is in the error's source chain for your logs and
/// error handlers), and the next request tries the store again.
///
/// The wrapper stops *waiting*; it cannot take back a command the store already sent, so a
/// write to a frozen Redis may still be applied when it thaws.
///
/// ```
/// use std::time::Duration;
///
/// use actix_session::{SessionMiddleware, storage::CookieSessionStore};
/// use actix_web::cookie::Key;
/// use beams_actix::TimeoutSessionStore;
///
/// // With actix-session's `redis-session` feature:
/// // `RedisSessionStore::new(redis_url).await?` in place of the cookie store.
/// let store = TimeoutSessionStore::new(CookieSessionStore::default(), Duration::from_secs(1));
/// assert_eq!(store.timeout(), Duration::from_secs(1));
/// let middleware = SessionMiddleware::new(store, Key::generate());
/// # let _ = middleware;
/// ```
#[derive(Clone)]
pub struct TimeoutSessionStore<S> {
    store: S,
    timeout: Duration,
}

impl<S> TimeoutSessionStore<S> {
    /// `store`, each call bounded by `timeout`.
    #[must_use]
    pub fn new(store: S, timeout: Duration) -> Self {
        Self { store, timeout }
    }

    /// The bound on each call.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.store
    }
}

impl<S> fmt::Debug for TimeoutSessionStore<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the store: it may hold credentials (a Redis URL with a password).
        f.debug_struct("TimeoutSessionStore")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// A [`TimeoutSessionStore`] call that the wrapped store did not finish in time; found in the
/// source chain of the error the session middleware fails the request with.
///
/// ```
/// use std::time::Duration;
///
/// use actix_session::storage::{LoadError, SessionKey, SessionStore};
/// use beams_actix::{SessionStoreTimeout, TimeoutSessionStore};
///
/// /// A store that never answers.
/// struct Frozen;
///
/// impl SessionStore for Frozen {
///     async fn load(&self, _: &SessionKey) -> Result<Option<std::collections::HashMap<String, String>>, LoadError> {
///         std::future::pending().await
///     }
///     # async fn save(&self, _: std::collections::HashMap<String, String>, _: &actix_web::cookie::time::Duration) -> Result<SessionKey, actix_session::storage::SaveError> { std::future::pending().await }
///     # async fn update(&self, _: SessionKey, _: std::collections::HashMap<String, String>, _: &actix_web::cookie::time::Duration) -> Result<SessionKey, actix_session::storage::UpdateError> { std::future::pending().await }
///     # async fn update_ttl(&self, _: &SessionKey, _: &actix_web::cookie::time::Duration) -> anyhow::Result<()> { std::future::pending().await }
///     # async fn delete(&self, _: &SessionKey) -> anyhow::Result<()> { std::future::pending().await }
///     // … save, update, update_ttl and delete likewise.
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let store = TimeoutSessionStore::new(Frozen, Duration::from_millis(10));
/// let key = SessionKey::try_from("k".repeat(64)).unwrap();
/// let Err(LoadError::Other(error)) = store.load(&key).await else { panic!() };
/// assert!(error.downcast_ref::<SessionStoreTimeout>().is_some());
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionStoreTimeout {
    /// The bound that passed.
    pub timeout: Duration,
}

impl fmt::Display for SessionStoreTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the session store did not answer within {:?}",
            self.timeout
        )
    }
}

impl std::error::Error for SessionStoreTimeout {}

impl<S> TimeoutSessionStore<S> {
    /// `call`, or `timed_out(SessionStoreTimeout)` once the timeout has passed.
    async fn within<T, E>(
        &self,
        call: impl Future<Output = Result<T, E>>,
        timed_out: impl FnOnce(anyhow::Error) -> E,
    ) -> Result<T, E> {
        match actix_web::rt::time::timeout(self.timeout, call).await {
            Ok(result) => result,
            Err(_) => Err(timed_out(anyhow::Error::new(SessionStoreTimeout {
                timeout: self.timeout,
            }))),
        }
    }
}

impl<S: SessionStore> SessionStore for TimeoutSessionStore<S> {
    async fn load(&self, session_key: &SessionKey) -> Result<Option<State>, LoadError> {
        self.within(self.store.load(session_key), LoadError::Other)
            .await
    }

    async fn save(
        &self,
        session_state: State,
        ttl: &time::Duration,
    ) -> Result<SessionKey, SaveError> {
        self.within(self.store.save(session_state, ttl), SaveError::Other)
            .await
    }

    async fn update(
        &self,
        session_key: SessionKey,
        session_state: State,
        ttl: &time::Duration,
    ) -> Result<SessionKey, UpdateError> {
        let call = self.store.update(session_key, session_state, ttl);
        self.within(call, UpdateError::Other).await
    }

    async fn update_ttl(
        &self,
        session_key: &SessionKey,
        ttl: &time::Duration,
    ) -> anyhow::Result<()> {
        self.within(self.store.update_ttl(session_key, ttl), |e| e)
            .await
    }

    async fn delete(&self, session_key: &SessionKey) -> anyhow::Result<()> {
        self.within(self.store.delete(session_key), |e| e).await
    }
}
