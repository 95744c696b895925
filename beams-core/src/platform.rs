//! The push platforms Beams knows: web, FCM and APNs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A push platform: the key of its payload in a publish body, and the platform of a device
/// (`/devices/{platform}/…` in Beams' device API).
///
/// ```
/// use beams_core::Platform;
///
/// assert_eq!(Platform::Fcm.as_str(), "fcm");
/// assert_eq!("apns".parse::<Platform>(), Ok(Platform::Apns));
/// assert!("email".parse::<Platform>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Platform {
    /// Web push, through the web SDK and its service worker (`web`).
    Web,
    /// Android, through Firebase Cloud Messaging in its legacy format (`fcm`).
    Fcm,
    /// Apple devices, through the Apple Push Notification service (`apns`).
    Apns,
}

impl Platform {
    /// The platform's name in publish bodies, device API paths and device ids: `web`, `fcm`
    /// or `apns`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Web => "web",
            Self::Fcm => "fcm",
            Self::Apns => "apns",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing a [`Platform`] from a string other than `web`, `fcm` or `apns`.
///
/// ```
/// let err = "email".parse::<beams_core::Platform>().unwrap_err();
/// assert_eq!(err.input(), "email");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown platform {0:?}: expected web, fcm or apns")]
pub struct UnknownPlatform(String);

impl UnknownPlatform {
    /// What was parsed (its first 40 characters).
    pub fn input(&self) -> &str {
        &self.0
    }
}

impl FromStr for Platform {
    type Err = UnknownPlatform;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "web" => Ok(Self::Web),
            "fcm" => Ok(Self::Fcm),
            "apns" => Ok(Self::Apns),
            other => Err(UnknownPlatform(other.chars().take(40).collect())),
        }
    }
}
