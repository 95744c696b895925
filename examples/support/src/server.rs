//! How an example app starts and serves: [`Demo::start`] reads the settings, binds the port
//! and sets up Beams; then the app is served with the connection bounds in force (a header-read
//! timeout, a cap on connections, a deadline on each request).
//!
//! This is the one place that hardening lives, so the apps' own code stays plain framework
//! code. axum's own `axum::serve` cannot bound a slow request head, so the axum app is served by
//! `serve`, which is `beams_emulator::serve` — the hardened server the emulator itself runs
//! on — with the app's request deadline (feature `axum`); actix-web's `HttpServer` has the
//! bounds as settings, which `Demo::run` sets (feature `actix`).

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};

use crate::beams::DemoBeams;
use crate::settings::{Error, Settings, init_tracing};

/// How long a request head may take to arrive, and how long a kept-alive connection may idle
/// (the emulator's own bound, for both apps).
pub const HEADER_READ_TIMEOUT: Duration = beams_emulator::serve::DEFAULT_HEADER_READ_TIMEOUT;

/// The most connections served at once; at the limit the server stops accepting until one
/// ends (the emulator's own bound, for both apps).
pub const MAX_CONNECTIONS: usize = beams_emulator::serve::DEFAULT_MAX_CONNECTIONS;

/// A starting example app: its settings, its Beams side, and the port it listens on.
///
/// ```no_run
/// # #[tokio::main]
/// # async fn main() -> Result<(), example_support::Error> {
/// let demo = example_support::Demo::start(3000).await?;
/// println!("serving Beams tokens for instance {}", demo.beams.instance.id());
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Demo {
    /// What the environment asked for.
    pub settings: Settings,
    /// The instance (or the embedded emulator) the app serves tokens for and publishes to.
    pub beams: DemoBeams,
    #[cfg_attr(not(any(feature = "axum", feature = "actix")), allow(dead_code))]
    listener: std::net::TcpListener,
    origin: String,
}

impl Demo {
    /// Logs to stderr ([`init_tracing`]), reads the [`Settings`] (`PORT` defaulting to
    /// `default_port`), binds `127.0.0.1:$PORT`, serves metrics with `METRICS_ADDR`
    /// ([`serve_metrics`]), and sets up Beams ([`DemoBeams::from_env_or_emulator`]), saying
    /// which on stderr.
    pub async fn start(default_port: u16) -> Result<Self, Error> {
        init_tracing();
        let settings = Settings::from_env(default_port)?;
        let listener = std::net::TcpListener::bind(("127.0.0.1", settings.port))
            .map_err(|e| Error::new(format!("cannot listen on port {}: {e}", settings.port)))?;
        if let Some(addr) = settings.metrics_addr {
            serve_metrics(addr)?;
            eprintln!(
                "{}: Prometheus metrics at http://{addr}/metrics",
                app_name()
            );
        }
        let origin = format!("http://127.0.0.1:{}", listener.local_addr()?.port());
        let beams = DemoBeams::from_env_or_emulator(&origin, &settings).await?;
        eprintln!("{}: {}", app_name(), beams.describe());
        Ok(Self {
            settings,
            beams,
            listener,
            origin,
        })
    }

    /// `http://127.0.0.1:<port>`, the real port also for `PORT=0`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Prints `listening on http://127.0.0.1:<port>` as the only line on stdout.
    #[cfg_attr(not(any(feature = "axum", feature = "actix")), allow(dead_code))]
    fn announce(&self) -> Result<(), Error> {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on {}", self.origin)?;
        stdout.flush()?;
        drop(stdout);
        eprintln!("{}: open {} for the demo", app_name(), self.origin);
        Ok(())
    }
}

