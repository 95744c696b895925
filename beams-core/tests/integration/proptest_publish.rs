//! Property tests of the publish client's local validation of interests against the
//! regex model `^[A-Za-z0-9_\-=@,.;]{1,164}$`, through the public `Notification::interests_body`
//! (exactly what `BeamsClient` sends).
//!
//! `cargo test -p beams-core --all-features --test integration proptest_publish`
#![cfg(feature = "publish")]

use beams_core::publish::{
    MAX_INTEREST_LEN, MAX_INTERESTS, Notification, ValidationError, WebNotification, WebPayload,
};
use proptest::prelude::*;
use proptest::string::string_regex;

use crate::proptest_config as config;

fn model(interest: &str) -> bool {
    let len = interest.chars().count();
    (1..=164).contains(&len)
        && interest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-=@,.;".contains(c))
}

fn notification() -> Notification {
    Notification::new().web(WebPayload::new().notification(WebNotification::new("T", "B")))
}

/// Valid names, near-valid names (one bad character, one too many), and anything at all.
fn interest() -> impl Strategy<Value = String> {
    let valid = string_regex("[A-Za-z0-9_\\-=@,.;]{1,164}").unwrap();
    let long = string_regex("[A-Za-z0-9_\\-=@,.;]{160,170}").unwrap();
    let with_bad = (
        string_regex("[A-Za-z0-9_\\-=@,.;]{0,20}").unwrap(),
        prop::sample::select(vec![
            ' ', ':', '/', '+', '#', '*', '\0', '\n', 'é', '😀', '%', '&', '"', '\\',
        ]),
        string_regex("[A-Za-z0-9_\\-=@,.;]{0,20}").unwrap(),
    )
        .prop_map(|(a, c, b)| format!("{a}{c}{b}"));
    prop_oneof![
        3 => valid,
        2 => long,
        2 => with_bad,
        1 => Just(String::new()),
        2 => any::<String>(),
    ]
}

proptest! {
    #![proptest_config(config())]

    /// One interest: accepted exactly when the regex model accepts it; a refusal names index 0
    /// and the rule that failed.
    #[test]
    fn single_interest_matches_the_regex_model(name in interest()) {
        let result = notification().interests_body(&[name.as_str()]);
        prop_assert_eq!(result.is_ok(), model(&name), "{:?}: {:?}", name, result);
        match result {
            Ok(body) => {
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
                prop_assert_eq!(&v["interests"], &serde_json::json!([name]));
            }
            Err(ValidationError::EmptyInterest { index }) => {
                prop_assert_eq!(index, 0);
                prop_assert!(name.is_empty());
            }
            Err(ValidationError::InvalidInterestChar { index, interest, found }) => {
                prop_assert_eq!(index, 0);
                prop_assert_eq!(&interest, &name);
                prop_assert!(!model(&found.to_string()));
                prop_assert_eq!(name.chars().find(|c| !model(&c.to_string())), Some(found));
            }
            Err(ValidationError::InterestTooLong { index, len, .. }) => {
                prop_assert_eq!(index, 0);
                prop_assert!(len > MAX_INTEREST_LEN);
            }
            Err(other) => prop_assert!(false, "unexpected {other:?} for {name:?}"),
        }
    }

    /// Lists: 1–100 valid names pass; an invalid one anywhere is reported at its index;
    /// 0 and 101+ are refused by count.
    #[test]
    fn interest_lists(
        names in prop::collection::vec(string_regex("[A-Za-z0-9_\\-=@,.;]{1,40}").unwrap(), 0..=110),
        bad in prop::option::of((any::<prop::sample::Index>(), prop::sample::select(vec!["", "a b", "a:b", "é", "x/y"]))),
    ) {
        let mut names = names;
        let bad_index = match (&bad, names.is_empty()) {
            (Some((at, value)), false) => {
                let i = at.index(names.len());
                names[i] = (*value).to_owned();
                Some(i)
            }
            _ => None,
        };
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let result = notification().interests_body(&refs);
        match (names.len(), bad_index) {
            (0, _) => prop_assert_eq!(result, Err(ValidationError::NoInterests)),
            (n, _) if n > MAX_INTERESTS => {
                prop_assert_eq!(result, Err(ValidationError::TooManyInterests { count: n }));
            }
            (_, Some(i)) => {
                let index = match result {
                    Err(ValidationError::EmptyInterest { index } |
ValidationError::InvalidInterestChar { index, .. }) => index,
                    other => return Err(TestCaseError::fail(format!("{other:?}"))),
                };
                prop_assert_eq!(index, i);
            }
            (_, None) => prop_assert!(result.is_ok(), "{:?}", result),
        }
    }
}
