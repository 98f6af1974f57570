//! API keys of other government systems: `gmk_<id>_<secret>`. The id (12 characters of a-z and
//! 0-9) finds the record; the secret (43 characters of base64url, 244 random bits from two UUIDv4s) is checked
//! against its stored SHA-256. A fast hash is right here: the secret is random and long, so
//! there is nothing for a slow hash to protect against guessing, and every call pays for it.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

/// Every key starts with this, so leaked keys are recognisable by secret scanners.
pub const PREFIX: &str = "gmk_";

const ID_LEN: usize = 12;
const SECRET_LEN: usize = 43;

/// A presented key, split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Presented {
    /// The record id.
    pub id: String,
    /// The secret part.
    pub secret: String,
}

/// Splits a presented key, `None` when it is not one.
pub fn parse(key: &str) -> Option<Presented> {
    let rest = key.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let id_ok = id.len() == ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let secret_ok = secret.len() == SECRET_LEN
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (id_ok && secret_ok).then(|| Presented {
        id: id.to_owned(),
        secret: secret.to_owned(),
    })
}

/// The stored form of a secret.
pub fn hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Compares two hashes in time independent of where they differ.
pub fn same_hash(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A new key: (id, secret, the full key to hand out once).
pub fn generate() -> (String, String, String) {
    let id: String = uuid::Uuid::new_v4()
        .simple()
        .to_string()
        .chars()
        .take(ID_LEN)
        .collect();
    let mut random = [0u8; 32];
    random[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    random[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    let secret = URL_SAFE_NO_PAD.encode(random);
    let key = format!("{PREFIX}{id}_{secret}");
    (id, secret, key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_and_verify() {
        let (id, secret, key) = generate();
        let presented = parse(&key).expect("a generated key parses");
        assert_eq!(presented.id, id);
        assert!(same_hash(&hash(&presented.secret), &hash(&secret)));
        assert!(!same_hash(&hash("other"), &hash(&secret)));
        assert_ne!(generate().2, key);
    }

    #[test]
    fn malformed_keys_do_not_parse() {
        let (_, _, key) = generate();
        for bad in [
            "",
            "gmk_",
            "token",
            &key.replace("gmk_", "gmx_"),
            &key[..key.len() - 1],
            &format!("{key}x"),
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }
}

/// A stored API key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// Id (`apiKeys/{id}`).
    pub id: String,
    /// Who it is for.
    pub display_name: String,
    /// The organization it acts for (id).
    pub organization: String,
    /// Its roles.
    pub roles: std::collections::BTreeSet<govmedia_kit::auth::Role>,
    /// SHA-256 of the secret, hex.
    pub secret_hash: String,
    /// When it stops working.
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When it was issued.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Who issued it.
    pub created_by: String,
    /// The issuer's organization.
    pub created_by_org: String,
}

impl ApiKeyRecord {
    /// Why the key cannot be used at `now`, or `None` when it can (the secret aside).
    pub fn unusable(&self, now: chrono::DateTime<chrono::Utc>) -> Option<&'static str> {
        if self.revoked_at.is_some_and(|at| at <= now) {
            Some("the API key was revoked")
        } else if self.expires_at.is_some_and(|at| at <= now) {
            Some("the API key expired")
        } else {
            None
        }
    }

    /// The principal the key acts as: subject `apikey:{id}`.
    pub fn principal(&self) -> govmedia_kit::auth::Principal {
        govmedia_kit::auth::Principal {
            subject: format!("apikey:{}", self.id),
            organization: self.organization.clone(),
            roles: self.roles.clone(),
            issuer: "apikey".to_owned(),
            service: None,
            basis: None,
        }
    }
}
