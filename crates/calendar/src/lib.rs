//! The working-day calendar govmedia's deadlines count in: the official public holidays
//! of mainland China AND the adjusted working days (调休) that trade a weekend day for a longer
//! holiday, in Asia/Shanghai time.
//!
//! The data is a file of lines, one a day whose status differs from the ordinary week (see
//! `data/README.md`); the years it covers ship in the crate ([`Calendar::official`]) and
//! operators extend or correct it with files of the same format, for the whole country or for a
//! region. A date in a year without data is an error ([`CalendarError::NoData`]), never a guess
//! from weekends: a deadline a day off is a deadline missed.
//!
//! Deadlines follow the practice of Chinese administrative time limits (时限自次日起算): the
//! working days are counted from the day after the start, and the deadline is the end of the
//! last of them. [`Calendar::add_working_days`] keeps the time of day, so adding and counting
//! ([`Calendar::working_days_between`]) are exact inverses; [`Calendar::deadline`] rounds up to
//! the end of that day. Limits in working hours count only office hours of working days
//! ([`Calendar::add_working_time`]).
//!
//! No I/O but [`Calendar::load`], which reads the operators' files.

#![forbid(unsafe_code)]

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

use chrono::{
    DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Utc, Weekday,
};
use serde::Deserialize;

/// The shipped data (`data/cn.jsonl`).
pub const OFFICIAL_DATA: &str = include_str!("../data/cn.jsonl");

/// How the shipped data is named in messages.
pub const OFFICIAL_SOURCE: &str = "the official calendar";

/// Asia/Shanghai is UTC+08:00 all year: China has kept no daylight saving time since 1991, so a
/// fixed offset is exact for every year a calendar can hold.
const OFFSET_SECONDS: i64 = 8 * 3600;

/// Asia/Shanghai as an offset, for showing instants as operators read them.
pub const SHANGHAI: FixedOffset = match FixedOffset::east_opt(OFFSET_SECONDS as i32) {
    Some(offset) => offset,
    None => panic!("+08:00 is a valid offset"),
};

/// Why a calendar cannot answer or cannot be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The question reaches a year the calendar holds no data for.
    #[error(
        "the working-day calendar has no data for {year}; load the State Council's holiday \
         notice for {year} (calendar.files) before deadlines can reach it"
    )]
    NoData {
        /// The year.
        year: i32,
    },
    /// A line of a calendar file is wrong.
    #[error("{source_name} line {line}: {message}")]
    Line {
        /// The file (or [`OFFICIAL_SOURCE`]).
        source_name: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A calendar file cannot be read.
    #[error("cannot read the calendar file {path}: {message}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// The office hours are not a list of increasing `HH:MM-HH:MM` windows.
    #[error("office hours: {0}")]
    OfficeHours(String),
    /// The arithmetic left the range of dates chrono can represent.
    #[error("the date is out of range")]
    OutOfRange,
}

/// What the calendar says of one listed day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Day {
    /// True for an adjusted working day (调休上班), false for a holiday.
    pub working: bool,
    /// The holiday it belongs to, e.g. 国庆节.
    pub name: String,
}

/// The hours of a working day that count for limits in working hours.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfficeHours {
    windows: Vec<(NaiveTime, NaiveTime)>,
}

impl Default for OfficeHours {
    /// 09:00-12:00 and 13:30-17:30, the usual hours of a government office.
    fn default() -> Self {
        let at = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN);
        OfficeHours {
            windows: vec![(at(9, 0), at(12, 0)), (at(13, 30), at(17, 30))],
        }
    }
}

impl OfficeHours {
    /// Office hours from windows written `HH:MM-HH:MM`, in increasing, non-overlapping order.
    pub fn parse<S: AsRef<str>>(windows: &[S]) -> Result<OfficeHours, CalendarError> {
        let bad = |message: String| CalendarError::OfficeHours(message);
        if windows.is_empty() {
            return Err(bad("at least one window is needed".to_owned()));
        }
        let mut parsed: Vec<(NaiveTime, NaiveTime)> = Vec::with_capacity(windows.len());
        for window in windows {
            let window = window.as_ref();
            let (open, close) = window
                .split_once('-')
                .ok_or_else(|| bad(format!("{window:?} is not HH:MM-HH:MM")))?;
            let time = |text: &str| {
                NaiveTime::parse_from_str(text.trim(), "%H:%M")
                    .map_err(|_| bad(format!("{window:?} is not HH:MM-HH:MM")))
            };
            let (open, close) = (time(open)?, time(close)?);
            if open >= close {
                return Err(bad(format!("{window:?} closes before it opens")));
            }
            if parsed.last().is_some_and(|(_, previous)| *previous > open) {
                return Err(bad(format!(
                    "{window:?} overlaps or precedes the window before it"
                )));
            }
            parsed.push((open, close));
        }
        Ok(OfficeHours { windows: parsed })
    }

