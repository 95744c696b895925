//! A tower [`Layer`] that answers the auth route in front of any tower service (hyper,
//! tonic, …) and forwards every other request untouched.
//!
//! The hook receives the request's [`http::request::Parts`] (headers, extensions — where
//! session middleware such as tower-sessions puts its session — URI, method).
//!
//! ```
//! use beams_core::{BeamsAuth, BeamsConfig};
//! use beams_core::service::BeamsAuthLayer;
//! use http::{Request, Response};
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let beams = BeamsAuth::new(BeamsConfig::new("my-instance", "my-secret")?);
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

use std::task::{Context, Poll};

use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

pub use body::BeamsBody;
pub use future::ResponseFuture;

use crate::auth::{BeamsAuth, ResolveUserId};

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
    type Future = ResponseFuture<S::Future, R::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        if req.uri().path() != self.auth.path() {
            return ResponseFuture::inner(self.inner.call(req));
        }
        match self.auth.check_request(req.method(), req.uri().query()) {
            Err(res) => ResponseFuture::ready(res),
            Ok(requested) => {
                let (parts, _body) = req.into_parts();
                let fut = self.resolve.resolve_user_id(parts);
                ResponseFuture::resolving(fut, self.auth.clone(), requested)
            }
        }
    }
}

#[cfg(all(test, feature = "test-util"))]
mod tests {
    use super::*;
    use crate::test_util::{self, Observed};
    use http_body_util::BodyExt;
    use std::convert::Infallible;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tower::{ServiceExt, service_fn};

    fn inner()
    -> impl Service<
        Request<String>,
        Response = Response<String>,
        Error = Infallible,
        Future = impl Send,
    > + Clone {
        service_fn(|req: Request<String>| async move {
            Ok::<_, Infallible>(Response::new(format!("inner {}", req.uri().path())))
        })
    }

    async fn resolve(parts: http::request::Parts) -> Option<String> {
        test_util::session_from_headers(|name| parts.headers.get(name).map(|v| v.as_bytes()))
            .ok()
            .flatten()
    }

    #[tokio::test]
    async fn replays_the_conformance_table() {
        // The layer's hook sees request parts; a rejected extractor has no equivalent here,
        // so rejection rows are checked through `Unavailable` in core's own replay.
        let svc = BeamsAuthLayer::new(test_util::auth(), resolve).layer(inner());
        let mut checked = 0;
        for case in test_util::cases() {
            if matches!(case.session, test_util::CaseSession::Rejected(_)) {
                continue;
            }
            let mut req = Request::builder().method(case.method).uri(case.uri());
            for (k, v) in case.headers() {
                req = req.header(k, v);
            }
            let res = svc
                .clone()
                .oneshot(req.body(String::new()).unwrap())
                .await
                .unwrap();
            let (parts, body) = res.into_parts();
            let body = body.collect().await.unwrap().to_bytes();
            case.check(&Observed::from_http(&Response::from_parts(parts, body)))
                .unwrap();
            checked += 1;
        }
        assert!(checked >= 40, "{checked}");
    }

    #[tokio::test]
    async fn forwards_other_paths_and_skips_the_hook_on_400() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let svc = BeamsAuthLayer::new(test_util::auth(), move |_parts: http::request::Parts| {
            counter.fetch_add(1, Ordering::SeqCst);
            async { Some("alice".to_owned()) }
        })
        .layer(inner());

        let res = svc
            .clone()
            .oneshot(
                Request::get("/pusher/beams-auth/x")
                    .body(String::new())
                    .unwrap(),
            )
            .await
            .unwrap();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"inner /pusher/beams-auth/x");

        let res = svc
            .clone()
            .oneshot(
                Request::get("/pusher/beams-auth?user_id=%ZZ")
                    .body(String::new())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        assert_eq!(calls.load(Ordering::SeqCst), 0);

        let res = svc
            .clone()
            .oneshot(
                Request::head("/pusher/beams-auth?user_id=alice")
                    .body(String::new())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
