//! A server-side session store for actix-session, kept in this process's memory.
//!
//! The session cookie then carries only a random key (encrypted by actix-session), and the
//! session itself stays on the server. So logout ([`Session::purge`]) revokes the session for
//! every copy of the cookie: a cookie copied before logout no longer names a logged-in user,
//! and the Beams route answers 401 to it. actix-session's `CookieSessionStore`, by contrast,
//! keeps the whole session in the cookie, so an old copy stays valid until the key changes.
//!
//! One process only, emptied on restart, and it grows with every login until sessions expire
//! (expired ones are dropped as they are met and in sweeps as the store grows): fine for the
//! demo. An app running several processes needs a shared store, such as actix-session's Redis
//! store.
//!
//! [`Session::purge`]: actix_session::Session::purge

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use actix_session::storage::{
    LoadError, SaveError, SessionKey, SessionStore, UpdateError, generate_session_key,
};
use actix_web::cookie::time::Duration;

/// The session state actix-session hands to a store.
type State = HashMap<String, String>;

/// Sessions never live longer than this, whatever TTL actix-session asks for.
const MAX_TTL: std::time::Duration = std::time::Duration::from_secs(366 * 24 * 60 * 60);

/// The first sweep of expired sessions happens at this many sessions.
const FIRST_SWEEP_AT: usize = 1024;

/// An in-memory [`SessionStore`]: clone it into every worker so that they share the sessions.
///
/// ```
/// use actix_session::SessionMiddleware;
/// use actix_web::cookie::Key;
/// use example_actix::MemorySessionStore;
///
/// let store = MemorySessionStore::default();
/// let middleware = SessionMiddleware::new(store.clone(), Key::generate());
/// # let _ = middleware;
/// assert!(store.is_empty());
/// ```
#[derive(Clone, Default)]
pub struct MemorySessionStore {
    inner: Arc<Mutex<Sessions>>,
}

#[derive(Default)]
struct Sessions {
    by_key: HashMap<String, Entry>,
    /// Sweep expired sessions when a save finds at least this many.
    sweep_at: usize,
}

struct Entry {
    state: State,
    expires: Instant,
}

impl MemorySessionStore {
    /// How many sessions the store holds (expired ones not yet dropped included).
    pub fn len(&self) -> usize {
        self.lock().by_key.len()
    }

    /// Whether the store holds no session.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, Sessions> {
        // Every change below is a single map operation, so a panic elsewhere while the lock
        // was held cannot have left the map half-changed: keep using it.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
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

fn expiry(now: Instant, ttl: &Duration) -> Instant {
    // A negative TTL means "already expired".
    let ttl = std::time::Duration::try_from(*ttl).unwrap_or_default();
    now + ttl.min(MAX_TTL)
}

impl Sessions {
    fn live_mut(&mut self, key: &str, now: Instant) -> Option<&mut Entry> {
        if self.by_key.get(key).is_some_and(|e| e.expires <= now) {
            self.by_key.remove(key);
        }
        self.by_key.get_mut(key)
    }

    fn insert_new(&mut self, state: State, ttl: &Duration, now: Instant) -> SessionKey {
        if self.by_key.len() >= self.sweep_at.max(FIRST_SWEEP_AT) {
            self.by_key.retain(|_, e| e.expires > now);
            // Sweep again only once the store has doubled, so sweeps cost O(1) per save.
            self.sweep_at = self.by_key.len() * 2;
        }
        let mut key = generate_session_key();
        // 64 random alphanumerics: a clash is practically impossible, but never overwrite.
        while self.by_key.contains_key(key.as_ref()) {
            key = generate_session_key();
        }
        let expires = expiry(now, ttl);
        self.by_key
            .insert(key.as_ref().to_owned(), Entry { state, expires });
        key
    }
}

impl SessionStore for MemorySessionStore {
    async fn load(&self, session_key: &SessionKey) -> Result<Option<State>, LoadError> {
        let mut sessions = self.lock();
        Ok(sessions
            .live_mut(session_key.as_ref(), Instant::now())
            .map(|e| e.state.clone()))
    }

