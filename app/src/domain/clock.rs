//! Times as people read them: "3 min ago", "yesterday 21:55", a date for older ones, and the
//! exact time for a tooltip. Pure arithmetic on Unix seconds (no time zone database, no
//! clock), so the server and the browser say the same thing given the same offset.

/// Seconds in a day.
const DAY: i64 = 86_400;

/// Whose clock a time is shown on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// UTC, and the text says so (the server does not know the viewer's zone).
    Utc,
    /// The viewer's zone, as its offset east of UTC in seconds at the shown time and at "now"
    /// (they differ across a daylight-saving switch).
    Local {
        /// Offset at the shown time.
        at_then: i32,
        /// Offset now.
        at_now: i32,
    },
}

impl Zone {
    fn offsets(self) -> (i64, i64) {
        match self {
            Zone::Utc => (0, 0),
            Zone::Local { at_then, at_now } => (i64::from(at_then), i64::from(at_now)),
        }
    }

    /// What follows a clock time: " UTC", or nothing on the viewer's own clock.
    fn suffix(self) -> &'static str {
        match self {
            Zone::Utc => " UTC",
            Zone::Local { .. } => "",
        }
    }
}

/// A calendar date and time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date and time of day `seconds` after 1970-01-01T00:00:00.
fn civil(seconds: i64) -> Civil {
    let days = seconds.div_euclid(DAY);
    let of_day = seconds.rem_euclid(DAY);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    Civil {
        year,
        month,
        day,
        hour: (of_day / 3600) as u32,
        minute: (of_day % 3600 / 60) as u32,
        second: (of_day % 60) as u32,
    }
}

/// Unix seconds of an RFC 3339 time such as `2026-12-01T21:55:01.872356Z` or
/// `2026-12-01T22:55:01+01:00` (fractions of a second are dropped); `None` when it is not one.
#[must_use]
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = text.get(range)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if bytes.len() < 20
        || bytes[4] != b'-'
        || bytes[7] != b'-'
        || !matches!(bytes[10], b'T' | b't' | b' ')
        || bytes[13] != b':'
        || bytes[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &fraction[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return None,
            };
            // `+01:00`, or `+01` as PostgreSQL writes whole-hour offsets.
            let digits = |part: &str| {
                part.bytes()
                    .all(|b| b.is_ascii_digit())
                    .then(|| part.parse::<i64>().ok())
                    .flatten()
            };
            let (hours, minutes) = match rest.len() {
                3 => (digits(&rest[1..3])?, 0),
                6 if rest.as_bytes()[3] == b':' => (digits(&rest[1..3])?, digits(&rest[4..6])?),
                _ => return None,
            };
            sign * (hours * 3600 + minutes * 60)
        }
    };
    let days = days_from_civil(i64::from(year), month, day);
    Some(days * DAY + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second) - offset)
}

/// `then` as RFC 3339 in UTC, to the second: `2026-12-01T21:55:01Z`.
#[must_use]
pub fn rfc3339(then: i64) -> String {
    let c = civil(then);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// `UTC+01:00`, `UTC-05:30`, or `UTC`.
fn offset_name(offset: i64) -> String {
    if offset == 0 {
        return "UTC".to_string();
    }
    let sign = if offset < 0 { '-' } else { '+' };
    let minutes = offset.abs() / 60;
    format!("UTC{sign}{:02}:{:02}", minutes / 60, minutes % 60)
}

/// The exact time, for a tooltip: `2026-12-01 21:55:01 UTC`, or on the viewer's clock
/// `2026-12-01 22:55:01 (UTC+01:00)`.
#[must_use]
pub fn exact_text(then: i64, zone: Zone) -> String {
    let (offset, _) = zone.offsets();
    let c = civil(then + offset);
    let stamp = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    );
    match zone {
        Zone::Utc => format!("{stamp} UTC"),
        Zone::Local { .. } => format!("{stamp} ({})", offset_name(offset)),
    }
}

/// The time of day on the zone's clock: `12:03:04 UTC`, or `13:03:04` on the viewer's clock.
#[must_use]
pub fn clock_text(then: i64, zone: Zone) -> String {
    let (offset, _) = zone.offsets();
    let c = civil(then + offset);
    format!(
        "{:02}:{:02}:{:02}{}",
        c.hour,
        c.minute,
        c.second,
        zone.suffix()
    )
}

