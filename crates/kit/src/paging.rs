//! Keyset paging with opaque, filter-bound page tokens (AIP-158).
//!
//! A token carries the sort key of the last row returned and a fingerprint of the request's
//! filters; a token presented with other filters is refused instead of returning a page of some
//! other listing.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use govmedia_proto::common::v1::ErrorReason;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ErrorCode, Violations};

/// Page size used when the request says 0.
pub const DEFAULT_PAGE_SIZE: u64 = 50;
/// Largest page size honoured.
pub const MAX_PAGE_SIZE: u64 = 500;

/// A validated page request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    /// Rows to return.
    pub size: u64,
    /// Sort key after which the page starts; `None` for the first page.
    pub after: Option<String>,
    fingerprint: String,
}

#[derive(Serialize, Deserialize)]
struct Token {
    /// Last key of the previous page.
    k: String,
    /// Fingerprint of the filters.
    f: String,
}

/// A fingerprint of the filters of a listing; pass every filter value that shapes the result.
pub fn fingerprint(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.len().to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hasher.finalize()[..8]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The error for a page token whose key this service would not have written.
fn foreign_token() -> ApiError {
    ApiError::new(
        ErrorCode::InvalidArgument,
        ErrorReason::InvalidPageToken,
        "page_token is not a token this service issued",
    )
    .with_field_violation("page_token", "is not a token this service issued")
}

impl Page {
    /// Validates `page_size` and `page_token` (for the filters that `fingerprint` describes) into
    /// `violations`; a bad token is a `page_token` violation with reason INVALID_PAGE_TOKEN.
    pub fn parse(
        violations: &mut Violations,
        page_size: i32,
        page_token: &str,
        fingerprint: String,
    ) -> Page {
        Self::parse_sized(
            violations,
            (page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE),
            page_token,
            fingerprint,
        )
    }

    /// [`Page::parse`] with another default and largest size, `(page_size, default, max)`: for
    /// pages that are files rather than screens (exports).
    pub fn parse_sized(
        violations: &mut Violations,
        (page_size, default, max): (i32, u64, u64),
        page_token: &str,
        fingerprint: String,
    ) -> Page {
        let size = match page_size {
            0 => default,
            n if n > 0 && (n as u64) <= max => n as u64,
            _ => {
                violations.add("page_size", format!("must be between 0 and {max}"));
                default
            }
        };
        let after = if page_token.is_empty() {
            None
        } else {
            let token = URL_SAFE_NO_PAD
                .decode(page_token)
                .ok()
                .and_then(|bytes| serde_json::from_slice::<Token>(&bytes).ok());
            match token {
                Some(token) if token.f == fingerprint => Some(token.k),
                Some(_) => {
                    violations.add_with_reason(
                        "page_token",
                        "belongs to a request with other filters",
                        ErrorReason::InvalidPageToken,
                    );
                    None
                }
                None => {
                    violations.add_with_reason(
                        "page_token",
                        "is not a token this service issued",
                        ErrorReason::InvalidPageToken,
                    );
                    None
                }
            }
        };
        Page {
            size,
            after,
            fingerprint,
        }
    }

    /// The page's key as a number, for listings keyed by a sequence; a key that is not one is a
    /// `page_token` the service did not issue.
    pub fn after_number(&self) -> Result<Option<i64>, ApiError> {
        self.after
            .as_deref()
            .map(|key| key.parse::<i64>().map_err(|_| foreign_token()))
            .transpose()
    }

    /// The page's key as a JSON value, for listings keyed by a composite sort key (written by
    /// [`Page::finish`] with `serde_json::to_string`); a key that does not parse is a
    /// `page_token` the service did not issue.
    pub fn after_json<K: serde::de::DeserializeOwned>(&self) -> Result<Option<K>, ApiError> {
        self.after
            .as_deref()
            .map(|key| serde_json::from_str(key).map_err(|_| foreign_token()))
            .transpose()
    }

    /// How many rows to fetch: one more than the page, to learn whether another page follows.
    pub fn fetch_limit(&self) -> u64 {
        self.size + 1
    }

    /// Trims `rows` (fetched with [`Page::fetch_limit`]) to the page and returns the next token,
    /// empty on the last page. `key` gives a row's sort key.
    pub fn finish<T>(&self, rows: &mut Vec<T>, key: impl Fn(&T) -> String) -> String {
        if rows.len() as u64 <= self.size {
            return String::new();
        }
        rows.truncate(self.size as usize);
        rows.last()
            .map(|last| {
                let token = Token {
                    k: key(last),
                    f: self.fingerprint.clone(),
                };
                URL_SAFE_NO_PAD.encode(serde_json::to_vec(&token).unwrap_or_default())
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_bind_to_filters() {
        let mut v = Violations::new();
        let page = Page::parse(&mut v, 2, "", fingerprint(&["a"]));
        let mut rows = vec!["x", "y", "z"];
        let token = page.finish(&mut rows, |row| row.to_string());
        assert_eq!(rows, ["x", "y"]);
        let next = Page::parse(&mut v, 2, &token, fingerprint(&["a"]));
        assert_eq!(next.after.as_deref(), Some("y"));
        assert!(v.is_empty());
        Page::parse(&mut v, 2, &token, fingerprint(&["b"]));
        Page::parse(&mut v, 2, "garbage!", fingerprint(&["a"]));
        let error = v.finish().expect_err("bad tokens");
        assert_eq!(error.reason(), ErrorReason::InvalidPageToken);
        let mut last = vec!["x"];
        assert_eq!(next.finish(&mut last, |row| row.to_string()), "");
    }

    #[test]
    fn page_size_bounds() {
        for (size, ok) in [(0, true), (1, true), (500, true), (501, false), (-1, false)] {
            let mut v = Violations::new();
            Page::parse(&mut v, size, "", String::new());
            assert_eq!(v.is_empty(), ok, "{size}");
        }
        let mut v = Violations::new();
        let page = Page::parse_sized(&mut v, (0, 7, 9), "", String::new());
        assert_eq!(page.size, 7);
        Page::parse_sized(&mut v, (10, 7, 9), "", String::new());
        assert!(!v.is_empty());
    }

    #[test]
    fn composite_keys_round_trip_as_json() {
        let mut v = Violations::new();
        let page = Page::parse(&mut v, 1, "", fingerprint(&["a"]));
        let mut rows = vec![(1, "b".to_owned()), (2, "a".to_owned())];
        let token = page.finish(&mut rows, |row| {
            serde_json::to_string(row).unwrap_or_default()
        });
        let next = Page::parse(&mut v, 1, &token, fingerprint(&["a"]));
        assert_eq!(
            next.after_json::<(i32, String)>().expect("key"),
            Some((1, "b".to_owned()))
        );
        assert_eq!(
            next.after_json::<(String, String)>()
                .expect_err("not this shape")
                .reason(),
            ErrorReason::InvalidPageToken
        );
        assert!(next.after_number().is_err());
    }
}
