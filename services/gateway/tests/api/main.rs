//! The gateway's integration tests: a real registry and a real gateway on 127.0.0.1:0, each
//! with its own database, called over gRPC (generated clients and raw calls) and HTTP/JSON, on
//! SQLite + in-process bus/limits and on PostgreSQL + Redis.

mod credentials;
mod hardening;
mod helpers;
mod http_json;
mod isolation;
mod matrix;
mod ratelimit;
mod routing;
