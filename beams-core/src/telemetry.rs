//! Every metric beams-core records, in one place: the names, the label values, and the calls
//! into the `metrics` facade (feature `metrics`). Without the feature every function here is
//! empty and the `metrics` crate is not linked.
//!
//! Label values are `&'static str` literals chosen by a `match` on a small enum, so each
//! recording uses a key the facade's macros build in a `static`: nothing is allocated, and no
//! value from a request (a user id, an interest, a publish id) can ever become a label.

// Without the feature, or with only some of the features that use them, some of these items
// are not called.
#![cfg_attr(
    not(all(
        feature = "metrics",
        feature = "publish",
        feature = "webhook",
        feature = "outbox"
    )),
    allow(dead_code)
)]

/// The metric names.
#[cfg(feature = "metrics")]
mod name {
    pub(super) const AUTH_REQUESTS: &str = "beams_auth_requests_total";
    pub(super) const AUTH_DURATION: &str = "beams_auth_duration_seconds";
    pub(super) const PUBLISH_REQUESTS: &str = "beams_publish_requests_total";
    pub(super) const PUBLISH_RETRIES: &str = "beams_publish_retries_total";
    pub(super) const PUBLISH_DURATION: &str = "beams_publish_duration_seconds";
    pub(super) const RATE_LIMITER_WAIT: &str = "beams_rate_limiter_wait_seconds";
    pub(super) const WEBHOOK_REQUESTS: &str = "beams_webhook_requests_total";
    pub(super) const WEBHOOK_EVENTS: &str = "beams_webhook_events_total";
    pub(super) const OUTBOX_ENQUEUED: &str = "beams_outbox_enqueued_total";
    pub(super) const OUTBOX_PUBLISHED: &str = "beams_outbox_published_total";
    pub(super) const OUTBOX_RETRIES: &str = "beams_outbox_retries_total";
    pub(super) const OUTBOX_DEAD_LETTERED: &str = "beams_outbox_dead_lettered_total";
    pub(super) const OUTBOX_PENDING: &str = "beams_outbox_pending";
    pub(super) const OUTBOX_DEAD_LETTERS: &str = "beams_outbox_dead_letters";
}

/// `one_label!(counter!(NAME, "key" => value; Pattern => "label", …).increment(1))`: one
/// facade macro call per label value, each with a literal label, so that every key is static.
#[cfg(feature = "metrics")]
macro_rules! one_label {
    ($kind:ident!($name:expr, $key:literal => $value:expr; $($pat:pat => $label:literal),+ $(,)?) . $method:ident $args:tt) => {
        match $value {
            $($pat => ::metrics::$kind!($name, $key => $label).$method $args,)+
        }
    };
}

/// [`one_label!`] with two labels: every combination gets its own static key.
#[cfg(feature = "metrics")]
macro_rules! two_labels {
    (
        $kind:ident!($name:expr,
            $k1:literal => $v1:expr; { $($p1:pat => $l1:literal),+ $(,)? },
            $k2:literal => $v2:expr; $arms2:tt
        ) . $method:ident $args:tt
    ) => {
        match $v1 {
            $($p1 => two_labels!(@second $kind, $name, $k1 => $l1, $k2 => $v2, $arms2, $method $args),)+
        }
    };
    (@second $kind:ident, $name:expr, $k1:literal => $l1:literal, $k2:literal => $v2:expr,
        { $($p2:pat => $l2:literal),+ $(,)? }, $method:ident $args:tt) => {
        match $v2 {
            $($p2 => ::metrics::$kind!($name, $k1 => $l1, $k2 => $l2).$method $args,)+
        }
    };
}

/// When a measured operation started; a zero-sized nothing without the feature.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stopwatch {
    #[cfg(feature = "metrics")]
    started: std::time::Instant,
}

impl Stopwatch {
    #[inline]
    pub(crate) fn start() -> Self {
        Self {
            #[cfg(feature = "metrics")]
            started: std::time::Instant::now(),
        }
    }

    #[cfg(feature = "metrics")]
    fn seconds(self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }
}

/// `outcome` of `beams_auth_requests_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthOutcome {
    Issued,
    BadRequest,
    Unauthorized,
    Unavailable,
    MethodNotAllowed,
}

