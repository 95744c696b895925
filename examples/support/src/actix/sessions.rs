//! Where the app keeps its actix-session sessions: in this process's memory (one process),
//! or in Redis through actix-session's own `RedisSessionStore` (shared by every replica).
//!
//! Either way the session stays on the server and the cookie carries only a random key, so
//! logout ([`Session::purge`]) revokes the session for every copy of the cookie.
//! actix-session's `CookieSessionStore`, by contrast, keeps the whole session in the cookie,
//! so an old copy stays valid until the key changes.
//!
//! [`Session::purge`]: actix_session::Session::purge

use std::collections::HashMap;
use std::time::{Duration, Instant};

use actix_session::SessionMiddleware;
use actix_session::storage::{
    LoadError, RedisSessionStore, SaveError, SessionKey, SessionStore, UpdateError,
    generate_session_key,
};
use actix_web::cookie::{Key, time};
use beams_actix::TimeoutSessionStore;

use crate::settings::{Error, Settings, env_var};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "beams-example-session";

/// `SESSION_KEY`: the key that signs and encrypts the session cookie, at least 64 bytes;
/// every replica must have the same one. `None` when unset (the app then generates one, good
/// for one process only).
pub fn session_key_from_env() -> Result<Option<Key>, Error> {
    env_var("SESSION_KEY")
        .map(|key| {
            Key::try_from(key.as_bytes()).map_err(|_| {
                Error::new(format!(
                    "SESSION_KEY must be at least 64 bytes (got {}); generate one with \
                     `head -c 48 /dev/urandom | base64`",
                    key.len()
                ))
            })
        })
        .transpose()
}

/// What the session middleware of every worker shares: the key that encrypts the session
/// cookie and the server-side store the cookie points into. Build one per process and clone it
/// into each worker (`HttpServer::new` runs its factory once per worker).
#[derive(Clone)]
pub struct Sessions {
    key: Key,
    store: AppStore,
}

impl Sessions {
    /// Sessions encrypted with `key`, in `store`.
    pub fn new(key: Key, store: AppStore) -> Self {
        Self { key, store }
    }

    /// Sessions that last as long as the process: a fresh random key and an empty in-memory
    /// store.
    pub fn generate() -> Self {
        Self::new(
            Key::generate(),
            AppStore::Memory(MemorySessionStore::new(Settings::DEFAULT_SESSION_CAPACITY)),
        )
    }

    /// The sessions `settings` ask for: in Redis with `REDIS_URL`, else in memory; encrypted
    /// with `SESSION_KEY` ([`session_key_from_env`]), else a generated key.
    pub async fn from_settings(settings: &Settings) -> Result<Self, Error> {
        let session_key = session_key_from_env()?;
        let store = match &settings.redis_url {
            Some(url) => AppStore::redis(url).await?,
            None => AppStore::Memory(MemorySessionStore::new(settings.session_capacity)),
        };
        if settings.redis_url.is_some() && session_key.is_none() {
            tracing::warn!(
                "REDIS_URL is set without SESSION_KEY: the generated cookie key is this process's \
                 own, so other replicas cannot read its sessions"
            );
        }
        let key = session_key.unwrap_or_else(Key::generate);
        Ok(Self::new(key, store))
    }

