//! What identifies a Beams instance: its id, its secret key and its endpoint.

use std::time::Duration;

const ENV_INSTANCE_ID: &str = "BEAMS_INSTANCE_ID";
const ENV_SECRET_KEY: &str = "BEAMS_SECRET_KEY";
const ENV_ENDPOINT: &str = "BEAMS_ENDPOINT";

/// Why an [`Instance`], a [`BeamsAuth`](crate::BeamsAuth) or (with the `webhook` feature) a
/// `WebhookReceiver` could not be built.
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
    /// A webhook secret is empty.
    #[cfg(feature = "webhook")]
    #[cfg_attr(docsrs, doc(cfg(feature = "webhook")))]
    #[error("a Beams webhook secret is empty")]
    EmptyWebhookSecret,
    /// The token lifetime is zero or longer than [`TokenIssuer::MAX_TTL`](crate::TokenIssuer::MAX_TTL).
    #[error("the token TTL must be between 1 second and 24 hours (got {0:?})")]
    InvalidTokenTtl(Duration),
    /// A route's path does not start with `/`, or has a query, fragment or whitespace.
    #[error("a route's path must start with '/' and hold no '?', '#' or whitespace (got {0:?})")]
    InvalidPath(String),
    /// The endpoint is not an absolute `http://` or `https://` URL without query.
    #[error(
        "the Beams endpoint must be an absolute http:// or https:// URL without query (got {0:?})"
    )]
    InvalidEndpoint(String),
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
        source: Box<Self>,
    },
}

/// The methods and impls of a secret held as a redacting string type: `new`,
/// `expose_secret`, `Debug`/`Display` showing `<redacted>`, `From<String>` and `From<&str>`.
/// No `PartialEq`: a derived one would compare secrets in variable time.
macro_rules! redacted_secret {
    ($name:ident) => {
        impl $name {
            /// Wraps a secret.
            pub fn new(secret: impl Into<String>) -> Self {
                Self(secret.into().into_boxed_str())
            }

            /// The secret itself, for signing or verifying. Never log it.
            pub fn expose_secret(&self) -> &str {
                &self.0
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str("<redacted>")
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self::new(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self::new(value)
            }
        }
    };
}
#[cfg(feature = "webhook")]
pub(crate) use redacted_secret;

/// A Beams secret key. Its `Debug` and `Display` never show it.
///
/// ```
/// use beams_core::SecretKey;
/// let key = SecretKey::new("F8AC0B756E50DF235F642D6F0DC2CDE0");
/// assert_eq!(format!("{key:?}"), "SecretKey(<redacted>)");
/// assert_eq!(key.to_string(), "<redacted>");
/// assert_eq!(key.expose_secret(), "F8AC0B756E50DF235F642D6F0DC2CDE0");
/// ```
///
/// It has no `==`: a derived one would compare secrets in variable time.
///
/// ```compile_fail
/// use beams_core::SecretKey;
/// let same = SecretKey::new("a") == SecretKey::new("a");
/// ```
#[derive(Clone)]
pub struct SecretKey(Box<str>);

redacted_secret!(SecretKey);

/// What identifies one Beams instance: its id, its secret key and the endpoint its APIs are
/// served at. The auth route ([`BeamsAuth`](crate::BeamsAuth)), the token issuer and the
/// publish client are all built from one `Instance`.
///
/// ```
/// use beams_core::Instance;
///
/// let instance = Instance::new("1b880590-6301-4bb5-b34f-45db1c5f5644", "my-secret")?;
/// assert_eq!(instance.id(), "1b880590-6301-4bb5-b34f-45db1c5f5644");
/// assert_eq!(
///     instance.endpoint(),
///     "https://1b880590-6301-4bb5-b34f-45db1c5f5644.pushnotifications.pusher.com"
/// );
/// assert!(!format!("{instance:?}").contains("my-secret"));
///
/// // An emulator or a proxy:
/// let local = Instance::builder("my-instance", "my-secret")
///     .endpoint("http://127.0.0.1:4000/")
///     .build()?;
/// assert_eq!(local.endpoint(), "http://127.0.0.1:4000");
/// # Ok::<(), beams_core::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Instance {
    id: Box<str>,
    secret_key: SecretKey,
    endpoint: Box<str>,
}

impl Instance {
    /// Starts a builder with the two required values.
    pub fn builder(id: impl Into<String>, secret_key: impl Into<SecretKey>) -> InstanceBuilder {
        InstanceBuilder {
            id: id.into(),
            secret_key: secret_key.into(),
            endpoint: None,
        }
    }

