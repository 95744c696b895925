//! The real `example-actix` binary, driven from outside, one binary (`cargo test -p example-actix
//! --test integration`): over HTTP, its metrics (`METRICS_ADDR`), hostile input and
//! hardening, secret hygiene, replicas sharing Redis,
//! `/notify` through the outbox, and the demo page in headless Chromium.

mod browser;
mod hostile;
mod http;
mod metrics;
mod outbox;
mod replicas;
mod secrets;
