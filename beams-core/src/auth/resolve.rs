//! The hook by which a host says who is logged in.

use std::fmt;
use std::future::Future;

use crate::UserId;

/// What the host's session says about the caller of the auth route.
///
/// The host's hook returns anything that converts into it: `Option<String>` (`None` is
/// nobody), or a `Result` of that whose error means "the session could not be read" — the
/// usual shape of a session store's `get`:
///
/// ```
/// use beams_core::SessionUser;
///
/// assert!(matches!(SessionUser::from(Some("alice".to_owned())), SessionUser::LoggedIn(u) if u == "alice"));
/// assert!(matches!(SessionUser::from(None::<String>), SessionUser::LoggedOut));
///
/// // A store that is down is not "logged out": the route answers 503, not 401.
/// let read: Result<Option<String>, std::io::Error> = Err(std::io::Error::other("redis: connection refused"));
/// assert!(matches!(SessionUser::from(read), SessionUser::Unavailable(_)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionUser {
    /// This user is logged in.
    LoggedIn(String),
    /// Nobody is logged in: `401`.
    LoggedOut,
    /// The session could not be read (its store is down or timed out): `503` with
    /// `Retry-After`, and a warn log with this reason. Not "logged out": the client SDK would
    /// then tell the user they are not logged in.
    Unavailable(String),
}

impl From<Option<String>> for SessionUser {
    fn from(user: Option<String>) -> Self {
        user.map_or(Self::LoggedOut, Self::LoggedIn)
    }
}

impl From<Option<&str>> for SessionUser {
    fn from(user: Option<&str>) -> Self {
        user.map_or(Self::LoggedOut, |u| Self::LoggedIn(u.to_owned()))
    }
}

impl From<Option<UserId>> for SessionUser {
    fn from(user: Option<UserId>) -> Self {
        user.map_or(Self::LoggedOut, |u| Self::LoggedIn(u.into_string()))
    }
}

impl<T, E> From<Result<T, E>> for SessionUser
where
    T: Into<Self>,
    E: fmt::Display,
{
    fn from(read: Result<T, E>) -> Self {
        match read {
            Ok(user) => user.into(),
            Err(error) => Self::Unavailable(error.to_string()),
        }
    }
}

/// Turns the host's own extractor value (`E`: an `AuthSession`, a `Session`, an `Identity`,
/// a bearer-token claim, request parts, …) into a [`SessionUser`].
///
/// Any `Fn(E) -> impl Future` closure whose output converts into a [`SessionUser`]
/// implements it, so a host writes `|session: Session| async move { … }` for an extractor
/// type that neither it nor we own. A host may also implement it on its own type, for reuse
/// and testing. The associated `Future` lets each adapter add the bounds its framework needs
/// (`Send` for axum and tower, none for actix-web).
///
/// ```
/// use beams_core::{ResolveUserId, SessionUser};
///
/// #[derive(Clone)]
/// struct Session { user: Option<u64> }
///
/// // `Option<String>`: the user, or nobody.
/// let resolve = |s: Session| async move { s.user.map(|id| id.to_string()) };
/// # let _ = resolve.resolve_user_id(Session { user: Some(7) });
///
/// // A named resolver works too; here the store can fail.
/// struct FromStore;
/// impl ResolveUserId<Session> for FromStore {
///     type Output = Result<Option<String>, std::io::Error>;
///     type Future = std::future::Ready<Self::Output>;
///     fn resolve_user_id(&self, session: Session) -> Self::Future {
///         std::future::ready(Ok(session.user.map(|id| id.to_string())))
///     }
/// }
/// # let _ = FromStore.resolve_user_id(Session { user: None });
/// ```
pub trait ResolveUserId<E> {
    /// What the hook returns: anything that converts into a [`SessionUser`].
    type Output: Into<SessionUser>;
    /// The future returned by [`resolve_user_id`](Self::resolve_user_id).
    type Future: Future<Output = Self::Output>;

    /// Says who is logged in, from the extracted value.
    fn resolve_user_id(&self, extracted: E) -> Self::Future;
}

impl<E, F, Fut> ResolveUserId<E> for F
where
    F: Fn(E) -> Fut,
    Fut: Future,
    Fut::Output: Into<SessionUser>,
{
    type Output = Fut::Output;
    type Future = Fut;

    fn resolve_user_id(&self, extracted: E) -> Fut {
        self(extracted)
    }
}
