//! Target-list rules shared by the client and the fake.

use std::collections::HashMap;

use super::error::ValidationError;
use crate::user_id::UserId;

/// Most interests in one publish.
pub const MAX_INTERESTS: usize = 100;
/// Longest interest name, in characters (all allowed characters are ASCII).
pub const MAX_INTEREST_LEN: usize = 164;
/// Most users in one publish; [`FanOut`](super::FanOut) splits larger lists.
pub const MAX_USERS: usize = 1000;
/// Largest body of a publish to interests: 10 KiB.
pub const MAX_INTERESTS_BODY_BYTES: usize = 10 * 1024;
/// Largest body of a publish to users: 200 KiB.
pub const MAX_USERS_BODY_BYTES: usize = 200 * 1024;

fn is_interest_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '=' | '@' | ',' | '.' | ';')
}

/// 1–100 interests, each 1–164 characters of `[A-Za-z0-9_\-=@,.;]`.
pub(crate) fn interests(interests: &[&str]) -> Result<(), ValidationError> {
    match interests.len() {
        0 => return Err(ValidationError::NoInterests),
        count if count > MAX_INTERESTS => return Err(ValidationError::TooManyInterests { count }),
        _ => {}
    }
    for (index, interest) in interests.iter().enumerate() {
        if interest.is_empty() {
            return Err(ValidationError::EmptyInterest { index });
        }
        if let Some(found) = interest.chars().find(|c| !is_interest_char(*c)) {
            return Err(ValidationError::InvalidInterestChar {
                index,
                interest: (*interest).to_owned(),
                found,
            });
        }
        if interest.len() > MAX_INTEREST_LEN {
            return Err(ValidationError::InterestTooLong {
                index,
                interest: (*interest).to_owned(),
                len: interest.len(),
            });
        }
    }
    Ok(())
}

/// 1–1000 users, each a valid [`UserId`], no repetition.
pub(crate) fn users(users: &[&str]) -> Result<(), ValidationError> {
    match users.len() {
        0 => return Err(ValidationError::NoUsers),
        count if count > MAX_USERS => return Err(ValidationError::TooManyUsers { count }),
        _ => {}
    }
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(users.len());
    for (index, user) in users.iter().enumerate() {
        UserId::validate(user).map_err(|source| ValidationError::InvalidUser {
            index,
            user: (*user).to_owned(),
            source,
        })?;
        if let Some(&first_index) = seen.get(user) {
            return Err(ValidationError::DuplicateUser {
                index,
                first_index,
                user: (*user).to_owned(),
            });
        }
        seen.insert(user, index);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::user_id::UserIdError;

    #[test]
    fn interest_rules() {
        assert!(interests(&["a", "Z9_-=@,.;", &"x".repeat(164)]).is_ok());
        assert_eq!(interests(&[]), Err(ValidationError::NoInterests));
        let many = vec!["a"; 101];
        assert_eq!(
            interests(&many),
            Err(ValidationError::TooManyInterests { count: 101 })
        );
        assert!(interests(&many[..100]).is_ok());
        assert_eq!(
            interests(&["ok", ""]),
            Err(ValidationError::EmptyInterest { index: 1 })
        );
        let long = "x".repeat(165);
        assert_eq!(
            interests(&["ok", &long]),
            Err(ValidationError::InterestTooLong {
                index: 1,
                interest: long.clone(),
                len: 165
            })
        );
        for (bad, found) in [
            ("a:b", ':'),
            ("a b", ' '),
            ("é", 'é'),
            ("a/b", '/'),
            ("a+b", '+'),
        ] {
            assert_eq!(
                interests(&[bad]),
                Err(ValidationError::InvalidInterestChar {
                    index: 0,
                    interest: bad.into(),
                    found
                })
            );
        }
    }

    #[test]
    fn user_rules() {
        assert!(users(&["alice", "bob", &"é".repeat(82)]).is_ok());
        assert_eq!(users(&[]), Err(ValidationError::NoUsers));
        let many: Vec<String> = (0..1001).map(|i| i.to_string()).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(
            users(&many),
            Err(ValidationError::TooManyUsers { count: 1001 })
        );
        assert!(users(&many[..1000]).is_ok());
        assert_eq!(
            users(&["a", ""]),
            Err(ValidationError::InvalidUser {
                index: 1,
                user: String::new(),
                source: UserIdError::Empty
            })
        );
        assert_eq!(
            users(&["a", "b", "a"]),
            Err(ValidationError::DuplicateUser {
                index: 2,
                first_index: 0,
                user: "a".into()
            })
        );
        let e = users(&["a", "b", "a"]).unwrap_err().to_string();
        assert_eq!(e, "user #2 (a) repeats user #0: user ids must be unique");
    }
}
