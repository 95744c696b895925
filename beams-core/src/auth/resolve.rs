//! The hook by which a host says who is logged in.

use std::future::Future;

/// Turns the host's own extractor value (`E`: an `AuthSession`, a `Session`, an `Identity`,
/// a bearer-token claim, request parts, …) into the logged-in user's id, or `None`.
///
/// Any `Fn(E) -> impl Future<Output = Option<String>>` closure implements it, so a host
/// writes `|session: Session| async move { … }` for an extractor type that neither it nor
/// we own. A host may also implement it on its own type, for reuse and testing. The
/// associated `Future` lets each adapter add the bounds its framework needs (`Send` for
/// axum and tower, none for actix-web).
///
/// ```
/// use beams_core::auth::ResolveUserId;
///
/// #[derive(Clone)]
/// struct Session { user: Option<u64> }
///
/// let resolve = |s: Session| async move { s.user.map(|id| id.to_string()) };
/// # let f = resolve.resolve_user_id(Session { user: Some(7) });
/// # let _ = f;
///
/// // A named resolver works too.
/// #[derive(Clone)]
/// struct FromHeader;
/// impl ResolveUserId<Option<String>> for FromHeader {
///     type Future = std::future::Ready<Option<String>>;
///     fn resolve_user_id(&self, header: Option<String>) -> Self::Future {
///         std::future::ready(header)
///     }
/// }
/// ```
pub trait ResolveUserId<E> {
    /// The future returned by [`resolve_user_id`](Self::resolve_user_id).
    type Future: Future<Output = Option<String>>;

    /// Resolves the logged-in user's id from the extracted value.
    fn resolve_user_id(&self, extracted: E) -> Self::Future;
}

impl<E, F, Fut> ResolveUserId<E> for F
where
    F: Fn(E) -> Fut,
    Fut: Future<Output = Option<String>>,
{
    type Future = Fut;

    fn resolve_user_id(&self, extracted: E) -> Fut {
        self(extracted)
    }
}
