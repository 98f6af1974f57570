//! Integration tests of the filing service: a real registry and filing service (and, where the
//! test says so, the gateway) on port 0, called over gRPC. Every test runs on SQLite +
//! in-process bus and on PostgreSQL + Redis (see govmedia-test-support).

mod application;
mod bad_input;
mod helpers;
mod lifecycle;
mod listing;
mod reconciliation;
mod replicas;
mod reporting;
mod rules;