/// The upper bounds, in seconds, of the buckets of every `*_seconds` histogram: from half a
/// millisecond (an auth decision) to ten seconds (a publish that Beams is slow to answer).
pub const DURATION_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How often the recorder folds what it recorded into what it renders (the exporter's own
/// default).
const METRICS_UPKEEP: Duration = Duration::from_secs(5);

/// Installs the Prometheus exporter's recorder as the process's metrics recorder and serves
/// what it recorded, as Prometheus text, at `GET /metrics` on `addr`: a listener of its own
/// (never the app's port), served by the same hardened server as the apps (header-read
/// timeout, connection cap, request deadline), on the current Tokio runtime. Every other path
/// there is a `404`. Durations are histograms with [`DURATION_BUCKETS`], so that they add up
/// across replicas. Call it at most once per process, inside a Tokio runtime; without it no
/// recorder is installed and recording costs next to nothing.
///
/// ```no_run
/// # #[tokio::main]
/// # async fn main() -> Result<(), example_support::Error> {
/// example_support::server::serve_metrics("127.0.0.1:9464".parse().unwrap())?;
/// # Ok(())
/// # }
/// ```
pub fn serve_metrics(addr: SocketAddr) -> Result<(), Error> {
    let failed = |e: &dyn std::fmt::Display| {
        Error::new(format!("cannot serve metrics on METRICS_ADDR={addr}: {e}"))
    };
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), &DURATION_BUCKETS)
        .map_err(|e| failed(&e))?
        .build_recorder();
    let listener = std::net::TcpListener::bind(addr).map_err(|e| failed(&e))?;
    listener.set_nonblocking(true).map_err(|e| failed(&e))?;
    let listener = tokio::net::TcpListener::from_std(listener).map_err(|e| failed(&e))?;
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).map_err(|e| failed(&e))?;

    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(METRICS_UPKEEP);
        loop {
            every.tick().await;
            upkeep.run_upkeep();
        }
    });
    let render = move || {
        let text = handle.render();
        async move {
            (
                [(
                    ::axum::http::header::CONTENT_TYPE,
                    "text/plain; version=0.0.4; charset=utf-8",
                )],
                text,
            )
        }
    };
    let app = ::axum::Router::new().route("/metrics", ::axum::routing::get(render));
    let server = beams_emulator::serve(listener, app)
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_connections(MAX_CONNECTIONS)
        .request_timeout(Some(METRICS_REQUEST_TIMEOUT));
    tokio::spawn(async move {
        if let Err(error) = server.await {
            tracing::error!(%error, "the metrics server stopped");
        }
    });
    Ok(())
}

/// How long a `GET /metrics` may take (a scrape is rendered from memory at once).
const METRICS_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        // If the handler cannot be installed, run until killed.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// How long the outbox worker may take on shutdown to settle the publishes it is sending;
/// one it has not settled by then is taken over by another replica after
/// `OUTBOX_CLAIM_IDLE_SECS`.
pub const WORKER_DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// This process's outbox worker (with `REDIS_URL`), draining the outbox through the app's
/// publish client (and so its shared rate limiter) on the current Tokio runtime. It stops
/// taking publishes on Ctrl-C or SIGTERM ([`shutdown_signal`]) or [`stop`](Self::stop),
/// whichever comes first.
#[derive(Debug)]
pub struct OutboxWorker {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl OutboxWorker {
    /// Starts the worker of `beams.outbox`, if there is one.
    pub fn start(beams: &DemoBeams) -> Option<Self> {
        let outbox = beams.outbox.as_ref()?;
        let worker = outbox
            .worker(beams.publisher.clone())
            .drain_timeout(WORKER_DRAIN_TIMEOUT);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(worker.run(async move {
            tokio::select! {
                () = shutdown_signal() => {}
                _ = stopped => {}
            }
        }));
        Some(Self { stop, task })
    }

    /// Stops the worker and waits until it has settled what it holds, at most
    /// [`WORKER_DRAIN_TIMEOUT`] and a little more.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let bound = WORKER_DRAIN_TIMEOUT + Duration::from_secs(2);
        match tokio::time::timeout(bound, self.task).await {
            Ok(Ok(())) => tracing::info!("the outbox worker stopped"),
            Ok(Err(error)) => tracing::error!(%error, "the outbox worker failed"),
            Err(_) => tracing::warn!("the outbox worker did not stop in time; leaving it"),
        }
    }
}

/// The binary's name, for what it says on stderr.
fn app_name() -> String {
    std::env::args_os()
        .next()
        .as_deref()
        .map(std::path::Path::new)
        .and_then(std::path::Path::file_stem)
        .map_or_else(
            || "example".to_owned(),
            |n| n.to_string_lossy().into_owned(),
        )
}

#[cfg(feature = "axum")]
pub use self::hyper_server::serve;

#[cfg(feature = "axum")]
mod hyper_server {
    use axum::Router;
    use tokio::net::TcpListener;

    use super::{Demo, HEADER_READ_TIMEOUT, MAX_CONNECTIONS, OutboxWorker, shutdown_signal};
    use crate::settings::{Error, Settings};

