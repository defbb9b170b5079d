//! The `Retry-After` response header (RFC 9110, section 10.2.3): a number of seconds, or an
//! HTTP-date in any of the three formats a recipient must accept.

use core::time::Duration;

/// A parsed `Retry-After` value.
///
/// ```
/// use core::time::Duration;
/// use ssekit::client::RetryAfter;
///
/// assert_eq!(RetryAfter::parse(b"120"), Some(RetryAfter::Delay(Duration::from_secs(120))));
/// let at = RetryAfter::parse(b"Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
/// assert_eq!(at, RetryAfter::At(784_111_777));
/// // An HTTP-date is a point in time: the delay is measured from "now" (the response's own
/// // `Date` is the best "now", as it is on the server's clock too).
/// assert_eq!(at.delay_from(784_111_770), Duration::from_secs(7));
/// assert_eq!(at.delay_from(784_111_999), Duration::ZERO);
/// assert_eq!(RetryAfter::parse(b"soon"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetryAfter {
    /// `Retry-After: <seconds>`.
    Delay(Duration),
    /// `Retry-After: <HTTP-date>`, as seconds since the Unix epoch.
    At(u64),
}

impl RetryAfter {
    /// Parses a header value; `None` if it is neither form. Surrounding spaces and tabs are
    /// ignored; a number of seconds too large for a `u64` saturates.
    ///
    /// ```
    /// use ssekit::client::RetryAfter;
    /// assert_eq!(RetryAfter::parse(b" 5 "), Some(RetryAfter::Delay(core::time::Duration::from_secs(5))));
    /// assert_eq!(RetryAfter::parse(b"Sunday, 06-Nov-94 08:49:37 GMT"), Some(RetryAfter::At(784_111_777)));
    /// assert_eq!(RetryAfter::parse(b"Sun Nov  6 08:49:37 1994"), Some(RetryAfter::At(784_111_777)));
    /// assert_eq!(RetryAfter::parse(b"-1"), None);
    /// ```
    #[must_use]
    pub fn parse(value: &[u8]) -> Option<RetryAfter> {
        let value = trim(value);
        if !value.is_empty() && value.iter().all(u8::is_ascii_digit) {
            let secs = value.iter().fold(0u64, |n, &d| {
                n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
            });
            return Some(RetryAfter::Delay(Duration::from_secs(secs)));
        }
        parse_http_date(value).map(RetryAfter::At)
    }

    /// The time to wait, given the current time in seconds since the Unix epoch (zero for a
    /// date in the past).
    ///
    /// ```
    /// use ssekit::client::RetryAfter;
    /// let d = RetryAfter::Delay(core::time::Duration::from_secs(3));
    /// assert_eq!(d.delay_from(0).as_secs(), 3);
    /// ```
    #[must_use]
    pub fn delay_from(self, now_unix_secs: u64) -> Duration {
        match self {
            RetryAfter::Delay(d) => d,
            RetryAfter::At(at) => Duration::from_secs(at.saturating_sub(now_unix_secs)),
        }
    }
}

/// Parses an HTTP-date (IMF-fixdate, RFC 850 or asctime) into seconds since the Unix epoch.
///
/// ```
/// use ssekit::client::parse_http_date;
/// assert_eq!(parse_http_date(b"Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
/// assert_eq!(parse_http_date(b"Tue, 01 Dec 2026 15:30:00 GMT"), Some(1_796_139_000));
/// assert_eq!(parse_http_date(b"Tue, 31 Feb 2026 15:30:00 GMT"), None);
/// ```
#[must_use]
pub fn parse_http_date(value: &[u8]) -> Option<u64> {
    let value = trim(value);
    let comma = value.iter().position(|&b| b == b',');
    let (day, month, year, time) = match comma {
        // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
        Some(3) => {
            weekday(&value[..3])?;
            let [b"", day, month, year, time, b"GMT"] = split_exact(value.get(4..)?, b' ')? else {
                return None;
            };
            (
                digits(day, 2)?,
                month_number(month)?,
                digits(year, 4)?,
                time,
            )
        }
        // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
        Some(n) => {
            let name = &value[..n];
            if !LONG_DAYS.iter().any(|d| d.as_bytes() == name) {
                return None;
            }
            let [b"", date, time, b"GMT"] = split_exact(value.get(n + 1..)?, b' ')? else {
                return None;
            };
            let [day, month, year] = split_exact(date, b'-')?;
            // A two-digit year: RFC 9110 reads one more than 50 years ahead as the past. Dates
            // here are for Retry-After, so the current century (or the last) is the answer.
            let yy = digits(year, 2)?;
            let year = if yy < 70 { 2000 + yy } else { 1900 + yy };
            (digits(day, 2)?, month_number(month)?, year, time)
        }
        // asctime: "Sun Nov  6 08:49:37 1994"
        None => {
            if value.len() != 24 || value[3] != b' ' || value[7] != b' ' || value[10] != b' ' {
                return None;
            }
            weekday(&value[..3])?;
            let day = match value[8] {
                b' ' => digits(&value[9..10], 1)?,
                _ => digits(&value[8..10], 2)?,
            };
            if value[19] != b' ' {
                return None;
            }
            (
                day,
                month_number(&value[4..7])?,
                digits(&value[20..24], 4)?,
                &value[11..19],
            )
        }
    };
    let (h, m, s) = clock(time)?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) || year < 1970 {
        return None;
    }
    let days = days_since_epoch(year, month, day);
    Some(days * 86_400 + h * 3600 + m * 60 + s)
}