    /// The session layer: the cookie carries an encrypted random key, the session stays in
    /// the store, and logout deletes it there, so a copy of the cookie taken before logout is
    /// worthless afterwards. A store that fails fails the request with actix-session's own
    /// `500`, which [`session_unavailable`](super::session_unavailable) turns into a `503`.
    ///
    /// The cookie is not marked `Secure` because the example serves plain http on localhost.
    pub fn middleware(&self) -> SessionMiddleware<AppStore> {
        SessionMiddleware::builder(self.store.clone(), self.key.clone())
            .cookie_name(SESSION_COOKIE.to_owned())
            .cookie_secure(false)
            .build()
    }
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("Sessions")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// The session state actix-session hands to a store.
type State = HashMap<String, String>;

/// Sessions never live longer than this, whatever TTL actix-session asks for.
const MAX_TTL: Duration = Duration::from_secs(366 * 24 * 60 * 60);

/// How long one Redis operation may take before the request fails (a `503`, see
/// [`session_unavailable`](super::session_unavailable)): a Redis that is down or paused never
/// makes a request hang.
pub const REDIS_TIMEOUT: Duration = Duration::from_millis(500);

/// An in-memory [`SessionStore`]: at most a given number of sessions (a moka cache), each
/// dropped when it expires. Clone it into every worker so that they share the sessions.
///
/// ```
/// use actix_session::SessionMiddleware;
/// use actix_web::cookie::Key;
/// use example_support::actix::MemorySessionStore;
///
/// let store = MemorySessionStore::new(1_000);
/// let middleware = SessionMiddleware::new(store.clone(), Key::generate());
/// # let _ = middleware;
/// assert!(store.is_empty());
/// ```
#[derive(Clone)]
pub struct MemorySessionStore {
    cache: moka::sync::Cache<String, Entry>,
}

#[derive(Clone)]
struct Entry {
    state: State,
    ttl: Duration,
}

/// Each entry lives as long as the TTL actix-session gave it, from its last write.
struct EntryExpiry;

impl moka::Expiry<String, Entry> for EntryExpiry {
    fn expire_after_create(&self, _: &String, entry: &Entry, _: Instant) -> Option<Duration> {
        Some(entry.ttl)
    }

    fn expire_after_update(
        &self,
        _: &String,
        entry: &Entry,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(entry.ttl)
    }
}

impl MemorySessionStore {
    /// A store of at most `capacity` sessions.
    pub fn new(capacity: u64) -> Self {
        Self {
            cache: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .expire_after(EntryExpiry)
                .build(),
        }
    }

    /// How many sessions the store holds.
    pub fn len(&self) -> u64 {
        self.cache.run_pending_tasks();
        self.cache.entry_count()
    }

    /// Whether the store holds no session.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn insert_new(&self, state: State, ttl: &time::Duration) -> SessionKey {
        // 64 random alphanumerics: a clash is practically impossible, but never overwrite.
        loop {
            let key = generate_session_key();
            let entry = self
                .cache
                .entry(key.as_ref().to_owned())
                .or_insert_with(|| Entry {
                    state: state.clone(),
                    ttl: ttl_of(ttl),
                });
            if entry.is_fresh() {
                return key;
            }
        }
    }
}

impl std::fmt::Debug for MemorySessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the keys or the states: they are credentials and user data.
        f.debug_struct("MemorySessionStore")
            .field("sessions", &self.len())
            .finish()
    }
}

fn ttl_of(ttl: &time::Duration) -> Duration {
    // A negative TTL means "already expired".
    Duration::try_from(*ttl).unwrap_or_default().min(MAX_TTL)
}

impl SessionStore for MemorySessionStore {
    async fn load(&self, session_key: &SessionKey) -> Result<Option<State>, LoadError> {
        Ok(self.cache.get(session_key.as_ref()).map(|e| e.state))
    }

    async fn save(
        &self,
        session_state: State,
        ttl: &time::Duration,
    ) -> Result<SessionKey, SaveError> {
        Ok(self.insert_new(session_state, ttl))
    }

    async fn update(
        &self,
        session_key: SessionKey,
        session_state: State,
        ttl: &time::Duration,
    ) -> Result<SessionKey, UpdateError> {
        let entry = Entry {
            state: session_state,
            ttl: ttl_of(ttl),
        };
        if self.cache.contains_key(session_key.as_ref()) {
            self.cache.insert(session_key.as_ref().to_owned(), entry);
            return Ok(session_key);
        }
        // Gone (expired, or deleted by a logout elsewhere): the state goes under a fresh key,
        // as actix-session's Redis store does, and the old key stays dead.
        Ok(self.insert_new(entry.state, ttl))
    }

