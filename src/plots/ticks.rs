//! Where every chart axis puts its ticks and what they read: one place, so
//! all charts label numbers, counts and dates the same way.
//!
//! plotters' own labels print every f64 with a fixed number of significant
//! digits, so an axis spanning 0.004683..0.004691 read "0.00469, 0.00469,
//! 0.00468, ..." and whole numbers read "20.0". Here the ticks sit on round
//! steps (1, 2 or 5 times a power of ten) and the step decides the decimals:
//! enough that neighbouring ticks differ, no more.

use crate::calendar::{civil, civil_from_days, days_from_civil};

/// The ticks of one axis: positions and their labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Ticks {
    /// Tick positions, ascending, all inside the axis range.
    pub values: Vec<f64>,
    /// One label per position.
    pub labels: Vec<String>,
}

impl Ticks {
    /// The label of the tick nearest `value` (plotters asks by value).
    pub fn label(&self, value: f64) -> String {
        self.values
            .iter()
            .zip(&self.labels)
            .min_by(|a, b| (a.0 - value).abs().total_cmp(&(b.0 - value).abs()))
            .map(|(_, l)| l.clone())
            .unwrap_or_default()
    }

    /// The longest label (to size the label area).
    pub fn longest(&self) -> &str {
        self.labels
            .iter()
            .max_by_key(|l| l.chars().count())
            .map_or("", String::as_str)
    }

    fn empty() -> Ticks {
        Ticks {
            values: Vec::new(),
            labels: Vec::new(),
        }
    }
}

/// How the numbers of one axis are written; chosen once per axis so every
/// tick on it has the same decimals, grouping and unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NumberFormat {
    decimals: usize,
    style: Style,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Style {
    /// `12,345.6`: thousands grouped once the axis reaches 10,000, where
    /// five bare digits start to be misread.
    Plain { group: bool },
    /// `2.5M`: volumes and gains in the millions stay short.
    Scaled { divisor: f64, suffix: &'static str },
    /// `3e-6`: below 0.0001 a row of leading zeros is harder to read than
    /// an exponent.
    Scientific { exponent: i32 },
}

/// The power of ten of a positive number (`floor(log10(x))`), robust to
/// `log10` landing a hair under an exact power (0.001 -> -3, not -4).
fn exponent(x: f64) -> i32 {
    (x.abs().log10() + 1e-9).floor() as i32
}

impl NumberFormat {
    /// The format of an axis whose ticks are `step` apart and whose
    /// largest tick magnitude is `largest`.
    pub fn new(step: f64, largest: f64) -> NumberFormat {
        let step_exp = if step.is_finite() && step > 0.0 {
            exponent(step)
        } else {
            0
        };
        let digits_below = |unit_exp: i32| (unit_exp - step_exp).max(0) as usize;
        let largest = largest.abs();
        if largest >= 1e6 {
            let (unit_exp, suffix) = if largest >= 1e9 { (9, "B") } else { (6, "M") };
            NumberFormat {
                decimals: digits_below(unit_exp),
                style: Style::Scaled {
                    divisor: 10f64.powi(unit_exp),
                    suffix,
                },
            }
        } else if largest > 0.0 && largest < 1e-4 {
            let unit_exp = exponent(largest);
            NumberFormat {
                decimals: digits_below(unit_exp),
                style: Style::Scientific { exponent: unit_exp },
            }
        } else {
            NumberFormat {
                decimals: digits_below(0),
                style: Style::Plain {
                    group: largest >= 1e4,
                },
            }
        }
    }

    /// `value` as this axis writes it.
    pub fn format(&self, value: f64) -> String {
        let d = self.decimals;
        let text = match self.style {
            Style::Plain { group } => {
                let s = format!("{value:.d$}");
                if group {
                    group_thousands(&s)
                } else {
                    s
                }
            }
            // "0.0M" would say less than "0".
            Style::Scaled { .. } if value == 0.0 => "0".to_string(),
            Style::Scaled { divisor, suffix } => format!("{:.d$}{suffix}", value / divisor),
            Style::Scientific { .. } if value == 0.0 => "0".to_string(),
            Style::Scientific { exponent } => {
                format!("{:.d$}e{exponent}", value / 10f64.powi(exponent))
            }
        };
        without_negative_zero(text)
    }
}

/// `-0.00` reads as a different number from `0.00`; it is the same tick.
fn without_negative_zero(text: String) -> String {
    match text.strip_prefix('-') {
        Some(rest)
            if rest
                .split('e')
                .next()
                .is_some_and(|m| m.chars().filter(char::is_ascii_digit).all(|c| c == '0')) =>
        {
            rest.to_string()
        }
        _ => text,
    }
}

/// `58000.5` -> `58,000.5`.
fn group_thousands(number: &str) -> String {
    let (sign, rest) = match number.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", number),
    };
    let (int, frac) = rest.split_at(rest.find('.').unwrap_or(rest.len()));
    let mut grouped = String::with_capacity(int.len() + int.len() / 3);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped}{frac}")
}

