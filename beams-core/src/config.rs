//! Configuration: instance id, secret key, token lifetime, auth path and base URL.

use std::fmt;
use std::time::Duration;

/// The longest lifetime Beams accepts for a Beams Token, and our default: 24 hours.
pub const MAX_TOKEN_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// The default path of the auth route: `/pusher/beams-auth`.
pub const DEFAULT_AUTH_PATH: &str = "/pusher/beams-auth";

/// Environment variable holding the instance id.
pub const ENV_INSTANCE_ID: &str = "BEAMS_INSTANCE_ID";
/// Environment variable holding the secret key.
pub const ENV_SECRET_KEY: &str = "BEAMS_SECRET_KEY";
/// Environment variable holding an optional base URL override (an emulator, a proxy).
pub const ENV_ENDPOINT: &str = "BEAMS_ENDPOINT";

/// Why a [`BeamsConfig`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The instance id is empty.
    #[error("the Beams instance id is empty")]
    EmptyInstanceId,
    /// The instance id has a character outside `[A-Za-z0-9-]`.
    #[error(
        "the Beams instance id may only contain ASCII letters, digits and '-' (found {found:?} at byte {index})"
    )]
    InvalidInstanceId {
        /// The first offending character.
        found: char,
        /// Its byte offset in the instance id.
        index: usize,
    },
    /// The secret key is empty.
    #[error("the Beams secret key is empty")]
    EmptySecretKey,
    /// The token lifetime is zero or longer than [`MAX_TOKEN_TTL`].
    #[error("the token TTL must be between 1 second and 24 hours (got {0:?})")]
    InvalidTokenTtl(Duration),
    /// The auth path does not start with `/`, or has a query, fragment or whitespace.
    #[error("the auth path must start with '/' and hold no '?', '#' or whitespace (got {0:?})")]
    InvalidAuthPath(String),
    /// The base URL is not an absolute `http://` or `https://` URL.
    #[error(
        "the Beams base URL must be an absolute http:// or https:// URL without query (got {0:?})"
    )]
    InvalidBaseUrl(String),
    /// A required environment variable is not set.
    #[error("environment variable {0} is not set")]
    MissingEnv(&'static str),
    /// An environment variable is set but not valid Unicode.
    #[error("environment variable {0} is not valid Unicode")]
    NotUnicodeEnv(&'static str),
    /// An environment variable holds a value that was refused.
    #[error("environment variable {var}: {source}")]
    InvalidEnv {
        /// The variable's name.
        var: &'static str,
        /// Why its value was refused.
        #[source]
        source: Box<ConfigError>,
    },
}

/// A Beams secret key. Its `Debug` and `Display` never show it.
///
/// ```
/// use beams_core::SecretKey;
/// let key = SecretKey::new("F8AC0B756E50DF235F642D6F0DC2CDE0");
/// assert_eq!(format!("{key:?}"), "SecretKey(<redacted>)");
/// assert_eq!(key.to_string(), "<redacted>");
/// assert_eq!(key.expose_secret(), "F8AC0B756E50DF235F642D6F0DC2CDE0");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(Box<str>);

impl SecretKey {
    /// Wraps a secret key.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into().into_boxed_str())
    }

    /// The secret itself, for signing and for the `Authorization` header. Never log it.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

impl fmt::Display for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<String> for SecretKey {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl From<&str> for SecretKey {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

/// Validated configuration for one Beams instance.
///
/// ```
/// use beams_core::BeamsConfig;
/// use std::time::Duration;
///
/// let config = BeamsConfig::builder("1b880590-6301-4bb5-b34f-45db1c5f5644", "my-secret")
///     .token_ttl(Duration::from_secs(3600))
///     .build()?;
/// assert_eq!(config.auth_path(), "/pusher/beams-auth");
/// assert_eq!(
///     config.base_url(),
///     "https://1b880590-6301-4bb5-b34f-45db1c5f5644.pushnotifications.pusher.com"
/// );
/// assert!(!format!("{config:?}").contains("my-secret"));
/// # Ok::<(), beams_core::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct BeamsConfig {
    instance_id: Box<str>,
    secret_key: SecretKey,
    token_ttl: Duration,
    auth_path: Box<str>,
    base_url: Box<str>,
    base_url_overridden: bool,
}

impl BeamsConfig {
    /// Starts a builder with the two required values.
    pub fn builder(
        instance_id: impl Into<String>,
        secret_key: impl Into<SecretKey>,
    ) -> BeamsConfigBuilder {
        BeamsConfigBuilder {
            instance_id: instance_id.into(),
            secret_key: secret_key.into(),
            token_ttl: MAX_TOKEN_TTL,
            auth_path: DEFAULT_AUTH_PATH.to_owned(),
            base_url: None,
        }
    }

    /// Shorthand for `BeamsConfig::builder(instance_id, secret_key).build()`.
    pub fn new(
        instance_id: impl Into<String>,
        secret_key: impl Into<SecretKey>,
    ) -> Result<Self, ConfigError> {
        Self::builder(instance_id, secret_key).build()
    }

    /// Reads `BEAMS_INSTANCE_ID`, `BEAMS_SECRET_KEY` and the optional `BEAMS_ENDPOINT`.
    ///
    /// Errors name the variable that is missing or wrong.
    ///
    /// ```no_run
    /// let config = beams_core::BeamsConfig::from_env()?;
    /// # Ok::<(), beams_core::ConfigError>(())
    /// ```
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_env_with(std::env::var)
    }

    /// Like [`from_env`](Self::from_env), reading variables through `get` (for tests and
    /// for hosts with their own configuration source).
    pub fn from_env_with(
        get: impl Fn(&'static str) -> Result<String, std::env::VarError>,
    ) -> Result<Self, ConfigError> {
        let read = |var: &'static str| match get(var) {
            Ok(value) => Ok(Some(value)),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(ConfigError::NotUnicodeEnv(var)),
        };
        let wrap = |var: &'static str| {
            move |source: ConfigError| ConfigError::InvalidEnv {
                var,
                source: Box::new(source),
            }
        };
        let instance_id = read(ENV_INSTANCE_ID)?.ok_or(ConfigError::MissingEnv(ENV_INSTANCE_ID))?;
        let secret_key = read(ENV_SECRET_KEY)?.ok_or(ConfigError::MissingEnv(ENV_SECRET_KEY))?;
        let endpoint = read(ENV_ENDPOINT)?.filter(|e| !e.trim().is_empty());

        validate_instance_id(&instance_id).map_err(wrap(ENV_INSTANCE_ID))?;
        if secret_key.is_empty() {
            return Err(wrap(ENV_SECRET_KEY)(ConfigError::EmptySecretKey));
        }
        let mut builder = Self::builder(instance_id, secret_key);
        if let Some(endpoint) = endpoint {
            validate_base_url(&endpoint).map_err(wrap(ENV_ENDPOINT))?;
            builder = builder.base_url(endpoint);
        }
        builder.build()
    }

    /// The instance id, e.g. `1b880590-6301-4bb5-b34f-45db1c5f5644`.
    pub fn instance_id(&self) -> &str {
        &self.instance_id
    }

    /// The secret key (redacted in `Debug`).
    pub fn secret_key(&self) -> &SecretKey {
        &self.secret_key
    }

    /// How long issued Beams Tokens are valid.
    pub fn token_ttl(&self) -> Duration {
        self.token_ttl
    }

    /// The path the auth route is served at.
    pub fn auth_path(&self) -> &str {
        &self.auth_path
    }

    /// The base URL of the Beams APIs, without a trailing slash:
    /// `https://{instance_id}.pushnotifications.pusher.com` unless overridden.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Whether the base URL was overridden (e.g. to point at an emulator).
    pub fn base_url_overridden(&self) -> bool {
        self.base_url_overridden
    }

    /// The `iss` claim of this instance's Beams Tokens:
    /// `https://{instance_id}.pushnotifications.pusher.com`, whatever the base URL.
    pub fn issuer(&self) -> String {
        format!("https://{}.pushnotifications.pusher.com", self.instance_id)
    }
}