    /// An instance at Beams' own endpoint: `Instance::builder(id, secret_key).build()`.
    pub fn new(
        id: impl Into<String>,
        secret_key: impl Into<SecretKey>,
    ) -> Result<Self, ConfigError> {
        Self::builder(id, secret_key).build()
    }

    /// Reads `BEAMS_INSTANCE_ID`, `BEAMS_SECRET_KEY` and the optional `BEAMS_ENDPOINT` (an
    /// empty one counts as unset).
    ///
    /// Errors name the variable that is missing or wrong.
    ///
    /// ```no_run
    /// let instance = beams_core::Instance::from_env()?;
    /// # Ok::<(), beams_core::ConfigError>(())
    /// ```
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_env_with(std::env::var)
    }

    /// Like [`from_env`](Self::from_env), reading variables through `get` (for tests and
    /// for hosts with their own configuration source).
    ///
    /// ```
    /// use beams_core::{ConfigError, Instance};
    ///
    /// let vars = |name: &str| match name {
    ///     "BEAMS_INSTANCE_ID" => Ok("my-instance".to_owned()),
    ///     "BEAMS_SECRET_KEY" => Ok("my-secret".to_owned()),
    ///     _ => Err(std::env::VarError::NotPresent),
    /// };
    /// assert_eq!(Instance::from_env_with(vars)?.id(), "my-instance");
    ///
    /// let none = |_: &str| Err(std::env::VarError::NotPresent);
    /// assert_eq!(Instance::from_env_with(none).unwrap_err(), ConfigError::MissingEnv("BEAMS_INSTANCE_ID"));
    /// # Ok::<(), ConfigError>(())
    /// ```
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
        let id = read(ENV_INSTANCE_ID)?.ok_or(ConfigError::MissingEnv(ENV_INSTANCE_ID))?;
        let secret_key = read(ENV_SECRET_KEY)?.ok_or(ConfigError::MissingEnv(ENV_SECRET_KEY))?;
        let endpoint = read(ENV_ENDPOINT)?.filter(|e| !e.trim().is_empty());

        validate_instance_id(&id).map_err(wrap(ENV_INSTANCE_ID))?;
        if secret_key.is_empty() {
            return Err(wrap(ENV_SECRET_KEY)(ConfigError::EmptySecretKey));
        }
        let mut builder = Self::builder(id, secret_key);
        if let Some(endpoint) = endpoint {
            validate_endpoint(&endpoint).map_err(wrap(ENV_ENDPOINT))?;
            builder = builder.endpoint(endpoint);
        }
        builder.build()
    }

    /// The instance id, e.g. `1b880590-6301-4bb5-b34f-45db1c5f5644`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The secret key (redacted in `Debug`).
    pub fn secret_key(&self) -> &SecretKey {
        &self.secret_key
    }

    /// The base URL of the Beams APIs, without a trailing slash:
    /// `https://{id}.pushnotifications.pusher.com` unless overridden.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The `iss` claim of this instance's Beams Tokens:
    /// `https://{id}.pushnotifications.pusher.com`, whatever the endpoint.
    pub(crate) fn issuer(&self) -> String {
        beams_host(&self.id)
    }
}

fn beams_host(id: &str) -> String {
    format!("https://{id}.pushnotifications.pusher.com")
}

/// Builder for [`Instance`]; [`build`](Self::build) validates every value.
#[derive(Debug, Clone)]
#[must_use]
pub struct InstanceBuilder {
    id: String,
    secret_key: SecretKey,
    endpoint: Option<String>,
}