/// Round ticks for a numeric axis over `lo..=hi`, at most `max_ticks`.
pub fn numbers(lo: f64, hi: f64, max_ticks: usize) -> Ticks {
    round_ticks(lo, hi, max_ticks, f64::MIN_POSITIVE)
}

/// Round ticks for a whole-number axis (boosting rounds, counts): the
/// step is at least 1, so no tick falls between two whole numbers and
/// none reads `20.0`.
pub fn integers(lo: f64, hi: f64, max_ticks: usize) -> Ticks {
    round_ticks(lo, hi, max_ticks, 1.0)
}

fn round_ticks(lo: f64, hi: f64, max_ticks: usize, min_step: f64) -> Ticks {
    if !(lo.is_finite() && hi.is_finite()) || hi < lo {
        return Ticks::empty();
    }
    if hi == lo {
        // One value: as many decimals as its own size asks for.
        let unit = if lo == 0.0 {
            1.0
        } else {
            power_step(1.0, exponent(lo))
        };
        let format = NumberFormat::new(unit.max(min_step), lo);
        return Ticks {
            values: vec![lo],
            labels: vec![format.format(lo)],
        };
    }
    let max_ticks = max_ticks.max(2);
    let count = |step: f64| ((hi / step).floor() - (lo / step).ceil() + 1.0).max(0.0);
    // Start a decade below the step that would give exactly max_ticks and
    // take the first 1-2-5 step that fits.
    let span = (hi - lo).max(min_step).max(hi.abs().max(lo.abs()) * 1e-12);
    let mut exp = exponent(span / max_ticks as f64) - 1;
    let step = loop {
        let candidate = [1.0, 2.0, 5.0]
            .into_iter()
            .map(|f| power_step(f, exp))
            .find(|s| *s >= min_step && count(*s) <= max_ticks as f64);
        if let Some(step) = candidate {
            break step;
        }
        exp += 1;
    };
    let (first, last) = ((lo / step).ceil() as i64, (hi / step).floor() as i64);
    // Each tick is k * step from an integer k, so errors do not accumulate.
    let values: Vec<f64> = (first..=last).map(|k| k as f64 * step).collect();
    let largest = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let format = NumberFormat::new(step, largest);
    let labels = values.iter().map(|v| format.format(*v)).collect();
    Ticks { values, labels }
}

