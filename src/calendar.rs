//! UTC calendar fields of a unix timestamp, as pandas' `dt` accessors give
//! them for `pd.to_datetime(ts, unit='s')`.
//!
//! Hand-rolled on purpose, though chrono is in the tree (through polars):
//! the fields are pandas' definitions (weekday from Monday = 0, ISO week,
//! the lab's season), each a few lines of integer arithmetic on the `i64`
//! timestamps the stages hold, and feature_engineering computes them for
//! every row (24 million at full size) without building a date type per
//! row. The parser is strict where chrono's would need the same checks
//! around it (real dates only, years in [`YEARS`], unix seconds as well).
//! A test holds every day of those years against chrono.

/// Calendar fields of one instant (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    /// Year.
    pub year: i64,
    /// Month 1-12.
    pub month: u32,
    /// Day of month 1-31.
    pub day: u32,
    /// Weekday, Monday = 0 (pandas `dt.weekday`).
    pub weekday: u32,
    /// Day of year 1-366 (pandas `dt.dayofyear`).
    pub day_of_year: u32,
    /// ISO 8601 week 1-53 (pandas `dt.isocalendar().week`).
    pub iso_week: u32,
}

/// (year, month, day) of a day count since 1970-01-01 (Howard Hinnant's
/// civil_from_days, valid for the whole proleptic Gregorian calendar).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days since 1970-01-01 of a (year, month, day).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn weekday_of_days(days: i64) -> u32 {
    // 1970-01-01 was a Thursday (Monday = 0 -> 3).
    (days + 3).rem_euclid(7) as u32
}

fn iso_weeks_in_year(year: i64) -> u32 {
    // A year has 53 ISO weeks when it starts on a Thursday, or on a Wednesday
    // in a leap year; equivalently when Dec 28 falls in week 53.
    let dec28 = days_from_civil(year, 12, 28);
    let jan1 = days_from_civil(year, 1, 1);
    let wd_dec28 = weekday_of_days(dec28) as i64;
    ((dec28 - jan1 - wd_dec28 + 10) / 7) as u32
}

/// Calendar fields of a unix timestamp in seconds (UTC).
pub fn civil(timestamp: i64) -> Civil {
    let days = timestamp.div_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let weekday = weekday_of_days(days);
    let day_of_year = (days - days_from_civil(year, 1, 1) + 1) as u32;
    let raw_week = (day_of_year as i64 - weekday as i64 + 9) / 7;
    let iso_week = if raw_week < 1 {
        iso_weeks_in_year(year - 1)
    } else if raw_week as u32 > iso_weeks_in_year(year) {
        1
    } else {
        raw_week as u32
    };
    Civil {
        year,
        month,
        day,
        weekday,
        day_of_year,
        iso_week,
    }
}

/// The lab's season: `(month % 12 + 3) // 3` (1 winter .. 4 autumn).
pub fn season(month: u32) -> u32 {
    (month % 12 + 3) / 3
}

/// `YYYY-MM-DDTHH:MM:SSZ` of a unix timestamp (UTC).
pub fn format_instant(timestamp: i64) -> String {
    let days = timestamp.div_euclid(86_400);
    let secs = timestamp.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// An instant given on a command line: parsed by [`parse_instant`], shown as
/// [`format_instant`] (so a flag's default reads as a date in `--help`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcInstant(pub i64);

impl std::fmt::Display for UtcInstant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&format_instant(self.0))
    }
}

impl std::str::FromStr for UtcInstant {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        parse_instant(s).map(UtcInstant).ok_or_else(|| {
            format!(
                "`{}`: expected a real date YYYY-MM-DD[THH:MM[:SS]] (UTC) in the years {}..={}, \
                 or unix seconds within them",
                crate::error::printable(s),
                YEARS.start(),
                YEARS.end()
            )
        })
    }
}

/// Years a date given on the command line may fall in: Unix time's start up
/// to a year far beyond any data (the competition spans 2018 to 2021).
pub const YEARS: std::ops::RangeInclusive<i64> = 1970..=2100;

/// Days in `month` of `year` (proleptic Gregorian).
pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => 31,
    }
}