    async fn update_ttl(
        &self,
        session_key: &SessionKey,
        ttl: &time::Duration,
    ) -> anyhow::Result<()> {
        if let Some(mut entry) = self.cache.get(session_key.as_ref()) {
            entry.ttl = ttl_of(ttl);
            self.cache.insert(session_key.as_ref().to_owned(), entry);
        }
        Ok(())
    }

    async fn delete(&self, session_key: &SessionKey) -> anyhow::Result<()> {
        self.cache.invalidate(session_key.as_ref());
        Ok(())
    }
}

/// The app's session store: [`MemorySessionStore`], or actix-session's `RedisSessionStore` on
/// a connection pool whose every step gives up after [`REDIS_TIMEOUT`], each whole operation
/// bounded as long by beams-actix's `TimeoutSessionStore`.
#[derive(Clone)]
pub enum AppStore {
    /// In this process.
    Memory(MemorySessionStore),
    /// In Redis, shared by every replica.
    Redis(TimeoutSessionStore<RedisSessionStore>),
}

impl std::fmt::Debug for AppStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Memory(store) => store.fmt(f),
            Self::Redis(store) => store.fmt(f),
        }
    }
}

impl AppStore {
    /// actix-session's `RedisSessionStore` on a deadpool pool for the Redis at `url`: waiting
    /// for, creating and checking a connection each time out after [`REDIS_TIMEOUT`]. The
    /// pool connects lazily, so the app starts while Redis is down (and answers 503 until it
    /// is back).
    pub async fn redis(url: &str) -> Result<Self, Error> {
        let mut config = deadpool_redis::Config::from_url(url);
        let mut pool = deadpool_redis::PoolConfig::new(16);
        pool.timeouts = deadpool_redis::Timeouts {
            wait: Some(REDIS_TIMEOUT),
            create: Some(REDIS_TIMEOUT),
            recycle: Some(REDIS_TIMEOUT),
        };
        config.pool = Some(pool);
        let pool = config
            .create_pool(Some(deadpool_redis::Runtime::Tokio1))
            .map_err(|e| Error::new(format!("REDIS_URL: {e}")))?;
        let store = RedisSessionStore::new_pooled(pool)
            .await
            .map_err(|e| Error::new(format!("REDIS_URL: {e}")))?;
        Ok(Self::Redis(TimeoutSessionStore::new(store, REDIS_TIMEOUT)))
    }
}

impl SessionStore for AppStore {
    async fn load(&self, session_key: &SessionKey) -> Result<Option<State>, LoadError> {
        match self {
            Self::Memory(store) => store.load(session_key).await,
            Self::Redis(store) => store.load(session_key).await,
        }
    }

    async fn save(&self, state: State, ttl: &time::Duration) -> Result<SessionKey, SaveError> {
        match self {
            Self::Memory(store) => store.save(state, ttl).await,
            Self::Redis(store) => store.save(state, ttl).await,
        }
    }

    async fn update(
        &self,
        key: SessionKey,
        state: State,
        ttl: &time::Duration,
    ) -> Result<SessionKey, UpdateError> {
        match self {
            Self::Memory(store) => store.update(key, state, ttl).await,
            Self::Redis(store) => store.update(key, state, ttl).await,
        }
    }

    async fn update_ttl(&self, key: &SessionKey, ttl: &time::Duration) -> anyhow::Result<()> {
        match self {
            Self::Memory(store) => store.update_ttl(key, ttl).await,
            Self::Redis(store) => store.update_ttl(key, ttl).await,
        }
    }

