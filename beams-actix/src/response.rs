//! The one bridge from beams-core's `http` 1 responses to actix-web's `http` 0.2 world.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};

/// Converts a response built by beams-core into an actix-web [`HttpResponse`], unchanged.
///
/// actix-web 4 is built on `http` 0.2 while beams-core speaks `http` 1, so the two `Response`
/// types cannot convert with `From`. This copies the status (by number), every header (by
/// name and bytes, keeping repeated names in order and the `sensitive` flag) and moves the
/// body (a `String` becomes actix's in-memory `Bytes` body without a copy). It adds and drops
/// nothing: `Content-Length` and `Date` are the server's business, as for any actix response.
pub(crate) fn into_actix(response: http::Response<String>) -> HttpResponse {
    let (parts, body) = response.into_parts();
    // Both `http` versions accept exactly 100..=999, so this cannot fail.
    let status =
        StatusCode::from_u16(parts.status.as_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = HttpResponse::with_body(status, body);
    let headers = res.headers_mut();
    headers.reserve(parts.headers.len());
    for (name, value) in &parts.headers {
        // Both versions share the token and value grammars, so conversion cannot fail; a
        // failure would be a bug, reported loudly rather than as a silently different answer.
        match (convert_name(name), convert_value(value)) {
            (Some(name), Some(value)) => headers.append(name, value),
            _ => tracing::error!(
                target: "beams::actix",
                header = name.as_str(),
                "a beams-core header could not be converted for actix-web"
            ),
        }
    }
    res.map_into_boxed_body()
}

/// The names beams-core sends are mapped constant to constant (comparing standard names is
/// an integer comparison); any other name is parsed, and standard ones still come back as
/// `http` 0.2's constants without allocating.
fn convert_name(name: &http::HeaderName) -> Option<HeaderName> {
    use actix_web::http::header as actix;
    use http::header as core;
    let known = if *name == core::CONTENT_TYPE {
        actix::CONTENT_TYPE
    } else if *name == core::CACHE_CONTROL {
        actix::CACHE_CONTROL
    } else if *name == core::X_CONTENT_TYPE_OPTIONS {
        actix::X_CONTENT_TYPE_OPTIONS
    } else if *name == core::ALLOW {
        actix::ALLOW
    } else {
        return HeaderName::from_bytes(name.as_str().as_bytes()).ok();
    };
    Some(known)
}

/// The values beams-core always sends are static; they are mapped without a copy. Anything
/// else is copied.
fn convert_value(value: &http::HeaderValue) -> Option<HeaderValue> {
    const KNOWN: [&str; 4] = ["application/json", "no-store", "nosniff", "GET"];
    let bytes = value.as_bytes();
    let mut converted = match KNOWN.iter().find(|known| known.as_bytes() == bytes) {
        Some(known) => HeaderValue::from_static(known),
        None => HeaderValue::from_bytes(bytes).ok()?,
    };
    converted.set_sensitive(value.is_sensitive());
    Some(converted)
}

#[cfg(test)]
mod tests {
    use actix_web::body::MessageBody;
    use beams_core::{AuthRejection, SessionUser};
    use beams_test_support::conformance::{self as test_util, Observed};

    use super::*;

    fn body_of(res: HttpResponse) -> Vec<u8> {
        res.into_body()
            .try_into_bytes()
            .expect("in-memory body")
            .to_vec()
    }

    #[test]
    fn copies_status_headers_and_body() {
        let mut headers = http::HeaderMap::new();
        headers.append(
            "content-type",
            http::HeaderValue::from_static("application/json"),
        );
        headers.append("x-multi", http::HeaderValue::from_static("one"));
        headers.append("x-multi", http::HeaderValue::from_static("two"));
        let mut secret = http::HeaderValue::from_static("shh");
        secret.set_sensitive(true);
        headers.append("x-secret", secret);
        headers.append(
            "x-bytes",
            http::HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap(),
        );
        let mut source = http::Response::new(String::from("{\"a\":1}"));
        *source.status_mut() = http::StatusCode::IM_A_TEAPOT;
        *source.headers_mut() = headers;

        let res = into_actix(source);
        assert_eq!(res.status().as_u16(), 418);
        let h = res.headers();
        assert_eq!(h.len(), 5);
        assert_eq!(h.get("content-type").unwrap(), "application/json");
        let multi: Vec<_> = h.get_all("x-multi").map(|v| v.to_str().unwrap()).collect();
        assert_eq!(multi, ["one", "two"]);
        assert!(h.get("x-secret").unwrap().is_sensitive());
        assert!(!h.get("content-type").unwrap().is_sensitive());
        assert_eq!(h.get("x-bytes").unwrap().as_bytes(), b"caf\xc3\xa9");
        assert_eq!(body_of(res), b"{\"a\":1}");
    }

    #[test]
    fn known_names_map_to_the_same_names() {
        for name in [
            "content-type",
            "cache-control",
            "x-content-type-options",
            "allow",
            "x-other",
        ] {
            let converted = convert_name(&http::HeaderName::from_static(name)).unwrap();
            assert_eq!(converted.as_str(), name);
        }
    }

    #[test]
    fn unusual_statuses_survive() {
        for code in [200, 299, 405, 599, 999] {
            let mut source = http::Response::new(String::new());
            *source.status_mut() = http::StatusCode::from_u16(code).unwrap();
            assert_eq!(into_actix(source).status().as_u16(), code);
        }
    }

    /// Every answer beams-core builds converts into actix-web's types unchanged: status, every
    /// header, body.
    #[actix_web::test]
    async fn every_core_response_converts_identically() {
        let auth = test_util::auth();
        let alice = auth
            .check_request(&http::Method::GET, Some("user_id=alice"))
            .unwrap();
        let sources = [
            auth.authorize(alice, SessionUser::LoggedIn("alice".into())),
            AuthRejection::MissingUserId.to_response(),
            AuthRejection::MethodNotAllowed.to_response(),
            AuthRejection::SessionUnavailable.to_response(),
        ];
        for source in sources {
            let expected = Observed::from_http(&source);
            let res = into_actix(source);
            let (head, body) = res.into_parts();
            let observed = Observed::from_parts(
                head.status().as_u16(),
                head.headers()
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_bytes())),
                actix_web::body::to_bytes(body).await.unwrap().to_vec(),
            );
            let sorted = |o: &Observed| {
                let mut h = o.headers.clone();
                h.sort();
                (o.status, h, o.body.clone())
            };
            assert_eq!(sorted(&observed), sorted(&expected));
        }
    }
}
