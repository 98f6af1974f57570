//! The registry's integration tests: each starts the real server on 127.0.0.1:0 with a fresh
//! database and calls it through the generated client, on SQLite + in-process events and on
//! PostgreSQL + Redis.

mod accounts;
mod auth;
mod bad_input;
mod concurrency;
mod custody;
mod events;
mod failures;
mod health;
mod helpers;
mod organizations;
mod reports;