    async fn save(&self, session_state: State, ttl: &Duration) -> Result<SessionKey, SaveError> {
        Ok(self.lock().insert_new(session_state, ttl, Instant::now()))
    }

    async fn update(
        &self,
        session_key: SessionKey,
        session_state: State,
        ttl: &Duration,
    ) -> Result<SessionKey, UpdateError> {
        let now = Instant::now();
        let mut sessions = self.lock();
        match sessions.live_mut(session_key.as_ref(), now) {
            Some(entry) => {
                entry.state = session_state;
                entry.expires = expiry(now, ttl);
                Ok(session_key)
            }
            // Gone (expired, or deleted by a logout elsewhere): the state goes under a fresh key,
            // as actix-session's Redis store does, and the old key stays dead. Not reached in
            // this app: only login (which renews the key) and logout change a session.
            None => Ok(sessions.insert_new(session_state, ttl, now)),
        }
    }

    async fn update_ttl(&self, session_key: &SessionKey, ttl: &Duration) -> anyhow::Result<()> {
        let now = Instant::now();
        if let Some(entry) = self.lock().live_mut(session_key.as_ref(), now) {
            entry.expires = expiry(now, ttl);
        }
        Ok(())
    }

    async fn delete(&self, session_key: &SessionKey) -> anyhow::Result<()> {
        self.lock().by_key.remove(session_key.as_ref());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(user: &str) -> State {
        HashMap::from([("user_id".to_owned(), format!("\"{user}\""))])
    }

    fn day() -> Duration {
        Duration::days(1)
    }

    #[actix_web::test]
    async fn save_load_update_delete() {
        let store = MemorySessionStore::default();
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
        assert!(store.is_empty());
    }

    #[actix_web::test]
    async fn a_deleted_key_is_never_revived_by_an_update() {
        let store = MemorySessionStore::default();
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
        let store = MemorySessionStore::default();
        for ttl in [Duration::ZERO, Duration::seconds(-5)] {
            let key = store.save(state("alice"), &ttl).await.unwrap();
            assert_eq!(store.load(&key).await.unwrap(), None);
            store.update_ttl(&key, &day()).await.unwrap();
            assert_eq!(store.load(&key).await.unwrap(), None, "no revival by TTL");
        }
        assert!(store.is_empty(), "expired sessions are dropped when met");
    }

    #[actix_web::test]
    async fn update_ttl_extends_a_live_session() {
        let store = MemorySessionStore::default();
        let key = store.save(state("alice"), &Duration::ZERO).await.unwrap();
        // Expired at once: extending it is too late.
        store.update_ttl(&key, &day()).await.unwrap();
        assert_eq!(store.load(&key).await.unwrap(), None);

        let key = store.save(state("alice"), &day()).await.unwrap();
        store.update_ttl(&key, &Duration::ZERO).await.unwrap();
        assert_eq!(store.load(&key).await.unwrap(), None, "a zero TTL ends it");
    }

    #[actix_web::test]
    async fn saves_sweep_expired_sessions_as_the_store_grows() {
        let store = MemorySessionStore::default();
        for _ in 0..FIRST_SWEEP_AT {
            store.save(state("gone"), &Duration::ZERO).await.unwrap();
        }
        assert_eq!(store.len(), FIRST_SWEEP_AT);
        let live = store.save(state("alice"), &day()).await.unwrap();
        assert_eq!(
            store.len(),
            1,
            "the save at the threshold swept the expired ones"
        );
        assert_eq!(store.load(&live).await.unwrap(), Some(state("alice")));
    }

    #[actix_web::test]
    async fn huge_ttls_are_capped_not_overflowed() {
        let store = MemorySessionStore::default();
        let key = store.save(state("alice"), &Duration::MAX).await.unwrap();
        assert_eq!(store.load(&key).await.unwrap(), Some(state("alice")));
    }

    #[test]
    fn debug_shows_no_keys_or_states() {
        let store = MemorySessionStore::default();
        let key = actix_web::rt::System::new()
            .block_on(store.save(state("alice"), &day()))
            .unwrap();
        let shown = format!("{store:?}");
        assert_eq!(shown, "MemorySessionStore { sessions: 1 }");
        assert!(!shown.contains(key.as_ref()));
    }
}
