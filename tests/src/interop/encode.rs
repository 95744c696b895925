//! How each client SDK percent-encodes the auth request's query, reimplemented from the
//! platforms' sources so the tests can send exactly those bytes.
//!
//! - Web (`TokenProvider`): `encodeURIComponent` on every key and value, joined with `&` and
//!   `=`, appended after `?`.
//! - iOS (`BeamsTokenProvider`): `URLComponents.queryItems = custom params + [user_id]`. The
//!   setter (CoreFoundation `_CFURLComponentsSetQueryItemsInternal`) encodes names and values
//!   with `URLQueryAllowed` minus `&` and `=`, so `+`, `/`, `?`, `:`, `@`, `;`, `,`, `$`, `!`,
//!   `'`, `(`, `)`, `*` and `~` stay literal. Any query already in the auth URL is dropped.
//! - Android (`BeamsTokenProvider`): OkHttp 3.12 `HttpUrl.Builder`: the auth URL's query is
//!   kept, then `addQueryParameter("user_id", …)` and one call per custom param. That encodes
//!   with `QUERY_COMPONENT_ENCODE_SET` (`` !"#$&'(),/:;<=>?@[]\^`{|}~`` and space), `%`,
//!   controls and non-ASCII, and `+` as `%2B` (`plusIsSpace`).
//!
//! Every escape is `%XX` with upper-case hex over the UTF-8 bytes.

/// Percent-encodes every byte of `s` for which `keep` is false (non-ASCII always).
fn encode(s: &str, keep: impl Fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for &b in s.as_bytes() {
        if b.is_ascii() && keep(b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// JavaScript's `encodeURIComponent`: keeps `A-Z a-z 0-9 - _ . ! ~ * ' ( )`.
pub fn uri_component(s: &str) -> String {
    encode(s, |b| {
        b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b)
    })
}

/// One name or value as iOS `URLComponents.queryItems` encodes it.
pub fn ios_component(s: &str) -> String {
    // URLQueryAllowed = unreserved / sub-delims / ":" / "@" / "/" / "?"; minus "&" and "=".
    encode(s, |b| {
        b.is_ascii_alphanumeric() || b"-._~".contains(&b) || b"!$'()*+,;:@/?".contains(&b)
    })
}

/// One name or value as OkHttp's `addQueryParameter` encodes it.
pub fn android_component(s: &str) -> String {
    const QUERY_COMPONENT_ENCODE_SET: &[u8] = b" !\"#$&'(),/:;<=>?@[]\\^`{|}~";
    encode(s, |b| {
        (0x20..0x7f).contains(&b)
            && !QUERY_COMPONENT_ENCODE_SET.contains(&b)
            && b != b'%'
            && b != b'+'
    })
}

fn join(items: &[(&str, &str)], component: fn(&str) -> String) -> String {
    items
        .iter()
        .map(|(k, v)| format!("{}={}", component(k), component(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The query the web SDK's `TokenProvider` builds: `user_id` first, then the custom params
/// (a custom `user_id` replaces the first one in place, as with a JS object spread).
pub fn web_query(user_id: &str, params: &[(&str, &str)]) -> String {
    let mut items: Vec<(&str, &str)> = vec![("user_id", user_id)];
    for &(k, v) in params {
        match items.iter_mut().find(|(name, _)| *name == k) {
            Some(item) => item.1 = v,
            None => items.push((k, v)),
        }
    }
    join(&items, uri_component)
}

/// The query the iOS SDK builds: the custom params, then `user_id`.
pub fn ios_query(user_id: &str, params: &[(&str, &str)]) -> String {
    let mut items = params.to_vec();
    items.push(("user_id", user_id));
    join(&items, ios_component)
}

/// The query the Android SDK builds: the auth URL's own query (kept as it is), `user_id`,
/// then the custom params.
pub fn android_query(existing: Option<&str>, user_id: &str, params: &[(&str, &str)]) -> String {
    let mut items = vec![("user_id", user_id)];
    items.extend_from_slice(params);
    let added = join(&items, android_component);
    match existing {
        Some(query) => format!("{query}&{added}"),
        None => added,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_uri_component() {
        assert_eq!(
            uri_component("john+test@example.com"),
            "john%2Btest%40example.com"
        );
        assert_eq!(uri_component("a b&c=d"), "a%20b%26c%3Dd");
        assert_eq!(uri_component("-_.!~*'()"), "-_.!~*'()");
        assert_eq!(uri_component("é😀"), "%C3%A9%F0%9F%98%80");
    }

    #[test]
    fn ios_leaves_plus_and_reserved_characters() {
        assert_eq!(
            ios_component("john+test@example.com"),
            "john+test@example.com"
        );
        assert_eq!(ios_component("a b&c=d"), "a%20b%26c%3Dd");
        assert_eq!(ios_component("/?:;,$!'()*~"), "/?:;,$!'()*~");
        assert_eq!(
            ios_component("\"#%[]{}|\\^`<>"),
            "%22%23%25%5B%5D%7B%7D%7C%5C%5E%60%3C%3E"
        );
        assert_eq!(ios_component("Zoë"), "Zo%C3%AB");
        assert_eq!(ios_query("a+b", &[("lang", "en")]), "lang=en&user_id=a+b");
    }

    #[test]
    fn android_encodes_plus_and_reserved_characters() {
        assert_eq!(
            android_component("john+test@example.com"),
            "john%2Btest%40example.com"
        );
        assert_eq!(android_component("a b&c=d"), "a%20b%26c%3Dd");
        assert_eq!(android_component("*-._"), "*-._");
        assert_eq!(android_component("~!'()"), "%7E%21%27%28%29");
        assert_eq!(
            android_query(Some("v=2"), "a b", &[("lang", "en")]),
            "v=2&user_id=a%20b&lang=en"
        );
    }

    #[test]
    fn web_spread_replaces_user_id_in_place() {
        assert_eq!(
            web_query("alice", &[("x", "1"), ("user_id", "bob")]),
            "user_id=bob&x=1"
        );
    }
}
