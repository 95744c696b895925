//! User ids: 1–164 bytes of valid UTF-8.

use std::fmt;

/// Why a user id was refused. Each variant names the rule that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UserIdError {
    /// The user id is the empty string.
    #[error("user id must not be empty")]
    Empty,
    /// The user id is longer than [`UserId::MAX_LEN`] bytes of UTF-8.
    #[error("user id must be at most 164 bytes of UTF-8 (got {0} bytes)")]
    TooLong(usize),
    /// The user id's bytes are not valid UTF-8.
    #[error("user id must be valid UTF-8 (invalid byte at offset {0})")]
    NotUtf8(usize),
}

/// A Beams user id: 1 to 164 bytes of valid UTF-8, compared byte for byte.
///
/// The byte rule is the strictest of the documented readings (the Go SDK's), so an id we
/// accept is accepted by every SDK and by Beams.
///
/// ```
/// use beams_core::{UserId, UserIdError};
///
/// let id = UserId::new("alice@example.com")?;
/// assert_eq!(id.as_str(), "alice@example.com");
/// assert_eq!(UserId::new(""), Err(UserIdError::Empty));
/// assert_eq!(UserId::new("é".repeat(83)), Err(UserIdError::TooLong(166)));
/// assert_eq!(UserId::from_bytes(b"ok\xff"), Err(UserIdError::NotUtf8(2)));
/// # Ok::<(), UserIdError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(Box<str>);

impl UserId {
    /// The longest user id Beams accepts, in bytes of UTF-8: 164.
    pub const MAX_LEN: usize = 164;

    /// Validates a user id.
    pub fn new(id: impl AsRef<str> + Into<String>) -> Result<Self, UserIdError> {
        check(id.as_ref())?;
        Ok(Self(id.into().into_boxed_str()))
    }

    /// Validates raw bytes (e.g. a percent-decoded query value).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, UserIdError> {
        Self::new(std::str::from_utf8(bytes).map_err(not_utf8)?)
    }

    /// Like [`from_bytes`](Self::from_bytes), keeping the buffer instead of copying it.
    pub(crate) fn from_vec(bytes: Vec<u8>) -> Result<Self, UserIdError> {
        Self::new(String::from_utf8(bytes).map_err(|e| not_utf8(e.utf8_error()))?)
    }

    /// Checks a user id without allocating.
    pub fn validate(id: &str) -> Result<(), UserIdError> {
        check(id)
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as an owned string.
    pub fn into_string(self) -> String {
        self.0.into_string()
    }
}

fn not_utf8(error: std::str::Utf8Error) -> UserIdError {
    UserIdError::NotUtf8(error.valid_up_to())
}

fn check(id: &str) -> Result<(), UserIdError> {
    match id.len() {
        0 => Err(UserIdError::Empty),
        n if n > UserId::MAX_LEN => Err(UserIdError::TooLong(n)),
        _ => Ok(()),
    }
}

impl fmt::Debug for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("UserId").field(&&*self.0).finish()
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for UserId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for UserId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for UserId {
    type Error = UserIdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl TryFrom<&str> for UserId {
    type Error = UserIdError;
    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl PartialEq<str> for UserId {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for UserId {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl serde::Serialize for UserId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for UserId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::new(s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_in_bytes() {
        assert!(UserId::new("a".repeat(164)).is_ok());
        assert_eq!(UserId::new("a".repeat(165)), Err(UserIdError::TooLong(165)));
        // 4-byte characters: 41 * 4 = 164 fits, 42 * 4 = 168 does not.
        assert!(UserId::new("😀".repeat(41)).is_ok());
        assert_eq!(UserId::new("😀".repeat(42)), Err(UserIdError::TooLong(168)));
        assert_eq!(UserId::new(""), Err(UserIdError::Empty));
    }

    #[test]
    fn utf8_is_checked_on_bytes() {
        assert_eq!(UserId::from_bytes(&[0xff]), Err(UserIdError::NotUtf8(0)));
        assert_eq!(UserId::from_bytes("é".as_bytes()).unwrap().as_str(), "é");
        // Overlong encoding of '/' is not UTF-8.
        assert_eq!(
            UserId::from_bytes(&[b'a', 0xc0, 0xaf]),
            Err(UserIdError::NotUtf8(1))
        );
    }

    #[test]
    fn errors_name_the_rule() {
        assert!(UserIdError::Empty.to_string().contains("empty"));
        assert!(UserIdError::TooLong(200).to_string().contains("164 bytes"));
        assert!(UserIdError::NotUtf8(3).to_string().contains("UTF-8"));
    }

    #[test]
    fn serde_validates() {
        let id: UserId = serde_json::from_str("\"bob\"").unwrap();
        assert_eq!(id, "bob");
        assert!(serde_json::from_str::<UserId>("\"\"").is_err());
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"bob\"");
    }
}