/// One auth request decided: `beams_auth_requests_total{outcome}` and
/// `beams_auth_duration_seconds` since `started`.
#[inline]
pub(crate) fn auth_decided(outcome: AuthOutcome, started: Stopwatch) {
    #[cfg(feature = "metrics")]
    {
        one_label!(
            counter!(name::AUTH_REQUESTS, "outcome" => outcome;
                AuthOutcome::Issued => "issued",
                AuthOutcome::BadRequest => "bad_request",
                AuthOutcome::Unauthorized => "unauthorized",
                AuthOutcome::Unavailable => "unavailable",
                AuthOutcome::MethodNotAllowed => "method_not_allowed",
            )
            .increment(1)
        );
        ::metrics::histogram!(name::AUTH_DURATION).record(started.seconds());
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (outcome, started);
}

/// `operation` of the publish metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    PublishToUsers,
    PublishToInterests,
    DeleteUser,
}

impl Operation {
    /// The value of the label, and of the `operation` field of the request's span.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::PublishToUsers => "publish_to_users",
            Self::PublishToInterests => "publish_to_interests",
            Self::DeleteUser => "delete_user",
        }
    }
}

/// `outcome` of `beams_publish_requests_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PublishOutcome {
    /// A 2xx.
    Ok,
    /// A 429.
    RateLimited,
    /// Any other status below 500 that is not a 2xx. Redirects (3xx) count here: Beams never
    /// redirects and the client never follows one, so a 3xx is a failed request.
    ClientError,
    /// A 5xx.
    ServerError,
    /// No (complete) answer: connect error, timeout, connection lost.
    Network,
}

impl PublishOutcome {
    /// The outcome of an answer with `status`.
    pub(crate) fn of_status(status: http::StatusCode) -> Self {
        if status.is_success() {
            Self::Ok
        } else if status == http::StatusCode::TOO_MANY_REQUESTS {
            Self::RateLimited
        } else if status.is_server_error() {
            Self::ServerError
        } else {
            Self::ClientError
        }
    }
}

/// One HTTP request sent to Beams and its end: `beams_publish_requests_total{operation,
/// outcome}` and `beams_publish_duration_seconds{operation}` since `sent`.
#[inline]
pub(crate) fn publish_request(operation: Operation, outcome: PublishOutcome, sent: Stopwatch) {
    #[cfg(feature = "metrics")]
    {
        two_labels!(
            counter!(name::PUBLISH_REQUESTS,
                "operation" => operation; {
                    Operation::PublishToUsers => "publish_to_users",
                    Operation::PublishToInterests => "publish_to_interests",
                    Operation::DeleteUser => "delete_user",
                },
                "outcome" => outcome; {
                    PublishOutcome::Ok => "ok",
                    PublishOutcome::RateLimited => "rate_limited",
                    PublishOutcome::ClientError => "client_error",
                    PublishOutcome::ServerError => "server_error",
                    PublishOutcome::Network => "network",
                }
            )
            .increment(1)
        );
        let seconds = sent.seconds();
        one_label!(
            histogram!(name::PUBLISH_DURATION, "operation" => operation;
                Operation::PublishToUsers => "publish_to_users",
                Operation::PublishToInterests => "publish_to_interests",
                Operation::DeleteUser => "delete_user",
            )
            .record(seconds)
        );
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (operation, outcome, sent);
}

/// A request to Beams is tried again: `beams_publish_retries_total{operation}`.
#[inline]
pub(crate) fn publish_retry(operation: Operation) {
    #[cfg(feature = "metrics")]
    one_label!(
        counter!(name::PUBLISH_RETRIES, "operation" => operation;
            Operation::PublishToUsers => "publish_to_users",
            Operation::PublishToInterests => "publish_to_interests",
            Operation::DeleteUser => "delete_user",
        )
        .increment(1)
    );
    #[cfg(not(feature = "metrics"))]
    let _ = operation;
}

/// A request got its slot, having waited since `waiting`: `beams_rate_limiter_wait_seconds`.
#[inline]
pub(crate) fn rate_limiter_waited(waiting: Stopwatch) {
    #[cfg(feature = "metrics")]
    ::metrics::histogram!(name::RATE_LIMITER_WAIT).record(waiting.seconds());
    #[cfg(not(feature = "metrics"))]
    let _ = waiting;
}

/// `outcome` of `beams_webhook_requests_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WebhookOutcome {
    Accepted,
    BadSignature,
    BadRequest,
    TooLarge,
    MethodNotAllowed,
    HandlerError,
}

