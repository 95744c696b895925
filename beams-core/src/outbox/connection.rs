//! The outbox's one connection: to a single Redis server, or (feature `outbox-cluster`) to a
//! Redis Cluster, whose client follows the cluster's redirects. Both reconnect by themselves.

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, Pipeline, RedisFuture, Value};

/// Where the outbox's Redis is.
pub(super) enum Target {
    Server(redis::Client),
    #[cfg(feature = "outbox-cluster")]
    Cluster(redis::cluster::ClusterClient),
}

/// A connection to it, cheap to clone (one multiplexed connection underneath).
#[derive(Clone)]
pub(super) enum Connection {
    Server(ConnectionManager),
    #[cfg(feature = "outbox-cluster")]
    Cluster(redis::cluster_async::ClusterConnection),
}

impl Target {
    /// Parses the URLs: one server, or a cluster's seed nodes.
    pub(super) fn new(
        urls: &[String],
        cluster: bool,
        timeout: Duration,
    ) -> redis::RedisResult<Self> {
        #[cfg(feature = "outbox-cluster")]
        if cluster {
            return redis::cluster::ClusterClient::builder(urls.iter().map(String::as_str))
                // Connecting waits for every seed node, then reads the slots: a third of the
                // bound each, so that one unreachable seed does not use it all.
                .connection_timeout(timeout / 3)
                .response_timeout(timeout)
                // Redirects (a slot moved) are retries: allow a few, each bounded.
                .retries(2)
                .build()
                .map(Self::Cluster);
        }
        let _ = (cluster, timeout);
        let url = urls.first().map_or("", String::as_str);
        redis::Client::open(url).map(Self::Server)
    }

    /// Connects, each step bounded by `timeout`.
    pub(super) async fn connect(&self, timeout: Duration) -> redis::RedisResult<Connection> {
        match self {
            Self::Server(client) => {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(timeout)
                    .set_response_timeout(timeout)
                    .set_number_of_retries(0);
                ConnectionManager::new_with_config(client.clone(), config)
                    .await
                    .map(Connection::Server)
            }
            #[cfg(feature = "outbox-cluster")]
            Self::Cluster(client) => client.get_async_connection().await.map(Connection::Cluster),
        }
    }
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Server(c) => c.req_packed_command(cmd),
            #[cfg(feature = "outbox-cluster")]
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Server(c) => c.req_packed_commands(cmd, offset, count),
            #[cfg(feature = "outbox-cluster")]
            Self::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Server(c) => c.get_db(),
            #[cfg(feature = "outbox-cluster")]
            Self::Cluster(c) => c.get_db(),
        }
    }
}
