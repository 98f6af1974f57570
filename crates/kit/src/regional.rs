//! Settings that differ by region. Provinces and cities add stricter local numbers to the
//! national rules (a health window of 10 days instead of 14, a shorter filing limit) and keep
//! their own holidays; a [`Regional`] value holds the national default and the overrides, each
//! keyed by the id of the organization whose subtree it governs.

use std::collections::BTreeMap;

/// A value with per-region overrides; see the module docs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Regional<T> {
    /// What holds where no region says otherwise.
    pub default: T,
    /// Overrides by organization id, each for that organization's subtree.
    pub regions: BTreeMap<String, T>,
}

impl<T> Regional<T> {
    /// The same value everywhere.
    pub fn uniform(default: T) -> Regional<T> {
        Regional {
            default,
            regions: BTreeMap::new(),
        }
    }

    /// The value for the organization at materialized `path` (`/qinghai/haixi/golmud/`): the
    /// override of the deepest organization on the path that has one, else the default.
    pub fn for_path(&self, path: &str) -> &T {
        path.split('/')
            .filter(|id| !id.is_empty())
            .rev()
            .find_map(|id| self.regions.get(id))
            .unwrap_or(&self.default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deepest_region_on_the_path_wins() {
        let mut limits = Regional::uniform(14);
        limits.regions.insert("qinghai".to_owned(), 10);
        limits.regions.insert("golmud".to_owned(), 7);
        assert_eq!(*limits.for_path("/qinghai/haixi/golmud/golmud-edu/"), 7);
        assert_eq!(*limits.for_path("/qinghai/xining/"), 10);
        assert_eq!(*limits.for_path("/gansu/lanzhou/"), 14);
        assert_eq!(*limits.for_path(""), 14);
    }
}
