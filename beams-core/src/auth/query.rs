//! RFC 3986 query decoding for the auth route: `+` is a literal plus.

use std::borrow::Cow;

use super::AuthRejection;
use crate::UserId;

/// The query parameter that carries the requested user id.
const USER_ID_PARAM: &str = "user_id";

/// Finds exactly one `user_id` in a raw query string and validates it.
///
/// Pairs are split on `&`, a pair's first `=` splits key and value, `%XX` is decoded in keys
/// and values, and `+` stays a `+` (no client encodes a space as `+`; iOS leaves `+`
/// unescaped). Other parameters are ignored, even when malformed.
pub(super) fn user_id_from_query(query: Option<&str>) -> Result<UserId, AuthRejection> {
    let mut found: Option<&str> = None;
    for pair in query.unwrap_or("").split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let is_user_id = if key.contains('%') {
            matches!(percent_decode(key), Some(k) if k.as_ref() == USER_ID_PARAM.as_bytes())
        } else {
            key == USER_ID_PARAM
        };
        if is_user_id {
            if found.is_some() {
                return Err(AuthRejection::RepeatedUserId);
            }
            found = Some(value);
        }
    }
    let raw = found.ok_or(AuthRejection::MissingUserId)?;
    let user = match percent_decode(raw).ok_or(AuthRejection::MalformedUserId)? {
        Cow::Borrowed(bytes) => UserId::from_bytes(bytes),
        // Escaped: the decoded buffer becomes the id, no second copy.
        Cow::Owned(bytes) => UserId::from_vec(bytes),
    };
    user.map_err(AuthRejection::InvalidUserId)
}

/// Decodes `%XX` escapes; `None` when an escape is truncated or not hex (where the
/// `percent-encoding` crate would keep it as text). `+` is kept.
fn percent_decode(input: &str) -> Option<Cow<'_, [u8]>> {
    let bytes = input.as_bytes();
    let well_formed = bytes.iter().enumerate().all(|(i, &b)| {
        b != b'%'
            || bytes
                .get(i + 1..i + 3)
                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    });
    well_formed.then(|| percent_encoding::percent_decode(bytes).into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::UserIdError;

    fn ok(q: &str) -> String {
        user_id_from_query(Some(q)).unwrap().into_string()
    }

    #[test]
    fn decoding() {
        assert_eq!(ok("user_id=a+b"), "a+b");
        assert_eq!(ok("user_id=a%20b"), "a b");
        assert_eq!(ok("user_id=a%2Bb"), "a+b");
        assert_eq!(ok("user_id=a%2bb"), "a+b");
        assert_eq!(ok("user_id=x=y"), "x=y");
        assert_eq!(ok("foo&user_id=z&bar=%ZZ"), "z");
        assert_eq!(ok("user%5Fid=k"), "k");
        assert_eq!(ok("&&user_id=q&&"), "q");
    }

    #[test]
    fn rejections() {
        let r = |q| user_id_from_query(Some(q)).unwrap_err();
        assert_eq!(r(""), AuthRejection::MissingUserId);
        assert_eq!(r("userid=a"), AuthRejection::MissingUserId);
        assert_eq!(r("USER_ID=a"), AuthRejection::MissingUserId);
        assert_eq!(
            r("user_id"),
            AuthRejection::InvalidUserId(UserIdError::Empty)
        );
        assert_eq!(
            r("user_id="),
            AuthRejection::InvalidUserId(UserIdError::Empty)
        );
        assert_eq!(r("user_id=a&user_id=a"), AuthRejection::RepeatedUserId);
        assert_eq!(r("user_id=a&user%5fid=b"), AuthRejection::RepeatedUserId);
        assert_eq!(r("user_id=%"), AuthRejection::MalformedUserId);
        assert_eq!(r("user_id=%4"), AuthRejection::MalformedUserId);
        assert_eq!(r("user_id=%G0"), AuthRejection::MalformedUserId);
        assert_eq!(
            r("user_id=%FF"),
            AuthRejection::InvalidUserId(UserIdError::NotUtf8(0))
        );
    }
}