const SHORT_DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const LONG_DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// `s` split at every `sep`, if it has exactly `N` parts.
fn split_exact<const N: usize>(s: &[u8], sep: u8) -> Option<[&[u8]; N]> {
    let mut parts = s.split(|&b| b == sep);
    let mut out = [&s[..0]; N];
    for slot in &mut out {
        *slot = parts.next()?;
    }
    parts.next().is_none().then_some(out)
}

fn weekday(name: &[u8]) -> Option<()> {
    SHORT_DAYS
        .iter()
        .any(|d| d.as_bytes() == name)
        .then_some(())
}

fn month_number(name: &[u8]) -> Option<u64> {
    let i = MONTHS.iter().position(|m| m.as_bytes() == name)?;
    Some(i as u64 + 1)
}

fn digits(s: &[u8], len: usize) -> Option<u64> {
    if s.len() != len || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0, |n, &d| n * 10 + u64::from(d - b'0')))
}

fn clock(s: &[u8]) -> Option<(u64, u64, u64)> {
    if s.len() != 8 || s[2] != b':' || s[5] != b':' {
        return None;
    }
    let (h, m, sec) = (
        digits(&s[..2], 2)?,
        digits(&s[3..5], 2)?,
        digits(&s[6..], 2)?,
    );
    // 60: a leap second.
    (h < 24 && m < 60 && sec <= 60).then_some((h, m, sec))
}

fn is_leap(year: u64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn days_since_epoch(year: u64, month: u64, day: u64) -> u64 {
    let whole_years: u64 = (1970..year)
        .map(|y| if is_leap(y) { 366 } else { 365 })
        .sum();
    let whole_months: u64 = (1..month).map(|m| days_in_month(year, m)).sum();
    whole_years + whole_months + day - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_formats_agree() {
        let t = 784_111_777;
        for v in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(parse_http_date(v.as_bytes()), Some(t), "{v}");
        }
    }

    #[test]
    fn leap_days_and_ends_of_years() {
        assert_eq!(
            parse_http_date(b"Thu, 29 Feb 2024 00:00:00 GMT"),
            Some(1_709_164_800)
        );
        assert_eq!(parse_http_date(b"Thu, 29 Feb 2023 00:00:00 GMT"), None);
        assert_eq!(
            parse_http_date(b"Fri, 31 Dec 1999 23:59:59 GMT"),
            Some(946_684_799)
        );
    }

    #[test]
    fn malformed_dates_are_refused_not_misread() {
        for v in [
            "",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 GMT extra",
            "Xyz, 06 Nov 1994 08:49:37 GMT",
            "Sun Nov  6 08:49:37 94",
            "Sun, 06 Nov 1969 08:49:37 GMT",
            "Sun,06 Nov 1994 08:49:37 GMT",
            "1.5",
            "\u{e9}",
        ] {
            assert_eq!(RetryAfter::parse(v.as_bytes()), None, "{v:?}");
        }
    }

    #[test]
    fn huge_second_counts_saturate() {
        assert_eq!(
            RetryAfter::parse(b"99999999999999999999999"),
            Some(RetryAfter::Delay(Duration::from_secs(u64::MAX)))
        );
    }
}