/// Parses `YYYY-MM-DD[THH:MM[:SS]]` (UTC) or a unix timestamp in seconds.
/// Only real calendar dates (2021-02-31 is refused, not moved to March) in
/// [`YEARS`], and timestamps within those years, are taken; anything else is
/// `None`, never an overflow.
pub fn parse_instant(text: &str) -> Option<i64> {
    let first = days_from_civil(*YEARS.start(), 1, 1) * 86_400;
    let end = days_from_civil(*YEARS.end() + 1, 1, 1) * 86_400;
    let t = text.trim();
    if let Ok(ts) = t.parse::<i64>() {
        return (first..end).contains(&ts).then_some(ts);
    }
    let (date, time) = match t.split_once(['T', ' ']) {
        Some((d, tm)) => (d, Some(tm.trim_end_matches('Z'))),
        None => (t, None),
    };
    let mut parts = date.split('-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || !YEARS.contains(&year) || !(1..=12).contains(&month) {
        return None;
    }
    if !(1..=days_in_month(year, month)).contains(&day) {
        return None;
    }
    let mut secs = days_from_civil(year, month, day) * 86_400;
    if let Some(time) = time {
        let mut f = time.split(':');
        let h: i64 = f.next()?.parse().ok()?;
        let m: i64 = f.next()?.parse().ok()?;
        let s: i64 = f.next().map_or(Some(0), |s| s.parse().ok())?;
        if f.next().is_some()
            || !(0..24).contains(&h)
            || !(0..60).contains(&m)
            || !(0..60).contains(&s)
        {
            return None;
        }
        secs += h * 3600 + m * 60 + s;
    }
    Some(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        // 2021-05-01 00:00 UTC, a Saturday, day 121, ISO week 17.
        let c = civil(1_619_827_200);
        assert_eq!((c.year, c.month, c.day), (2021, 5, 1));
        assert_eq!((c.weekday, c.day_of_year, c.iso_week), (5, 121, 17));
        // 2021-01-01 was a Friday in ISO week 53 of 2020.
        let c = civil(1_609_459_200);
        assert_eq!((c.weekday, c.day_of_year, c.iso_week), (4, 1, 53));
        // 2019-12-30 (Monday) is ISO week 1 of 2020.
        let c = civil(days_from_civil(2019, 12, 30) * 86_400);
        assert_eq!((c.weekday, c.iso_week), (0, 1));
        // Leap day 2020.
        let c = civil(days_from_civil(2020, 2, 29) * 86_400 + 86_399);
        assert_eq!((c.month, c.day, c.day_of_year), (2, 29, 60));
    }

    #[test]
    fn every_day_of_the_accepted_years_agrees_with_chrono() {
        use chrono::{Datelike, NaiveDate};
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
        let last = days_from_civil(*YEARS.end(), 12, 31);
        for days in 0..=last {
            let d = epoch + chrono::Days::new(days as u64);
            // Late in the day, so the seconds within it are ignored too.
            let c = civil(days * 86_400 + 86_399);
            let expected = (
                i64::from(d.year()),
                d.month(),
                d.day(),
                d.weekday().num_days_from_monday(),
                d.ordinal(),
                d.iso_week().week(),
            );
            let got = (c.year, c.month, c.day, c.weekday, c.day_of_year, c.iso_week);
            assert_eq!(got, expected, "{d}");
            assert_eq!(days_from_civil(c.year, c.month, c.day), days);
        }
    }

    #[test]
    fn seasons() {
        assert_eq!(
            (1..=12).map(season).collect::<Vec<_>>(),
            [1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 1]
        );
    }

    #[test]
    fn parses_instants() {
        assert_eq!(parse_instant("2021-05-01"), Some(1_619_827_200));
        assert_eq!(parse_instant("2020-01-01T00:00:00Z"), Some(1_577_836_800));
        assert_eq!(parse_instant("1619827200"), Some(1_619_827_200));
        assert_eq!(parse_instant("2021-13-01"), None);
        assert_eq!(parse_instant("2021-02-31"), None);
        assert_eq!(parse_instant("2021-02-29"), None);
        assert_eq!(parse_instant("2020-02-29"), Some(1_582_934_400));
        assert_eq!(parse_instant("99999999999999-01-01"), None);
        assert_eq!(parse_instant("1900-01-01"), None);
        assert_eq!(parse_instant("-9223372036854775808"), None);
        assert_eq!(format_instant(1_619_827_200), "2021-05-01T00:00:00Z");
        assert_eq!(parse_instant("tomorrow"), None);
    }
}
