//! Integration tests of the routing service: a real registry and routing service (behind the
//! gateway unless a test says otherwise) on port 0, called over gRPC. Every test runs on SQLite +
//! in-process bus and on PostgreSQL + Redis (see govmedia-test-support).

mod bad_input;
mod content;
mod escalations;
mod flow;
mod helpers;
mod intake;
mod privacy;
