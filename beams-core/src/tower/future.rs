use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::Response;
use pin_project_lite::pin_project;

use super::BeamsBody;
use crate::{AuthRequest, BeamsAuth, SessionUser};

pin_project! {
    /// The future of [`BeamsAuthService`](super::BeamsAuthService).
    #[project = Proj]
    pub struct BeamsAuthFuture<F, RF> {
        #[pin]
        state: State<F, RF>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, RF> {
        Inner { #[pin] fut: F },
        // `Option`: taken when the hook's answer comes, since `authorize` consumes it.
        Resolving { #[pin] fut: RF, auth: BeamsAuth, requested: Option<AuthRequest> },
        Ready { response: Option<Response<String>> },
    }
}

impl<F, RF> std::fmt::Debug for BeamsAuthFuture<F, RF> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BeamsAuthFuture").finish_non_exhaustive()
    }
}

impl<F, RF> BeamsAuthFuture<F, RF> {
    pub(super) fn inner(fut: F) -> Self {
        Self {
            state: State::Inner { fut },
        }
    }

    pub(super) fn ready(response: Response<String>) -> Self {
        Self {
            state: State::Ready {
                response: Some(response),
            },
        }
    }

    pub(super) fn resolving(fut: RF, auth: BeamsAuth, requested: AuthRequest) -> Self {
        Self {
            state: State::Resolving {
                fut,
                auth,
                requested: Some(requested),
            },
        }
    }
}

impl<F, RF, B, E> Future for BeamsAuthFuture<F, RF>
where
    F: Future<Output = Result<Response<B>, E>>,
    RF: Future,
    RF::Output: Into<SessionUser>,
{
    type Output = Result<Response<BeamsBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        let response = match state.as_mut().project() {
            StateProj::Inner { fut } => {
                let res = ready!(fut.poll(cx))?;
                return Poll::Ready(Ok(res.map(BeamsBody::inner)));
            }
            StateProj::Resolving {
                fut,
                auth,
                requested,
            } => {
                let session = ready!(fut.poll(cx));
                let requested = requested.take().expect("polled after completion");
                auth.authorize(requested, session.into())
            }
            StateProj::Ready { response } => response.take().expect("polled after completion"),
        };
        state.set(State::Ready { response: None });
        Poll::Ready(Ok(response.map(BeamsBody::json)))
    }
}
