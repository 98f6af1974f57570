//! Redis Streams: one stream per publishing service (`{prefix}events:{stream}`), one consumer
//! group per consuming service. Entries carry the event type (for people reading the stream with
//! redis-cli) and the protobuf-encoded [`EventEnvelope`].

use std::time::Duration;

use prost::Message;
use redis::{
    AsyncCommands,
    aio::{ConnectionManager, ConnectionManagerConfig},
    streams::{StreamAutoClaimReply, StreamId, StreamPendingReply, StreamReadReply},
};

use super::{BusError, Delivery, EventEnvelope};

/// Longest a blocking read may wait; responses are allowed this plus a margin.
const MAX_BLOCK: Duration = Duration::from_secs(5);

/// Publishing handle; cheap to clone (one multiplexed connection that reconnects by itself).
#[derive(Clone)]
pub struct RedisBus {
    client: redis::Client,
    conn: ConnectionManager,
    prefix: String,
    max_len: u64,
}

impl std::fmt::Debug for RedisBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBus")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

async fn manager(client: &redis::Client) -> Result<ConnectionManager, BusError> {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(3)))
        .set_response_timeout(Some(MAX_BLOCK + Duration::from_secs(5)));
    Ok(client.get_connection_manager_with_config(config).await?)
}

impl RedisBus {
    /// Connects (and checks the connection) to `url`; every key starts with `prefix`; streams
    /// are trimmed to about `max_len` entries.
    pub async fn connect(url: &str, prefix: &str, max_len: u64) -> Result<RedisBus, BusError> {
        let client = redis::Client::open(url)?;
        let mut conn = manager(&client).await?;
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        Ok(RedisBus {
            client,
            conn,
            prefix: prefix.to_owned(),
            max_len: max_len.max(1),
        })
    }

    /// The Redis key of a stream.
    pub fn key(&self, stream: &str) -> String {
        stream_key(&self.prefix, stream)
    }

    /// The key prefix of this deployment.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// A shared connection for other kit users (rate limits, leases) with the same prefix.
    pub fn connection(&self) -> ConnectionManager {
        self.conn.clone()
    }

    pub(super) async fn publish(
        &self,
        stream: &str,
        envelope: &EventEnvelope,
    ) -> Result<(), BusError> {
        let mut conn = self.conn.clone();
        let _: String = redis::cmd("XADD")
            .arg(self.key(stream))
            .arg("MAXLEN")
            .arg("~")
            .arg(self.max_len)
            .arg("*")
            .arg("type")
            .arg(&envelope.r#type)
            .arg("envelope")
            .arg(envelope.encode_to_vec())
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    pub(super) async fn subscriber(&self) -> Result<RedisSubscriber, BusError> {
        Ok(RedisSubscriber {
            conn: manager(&self.client).await?,
            prefix: self.prefix.clone(),
        })
    }
}

fn stream_key(prefix: &str, stream: &str) -> String {
    format!("{prefix}events:{stream}")
}

/// A consumer's own connection, so that its blocking reads stall nobody else.
pub struct RedisSubscriber {
    conn: ConnectionManager,
    prefix: String,
}

impl std::fmt::Debug for RedisSubscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSubscriber")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn delivery(entry: StreamId) -> Result<Delivery, BusError> {
    let bytes: Vec<u8> = entry
        .map
        .get("envelope")
        .and_then(|value| redis::from_redis_value_ref(value).ok())
        .ok_or_else(|| BusError::Malformed(entry.id.clone()))?;
    let envelope = EventEnvelope::decode(bytes.as_slice())
        .map_err(|_| BusError::Malformed(entry.id.clone()))?;
    Ok(Delivery {
        entry_id: entry.id,
        envelope,
    })
}

impl RedisSubscriber {
    pub(super) async fn ensure_group(&mut self, stream: &str, group: &str) -> Result<(), BusError> {
        let result: Result<String, redis::RedisError> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(stream_key(&self.prefix, stream))
            .arg(group)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut self.conn)
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) if error.code() == Some("BUSYGROUP") => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    pub(super) async fn read(
        &mut self,
        stream: &str,
        group: &str,
        consumer: &str,
        count: usize,
        block: Duration,
    ) -> Result<Vec<Delivery>, BusError> {
        let reply: Option<StreamReadReply> = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(group)
            .arg(consumer)
            .arg("COUNT")
            .arg(count)
            .arg("BLOCK")
            .arg(block.min(MAX_BLOCK).as_millis() as u64)
            .arg("STREAMS")
            .arg(stream_key(&self.prefix, stream))
            .arg(">")
            .query_async(&mut self.conn)
            .await?;
        self.collect(
            reply
                .map(|r| r.keys.into_iter().flat_map(|k| k.ids).collect())
                .unwrap_or_default(),
            stream,
            group,
        )
        .await
    }

    pub(super) async fn claim_stale(
        &mut self,
        stream: &str,
        group: &str,
        consumer: &str,
        min_idle: Duration,
        count: usize,
    ) -> Result<Vec<Delivery>, BusError> {
        let reply: StreamAutoClaimReply = redis::cmd("XAUTOCLAIM")
            .arg(stream_key(&self.prefix, stream))
            .arg(group)
            .arg(consumer)
            .arg(min_idle.as_millis() as u64)
            .arg("0-0")
            .arg("COUNT")
            .arg(count)
            .query_async(&mut self.conn)
            .await?;
        self.collect(reply.claimed, stream, group).await
    }

    /// Decodes entries; an entry that is not a govmedia event is acknowledged and skipped (it can
    /// never be processed, and must not block the group forever).
    async fn collect(
        &mut self,
        entries: Vec<StreamId>,
        stream: &str,
        group: &str,
    ) -> Result<Vec<Delivery>, BusError> {
        let mut deliveries = Vec::with_capacity(entries.len());
        for entry in entries {
            let id = entry.id.clone();
            match delivery(entry) {
                Ok(delivery) => deliveries.push(delivery),
                Err(error) => {
                    tracing::error!(%error, stream, group, "skipping a malformed stream entry");
                    self.ack(stream, group, &id).await?;
                }
            }
        }
        Ok(deliveries)
    }

    pub(super) async fn ack(
        &mut self,
        stream: &str,
        group: &str,
        entry_id: &str,
    ) -> Result<(), BusError> {
        let _: i64 = self
            .conn
            .xack(stream_key(&self.prefix, stream), group, &[entry_id])
            .await?;
        Ok(())
    }

    pub(super) async fn pending(&mut self, stream: &str, group: &str) -> Result<usize, BusError> {
        let reply: StreamPendingReply = self
            .conn
            .xpending(stream_key(&self.prefix, stream), group)
            .await?;
        Ok(reply.count())
    }
}
