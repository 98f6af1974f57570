//! Events: facts that happened in one service, for the others.
//!
//! * A change and its events commit together: handlers write events into the service's
//!   `outbox_events` table inside the change's transaction ([`outbox::enqueue`]).
//! * The [`relay`](outbox::spawn_relay) moves committed events to the bus, marking them
//!   published only after the bus took them; if the bus is down they wait, nothing is lost.
//! * The bus is Redis Streams in production ([`redis_bus`]) or an in-process bus with the same
//!   semantics ([`memory`]): consumer groups, acknowledgement, and redelivery of entries a
//!   consumer took but never acknowledged.
//! * [`consumer::run_consumer`] records each processed event id in the consumer's database in the
//!   same transaction as the handler's effects, so a redelivered event is applied once.

pub mod consumer;
pub mod memory;
pub mod outbox;
pub mod redis_bus;

use std::{sync::Arc, time::Duration};

pub use govmedia_proto::common::v1::EventEnvelope;

use crate::config::RedisSettings;

/// One entry handed to a consumer.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// The bus's id of the entry (a Redis stream id, or the in-process sequence).
    pub entry_id: String,
    /// The event.
    pub envelope: EventEnvelope,
}

/// The bus could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// Redis failed or is unreachable.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// An entry on the stream is not a govmedia event.
    #[error("malformed stream entry {0}")]
    Malformed(String),
}

/// Where events travel. Cheap to clone.
#[derive(Clone, Debug)]
pub enum EventBus {
    /// In-process, for the embedded mode and single-process tests.
    Memory(Arc<memory::MemoryBus>),
    /// Redis Streams, shared by every replica.
    Redis(redis_bus::RedisBus),
}

impl EventBus {
    /// Redis when a URL is configured, the in-process bus otherwise; streams keep at most
    /// `max_len` entries.
    pub async fn from_settings(
        settings: &RedisSettings,
        max_len: u64,
    ) -> Result<EventBus, BusError> {
        match &settings.url {
            Some(url) => Ok(EventBus::Redis(
                redis_bus::RedisBus::connect(url, &settings.key_prefix, max_len).await?,
            )),
            None => Ok(EventBus::memory(max_len)),
        }
    }

    /// A fresh in-process bus keeping at most `max_len` entries per stream.
    pub fn memory(max_len: u64) -> EventBus {
        EventBus::Memory(Arc::new(memory::MemoryBus::new(max_len)))
    }

    /// Appends an event to `stream`.
    pub async fn publish(&self, stream: &str, envelope: &EventEnvelope) -> Result<(), BusError> {
        match self {
            EventBus::Memory(bus) => {
                bus.publish(stream, envelope.clone());
                Ok(())
            }
            EventBus::Redis(bus) => bus.publish(stream, envelope).await,
        }
    }

    /// A reading handle for one consumer (on Redis its own connection, since blocking reads
    /// would stall other commands on a shared one).
    pub async fn subscriber(&self) -> Result<Subscriber, BusError> {
        match self {
            EventBus::Memory(bus) => Ok(Subscriber::Memory(bus.clone())),
            EventBus::Redis(bus) => Ok(Subscriber::Redis(bus.subscriber().await?)),
        }
    }
}

/// Reads a stream as a member of a consumer group.
#[derive(Debug)]
pub enum Subscriber {
    /// See [`memory::MemoryBus`].
    Memory(Arc<memory::MemoryBus>),
    /// See [`redis_bus::RedisSubscriber`].
    Redis(redis_bus::RedisSubscriber),
}

impl Subscriber {
    /// Creates the group if needed; a new group starts at the beginning of the stream.
    pub async fn ensure_group(&mut self, stream: &str, group: &str) -> Result<(), BusError> {
        match self {
            Subscriber::Memory(bus) => {
                bus.ensure_group(stream, group);
                Ok(())
            }
            Subscriber::Redis(sub) => sub.ensure_group(stream, group).await,
        }
    }

    /// Up to `count` entries never delivered to the group, waiting up to `block` for one.
    pub async fn read(
        &mut self,
        stream: &str,
        group: &str,
        consumer: &str,
        count: usize,
        block: Duration,
    ) -> Result<Vec<Delivery>, BusError> {
        match self {
            Subscriber::Memory(bus) => Ok(bus.read(stream, group, consumer, count, block).await),
            Subscriber::Redis(sub) => sub.read(stream, group, consumer, count, block).await,
        }
    }

    /// Takes over up to `count` entries delivered to any consumer of the group but not
    /// acknowledged for at least `min_idle`.
    pub async fn claim_stale(
        &mut self,
        stream: &str,
        group: &str,
        consumer: &str,
        min_idle: Duration,
        count: usize,
    ) -> Result<Vec<Delivery>, BusError> {
        match self {
            Subscriber::Memory(bus) => {
                Ok(bus.claim_stale(stream, group, consumer, min_idle, count))
            }
            Subscriber::Redis(sub) => {
                sub.claim_stale(stream, group, consumer, min_idle, count)
                    .await
            }
        }
    }

    /// Acknowledges an entry: the group will not deliver it again.
    pub async fn ack(&mut self, stream: &str, group: &str, entry_id: &str) -> Result<(), BusError> {
        match self {
            Subscriber::Memory(bus) => {
                bus.ack(stream, group, entry_id);
                Ok(())
            }
            Subscriber::Redis(sub) => sub.ack(stream, group, entry_id).await,
        }
    }

    /// Number of entries delivered to the group and not acknowledged yet.
    pub async fn pending(&mut self, stream: &str, group: &str) -> Result<usize, BusError> {
        match self {
            Subscriber::Memory(bus) => Ok(bus.pending(stream, group)),
            Subscriber::Redis(sub) => sub.pending(stream, group).await,
        }
    }
}
