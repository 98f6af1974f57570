//! The draw of a spot check (季度抽查, R-20): a stratified random sample of accounts, by region and
//! platform, that anyone can draw again from the recorded seed.
//!
//! The generator is govmedia's own (SplitMix64), so a draw does not change when a dependency
//! does: the same population, ratio and seed give the same accounts in every version.

use std::collections::BTreeMap;

/// One account of the population, with the stratum it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// The account's id.
    pub account: String,
    /// Its region: the organization directly under the spot check's root that holds it (the
    /// root itself for the root's own accounts).
    pub region: String,
    /// Its `Platform` number.
    pub platform: i32,
}

/// One stratum of a draw.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stratum {
    /// The region's organization id.
    pub region: String,
    /// The `Platform` number.
    pub platform: i32,
    /// Accounts in it.
    pub population: u32,
    /// Accounts drawn from it, by id.
    pub drawn: Vec<String>,
}

/// SplitMix64: small, fast, and fixed forever here.
#[derive(Clone, Debug)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform number below `bound` (> 0), without modulo bias.
    fn below(&mut self, bound: u64) -> u64 {
        let zone = u64::MAX - u64::MAX % bound;
        loop {
            let value = self.next();
            if value < zone {
                return value % bound;
            }
        }
    }
}

/// How many of `population` a stratum gives at `per_mille` (parts per thousand): rounded up,
/// so every non-empty stratum gives at least one account.
pub fn quota(population: usize, per_mille: u32) -> usize {
    (population * per_mille as usize)
        .div_ceil(1000)
        .min(population)
}

/// Draws `per_mille` of each stratum of `members` with `seed`. Strata are ordered by region and
/// platform and their members by account id before the draw, so the order the population was
/// read in does not matter.
pub fn draw(members: &[Member], per_mille: u32, seed: u64) -> Vec<Stratum> {
    let mut strata: BTreeMap<(String, i32), Vec<String>> = BTreeMap::new();
    for member in members {
        strata
            .entry((member.region.clone(), member.platform))
            .or_default()
            .push(member.account.clone());
    }
    let mut rng = SplitMix64(seed);
    strata
        .into_iter()
        .map(|((region, platform), mut accounts)| {
            accounts.sort();
            accounts.dedup();
            let take = quota(accounts.len(), per_mille);
            // A partial Fisher-Yates shuffle: the first `take` places are the draw.
            for i in 0..take {
                let j = i + rng.below((accounts.len() - i) as u64) as usize;
                accounts.swap(i, j);
            }
            let population = accounts.len() as u32;
            accounts.truncate(take);
            accounts.sort();
            Stratum {
                region,
                platform,
                population,
                drawn: accounts,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn population() -> Vec<Member> {
        let mut members = Vec::new();
        for region in ["delingha", "golmud", "wulan"] {
            for platform in [1, 3, 4] {
                for i in 0..(10 + platform) {
                    members.push(Member {
                        account: format!("{region}-{platform}-{i:02}"),
                        region: region.to_owned(),
                        platform,
                    });
                }
            }
        }
        members
    }

    #[test]
    fn the_same_seed_draws_the_same_accounts_whatever_the_order_read() {
        let members = population();
        let mut reversed = members.clone();
        reversed.reverse();
        assert_eq!(draw(&members, 100, 42), draw(&reversed, 100, 42));
        assert_ne!(draw(&members, 500, 42), draw(&members, 500, 43));
    }

    #[test]
    fn every_stratum_gives_its_share_rounded_up() {
        let strata = draw(&population(), 100, 7);
        assert_eq!(strata.len(), 9);
        for stratum in &strata {
            assert_eq!(stratum.drawn.len(), quota(stratum.population as usize, 100));
            assert!(stratum.drawn.iter().all(|a| a.starts_with(&stratum.region)));
        }
        // 10 % of 11 accounts is 1.1: two are drawn.
        assert_eq!(quota(11, 100), 2);
        assert_eq!(quota(0, 100), 0);
        let full = draw(&population(), 1000, 7);
        assert!(full.iter().all(|s| s.drawn.len() == s.population as usize));
    }

    #[test]
    fn the_generator_is_fixed() {
        // SplitMix64's published first outputs for seed 0: a change here changes every draw.
        let mut rng = SplitMix64(0);
        assert_eq!(rng.next(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next(), 0x6E78_9E6A_A1B9_65F4);
    }
}