impl InstanceBuilder {
    /// Overrides the base URL of the Beams APIs: an absolute `http://` or `https://` URL
    /// without query, e.g. `http://127.0.0.1:4000` for an emulator.
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// Validates and builds the instance.
    pub fn build(self) -> Result<Instance, ConfigError> {
        validate_instance_id(&self.id)?;
        if self.secret_key.expose_secret().is_empty() {
            return Err(ConfigError::EmptySecretKey);
        }
        let endpoint = match self.endpoint {
            Some(url) => {
                validate_endpoint(&url)?;
                url.trim_end_matches('/').to_owned()
            }
            None => beams_host(&self.id),
        };
        Ok(Instance {
            id: self.id.into_boxed_str(),
            secret_key: self.secret_key,
            endpoint: endpoint.into_boxed_str(),
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

fn validate_endpoint(url: &str) -> Result<(), ConfigError> {
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
        Err(ConfigError::InvalidEndpoint(redact_userinfo(url)))
    }
}

/// `url` without what comes before an `@` in its authority (a refused endpoint's error is
/// printed, and `user:password@` must not be).
fn redact_userinfo(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => {
            let separator = if scheme.is_empty() { "" } else { "://" };
            format!("{scheme}{separator}<redacted>{}", &rest[at..])
        }
        None => url.to_owned(),
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
        let i = Instance::new(ID, "s").unwrap();
        assert_eq!(
            i.endpoint(),
            format!("https://{ID}.pushnotifications.pusher.com")
        );
        assert_eq!(i.issuer(), i.endpoint());
    }

    #[test]
    fn instance_id_rules() {
        assert_eq!(
            Instance::new("", "s").unwrap_err(),
            ConfigError::EmptyInstanceId
        );
        assert_eq!(
            Instance::new("abc.evil.com", "s").unwrap_err(),
            ConfigError::InvalidInstanceId {
                found: '.',
                index: 3
            }
        );
        assert!(matches!(
            Instance::new("a/b", "s").unwrap_err(),
            ConfigError::InvalidInstanceId { found: '/', .. }
        ));
        assert!(matches!(
            Instance::new("é", "s").unwrap_err(),
            ConfigError::InvalidInstanceId {
                found: 'é',
                index: 0
            }
        ));
    }

    #[test]
    fn secret_rules() {
        assert_eq!(
            Instance::new(ID, "").unwrap_err(),
            ConfigError::EmptySecretKey
        );
    }

    #[test]
    fn endpoint_rules() {
        let b = || Instance::builder(ID, "s");
        let i = b().endpoint("http://127.0.0.1:4000/").build().unwrap();
        assert_eq!(i.endpoint(), "http://127.0.0.1:4000");
        assert_eq!(
            i.issuer(),
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
                    b().endpoint(bad).build(),
                    Err(ConfigError::InvalidEndpoint(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_refused_endpoint_does_not_show_its_password() {
        let err = Instance::builder(ID, "secret")
            .endpoint("https://user:pa55word@evil.example/x")
            .build()
            .unwrap_err();
        assert_eq!(
            err,
            ConfigError::InvalidEndpoint("https://<redacted>@evil.example/x".to_owned())
        );
        assert!(!err.to_string().contains("pa55word"));
        assert_eq!(redact_userinfo("ftp://x"), "ftp://x");
        assert_eq!(redact_userinfo("u:p@h"), "<redacted>@h");
    }

    #[test]
    fn secret_is_never_shown() {
        let i = Instance::new(ID, "TOP-SECRET-VALUE").unwrap();
        assert!(!format!("{i:?}").contains("TOP-SECRET"));
        assert!(!format!("{:?}", Instance::builder(ID, "TOP-SECRET-VALUE")).contains("TOP-SECRET"));
        assert_eq!(i.secret_key().to_string(), "<redacted>");
    }

    #[test]
    fn from_env_names_the_variable() {
        let e = Instance::from_env_with(env(&[])).unwrap_err();
        assert_eq!(e, ConfigError::MissingEnv("BEAMS_INSTANCE_ID"));
        assert!(e.to_string().contains("BEAMS_INSTANCE_ID"));
        let e = Instance::from_env_with(env(&[(ENV_INSTANCE_ID, ID)])).unwrap_err();
        assert!(e.to_string().contains("BEAMS_SECRET_KEY"), "{e}");
        let e = Instance::from_env_with(env(&[(ENV_INSTANCE_ID, "a b"), (ENV_SECRET_KEY, "s")]))
            .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("environment variable BEAMS_INSTANCE_ID:"),
            "{e}"
        );
        let e = Instance::from_env_with(env(&[(ENV_INSTANCE_ID, ID), (ENV_SECRET_KEY, "")]))
            .unwrap_err();
        assert!(e.to_string().contains("BEAMS_SECRET_KEY"), "{e}");
        let e = Instance::from_env_with(env(&[
            (ENV_INSTANCE_ID, ID),
            (ENV_SECRET_KEY, "s"),
            (ENV_ENDPOINT, "localhost:4000"),
        ]))
        .unwrap_err();
        assert!(e.to_string().contains("BEAMS_ENDPOINT"), "{e}");
        let i = Instance::from_env_with(env(&[
            (ENV_INSTANCE_ID, ID),
            (ENV_SECRET_KEY, "s"),
            (ENV_ENDPOINT, "http://127.0.0.1:4000"),
        ]))
        .unwrap();
        assert_eq!(i.endpoint(), "http://127.0.0.1:4000");
        let i = Instance::from_env_with(env(&[
            (ENV_INSTANCE_ID, ID),
            (ENV_SECRET_KEY, "s"),
            (ENV_ENDPOINT, ""),
        ]))
        .unwrap();
        assert_eq!(
            i.endpoint(),
            format!("https://{ID}.pushnotifications.pusher.com")
        );
    }
}