/// Builder for [`BeamsConfig`]; [`build`](Self::build) validates every value.
#[derive(Debug, Clone)]
#[must_use]
pub struct BeamsConfigBuilder {
    instance_id: String,
    secret_key: SecretKey,
    token_ttl: Duration,
    auth_path: String,
    base_url: Option<String>,
}

impl BeamsConfigBuilder {
    /// How long issued tokens are valid: at most 24 hours (the default), at least 1 second.
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl = ttl;
        self
    }

    /// The auth route's path (default `/pusher/beams-auth`).
    pub fn auth_path(mut self, path: impl Into<String>) -> Self {
        self.auth_path = path.into();
        self
    }

    /// Overrides the base URL of the Beams APIs (e.g. `http://127.0.0.1:4000` for an emulator).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Validates and builds the configuration.
    pub fn build(self) -> Result<BeamsConfig, ConfigError> {
        validate_instance_id(&self.instance_id)?;
        if self.secret_key.expose_secret().is_empty() {
            return Err(ConfigError::EmptySecretKey);
        }
        if self.token_ttl.is_zero() || self.token_ttl > MAX_TOKEN_TTL {
            return Err(ConfigError::InvalidTokenTtl(self.token_ttl));
        }
        let path = &self.auth_path;
        if !path.starts_with('/') || path.contains(['?', '#']) || path.contains(char::is_whitespace)
        {
            return Err(ConfigError::InvalidAuthPath(self.auth_path));
        }
        let (base_url, overridden) = match self.base_url {
            Some(url) => {
                validate_base_url(&url)?;
                (url.trim_end_matches('/').to_owned(), true)
            }
            None => (
                format!("https://{}.pushnotifications.pusher.com", self.instance_id),
                false,
            ),
        };
        Ok(BeamsConfig {
            instance_id: self.instance_id.into_boxed_str(),
            secret_key: self.secret_key,
            token_ttl: self.token_ttl,
            auth_path: self.auth_path.into_boxed_str(),
            base_url: base_url.into_boxed_str(),
            base_url_overridden: overridden,
        })
    }
}