    impl Demo {
        /// Serves `app` on the bound port ([`serve`]) until Ctrl-C or SIGTERM, after printing
        /// the `listening on` line, with the outbox worker running beside it (with
        /// `REDIS_URL`); on the signal both stop, the worker within
        /// [`WORKER_DRAIN_TIMEOUT`](super::WORKER_DRAIN_TIMEOUT).
        pub async fn serve(self, app: Router) -> Result<(), Error> {
            self.announce()?;
            self.listener.set_nonblocking(true)?;
            let listener = TcpListener::from_std(self.listener)?;
            let worker = OutboxWorker::start(&self.beams);
            serve(listener, app, &self.settings, shutdown_signal()).await;
            if let Some(worker) = worker {
                worker.stop().await;
            }
            Ok(())
        }
    }

    /// Serves `app` on `listener` until `shutdown` completes, as `axum::serve` does, with
    /// bounds (`beams_emulator::serve`): a request, its body included, gets
    /// `settings.request_timeout`, then `408`; a client that sends nothing, sends its request
    /// head slowly, or idles between requests is closed after [`HEADER_READ_TIMEOUT`]; at most
    /// [`MAX_CONNECTIONS`] connections at once. In-flight requests finish on shutdown.
    ///
    /// ```
    /// use axum::{Router, routing::get};
    /// use example_support::{Settings, server};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let app = Router::new().route("/", get(|| async { "Hello" }));
    /// // Until the shutdown future completes: here at once; `server::shutdown_signal()` waits
    /// // for Ctrl-C or SIGTERM.
    /// server::serve(listener, app, &Settings::default(), async {}).await;
    /// # Ok(())
    /// # }
    /// ```
    pub fn serve<F>(
        listener: TcpListener,
        app: Router,
        settings: &Settings,
        shutdown: F,
    ) -> impl Future<Output = ()> + use<F>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let server = beams_emulator::serve(listener, app)
            .header_read_timeout(HEADER_READ_TIMEOUT)
            .max_connections(MAX_CONNECTIONS)
            .request_timeout(Some(settings.request_timeout))
            .with_graceful_shutdown(shutdown);
        async move {
            if let Err(error) = server.await {
                tracing::error!(%error, "the server stopped");
            }
        }
    }
}

#[cfg(feature = "actix")]
mod actix_server {
    use actix_http::{Request, Response};
    use actix_service::IntoServiceFactory;
    use actix_web::HttpServer;
    use actix_web::body::MessageBody;
    use actix_web::dev::{AppConfig, Service, ServiceFactory};

    use super::{Demo, HEADER_READ_TIMEOUT, MAX_CONNECTIONS, OutboxWorker};
    use crate::actix::watch_connections;
    use crate::settings::Error;

    impl Demo {
        /// Runs `server` on the bound port until Ctrl-C or SIGTERM (actix-web's own signal
        /// handling), after printing the `listening on` line. actix-web closes a connection
        /// whose request head takes longer than [`HEADER_READ_TIMEOUT`] (`408`) and an idle
        /// kept-alive one after as long, and serves at most [`MAX_CONNECTIONS`] at once per
        /// worker. The rest of a request is bounded by
        /// [`deadline`](crate::actix::deadline), which the app wraps itself in; a connection
        /// whose chunked request started longer ago than the request timeout plus
        /// [`GRACE`](crate::actix::GRACE) is shut down
        /// ([`watch_connections`](crate::actix::watch_connections)), since actix-http would
        /// read the rest of such a body for as long as the client sends it. With
        /// `REDIS_URL` the outbox worker runs beside the server; on the signal it stops
        /// taking publishes and, once the server has stopped, is waited for (at most
        /// [`WORKER_DRAIN_TIMEOUT`](super::WORKER_DRAIN_TIMEOUT)).
        pub async fn run<F, I, S, B>(self, server: HttpServer<F, I, S, B>) -> Result<(), Error>
        where
            F: Fn() -> I + Send + Clone + 'static,
            I: IntoServiceFactory<S, Request>,
            S: ServiceFactory<Request, Config = AppConfig> + 'static,
            S::Error: Into<actix_web::Error> + 'static,
            S::InitError: std::fmt::Debug,
            S::Response: Into<Response<B>> + 'static,
            <S::Service as Service<Request>>::Future: 'static,
            S::Service: 'static,
            B: MessageBody + 'static,
        {
            self.announce()?;
            let worker = OutboxWorker::start(&self.beams);
            let served = async {
                server
                    .on_connect(watch_connections(self.settings.request_timeout))
                    .client_request_timeout(HEADER_READ_TIMEOUT)
                    .keep_alive(HEADER_READ_TIMEOUT)
                    .max_connections(MAX_CONNECTIONS)
                    .listen(self.listener)?
                    .run()
                    .await
            }
            .await;
            if let Some(worker) = worker {
                worker.stop().await;
            }
            Ok(served?)
        }
    }
}
