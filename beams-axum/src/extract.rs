//! [`Beams`]: the host's Beams values (the [`BeamsAuth`], the publish client, …) taken from
//! its state in its own handlers.

use std::convert::Infallible;
use std::ops::{Deref, DerefMut};

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use beams_core::BeamsAuth;

/// An extractor that takes a `T` out of the host's state `S` through [`FromRef`]: the
/// [`BeamsAuth`] (the default), the publish client, or anything else the host keeps there.
/// It never rejects.
///
/// It behaves like axum's `State<T>`; its name says what the handler uses. The auth route
/// itself never needs it: [`router`](crate::router) carries its own `BeamsAuth` and demands
/// no `FromRef` impl.
///
/// # Example
///
/// ```
/// use axum::{Router, extract::FromRef, routing::get};
/// use beams_axum::{Beams, BeamsAuth};
///
/// #[derive(Clone)]
/// struct AppState {
///     beams: BeamsAuth,
///     // publisher: BeamsClient, and so on, each with its `FromRef` impl
/// }
///
/// // Or `#[derive(FromRef)]` with axum's `macros` feature.
/// impl FromRef<AppState> for BeamsAuth {
///     fn from_ref(state: &AppState) -> Self {
///         state.beams.clone()
///     }
/// }
///
/// async fn instance(Beams(beams): Beams) -> String {
///     beams.config().instance_id().to_owned()
/// }
///
/// # let beams = beams_axum::core::test_util::auth();
/// let app: Router = Router::new()
///     .route("/instance", get(instance))
///     .with_state(AppState { beams });
/// # let _ = app;
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Beams<T = BeamsAuth>(pub T);

impl<S, T> FromRequestParts<S> for Beams<T>
where
    T: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Infallible;

    async fn from_request_parts(_parts: &mut Parts, state: &S) -> Result<Self, Infallible> {
        Ok(Self(T::from_ref(state)))
    }
}

impl<T> Deref for Beams<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Beams<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}