    /// The working time of one working day.
    pub fn per_day(&self) -> Duration {
        self.windows
            .iter()
            .map(|(open, close)| *close - *open)
            .sum()
    }
}

/// One line of a calendar file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    date: String,
    off: bool,
    name: String,
}

/// A working-day calendar. Cheap to query; build it once at start-up.
#[derive(Clone, Debug)]
pub struct Calendar {
    days: BTreeMap<NaiveDate, Day>,
    years: BTreeSet<i32>,
    hours: OfficeHours,
}

impl Calendar {
    /// The shipped data with the default office hours.
    pub fn official() -> Calendar {
        // The shipped file is checked by this crate's tests; it cannot fail at run time.
        Calendar::parse(OFFICIAL_SOURCE, OFFICIAL_DATA).unwrap_or_else(|_| Calendar {
            days: BTreeMap::new(),
            years: BTreeSet::new(),
            hours: OfficeHours::default(),
        })
    }

    /// A calendar from the text of a calendar file named `source_name` (for messages). Every
    /// year with at least one line counts as covered.
    pub fn parse(source_name: &str, text: &str) -> Result<Calendar, CalendarError> {
        let mut days = BTreeMap::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let raw = raw.trim();
            if raw.is_empty() {
                continue;
            }
            let error = |message: String| CalendarError::Line {
                source_name: source_name.to_owned(),
                line,
                message,
            };
            let parsed: Line = serde_json::from_str(raw).map_err(|e| {
                error(format!(
                    "not a {{\"date\":\"YYYY-MM-DD\",\"off\":true|false,\"name\":\"…\"}} line ({e})"
                ))
            })?;
            let date = NaiveDate::parse_from_str(&parsed.date, "%Y-%m-%d")
                .ok()
                .filter(|date| date.format("%Y-%m-%d").to_string() == parsed.date)
                .ok_or_else(|| error(format!("{:?} is not a YYYY-MM-DD date", parsed.date)))?;
            if parsed.name.trim().is_empty() {
                return Err(error("the day has no name".to_owned()));
            }
            if !parsed.off && !is_weekend(date) {
                return Err(error(format!(
                    "{date} is a {}: only a Saturday or Sunday can be an adjusted working day",
                    date.weekday()
                )));
            }
            let day = Day {
                working: !parsed.off,
                name: parsed.name,
            };
            if days.insert(date, day).is_some() {
                return Err(error(format!("{date} is listed twice")));
            }
        }
        let years = days.keys().map(Datelike::year).collect();
        Ok(Calendar {
            days,
            years,
            hours: OfficeHours::default(),
        })
    }

    /// The shipped data extended by `files` in order (a later file's line replaces an earlier
    /// one's for the same date), with `hours`.
    pub fn load<P: AsRef<Path>>(
        files: &[P],
        hours: OfficeHours,
    ) -> Result<Calendar, CalendarError> {
        let mut calendar = Calendar::official().extended_by_files(files)?;
        calendar.hours = hours;
        Ok(calendar)
    }

    /// This calendar extended by `files` in order.
    pub fn extended_by_files<P: AsRef<Path>>(self, files: &[P]) -> Result<Calendar, CalendarError> {
        let mut calendar = self;
        for path in files {
            let path = path.as_ref();
            let text = std::fs::read_to_string(path).map_err(|error| CalendarError::Read {
                path: path.display().to_string(),
                message: error.to_string(),
            })?;
            calendar = calendar.extended(Calendar::parse(&path.display().to_string(), &text)?);
        }
        Ok(calendar)
    }

    /// This calendar with `other`'s days added (and replacing this one's for the same dates)
    /// and `other`'s years covered too.
    pub fn extended(mut self, other: Calendar) -> Calendar {
        self.days.extend(other.days);
        self.years.extend(other.years);
        self
    }

    /// The same days with other office hours.
    pub fn with_office_hours(mut self, hours: OfficeHours) -> Calendar {
        self.hours = hours;
        self
    }

    /// The years the calendar holds data for.
    pub fn years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years.iter().copied()
    }

    /// The listed day at `date`, if any (a holiday or an adjusted working day).
    pub fn listed(&self, date: NaiveDate) -> Option<&Day> {
        self.days.get(&date)
    }

    /// Is `date` a working day?
    pub fn is_working_day(&self, date: NaiveDate) -> Result<bool, CalendarError> {
        if !self.years.contains(&date.year()) {
            return Err(CalendarError::NoData { year: date.year() });
        }
        Ok(match self.days.get(&date) {
            Some(day) => day.working,
            None => !is_weekend(date),
        })
    }

    /// The date of `instant` in Asia/Shanghai.
    pub fn local_date(instant: DateTime<Utc>) -> Result<NaiveDate, CalendarError> {
        Ok(local(instant)?.date())
    }

    fn next_working_day(&self, date: NaiveDate) -> Result<NaiveDate, CalendarError> {
        let mut date = date;
        loop {
            date = date.succ_opt().ok_or(CalendarError::OutOfRange)?;
            if self.is_working_day(date)? {
                return Ok(date);
            }
        }
    }

    /// The instant `days` working days after `start`, at the same time of day: the days are
    /// counted from the day after `start`'s (Asia/Shanghai) date, whatever that date is.
    pub fn add_working_days(
        &self,
        start: DateTime<Utc>,
        days: u32,
    ) -> Result<DateTime<Utc>, CalendarError> {
        let start_local = local(start)?;
        let mut date = start_local.date();
        self.is_working_day(date)?;
        for _ in 0..days {
            date = self.next_working_day(date)?;
        }
        utc(date.and_time(start_local.time()))
    }

    /// The deadline of a limit of `days` working days that starts at `start`: the end (24:00
    /// Asia/Shanghai) of the `days`-th working day after `start`'s date. Zero days ends with
    /// `start`'s own day.
    pub fn deadline(
        &self,
        start: DateTime<Utc>,
        days: u32,
    ) -> Result<DateTime<Utc>, CalendarError> {
        let last = local(self.add_working_days(start, days)?)?.date();
        let next = last.succ_opt().ok_or(CalendarError::OutOfRange)?;
        utc(next.and_time(NaiveTime::MIN))
    }

    /// How many working days lie after `from`'s date up to and including `to`'s (negative when
    /// `to` is before `from`): the inverse of [`Calendar::add_working_days`].
    pub fn working_days_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<i64, CalendarError> {
        if to < from {
            return self.working_days_between(to, from).map(|days| -days);
        }
        let (from, to) = (local(from)?.date(), local(to)?.date());
        self.is_working_day(from)?;
        let mut count = 0;
        let mut date = from;
        while date < to {
            date = date.succ_opt().ok_or(CalendarError::OutOfRange)?;
            if self.is_working_day(date)? {
                count += 1;
            }
        }
        Ok(count)
    }

    /// The instant when `span` of office hours on working days has passed since `start` (a
    /// start outside office hours waits for the next opening).
    pub fn add_working_time(
        &self,
        start: DateTime<Utc>,
        span: Duration,
    ) -> Result<DateTime<Utc>, CalendarError> {
        let mut remaining = span.max(Duration::zero());
        let mut at = local(start)?;
        loop {
            let date = at.date();
            if self.is_working_day(date)? {
                for (open, close) in &self.hours.windows {
                    let (open, close) = (date.and_time(*open), date.and_time(*close));
                    let from = at.max(open);
                    if from >= close {
                        continue;
                    }
                    let available = close - from;
                    if remaining <= available {
                        return utc(from + remaining);
                    }
                    remaining -= available;
                    at = close;
                }
            }
            at = date
                .succ_opt()
                .ok_or(CalendarError::OutOfRange)?
                .and_time(NaiveTime::MIN);
        }
    }

    /// [`Calendar::add_working_time`] in whole hours.
    pub fn add_working_hours(
        &self,
        start: DateTime<Utc>,
        hours: u32,
    ) -> Result<DateTime<Utc>, CalendarError> {
        self.add_working_time(start, Duration::hours(i64::from(hours)))
    }

    /// The office hours of working days between `from` and `to` (zero when `to` is not after
    /// `from`): the inverse of [`Calendar::add_working_time`] for instants inside office hours.
    pub fn working_time_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Duration, CalendarError> {
        let (from, to) = (local(from)?, local(to)?);
        let mut total = Duration::zero();
        let mut date = from.date();
        while date <= to.date() {
            if self.is_working_day(date)? {
                for (open, close) in &self.hours.windows {
                    let start = from.max(date.and_time(*open));
                    let end = to.min(date.and_time(*close));
                    if end > start {
                        total += end - start;
                    }
                }
            }
            date = date.succ_opt().ok_or(CalendarError::OutOfRange)?;
        }
        Ok(total)
    }
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