fn validate_instance_id(id: &str) -> Result<(), ConfigError> {
    if id.is_empty() {
        return Err(ConfigError::EmptyInstanceId);
    }
    match id
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        Some((index, found)) => Err(ConfigError::InvalidInstanceId { found, index }),
        None => Ok(()),
    }
}

fn validate_base_url(url: &str) -> Result<(), ConfigError> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let ok = match rest {
        Some(rest) => {
            let host = rest.split('/').next().unwrap_or("");
            !host.is_empty()
                && !rest.contains(['?', '#'])
                && !rest.contains(|c: char| c.is_whitespace() || c.is_control())
                && !host.contains('@')
        }
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(ConfigError::InvalidBaseUrl(url.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "1b880590-6301-4bb5-b34f-45db1c5f5644";

    fn env(
        vars: &[(&'static str, &str)],
    ) -> impl Fn(&'static str) -> Result<String, std::env::VarError> {
        let vars: Vec<(&'static str, String)> =
            vars.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
                .ok_or(std::env::VarError::NotPresent)
        }
    }

    #[test]
    fn defaults() {
        let c = BeamsConfig::new(ID, "s").unwrap();
        assert_eq!(c.token_ttl(), MAX_TOKEN_TTL);
        assert_eq!(c.auth_path(), DEFAULT_AUTH_PATH);
        assert_eq!(
            c.base_url(),
            format!("https://{ID}.pushnotifications.pusher.com")
        );
        assert!(!c.base_url_overridden());
        assert_eq!(c.issuer(), c.base_url());
    }

    #[test]
    fn instance_id_rules() {
        assert_eq!(
            BeamsConfig::new("", "s").unwrap_err(),
            ConfigError::EmptyInstanceId
        );
        assert_eq!(
            BeamsConfig::new("abc.evil.com", "s").unwrap_err(),
            ConfigError::InvalidInstanceId {
                found: '.',
                index: 3
            }
        );
        assert!(matches!(
            BeamsConfig::new("a/b", "s").unwrap_err(),
            ConfigError::InvalidInstanceId { found: '/', .. }
        ));
        assert!(matches!(
            BeamsConfig::new("é", "s").unwrap_err(),
            ConfigError::InvalidInstanceId {
                found: 'é',
                index: 0
            }
        ));
    }

    #[test]
    fn secret_and_ttl_rules() {
        assert_eq!(
            BeamsConfig::new(ID, "").unwrap_err(),
            ConfigError::EmptySecretKey
        );
        let ttl = |d| BeamsConfig::builder(ID, "s").token_ttl(d).build();
        assert!(ttl(Duration::from_secs(60)).is_ok());
        assert!(ttl(MAX_TOKEN_TTL).is_ok());
        assert_eq!(
            ttl(MAX_TOKEN_TTL + Duration::from_secs(1)).unwrap_err(),
            ConfigError::InvalidTokenTtl(MAX_TOKEN_TTL + Duration::from_secs(1))
        );
        assert!(ttl(Duration::ZERO).is_err());
    }

    #[test]
    fn path_and_base_url_rules() {
        let b = || BeamsConfig::builder(ID, "s");
        assert_eq!(
            b().auth_path("/beams").build().unwrap().auth_path(),
            "/beams"
        );
        for bad in ["beams", "/a?b", "/a#b", "/a b", ""] {
            assert!(
                matches!(
                    b().auth_path(bad).build(),
                    Err(ConfigError::InvalidAuthPath(_))
                ),
                "{bad}"
            );
        }
        let c = b().base_url("http://127.0.0.1:4000/").build().unwrap();
        assert_eq!(c.base_url(), "http://127.0.0.1:4000");
        assert!(c.base_url_overridden());
        assert_eq!(
            c.issuer(),
            format!("https://{ID}.pushnotifications.pusher.com")
        );
        for bad in [
            "127.0.0.1:4000",
            "ftp://x",
            "http://",
            "http://a/?q",
            "http://u@evil",
        ] {
            assert!(
                matches!(
                    b().base_url(bad).build(),
                    Err(ConfigError::InvalidBaseUrl(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn secret_is_never_shown() {
        let c = BeamsConfig::new(ID, "TOP-SECRET-VALUE").unwrap();
        assert!(!format!("{c:?}").contains("TOP-SECRET"));
        assert!(
            !format!("{:?}", BeamsConfig::builder(ID, "TOP-SECRET-VALUE")).contains("TOP-SECRET")
        );
        assert_eq!(c.secret_key().to_string(), "<redacted>");
    }

    #[test]
    fn from_env_names_the_variable() {
        let e = BeamsConfig::from_env_with(env(&[])).unwrap_err();
        assert_eq!(e, ConfigError::MissingEnv("BEAMS_INSTANCE_ID"));
        assert!(e.to_string().contains("BEAMS_INSTANCE_ID"));
        let e = BeamsConfig::from_env_with(env(&[(ENV_INSTANCE_ID, ID)])).unwrap_err();
        assert!(e.to_string().contains("BEAMS_SECRET_KEY"), "{e}");
        let e = BeamsConfig::from_env_with(env(&[(ENV_INSTANCE_ID, "a b"), (ENV_SECRET_KEY, "s")]))
            .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("environment variable BEAMS_INSTANCE_ID:"),
            "{e}"
        );
        let e = BeamsConfig::from_env_with(env(&[(ENV_INSTANCE_ID, ID), (ENV_SECRET_KEY, "")]))
            .unwrap_err();
        assert!(e.to_string().contains("BEAMS_SECRET_KEY"), "{e}");
        let e = BeamsConfig::from_env_with(env(&[
            (ENV_INSTANCE_ID, ID),
            (ENV_SECRET_KEY, "s"),
            (ENV_ENDPOINT, "localhost:4000"),
        ]))
        .unwrap_err();
        assert!(e.to_string().contains("BEAMS_ENDPOINT"), "{e}");
        let c = BeamsConfig::from_env_with(env(&[
            (ENV_INSTANCE_ID, ID),
            (ENV_SECRET_KEY, "s"),
            (ENV_ENDPOINT, "http://127.0.0.1:4000"),
        ]))
        .unwrap();
        assert_eq!(c.base_url(), "http://127.0.0.1:4000");
        let c = BeamsConfig::from_env_with(env(&[
            (ENV_INSTANCE_ID, ID),
            (ENV_SECRET_KEY, "s"),
            (ENV_ENDPOINT, ""),
        ]))
        .unwrap();
        assert!(!c.base_url_overridden());
    }
}