    async fn delete(&self, key: &SessionKey) -> anyhow::Result<()> {
        match self {
            Self::Memory(store) => store.delete(key).await,
            Self::Redis(store) => store.delete(key).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(user: &str) -> State {
        HashMap::from([("user_id".to_owned(), format!("\"{user}\""))])
    }

    fn day() -> time::Duration {
        time::Duration::days(1)
    }

    #[actix_web::test]
    async fn save_load_update_delete() {
        let store = MemorySessionStore::new(100);
        let key = store.save(state("alice"), &day()).await.unwrap();
        assert_eq!(key.as_ref().len(), 64);
        assert_eq!(store.load(&key).await.unwrap(), Some(state("alice")));

        let same = store
            .update(
                key.as_ref().to_owned().try_into().unwrap(),
                state("bob"),
                &day(),
            )
            .await
            .unwrap();
        assert_eq!(same.as_ref(), key.as_ref(), "an update keeps the key");
        assert_eq!(store.load(&key).await.unwrap(), Some(state("bob")));

        store.delete(&key).await.unwrap();
        assert_eq!(store.load(&key).await.unwrap(), None);
        assert_eq!(store.len(), 0);
    }

    #[actix_web::test]
    async fn a_deleted_key_is_never_revived_by_an_update() {
        let store = MemorySessionStore::new(100);
        let key = store.save(state("alice"), &day()).await.unwrap();
        let old: String = key.as_ref().to_owned();
        store.delete(&key).await.unwrap();
        let new = store
            .update(old.clone().try_into().unwrap(), state("alice"), &day())
            .await
            .unwrap();
        assert_ne!(new.as_ref(), old);
        assert_eq!(
            store.load(&old.try_into().unwrap()).await.unwrap(),
            None,
            "the logged-out key stays dead"
        );
        assert_eq!(store.load(&new).await.unwrap(), Some(state("alice")));
    }

    #[actix_web::test]
    async fn expired_sessions_load_as_none_and_are_dropped() {
        let store = MemorySessionStore::new(100);
        for ttl in [time::Duration::ZERO, time::Duration::seconds(-5)] {
            let key = store.save(state("alice"), &ttl).await.unwrap();
            assert_eq!(store.load(&key).await.unwrap(), None);
            store.update_ttl(&key, &day()).await.unwrap();
            assert_eq!(store.load(&key).await.unwrap(), None, "no revival by TTL");
        }
        // moka drops expired entries in its own housekeeping; they are never served.
    }

    #[actix_web::test]
    async fn update_ttl_extends_a_live_session() {
        let store = MemorySessionStore::new(100);
        let key = store
            .save(state("alice"), &time::Duration::ZERO)
            .await
            .unwrap();
        // Expired at once: extending it is too late.
        store.update_ttl(&key, &day()).await.unwrap();
        assert_eq!(store.load(&key).await.unwrap(), None);

        let key = store.save(state("alice"), &day()).await.unwrap();
        store.update_ttl(&key, &time::Duration::ZERO).await.unwrap();
        assert_eq!(store.load(&key).await.unwrap(), None, "a zero TTL ends it");
    }

    #[actix_web::test]
    async fn the_store_holds_at_most_its_capacity() {
        let store = MemorySessionStore::new(50);
        for i in 0..1_000 {
            store.save(state(&format!("u{i}")), &day()).await.unwrap();
        }
        let held = store.len();
        assert!(held <= 50, "{held} sessions held");
        assert!(held > 0);
    }

    #[actix_web::test]
    async fn huge_ttls_are_capped_not_overflowed() {
        let store = MemorySessionStore::new(100);
        let key = store
            .save(state("alice"), &time::Duration::MAX)
            .await
            .unwrap();
        assert_eq!(store.load(&key).await.unwrap(), Some(state("alice")));
    }

    #[test]
    fn debug_shows_no_keys_or_states() {
        let store = MemorySessionStore::new(100);
        let key = actix_web::rt::System::new()
            .block_on(store.save(state("alice"), &day()))
            .unwrap();
        let shown = format!("{store:?}");
        assert_eq!(shown, "MemorySessionStore { sessions: 1 }");
        assert!(!shown.contains(key.as_ref()));
    }
}
