//! The calendar against the State Council's published arrangements, and its arithmetic against
//! itself (adding then counting gives back what was added).

use chrono::{DateTime, Duration, NaiveDate, Utc};
use govmedia_calendar::{Calendar, CalendarError, OfficeHours};
use proptest::prelude::*;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("time")
        .with_timezone(&Utc)
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
}

#[test]
fn national_day_2026_with_its_make_up_saturday() {
    let calendar = Calendar::official();
    // Mid-Autumn Festival (25-27 September) and National Day (1-7 October) are off; Sunday 20
    // September and Saturday 10 October are worked.
    for off in ["2026-09-25", "2026-10-01", "2026-10-05", "2026-10-07"] {
        assert_eq!(calendar.is_working_day(date(off)), Ok(false), "{off}");
    }
    for worked in ["2026-09-20", "2026-10-10", "2026-10-08"] {
        assert_eq!(calendar.is_working_day(date(worked)), Ok(true), "{worked}");
    }
    assert_eq!(calendar.is_working_day(date("2026-10-11")), Ok(false));
    // Submitted on Wednesday 30 September: 8 Oct, 9 Oct, Saturday 10 Oct, 12 Oct, 13 Oct.
    let submitted = at("2026-09-30T15:20:00+08:00");
    assert_eq!(
        calendar.add_working_days(submitted, 5),
        Ok(at("2026-10-13T15:20:00+08:00"))
    );
    assert_eq!(
        calendar.deadline(submitted, 5),
        Ok(at("2026-10-14T00:00:00+08:00"))
    );
    assert_eq!(
        calendar.working_days_between(submitted, at("2026-10-13T23:59:59+08:00")),
        Ok(5)
    );
    // A calendar that knew only weekends would have said Wednesday 7 October.
    assert_ne!(
        calendar.deadline(submitted, 5),
        Ok(at("2026-10-08T00:00:00+08:00"))
    );
}

#[test]
fn spring_festival_2026() {
    let calendar = Calendar::official();
    // Friday 13 February: Saturday 14 is worked, 15-23 off, then 24 and 25.
    let start = at("2026-02-13T17:00:00+08:00");
    assert_eq!(
        calendar.deadline(start, 3),
        Ok(at("2026-02-26T00:00:00+08:00"))
    );
    assert_eq!(calendar.is_working_day(date("2026-02-14")), Ok(true));
    assert_eq!(calendar.is_working_day(date("2026-02-23")), Ok(false));
    assert_eq!(calendar.is_working_day(date("2026-02-28")), Ok(true));
    assert_eq!(
        calendar
            .listed(date("2026-02-17"))
            .map(|day| day.name.as_str()),
        Some("春节")
    );
}

#[test]
fn the_day_follows_shanghai_not_utc() {
    let calendar = Calendar::official();
    // 16:30 UTC on Friday 9 October is 00:30 on Saturday 10 October, a working day there.
    let friday_night_utc = at("2026-10-09T16:30:00Z");
    assert_eq!(
        Calendar::local_date(friday_night_utc),
        Ok(date("2026-10-10"))
    );
    assert_eq!(
        calendar.deadline(friday_night_utc, 1),
        Ok(at("2026-10-13T00:00:00+08:00"))
    );
}

#[test]
fn a_year_without_data_is_an_error_not_a_guess() {
    let calendar = Calendar::official();
    assert_eq!(
        calendar.is_working_day(date("2027-01-04")),
        Err(CalendarError::NoData { year: 2027 })
    );
    // 28 December 2026 plus five working days reaches into 2027.
    assert_eq!(
        calendar.deadline(at("2026-12-28T10:00:00+08:00"), 5),
        Err(CalendarError::NoData { year: 2027 })
    );
    assert!(
        CalendarError::NoData { year: 2027 }
            .to_string()
            .contains("2027")
    );
}

#[test]
fn operators_extend_and_correct_the_shipped_data_with_files() {
    let dir = tempfile_dir();
    let file = dir.join("2027.jsonl");
    std::fs::write(
        &file,
        "{\"date\":\"2027-01-01\",\"off\":true,\"name\":\"元旦\"}\n\
         {\"date\":\"2026-12-31\",\"off\":true,\"name\":\"地方假日\"}\n",
    )
    .expect("write");
    let calendar = Calendar::load(&[&file], OfficeHours::default()).expect("load");
    assert_eq!(calendar.is_working_day(date("2027-01-04")), Ok(true));
    assert_eq!(calendar.is_working_day(date("2027-01-01")), Ok(false));
    assert_eq!(calendar.is_working_day(date("2026-12-31")), Ok(false));

    let broken = dir.join("broken.jsonl");
    std::fs::write(
        &broken,
        "{\"date\":\"2027-01-01\",\"off\":true,\"name\":\"元旦\"}\n{\"date\":\"2027-01-02\"\n",
    )
    .expect("write");
    let error = Calendar::load(&[&broken], OfficeHours::default()).unwrap_err();
    assert!(
        matches!(&error, CalendarError::Line { line: 2, source_name, .. } if source_name.ends_with("broken.jsonl")),
        "{error}"
    );
    let missing = Calendar::load(&[dir.join("absent.jsonl")], OfficeHours::default()).unwrap_err();
    assert!(matches!(missing, CalendarError::Read { .. }), "{missing}");
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "govmedia-calendar-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    ));
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

#[test]
fn working_hours_skip_nights_lunch_weekends_and_holidays() {
    let calendar = Calendar::official();
    // 16:30 on Wednesday 30 September: one hour left that day, then the holiday, then 8 October.
    let start = at("2026-09-30T16:30:00+08:00");
    assert_eq!(
        calendar.add_working_hours(start, 3),
        Ok(at("2026-10-08T11:00:00+08:00"))
    );
    // Starting in the lunch break waits for 13:30.
    assert_eq!(
        calendar.add_working_hours(at("2026-10-08T12:10:00+08:00"), 1),
        Ok(at("2026-10-08T14:30:00+08:00"))
    );
    assert_eq!(
        calendar.working_time_between(start, at("2026-10-08T11:00:00+08:00")),
        Ok(Duration::hours(3))
    );
}

/// Instants in the covered years, far enough from the end of 2026 that 60 working days fit.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    let first = at("2025-01-01T00:00:00+08:00").timestamp();
    let last = at("2026-09-01T00:00:00+08:00").timestamp();
    (first..last).prop_map(|seconds| DateTime::from_timestamp(seconds, 0).unwrap_or_default())
}

proptest! {
    #[test]
    fn adding_then_counting_working_days_round_trips(start in instant(), days in 0u32..60) {
        let calendar = Calendar::official();
        let end = calendar.add_working_days(start, days).expect("covered");
        prop_assert_eq!(calendar.working_days_between(start, end), Ok(i64::from(days)));
        prop_assert_eq!(calendar.working_days_between(end, start), Ok(-i64::from(days)));
        // The deadline lies on a working day (or ends the start's own day) and never earlier
        // than the plain addition.
        let deadline = calendar.deadline(start, days).expect("covered");
        prop_assert!(deadline > end);
        let last = Calendar::local_date(deadline - Duration::seconds(1)).expect("date");
        prop_assert!(days == 0 || calendar.is_working_day(last).expect("covered"));
    }

    #[test]
    fn adding_then_measuring_working_time_round_trips(start in instant(), minutes in 0i64..6000) {
        let calendar = Calendar::official();
        let span = Duration::minutes(minutes);
        let end = calendar.add_working_time(start, span).expect("covered");
        prop_assert!(end >= start);
        prop_assert_eq!(calendar.working_time_between(start, end), Ok(span));
    }
}