fn local(instant: DateTime<Utc>) -> Result<NaiveDateTime, CalendarError> {
    instant
        .naive_utc()
        .checked_add_signed(Duration::seconds(OFFSET_SECONDS))
        .ok_or(CalendarError::OutOfRange)
}

fn utc(local: NaiveDateTime) -> Result<DateTime<Utc>, CalendarError> {
    local
        .checked_sub_signed(Duration::seconds(OFFSET_SECONDS))
        .map(|naive| naive.and_utc())
        .ok_or(CalendarError::OutOfRange)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_data_parses_and_covers_2025_and_2026() {
        let calendar = Calendar::parse(OFFICIAL_SOURCE, OFFICIAL_DATA).expect("shipped data");
        assert_eq!(calendar.years().collect::<Vec<_>>(), [2025, 2026]);
        assert_eq!(
            calendar.days.len(),
            OFFICIAL_DATA
                .lines()
                .filter(|l| !l.trim().is_empty())
                .count()
        );
    }

    #[test]
    fn bad_lines_are_named_with_their_number() {
        let cases = [
            ("{\"date\":\"2026-10-01\",\"off\":true}", "not a"),
            (
                "{\"date\":\"2026-10-1\",\"off\":true,\"name\":\"x\"}",
                "YYYY-MM-DD",
            ),
            (
                "{\"date\":\"2026-02-30\",\"off\":true,\"name\":\"x\"}",
                "YYYY-MM-DD",
            ),
            (
                "{\"date\":\"2026-10-08\",\"off\":false,\"name\":\"x\"}",
                "Saturday or Sunday",
            ),
            (
                "{\"date\":\"2026-10-01\",\"off\":true,\"name\":\" \"}",
                "no name",
            ),
            (
                "{\"date\":\"2026-10-01\",\"off\":true,\"name\":\"x\",\"extra\":1}",
                "not a",
            ),
            ("not json", "not a"),
        ];
        for (line, expected) in cases {
            let text =
                format!("{{\"date\":\"2026-01-01\",\"off\":true,\"name\":\"元旦\"}}\n\n{line}\n");
            let error = Calendar::parse("x.jsonl", &text).unwrap_err();
            match &error {
                CalendarError::Line {
                    source_name,
                    line,
                    message,
                } => {
                    assert_eq!((source_name.as_str(), *line), ("x.jsonl", 3), "{error}");
                    assert!(message.contains(expected), "{message}");
                }
                other => panic!("{other:?}"),
            }
        }
        let twice = "{\"date\":\"2026-01-01\",\"off\":true,\"name\":\"元旦\"}\n{\"date\":\"2026-01-01\",\"off\":true,\"name\":\"元旦\"}";
        assert!(
            Calendar::parse("x", twice)
                .unwrap_err()
                .to_string()
                .contains("twice")
        );
    }

    #[test]
    fn office_hours_must_be_increasing_windows() {
        assert_eq!(
            OfficeHours::parse(&["09:00-12:00", "13:30-17:30"]).expect("ok"),
            OfficeHours::default()
        );
        assert_eq!(OfficeHours::default().per_day(), Duration::hours(7));
        for bad in [
            &["9-12"][..],
            &["12:00-09:00"],
            &["09:00-12:00", "11:00-17:00"],
            &[],
        ] {
            assert!(OfficeHours::parse(bad).is_err(), "{bad:?}");
        }
    }
}
