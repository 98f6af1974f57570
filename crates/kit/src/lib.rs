//! The shared kit every govmedia service is built from. It holds no business rule of any one
//! service: only the machinery that makes all services look and behave alike.
//!
//! | module | what it gives a service |
//! |---|---|
//! | [`config`] | layered typed settings: defaults → TOML file → `GOVMEDIA_*` environment |
//! | [`telemetry`] | tracing, OTLP export, W3C trace context in and out, one span per call |
//! | [`db`] | SQLite/PostgreSQL connection, schema per service, serialized SQLite writers |
//! | [`schema`] | the kit's own tables (outbox, processed events, idempotency keys, audit, jobs); index creation for migrations |
//! | [`events`] | transactional outbox, relay, Redis Streams or in-process bus, consumers |
//! | [`unit`] | the unit of work: change + events + audit + idempotency in one transaction |
//! | [`clock`], [`regional`] | the injectable time source; settings that differ by region |
//! | [`auth`] | roles, principal, JWT verification, the access check from the proto option |
//! | [`identity`] | service key pairs, identity tokens services mint and verify |
//! | [`error`] | the shared error code set and the mapping to `tonic::Status` with details |
//! | [`numbered!`] | the domain's enums of the contract, by proto number and name |
//! | [`validate`], [`paging`] | request validation primitives and filter-bound page tokens |
//! | [`jobs`], [`lease`] | durable jobs with leases and backoff; work one replica must do |
//! | [`batch`] | client streams of items read in chunks, one result per item, a limit per stream |
//! | [`table`] | reports as workbooks: Chinese and English headers, values as text |
//! | [`server`] | health + reflection + one tower stack + graceful shutdown |
//! | [`client`] | channels and the interceptor carrying bearer token and trace context |
//! | [`endpoints`] | a peer's replicas, resolved and health-checked, for balanced calls |

#![forbid(unsafe_code)]

pub mod audit;
pub mod auth;
pub mod batch;
pub mod client;
pub mod clock;
pub mod config;
pub mod db;
pub mod deadline;
pub mod endpoints;
pub mod error;
pub mod events;
pub mod idempotency;
pub mod identity;
pub mod jobs;
pub mod lease;
pub mod listen;
pub mod numbered;
pub mod paging;
pub mod regional;
pub mod schema;
pub mod server;
pub mod store;
pub mod table;
pub mod telemetry;
pub mod unit;
pub mod validate;
pub mod worker;

pub use govmedia_calendar as calendar;
pub use tokio_util::sync::CancellationToken;
