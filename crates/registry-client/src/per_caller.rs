//! [`PerCaller`]: the registry's favourable answers about one resource, remembered per caller.

use std::time::Duration;

use govmedia_kit::auth::Principal;

/// What the registry said one caller may do with one resource (deliver to an account, say),
/// remembered for a short time: a collector sends thousands of items a second to a few
/// accounts, and the verdict is asked once per caller and resource in that time, not per item.
/// Only what the caller computed from a favourable answer is kept: a refusal is asked again
/// every time, so that it costs the caller, not the others. A change in the registry (an account
/// suspended, a jurisdiction moved) is seen here within the time to live.
///
/// The key is the whole caller as the identity states it — issuer, service, organization,
/// subject and roles — so that one caller's answer never serves another.
#[derive(Clone, Debug)]
pub struct PerCaller<V: Clone + Send + Sync + 'static>(moka::future::Cache<(String, String), V>);

impl<V: Clone + Send + Sync + 'static> PerCaller<V> {
    /// Remembers at most `capacity` answers, each for `ttl`.
    pub fn new(ttl: Duration, capacity: u64) -> Self {
        PerCaller(
            moka::future::Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build(),
        )
    }

    /// What was remembered for `principal` about `resource`.
    pub async fn get(&self, principal: &Principal, resource: &str) -> Option<V> {
        self.0.get(&key(principal, resource)).await
    }

    /// Remembers `value` for `principal` about `resource`.
    pub async fn insert(&self, principal: &Principal, resource: &str, value: V) {
        self.0.insert(key(principal, resource), value).await;
    }
}

fn key(principal: &Principal, resource: &str) -> (String, String) {
    let roles: Vec<&str> = principal.roles.iter().map(|role| role.as_str()).collect();
    (
        format!(
            "{}\0{}\0{}\0{}\0{}",
            principal.issuer,
            principal.service.as_deref().unwrap_or_default(),
            principal.organization,
            principal.subject,
            roles.join(",")
        ),
        resource.to_owned(),
    )
}
