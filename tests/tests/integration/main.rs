//! The cross-crate suites, one binary (`cargo test -p beams-tests --test integration`): both
//! adapters side by side, interop with the official SDKs and other ecosystems' libraries, the
//! publish client against the emulator, faults, webhooks and the shared rate limit.

mod actix_session_timeout;
mod cross_adapter;
mod interop_mobile_query;
mod interop_publish;
mod interop_tokens;
mod interop_web_sdk;
mod metrics;
mod notify_faults;
mod outbox;
mod publish_emulator;
mod shared_rate_limit;
mod webhooks;