/// One webhook request answered: `beams_webhook_requests_total{outcome}`.
#[inline]
pub(crate) fn webhook_answered(outcome: WebhookOutcome) {
    #[cfg(feature = "metrics")]
    one_label!(
        counter!(name::WEBHOOK_REQUESTS, "outcome" => outcome;
            WebhookOutcome::Accepted => "accepted",
            WebhookOutcome::BadSignature => "bad_signature",
            WebhookOutcome::BadRequest => "bad_request",
            WebhookOutcome::TooLarge => "too_large",
            WebhookOutcome::MethodNotAllowed => "method_not_allowed",
            WebhookOutcome::HandlerError => "handler_error",
        )
        .increment(1)
    );
    #[cfg(not(feature = "metrics"))]
    let _ = outcome;
}

/// `event` of `beams_webhook_events_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WebhookEventKind {
    PublishToUsersAttempt,
    UserNotificationAcknowledgement,
    UserNotificationOpen,
    Other,
}

/// One verified webhook event: `beams_webhook_events_total{event}`.
#[inline]
pub(crate) fn webhook_event(event: WebhookEventKind) {
    #[cfg(feature = "metrics")]
    one_label!(counter!(name::WEBHOOK_EVENTS, "event" => event;
        WebhookEventKind::PublishToUsersAttempt => "publish_to_users_attempt",
        WebhookEventKind::UserNotificationAcknowledgement => "user_notification_acknowledgement",
        WebhookEventKind::UserNotificationOpen => "user_notification_open",
        WebhookEventKind::Other => "other",
    ).increment(1));
    #[cfg(not(feature = "metrics"))]
    let _ = event;
}

/// What became of one outbox entry after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutboxEvent {
    /// A publish stored: `beams_outbox_enqueued_total`.
    Enqueued,
    /// A batch published: `beams_outbox_published_total`.
    Published,
    /// A batch scheduled for another attempt: `beams_outbox_retries_total`.
    Retried,
    /// A batch given up: `beams_outbox_dead_lettered_total`.
    DeadLettered,
}

/// Counts one outbox event.
#[inline]
pub(crate) fn outbox_event(event: OutboxEvent) {
    #[cfg(feature = "metrics")]
    match event {
        OutboxEvent::Enqueued => ::metrics::counter!(name::OUTBOX_ENQUEUED).increment(1),
        OutboxEvent::Published => ::metrics::counter!(name::OUTBOX_PUBLISHED).increment(1),
        OutboxEvent::Retried => ::metrics::counter!(name::OUTBOX_RETRIES).increment(1),
        OutboxEvent::DeadLettered => ::metrics::counter!(name::OUTBOX_DEAD_LETTERED).increment(1),
    }
    #[cfg(not(feature = "metrics"))]
    let _ = event;
}

/// The outbox's size as a worker last read it: `beams_outbox_pending` (entries waiting,
/// scheduled or in flight) and `beams_outbox_dead_letters`.
#[inline]
pub(crate) fn outbox_sizes(pending: u64, dead_letters: u64) {
    #[cfg(feature = "metrics")]
    {
        ::metrics::gauge!(name::OUTBOX_PENDING).set(pending as f64);
        ::metrics::gauge!(name::OUTBOX_DEAD_LETTERS).set(dead_letters as f64);
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (pending, dead_letters);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_outcomes_by_status() {
        let of = |code| PublishOutcome::of_status(http::StatusCode::from_u16(code).unwrap());
        assert_eq!(of(200), PublishOutcome::Ok);
        assert_eq!(of(202), PublishOutcome::Ok);
        assert_eq!(of(429), PublishOutcome::RateLimited);
        assert_eq!(of(400), PublishOutcome::ClientError);
        assert_eq!(of(404), PublishOutcome::ClientError);
        assert_eq!(of(302), PublishOutcome::ClientError);
        assert_eq!(of(500), PublishOutcome::ServerError);
        assert_eq!(of(503), PublishOutcome::ServerError);
    }
}
