//! How an example app starts and serves: [`Demo::start`] reads the settings, binds the port
//! and sets up Beams; then the app is served with the connection bounds in force (a header-read
//! timeout, a cap on connections, a deadline on each request).
//!
//! This is the one place that hardening lives, so the apps' own code stays plain framework
//! code. axum's own `axum::serve` cannot bound a slow request head, so the axum app is served by
//! `serve` (hyper's HTTP/1, as `axum::serve` uses; feature `axum`); actix-web's `HttpServer`
//! has the bounds as settings, which `Demo::run` sets (feature `actix`).

use std::io::Write;
use std::time::Duration;

use crate::beams::DemoBeams;
use crate::settings::{Error, Settings, init_tracing};

/// How long a request head may take to arrive, and how long a kept-alive connection may idle.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// The most connections served at once; at the limit the server stops accepting until one
/// ends.
pub const MAX_CONNECTIONS: usize = 1024;

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
    /// `default_port`), binds `127.0.0.1:$PORT`, and sets up Beams
    /// ([`DemoBeams::from_env_or_emulator`]), saying which on stderr.
    pub async fn start(default_port: u16) -> Result<Self, Error> {
        init_tracing();
        let settings = Settings::from_env(default_port)?;
        let listener = std::net::TcpListener::bind(("127.0.0.1", settings.port))
            .map_err(|e| Error::new(format!("cannot listen on port {}: {e}", settings.port)))?;
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
pub use self::hyper_server::{serve, shutdown_signal};

#[cfg(feature = "axum")]
mod hyper_server {
    use std::sync::Arc;
    use std::time::Duration;

    use axum::Router;
    use http::StatusCode;
    use hyper::server::conn::http1;
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::server::graceful::GracefulShutdown;
    use hyper_util::service::TowerToHyperService;
    use tokio::net::TcpListener;
    use tokio::sync::Semaphore;
    use tower_http::timeout::TimeoutLayer;

    use super::{Demo, HEADER_READ_TIMEOUT, MAX_CONNECTIONS};
    use crate::settings::{Error, Settings};

    impl Demo {
        /// Serves `app` on the bound port ([`serve`]) until Ctrl-C or SIGTERM, after printing
        /// the `listening on` line.
        pub async fn serve(self, app: Router) -> Result<(), Error> {
            self.announce()?;
            self.listener.set_nonblocking(true)?;
            let listener = TcpListener::from_std(self.listener)?;
            serve(listener, app, &self.settings, shutdown_signal()).await;
            Ok(())
        }
    }

    /// Serves `app` on `listener` until `shutdown` completes, as `axum::serve` does, with
    /// bounds: a request, its body included, gets `settings.request_timeout`, then `408`
    /// (hyper closes a connection whose body was not read to the end); a client that sends
    /// nothing, sends its request head slowly, or idles between requests is closed after
    /// [`HEADER_READ_TIMEOUT`]; at most [`MAX_CONNECTIONS`] connections at once. In-flight
    /// requests finish on shutdown.
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
    pub fn serve<F: Future<Output = ()>>(
        listener: TcpListener,
        app: Router,
        settings: &Settings,
        shutdown: F,
    ) -> impl Future<Output = ()> + use<F> {
        let app = app.layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            settings.request_timeout,
        ));
        accept_loop(listener, app, shutdown)
    }

    /// The loop behind [`serve`]: hyper's HTTP/1 with the header-read timeout and the
    /// connection cap.
    async fn accept_loop(listener: TcpListener, app: Router, shutdown: impl Future<Output = ()>) {
        let mut http = http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT);
        let graceful = GracefulShutdown::new();
        let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        tokio::pin!(shutdown);
        loop {
            let permit = tokio::select! {
                permit = Arc::clone(&slots).acquire_owned() => permit.expect("the semaphore is never closed"),
                () = &mut shutdown => break,
            };
            let stream = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(error) => {
                        // Out of file descriptors, typically: wait instead of spinning.
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let connection = graceful.watch(
                http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone())),
            );
            tokio::spawn(async move {
                if let Err(error) = connection.await {
                    tracing::debug!(?error, "connection ended");
                }
                drop(permit);
            });
        }
        drop(listener);
        graceful.shutdown().await;
    }

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
}

#[cfg(feature = "actix")]
mod actix_server {
    use actix_http::{Request, Response};
    use actix_service::IntoServiceFactory;
    use actix_web::HttpServer;
    use actix_web::body::MessageBody;
    use actix_web::dev::{AppConfig, Service, ServiceFactory};

    use super::{Demo, HEADER_READ_TIMEOUT, MAX_CONNECTIONS};
    use crate::settings::Error;

    impl Demo {
        /// Runs `server` on the bound port until Ctrl-C or SIGTERM (actix-web's own signal
        /// handling), after printing the `listening on` line. actix-web closes a connection
        /// whose request head takes longer than [`HEADER_READ_TIMEOUT`] (`408`) and an idle
        /// kept-alive one after as long, and serves at most [`MAX_CONNECTIONS`] at once per
        /// worker. The rest of a request is bounded by
        /// [`deadline`](crate::actix::deadline), which the app wraps itself in.
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
            server
                .client_request_timeout(HEADER_READ_TIMEOUT)
                .keep_alive(HEADER_READ_TIMEOUT)
                .max_connections(MAX_CONNECTIONS)
                .listen(self.listener)?
                .run()
                .await?;
            Ok(())
        }
    }
}
