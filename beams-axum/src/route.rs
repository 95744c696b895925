//! The route: a custom axum [`Handler`] that runs beams-core's two phases around the host's
//! extractor.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Router;
use axum::extract::{FromRequestParts, Request};
use axum::handler::Handler;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, any};
use beams_core::{BeamsAuth, ResolveUserId, SessionUser};

/// How many bytes of an extractor rejection's body are read for the log line.
const REJECTION_BODY_LIMIT: usize = 1024;

/// A router with the Beams auth route at [`BeamsAuth::path`] (default
/// `/pusher/beams-auth`), to [`merge`](Router::merge) into the host's router.
///
/// `resolve` receives the host's extractor `E`, run against the host's own state `S`, and
/// says who is logged in: `Option<String>`, or a `Result` of it whose error means the session
/// could not be read (see [`SessionUser`]). See the [crate docs](crate) for the order of
/// checks and for layer ordering.
///
/// # Panics
///
/// [`Router::merge`] panics if the host's router already has a route at the same path.
/// `router` itself panics, like [`Router::route`], if the configured path is not a valid axum
/// path (a segment starting with `:` or `*`, for example); a path with `{name}` segments
/// becomes a capture that matches any value.
///
/// # Example
///
/// ```
/// use axum::Router;
/// use axum::http::{Request, StatusCode};
/// use tower::ServiceExt;
/// use tower_sessions::{MemoryStore, Session, SessionManagerLayer};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # let beams = beams_axum::BeamsAuth::new(&beams_axum::Instance::new("my-instance", "my-secret").unwrap());
/// let app: Router = Router::new()
///     .merge(beams_axum::router(beams, |session: Session| async move {
///         session.get::<String>("user_id").await
///     }))
///     .layer(SessionManagerLayer::new(MemoryStore::default()));
///
/// // Nobody is logged in on a fresh session.
/// let req = Request::get("/pusher/beams-auth?user_id=alice").body(String::new()).unwrap();
/// let res = app.oneshot(req).await.unwrap();
/// assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
/// assert_eq!(res.headers()["content-type"], "application/json");
/// # }
/// ```
pub fn router<S, E, R>(beams: BeamsAuth, resolve: R) -> Router<S>
where
    R: ResolveUserId<E> + Clone + Send + Sync + 'static,
    R::Future: Send,
    E: FromRequestParts<S> + Send + 'static,
    S: Clone + Send + Sync + 'static,
{
    let path = beams.path().to_owned();
    Router::new().route(&path, method_router(beams, resolve))
}

/// The Beams auth route as a [`MethodRouter`], for mounting at a path of your choice with
/// [`Router::route`]. It answers every method: GET and HEAD get the route, all others
/// beams-core's JSON `405` with `Allow: GET` (a plain `axum::routing::get` would answer
/// with an empty-bodied 405 instead).
///
/// The path configured with [`BeamsAuthBuilder::path`](beams_core::BeamsAuthBuilder::path)
/// is not used here.
///
/// # Example
///
/// A host whose extractor reads the host's own state (here, a token table):
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Arc;
///
/// use axum::Router;
/// use axum::extract::FromRequestParts;
/// use axum::http::{StatusCode, request::Parts};
///
/// #[derive(Clone)]
/// struct AppState {
///     tokens: Arc<HashMap<String, String>>,
/// }
///
/// struct Caller(Option<String>);
///
/// impl FromRequestParts<AppState> for Caller {
///     type Rejection = StatusCode;
///
///     async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, StatusCode> {
///         let token = parts.headers.get("x-api-token").and_then(|v| v.to_str().ok());
///         Ok(Caller(token.and_then(|t| state.tokens.get(t).cloned())))
///     }
/// }
///
/// # let beams = beams_axum::BeamsAuth::new(&beams_axum::Instance::new("my-instance", "my-secret").unwrap());
/// let state = AppState { tokens: Arc::new(HashMap::from([("t0k".into(), "alice".into())])) };
/// let app: Router = Router::new()
///     .route("/api/beams-token", beams_axum::method_router(beams, |c: Caller| async move { c.0 }))
///     .with_state(state);
/// # let _ = app;
/// ```
pub fn method_router<S, E, R>(beams: BeamsAuth, resolve: R) -> MethodRouter<S>
where
    R: ResolveUserId<E> + Clone + Send + Sync + 'static,
    R::Future: Send,
    E: FromRequestParts<S> + Send + 'static,
    S: Clone + Send + Sync + 'static,
{
    any(BeamsHandler {
        beams,
        resolve,
        _extractor: PhantomData,
    })
}

