//! Calendar quarters in Asia/Shanghai time (`YYYY-Qn`): what spot checks, criticism notices and
//! bulletins are for. A quarter begins at 00:00 (+08:00) of its first day.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use govmedia_kit::calendar::SHANGHAI;

/// A calendar quarter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quarter {
    /// The year, 2000-2100.
    pub year: i32,
    /// 1-4.
    pub quarter: u32,
}

impl Quarter {
    /// `YYYY-Qn` with a year from 2000 to 2100; none otherwise.
    pub fn parse(text: &str) -> Option<Quarter> {
        let (year, quarter) = text.split_once("-Q")?;
        if year.len() != 4 || quarter.len() != 1 {
            return None;
        }
        let year: i32 = year.parse().ok()?;
        let quarter: u32 = quarter.parse().ok()?;
        ((2000..=2100).contains(&year) && (1..=4).contains(&quarter))
            .then_some(Quarter { year, quarter })
    }

    /// The quarter `instant` falls in (Asia/Shanghai).
    pub fn of(instant: DateTime<Utc>) -> Quarter {
        let date = instant.with_timezone(&SHANGHAI).date_naive();
        Quarter {
            year: date.year(),
            quarter: date.month0() / 3 + 1,
        }
    }

    /// The quarter `n` quarters before this one (after it when negative).
    pub fn back(self, n: i32) -> Quarter {
        let index = self.year * 4 + self.quarter as i32 - 1 - n;
        Quarter {
            year: index.div_euclid(4),
            quarter: index.rem_euclid(4) as u32 + 1,
        }
    }

    /// Its first instant.
    pub fn start(self) -> DateTime<Utc> {
        let date = NaiveDate::from_ymd_opt(self.year, (self.quarter - 1) * 3 + 1, 1)
            .unwrap_or(NaiveDate::MIN);
        SHANGHAI
            .from_local_datetime(&date.and_time(chrono::NaiveTime::MIN))
            .single()
            .map_or(DateTime::<Utc>::MIN_UTC, |start| start.with_timezone(&Utc))
    }

    /// The first instant after it.
    pub fn end(self) -> DateTime<Utc> {
        self.back(-1).start()
    }

    /// Whether it is over at `now`.
    pub fn ended(self, now: DateTime<Utc>) -> bool {
        now >= self.end()
    }

    /// Whether it has begun at `now`.
    pub fn begun(self, now: DateTime<Utc>) -> bool {
        now >= self.start()
    }
}

impl std::fmt::Display for Quarter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-Q{}", self.year, self.quarter)
    }
}

/// A quarter or a whole year (`YYYY`), as a listing filters by: the prefix of the stored
/// quarters it covers.
pub fn period_filter(text: &str) -> Option<String> {
    if Quarter::parse(text).is_some() {
        return Some(text.to_owned());
    }
    let year: i32 = text.parse().ok().filter(|_| text.len() == 4)?;
    (2000..=2100).contains(&year).then(|| format!("{year}-Q"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn quarters_parse_count_and_bound_in_shanghai_time() {
        let q4 = Quarter::parse("2026-Q4").expect("q4");
        assert_eq!(q4.to_string(), "2026-Q4");
        assert_eq!(q4.start(), at("2026-10-01T00:00:00+08:00"));
        assert_eq!(q4.end(), at("2027-01-01T00:00:00+08:00"));
        assert_eq!(q4.back(4), Quarter::parse("2025-Q4").expect("q"));
        assert_eq!(q4.back(-1), Quarter::parse("2027-Q1").expect("q"));
        // 1 April at 07:00 in Shanghai is 31 March in UTC: the second quarter.
        assert_eq!(
            Quarter::of(at("2026-03-31T23:00:00Z")),
            Quarter::parse("2026-Q2").expect("q")
        );
        assert!(!q4.ended(at("2026-12-31T23:59:59+08:00")));
        assert!(q4.ended(at("2027-01-01T00:00:00+08:00")));
        for bad in [
            "2026-Q5", "2026-Q0", "1999-Q1", "2026Q4", "2026-Q44", "26-Q4", "",
        ] {
            assert_eq!(Quarter::parse(bad), None, "{bad}");
        }
        assert_eq!(period_filter("2026").as_deref(), Some("2026-Q"));
        assert_eq!(period_filter("2026-Q3").as_deref(), Some("2026-Q3"));
        assert_eq!(period_filter("2026-1"), None);
        assert_eq!(period_filter("12026"), None);
    }
}
