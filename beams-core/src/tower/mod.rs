//! A tower [`Layer`] that answers the auth route in front of any tower service (hyper,
//! tonic, …) and forwards every other request untouched.
//!
//! The hook receives the request's [`http::request::Parts`] (headers, extensions — where
//! session middleware such as tower-sessions puts its session — URI, method) and returns
//! anything that converts into a [`SessionUser`](crate::SessionUser).
//!
//! ```
//! use beams_core::{BeamsAuth, Instance};
//! use beams_core::tower::BeamsAuthLayer;
//! use http::{Request, Response};
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let beams = BeamsAuth::new(&Instance::new("my-instance", "my-secret")?);
//! let app = ServiceBuilder::new()
//!     .layer(BeamsAuthLayer::new(beams, |parts: http::request::Parts| async move {
//!         // A real host reads its session from `parts.extensions` or a cookie.
//!         parts.headers.get("x-user").and_then(|v| v.to_str().ok()).map(str::to_owned)
//!     }))
//!     .service(service_fn(|_req: Request<String>| async {
//!         Ok::<_, std::convert::Infallible>(Response::new(String::from("app")))
//!     }));
//!
//! let req = Request::get("/pusher/beams-auth?user_id=alice")
//!     .header("x-user", "alice")
//!     .body(String::new())?;
//! let res = app.clone().oneshot(req).await?;
//! assert_eq!(res.status(), 200);
//!
//! let other = app.oneshot(Request::get("/other").body(String::new())?).await?;
//! assert_eq!(other.status(), 200);
//! # Ok(())
//! # }
//! ```

mod body;
mod future;
#[cfg(feature = "webhook")]
mod webhook;

use std::task::{Context, Poll};

use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

pub use body::BeamsBody;
pub use future::BeamsAuthFuture;
#[cfg(feature = "webhook")]
#[cfg_attr(docsrs, doc(cfg(feature = "webhook")))]
pub use webhook::{BeamsWebhookFuture, BeamsWebhookLayer, BeamsWebhookService};

use crate::{BeamsAuth, ResolveUserId};

/// Layer that puts a [`BeamsAuthService`] in front of a service.
#[derive(Clone, Debug)]
#[must_use]
pub struct BeamsAuthLayer<R> {
    auth: BeamsAuth,
    resolve: R,
}

impl<R> BeamsAuthLayer<R> {
    /// Answers `auth.path()` with `resolve` deciding who is logged in.
    pub fn new(auth: BeamsAuth, resolve: R) -> Self {
        Self { auth, resolve }
    }
}

impl<S, R: Clone> Layer<S> for BeamsAuthLayer<R> {
    type Service = BeamsAuthService<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        BeamsAuthService {
            inner,
            auth: self.auth.clone(),
            resolve: self.resolve.clone(),
        }
    }
}

/// Answers the auth route and forwards everything else to `S`.
///
/// Its error type is `S::Error` and its response body wraps `S`'s, so it fits any stack
/// without boxing.
#[derive(Clone, Debug)]
pub struct BeamsAuthService<S, R> {
    inner: S,
    auth: BeamsAuth,
    resolve: R,
}

impl<S, R> BeamsAuthService<S, R> {
    /// Wraps `inner`.
    pub fn new(inner: S, auth: BeamsAuth, resolve: R) -> Self {
        Self {
            inner,
            auth,
            resolve,
        }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, R, ReqBody, ResBody> Service<Request<ReqBody>> for BeamsAuthService<S, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    R: ResolveUserId<http::request::Parts>,
{
    type Response = Response<BeamsBody<ResBody>>;
    type Error = S::Error;
    type Future = BeamsAuthFuture<S::Future, R::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        if req.uri().path() != self.auth.path() {
            return BeamsAuthFuture::inner(self.inner.call(req));
        }
        match self.auth.check_request(req.method(), req.uri().query()) {
            Err(rejection) => BeamsAuthFuture::ready(rejection.to_response()),
            Ok(requested) => {
                let (parts, _body) = req.into_parts();
                let fut = self.resolve.resolve_user_id(parts);
                BeamsAuthFuture::resolving(fut, self.auth.clone(), requested)
            }
        }
    }
}