/// The handler behind [`router`] and [`method_router`]. axum hands it the request and the host's
/// state by value, so the state is not cloned a second time (as `State<S>` would).
struct BeamsHandler<E, R> {
    beams: BeamsAuth,
    resolve: R,
    // `fn() -> E`: the handler holds no `E`, so it is `Send + Sync` whatever `E` is.
    _extractor: PhantomData<fn() -> E>,
}

impl<E, R: Clone> Clone for BeamsHandler<E, R> {
    fn clone(&self) -> Self {
        Self {
            beams: self.beams.clone(),
            resolve: self.resolve.clone(),
            _extractor: PhantomData,
        }
    }
}

impl<S, E, R> Handler<(E,), S> for BeamsHandler<E, R>
where
    R: ResolveUserId<E> + Clone + Send + Sync + 'static,
    R::Future: Send,
    E: FromRequestParts<S> + Send + 'static,
    S: Clone + Send + Sync + 'static,
{
    type Future = ResponseFuture;

    fn call(self, req: Request, state: S) -> ResponseFuture {
        let Self { beams, resolve, .. } = self;
        // Phase 1, from the method and the query alone: a 405 or 400 never reaches the host's
        // extractor.
        let requested = match beams.check_request(req.method(), req.uri().query()) {
            Ok(user) => user,
            Err(rejection) => {
                return ResponseFuture::ready(rejection.to_response().into_response());
            }
        };
        let (mut parts, _body) = req.into_parts();
        // The one allocation of ours per request: the extractor's future cannot be named.
        ResponseFuture::boxed(Box::pin(async move {
            // Turn the rejection into a response at once, so a `!Send` rejection type is never
            // held across an await.
            let extracted = E::from_request_parts(&mut parts, &state)
                .await
                .map_err(IntoResponse::into_response);
            let response = match extracted {
                Ok(value) => {
                    let session: SessionUser = resolve.resolve_user_id(value).await.into();
                    beams.authorize(requested, session)
                }
                Err(rejection) => {
                    let status = rejection.status();
                    let reason = rejection_text(rejection, status).await;
                    beams.extractor_rejected(requested, status, std::any::type_name::<E>(), &reason)
                }
            };
            response.into_response()
        }))
    }
}

/// The future of the route: already complete for a 405 or 400, or the boxed extractor path.
pub(crate) struct ResponseFuture(Inner);

enum Inner {
    Ready(Option<Response>),
    Pending(Pin<Box<dyn Future<Output = Response> + Send>>),
}

impl ResponseFuture {
    fn ready(res: Response) -> Self {
        Self(Inner::Ready(Some(res)))
    }

    fn boxed(fut: Pin<Box<dyn Future<Output = Response> + Send>>) -> Self {
        Self(Inner::Pending(fut))
    }
}

impl Future for ResponseFuture {
    type Output = Response;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Response> {
        match &mut self.get_mut().0 {
            Inner::Ready(res) => {
                Poll::Ready(res.take().expect("ResponseFuture polled after completion"))
            }
            Inner::Pending(fut) => fut.as_mut().poll(cx),
        }
    }
}

/// The text of the host extractor's rejection, for beams-core's warn log: read only for a 5xx
/// that will be logged (it names a misconfigured host, "Is SessionManagerLayer enabled?");
/// beams-core logs no text for a 4xx, which may echo the caller's credential.
async fn rejection_text(rejection: Response, status: StatusCode) -> String {
    if !(status.is_server_error() && tracing::enabled!(target: "beams::auth", tracing::Level::WARN))
    {
        return String::new();
    }
    match axum::body::to_bytes(rejection.into_body(), REJECTION_BODY_LIMIT).await {
        Ok(body) => String::from_utf8_lossy(&body).trim().to_owned(),
        Err(_) => String::new(),
    }
}
