//! Integration tests of the vendor service: a real registry and vendor service (and, where the
//! test says so, the gateway) on port 0, called over gRPC. Every test runs on SQLite +
//! in-process bus and on PostgreSQL + Redis (see govmedia-test-support).

mod access;
mod bad_input;
mod delegations;
mod helpers;
mod lifecycle;
mod oversight;
mod performance;
mod scenario;
