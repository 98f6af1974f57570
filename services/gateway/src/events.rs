//! What the gateway publishes, on the stream [`STREAM`]: `ApiKeyIssued` and `ApiKeyRevoked`
//! (contracts in `gateway.proto`). It consumes no events.

/// The gateway's event stream.
pub const STREAM: &str = "gateway";
