//! The request handler behind every mounting function: method check, query, extractor, hook.

use std::convert::Infallible;
use std::marker::PhantomData;
use std::rc::Rc;

use actix_web::dev::{Payload, ServiceFactory, ServiceRequest, ServiceResponse, fn_service};
use actix_web::{FromRequest, HttpRequest};
use beams_core::{BeamsAuth, ResolveUserId, SessionUser};

use crate::response::into_actix;

/// What one worker's handler holds: built once per `App`, shared by its requests through an
/// `Rc` (a non-atomic increment per request, no other allocation of ours).
struct Handler<E, R> {
    beams: BeamsAuth,
    resolve: R,
    // `fn(E)`: the handler consumes extractor values, it never stores one.
    _extractor: PhantomData<fn(E)>,
}

impl<E, R> Handler<E, R>
where
    E: FromRequest,
    R: ResolveUserId<E>,
{
    /// The route's whole decision. Every response comes from beams-core.
    async fn answer(&self, req: &HttpRequest, payload: &mut Payload) -> http::Response<String> {
        // The extractor and the hook never run for a 405 or a bad query.
        let requested = match self
            .beams
            .check_request(&core_method(req.method()), req.uri().query())
        {
            Ok(user) => user,
            Err(rejection) => return rejection.to_response(),
        };
        match E::from_request(req, payload).await {
            Ok(extracted) => {
                let session: SessionUser = self.resolve.resolve_user_id(extracted).await.into();
                self.beams.authorize(requested, session)
            }
            Err(error) => {
                let error: actix_web::Error = error.into();
                let status = error.as_response_error().status_code().as_u16();
                // Both `http` versions accept exactly 100..=999.
                let status = http::StatusCode::from_u16(status)
                    .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
                self.beams.extractor_rejected(
                    requested,
                    status,
                    std::any::type_name::<E>(),
                    &error.to_string(),
                )
            }
        }
    }
}

/// The service factory a `Route` runs for every method at the auth path.
pub(crate) fn factory<E, R>(
    beams: BeamsAuth,
    resolve: R,
) -> impl ServiceFactory<
    ServiceRequest,
    Config = (),
    Response = ServiceResponse,
    Error = Infallible,
    InitError = (),
> + 'static
where
    E: FromRequest + 'static,
    R: ResolveUserId<E> + 'static,
    R::Future: 'static,
{
    let handler = Rc::new(Handler {
        beams,
        resolve,
        _extractor: PhantomData,
    });
    fn_service(move |req: ServiceRequest| call(Rc::clone(&handler), req))
}

async fn call<E, R>(
    handler: Rc<Handler<E, R>>,
    req: ServiceRequest,
) -> Result<ServiceResponse, Infallible>
where
    E: FromRequest,
    R: ResolveUserId<E>,
{
    let (req, mut payload) = req.into_parts();
    let response = handler.answer(&req, &mut payload).await;
    Ok(ServiceResponse::new(req, into_actix(response)))
}

/// actix-web's `http` 0.2 method as beams-core's `http` 1 method. Standard methods and short
/// extension methods convert without allocating.
fn core_method(method: &actix_web::http::Method) -> http::Method {
    use actix_web::http::Method as M;
    match *method {
        M::GET => http::Method::GET,
        M::HEAD => http::Method::HEAD,
        // Both versions accept the same method tokens, so this cannot fail; should it ever,
        // any method other than GET and HEAD earns the same 405 from beams-core.
        _ => http::Method::from_bytes(method.as_str().as_bytes()).unwrap_or(http::Method::POST),
    }
}

#[cfg(test)]
mod tests {
    use super::core_method;
    use actix_web::http::Method;

    #[test]
    fn methods_convert() {
        for m in [
            "GET",
            "HEAD",
            "POST",
            "PUT",
            "DELETE",
            "PATCH",
            "OPTIONS",
            "TRACE",
            "CONNECT",
            "PROPFIND",
            "X-VERY-LONG-EXTENSION-METHOD",
        ] {
            assert_eq!(
                core_method(&Method::from_bytes(m.as_bytes()).unwrap()).as_str(),
                m
            );
        }
    }
}