/// How long ago `then` was at `now` (both Unix seconds), in words: "just now", "12 min ago",
/// "3 h ago" (same day), "yesterday 21:55", "4 days ago", then the date (`2026-11-03`). A time
/// in the future beyond a minute of clock skew is shown as date and time.
#[must_use]
pub fn relative_text(then: i64, now: i64, zone: Zone) -> String {
    let (then_offset, now_offset) = zone.offsets();
    let ago = now - then;
    let local = civil(then + then_offset);
    let clock = format!("{:02}:{:02}{}", local.hour, local.minute, zone.suffix());
    let date = format!("{:04}-{:02}-{:02}", local.year, local.month, local.day);
    if ago < -60 {
        return format!("{date} {clock}");
    }
    if ago < 45 {
        return "just now".to_string();
    }
    if ago < 3600 {
        return format!("{} min ago", (ago / 60).max(1));
    }
    let days_back = (now + now_offset).div_euclid(DAY) - (then + then_offset).div_euclid(DAY);
    match days_back {
        0 => format!("{} h ago", ago / 3600),
        1 => format!("yesterday {clock}"),
        2..=6 => format!("{days_back} days ago"),
        _ => date,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOON: i64 = 1_796_212_800; // 2026-12-02T12:00:00Z

    #[track_caller]
    fn parsed(text: &str) -> i64 {
        parse_rfc3339(text).unwrap_or_else(|| panic!("{text} did not parse"))
    }

    #[test]
    fn rfc3339_times_parse_with_fractions_and_offsets() {
        assert_eq!(parsed("2026-12-02T12:00:00Z"), NOON);
        assert_eq!(parsed("2026-12-02T12:00:00.872356Z"), NOON);
        assert_eq!(parsed("2026-12-02T13:30:00+01:30"), NOON);
        assert_eq!(parsed("2026-12-02T07:00:00-05:00"), NOON);
        assert_eq!(parsed("1970-01-01T00:00:00Z"), 0);
        // PostgreSQL's text form of a timestamptz.
        assert_eq!(parsed("2026-12-02 12:00:00.5+00"), NOON);
        assert_eq!(rfc3339(NOON), "2026-12-02T12:00:00Z");
        assert_eq!(parsed("2000-02-29T00:00:00Z"), 951_782_400);
    }

    #[test]
    fn text_that_is_not_rfc3339_does_not_parse() {
        for text in [
            "",
            "never",
            "2026-12-02",
            "2026-13-02T12:00:00Z",
            "2026-12-02T12:00:00",
            "2026-12-02T12:00:00.Z",
            "2026-12-02T12:00:00+0100",
            "2026-12-02T12:00:00+1",
            "２026-12-02T12:00:00Z",
        ] {
            assert_eq!(parse_rfc3339(text), None, "{text}");
        }
    }

    #[test]
    fn recent_times_are_minutes_and_hours_ago() {
        assert_eq!(relative_text(NOON - 10, NOON, Zone::Utc), "just now");
        assert_eq!(relative_text(NOON + 30, NOON, Zone::Utc), "just now");
        assert_eq!(relative_text(NOON - 50, NOON, Zone::Utc), "1 min ago");
        assert_eq!(
            relative_text(NOON - 3 * 60 - 59, NOON, Zone::Utc),
            "3 min ago"
        );
        assert_eq!(
            relative_text(NOON - 2 * 3600 - 5, NOON, Zone::Utc),
            "2 h ago"
        );
    }

    #[test]
    fn yesterday_depends_on_the_viewers_calendar_day() {
        let late_evening = parsed("2026-12-01T21:55:01Z");
        assert_eq!(
            relative_text(late_evening, NOON, Zone::Utc),
            "yesterday 21:55 UTC"
        );
        // At UTC+03:00 it was already 00:55 on the 2nd: today, 14 hours ago.
        let east = Zone::Local {
            at_then: 3 * 3600,
            at_now: 3 * 3600,
        };
        assert_eq!(relative_text(late_evening, NOON, east), "14 h ago");
        let west = Zone::Local {
            at_then: -5 * 3600,
            at_now: -5 * 3600,
        };
        assert_eq!(relative_text(late_evening, NOON, west), "yesterday 16:55");
    }

    #[test]
    fn older_times_are_days_then_a_date() {
        assert_eq!(relative_text(NOON - 3 * DAY, NOON, Zone::Utc), "3 days ago");
        assert_eq!(
            relative_text(NOON - 30 * DAY, NOON, Zone::Utc),
            "2026-11-02"
        );
        assert_eq!(
            relative_text(NOON + 2 * 3600, NOON, Zone::Utc),
            "2026-12-02 14:00 UTC"
        );
    }

    #[test]
    fn the_exact_time_names_its_zone() {
        let then = parsed("2026-12-01T21:55:01.872356Z");
        assert_eq!(exact_text(then, Zone::Utc), "2026-12-01 21:55:01 UTC");
        let zone = Zone::Local {
            at_then: 3600,
            at_now: 7200,
        };
        assert_eq!(exact_text(then, zone), "2026-12-01 22:55:01 (UTC+01:00)");
        let india = Zone::Local {
            at_then: 19_800,
            at_now: 19_800,
        };
        assert_eq!(exact_text(then, india), "2026-12-02 03:25:01 (UTC+05:30)");
        assert_eq!(clock_text(then, Zone::Utc), "21:55:01 UTC");
        assert_eq!(clock_text(then, zone), "22:55:01");
        let newfoundland = Zone::Local {
            at_then: -12_600,
            at_now: -12_600,
        };
        assert_eq!(
            exact_text(then, newfoundland),
            "2026-12-01 18:25:01 (UTC-03:30)"
        );
    }
}