/// `f * 10^exp`, divided rather than multiplied for negative powers so
/// 2e-6 comes out as the nearest double to 2e-6.
fn power_step(f: f64, exp: i32) -> f64 {
    if exp < 0 {
        f / 10f64.powi(-exp)
    } else {
        f * 10f64.powi(exp)
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A spacing between date ticks.
#[derive(Debug, Clone, Copy)]
enum DateStep {
    Hours(i64),
    Days(i64),
    /// Weeks start on Mondays, as calendars print them.
    Weeks(i64),
    Months(i64),
    Years(i64),
}

impl DateStep {
    /// Roughly how many seconds apart the ticks are (to skip steps that
    /// would clearly give too many ticks without listing them).
    fn seconds(self) -> i64 {
        match self {
            DateStep::Hours(n) => n * 3600,
            DateStep::Days(n) => n * 86_400,
            DateStep::Weeks(n) => n * 7 * 86_400,
            DateStep::Months(n) => n * 30 * 86_400,
            DateStep::Years(n) => n * 365 * 86_400,
        }
    }

    /// The ticks in `lo..=hi` (unix seconds, UTC).
    fn ticks(self, lo: i64, hi: i64) -> Vec<i64> {
        let day = 86_400;
        let aligned = |period: i64, offset: i64| {
            let first = (lo - offset).div_euclid(period) * period + offset;
            let first = if first < lo { first + period } else { first };
            (0..)
                .map(move |k| first + k * period)
                .take_while(move |t| *t <= hi)
        };
        match self {
            DateStep::Hours(n) => aligned(n * 3600, 0).collect(),
            DateStep::Days(n) => aligned(n * day, 0).collect(),
            // 1970-01-05, day 4 since the epoch, was a Monday.
            DateStep::Weeks(n) => aligned(n * 7 * day, 4 * day).collect(),
            DateStep::Months(n) => {
                let start = civil(lo);
                let mut month = start.year * 12 + i64::from(start.month) - 1;
                month = month.div_euclid(n) * n;
                let mut out = Vec::new();
                loop {
                    let t =
                        days_from_civil(month.div_euclid(12), (month.rem_euclid(12) + 1) as u32, 1)
                            * day;
                    if t > hi {
                        break out;
                    }
                    if t >= lo {
                        out.push(t);
                    }
                    month += n;
                }
            }
            DateStep::Years(n) => {
                let mut year = civil(lo).year.div_euclid(n) * n;
                let mut out = Vec::new();
                loop {
                    let t = days_from_civil(year, 1, 1) * day;
                    if t > hi {
                        break out;
                    }
                    if t >= lo {
                        out.push(t);
                    }
                    year += n;
                }
            }
        }
    }

    fn label(self, t: i64) -> String {
        let c = civil(t);
        let month = MONTHS[(c.month as usize).saturating_sub(1).min(11)];
        let day_label = format!("{month} {:02}", c.day);
        match self {
            // Midnight names the day, so an axis of hours still says which.
            DateStep::Hours(_) if t.rem_euclid(86_400) != 0 => {
                let secs = t.rem_euclid(86_400);
                format!("{:02}:{:02}", secs / 3600, secs % 3600 / 60)
            }
            DateStep::Hours(_) | DateStep::Days(_) | DateStep::Weeks(_) => day_label,
            DateStep::Months(_) => format!("{month} {}", c.year),
            DateStep::Years(_) => c.year.to_string(),
        }
    }
}

/// Calendar ticks for a time axis over unix seconds `lo..=hi` (UTC), at
/// most `max_ticks`: hours, days ("Apr 05"), Monday weeks, months
/// ("Apr 2021") or years, whichever is finest and fits.
pub fn dates(lo: i64, hi: i64, max_ticks: usize) -> Ticks {
    if hi < lo {
        return Ticks::empty();
    }
    let max_ticks = max_ticks.max(2);
    let steps = [1, 2, 3, 6, 12]
        .map(DateStep::Hours)
        .into_iter()
        .chain([1, 2].map(DateStep::Days))
        .chain([1, 2].map(DateStep::Weeks))
        .chain([1, 2, 3, 6].map(DateStep::Months))
        .chain((0..6).flat_map(|p| [1, 2, 5].map(|f| DateStep::Years(f * 10i64.pow(p)))));
    for step in steps {
        if (hi - lo) / step.seconds() > max_ticks as i64 + 1 {
            continue;
        }
        let ticks = step.ticks(lo, hi);
        if ticks.len() <= max_ticks {
            return Ticks {
                values: ticks.iter().map(|t| *t as f64).collect(),
                labels: ticks.iter().map(|t| step.label(*t)).collect(),
            };
        }
    }
    Ticks::empty()
}

/// `2021-04-05`: the day of a unix timestamp (UTC), for captions.
pub fn iso_date(t: i64) -> String {
    let (y, m, d) = civil_from_days(t.div_euclid(86_400));
    format!("{y}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn distinct(t: &Ticks) -> bool {
        t.labels.windows(2).all(|w| w[0] != w[1])
    }

    #[test]
    fn decimals_follow_the_step() {
        let t = numbers(0.004683, 0.004691, 6);
        assert!(distinct(&t), "{:?}", t.labels);
        assert!(t.values.len() >= 3);
        assert!(t
            .labels
            .iter()
            .all(|l| l.starts_with("0.0046") && l.len() == 8));
        assert_eq!(
            numbers(0.0, 1.0, 6).labels,
            ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]
        );
        assert_eq!(
            numbers(-0.02, 0.021, 5).labels,
            ["-0.02", "-0.01", "0.00", "0.01", "0.02"]
        );
        assert_eq!(
            numbers(0.0, 100.0, 6).labels,
            ["0", "20", "40", "60", "80", "100"]
        );
    }

    #[test]
    fn whole_numbers_have_no_decimals() {
        let t = integers(1.0, 300.0, 8);
        assert_eq!(t.labels, ["50", "100", "150", "200", "250", "300"]);
        // A short run still steps by whole rounds.
        let t = integers(1.0, 3.0, 8);
        assert_eq!(t.labels, ["1", "2", "3"]);
        assert_eq!(integers(0.0, 4.4, 6).labels, ["0", "1", "2", "3", "4"]);
    }

    #[test]
    fn prices_are_grouped_and_have_no_trailing_zero() {
        let t = numbers(56_800.0, 59_300.0, 6);
        assert_eq!(t.labels, ["57,000", "57,500", "58,000", "58,500", "59,000"]);
        assert_eq!(
            numbers(3_000.0, 9_000.0, 4).labels,
            ["4000", "6000", "8000"]
        );
        assert_eq!(
            numbers(58_000.0, 58_001.0, 3).labels,
            ["58,000.0", "58,000.5", "58,001.0"]
        );
    }

    #[test]
    fn large_and_tiny_numbers_stay_short() {
        assert_eq!(
            numbers(0.0, 2_600_000.0, 6).labels,
            ["0", "0.5M", "1.0M", "1.5M", "2.0M", "2.5M"]
        );
        assert_eq!(numbers(0.0, 3e9, 4).labels, ["0", "1B", "2B", "3B"]);
        assert_eq!(
            numbers(0.0, 3.1e-5, 4).labels,
            ["0", "1e-5", "2e-5", "3e-5"]
        );
        let t = numbers(1.0e-5, 1.1e-5, 6);
        assert!(distinct(&t), "{:?}", t.labels);
    }

    #[test]
    fn the_formatter_writes_one_style_per_axis() {
        let f = NumberFormat::new(0.5, 3.0);
        assert_eq!(f.format(1.0), "1.0");
        assert_eq!(f.format(-0.0), "0.0");
        assert_eq!(f.format(-1e-17), "0.0");
        assert_eq!(NumberFormat::new(2e-6, 0.0047).format(0.004688), "0.004688");
        assert_eq!(NumberFormat::new(20.0, 300.0).format(40.0), "40");
        assert_eq!(NumberFormat::new(1000.0, 1e5).format(-12_000.0), "-12,000");
        assert_eq!(group_thousands("1234567.25"), "1,234,567.25");
        assert_eq!(group_thousands("-999"), "-999");
    }

    #[test]
    fn degenerate_ranges_give_few_or_no_ticks() {
        assert!(numbers(f64::NAN, 1.0, 5).values.is_empty());
        assert!(numbers(2.0, 1.0, 5).values.is_empty());
        let t = numbers(5.0, 5.0, 5);
        assert_eq!(t.labels, ["5"]);
        assert!(distinct(&numbers(1e12, 1e12 + 1.0, 5)));
    }

    #[test]
    fn dates_are_calendar_days() {
        let apr1 = days_from_civil(2021, 4, 1) * 86_400;
        let t = dates(apr1, apr1 + 45 * 86_400, 8);
        // 45 days: Monday weeks.
        assert_eq!(t.labels[0], "Apr 05");
        assert!(t.labels.len() >= 5 && t.labels.len() <= 8, "{:?}", t.labels);
        assert!(distinct(&t));
        let t = dates(apr1, apr1 + 5 * 86_400, 8);
        assert_eq!(
            t.labels,
            ["Apr 01", "Apr 02", "Apr 03", "Apr 04", "Apr 05", "Apr 06"]
        );
        let t = dates(apr1 + 3600, apr1 + 86_400 + 3600, 4);
        assert_eq!(t.labels, ["06:00", "12:00", "18:00", "Apr 02"]);
        let t = dates(days_from_civil(2018, 1, 1) * 86_400, apr1, 8);
        assert_eq!(
            t.labels,
            ["Jan 2018", "Jul 2018", "Jan 2019", "Jul 2019", "Jan 2020", "Jul 2020", "Jan 2021"]
        );
        let t = dates(0, days_from_civil(2021, 1, 1) * 86_400, 8);
        assert_eq!(t.labels, ["1970", "1980", "1990", "2000", "2010", "2020"]);
        assert_eq!(iso_date(apr1 + 4 * 86_400 + 5), "2021-04-05");
    }
}
