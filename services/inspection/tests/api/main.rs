//! Integration tests of the inspection service: a real registry and inspection service behind
//! the gateway on port 0, called over gRPC. Every test runs on SQLite + in-process bus and on
//! PostgreSQL + Redis (see govmedia-test-support).

mod bad_input;
mod bulletins;
mod checks;
mod consolidation;
mod feeds;
mod helpers;
mod intake;
mod interaction;
mod monitoring;
mod rectification;
mod spot_checks;
