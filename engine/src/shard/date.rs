//! The cached `Date` header value (IMF-fixdate, RFC 9110 §5.6.7), re-formatted at most
//! once per wall-clock second.
//!
//! Formatting uses Howard Hinnant's `civil_from_days` algorithm (no calendar crate):
//! O(1) integer arithmetic, no allocation. `update` is a compare of the Unix second
//! when the second has not changed.

use std::time::{SystemTime, UNIX_EPOCH};

const DAY_NAMES: [&[u8; 3]; 7] = [b"Sun", b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat"];
const MONTH_NAMES: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];
/// 9999-12-31T23:59:59Z: the last second with a four-digit year.
const MAX_SECS: u64 = 253_402_300_799;

/// The current `Date` header value of one shard.
#[derive(Clone, Debug)]
pub struct DateCache {
    secs: u64,
    value: [u8; 29],
    /// `Date: <value>\r\n`, so a response copies one piece instead of four.
    line: [u8; 37],
}

impl DateCache {
    /// A cache already formatted for the current time.
    pub fn new() -> Self {
        let mut cache = Self {
            secs: 0,
            value: format_imf_fixdate(0),
            line: [0; 37],
        };
        cache.set_line();
        cache.update(SystemTime::now());
        cache
    }

    /// Re-formats only when the wall-clock second changed; returns true if it did.
    /// Times before 1970 are shown as the epoch, times after year 9999 as its last second.
    pub fn update(&mut self, now: SystemTime) -> bool {
        let secs = now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            .min(MAX_SECS);
        if secs == self.secs {
            return false;
        }
        self.secs = secs;
        self.value = format_imf_fixdate(secs);
        self.set_line();
        true
    }

    fn set_line(&mut self) {
        self.line[..6].copy_from_slice(b"Date: ");
        self.line[6..35].copy_from_slice(&self.value);
        self.line[35..].copy_from_slice(b"\r\n");
    }

    /// The whole header line: `Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n`.
    pub fn line(&self) -> &[u8; 37] {
        &self.line
    }

    /// IMF-fixdate, exactly 29 bytes: `Sun, 06 Nov 1994 08:49:37 GMT`.
    pub fn value(&self) -> &[u8; 29] {
        &self.value
    }
}

impl Default for DateCache {
    fn default() -> Self {
        Self::new()
    }
}

/// Formats Unix seconds (`<= MAX_SECS`) as IMF-fixdate.
fn format_imf_fixdate(secs: u64) -> [u8; 29] {
    let days = secs / 86_400;
    let sod = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    // 1970-01-01 was a Thursday.
    let weekday = ((days + 4) % 7) as usize;

    let mut v = *b"Thu, 01 Jan 1970 00:00:00 GMT";
    v[0..3].copy_from_slice(DAY_NAMES[weekday]);
    put2(&mut v[5..7], day);
    v[8..11].copy_from_slice(MONTH_NAMES[(month - 1) as usize]);
    put2(&mut v[12..14], year / 100);
    put2(&mut v[14..16], year % 100);
    put2(&mut v[17..19], sod / 3600);
    put2(&mut v[20..22], sod / 60 % 60);
    put2(&mut v[23..25], sod % 60);
    v
}

fn put2(dst: &mut [u8], n: u64) {
    dst[0] = b'0' + (n / 10) as u8;
    dst[1] = b'0' + (n % 10) as u8;
}

/// Howard Hinnant's `civil_from_days` for days since 1970-01-01 (non-negative):
/// returns (year, month 1..=12, day 1..=31) in the proleptic Gregorian calendar.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468; // days since 0000-03-01
    let era = z / 146_097;
    let doe = z - era * 146_097; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365], from March 1
    let mp = (5 * doy + 2) / 153; // [0, 11], March = 0
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn fmt(secs: u64) -> String {
        String::from_utf8(format_imf_fixdate(secs).to_vec()).unwrap()
    }

    #[test]
    fn known_timestamps() {
        assert_eq!(fmt(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(fmt(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(fmt(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT"); // leap day, /400 year
        assert_eq!(fmt(1_709_251_199), "Thu, 29 Feb 2024 23:59:59 GMT"); // leap day
        assert_eq!(fmt(1_709_251_200), "Fri, 01 Mar 2024 00:00:00 GMT");
        assert_eq!(fmt(1_735_689_599), "Tue, 31 Dec 2024 23:59:59 GMT");
        assert_eq!(fmt(2_147_483_647), "Tue, 19 Jan 2038 03:14:07 GMT"); // i32 limit
        assert_eq!(fmt(2_147_483_648), "Tue, 19 Jan 2038 03:14:08 GMT");
        assert_eq!(fmt(4_102_444_800), "Fri, 01 Jan 2100 00:00:00 GMT"); // 2100: not leap
        assert_eq!(fmt(4_107_542_400), "Mon, 01 Mar 2100 00:00:00 GMT");
        assert_eq!(fmt(MAX_SECS), "Fri, 31 Dec 9999 23:59:59 GMT");
    }

    #[test]
    fn every_day_for_500_years_is_consistent() {
        // Day-by-day walk checked against an independent month-length table.
        let mut expected = (1970u64, 1u64, 1u64);
        for days in 0..(500 * 366) {
            assert_eq!(civil_from_days(days), expected, "day {days}");
            let (y, m, d) = expected;
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            let len = [
                31,
                if leap { 29 } else { 28 },
                31,
                30,
                31,
                30,
                31,
                31,
                30,
                31,
                30,
                31,
            ];
            expected = if d < len[(m - 1) as usize] {
                (y, m, d + 1)
            } else if m < 12 {
                (y, m + 1, 1)
            } else {
                (y + 1, 1, 1)
            };
        }
    }

    #[test]
    fn update_only_when_the_second_changes() {
        let mut c = DateCache::new();
        assert!(c.update(at(784_111_777)));
        assert_eq!(c.value(), b"Sun, 06 Nov 1994 08:49:37 GMT");
        assert!(!c.update(at(784_111_777) + Duration::from_millis(999)));
        assert!(!c.update(at(784_111_777)));
        assert_eq!(c.value(), b"Sun, 06 Nov 1994 08:49:37 GMT");
        assert!(c.update(at(784_111_778)));
        assert_eq!(c.value(), b"Sun, 06 Nov 1994 08:49:38 GMT");
        // Going back a second (clock step) also re-formats.
        assert!(c.update(at(784_111_777)));
        assert_eq!(c.value(), b"Sun, 06 Nov 1994 08:49:37 GMT");
    }

    #[test]
    fn new_is_formatted_for_now() {
        let secs = || {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs()
        };
        let before = secs();
        let c = DateCache::new();
        let after = secs();
        assert!((before..=after).any(|s| *c.value() == format_imf_fixdate(s)));
    }

    #[test]
    fn out_of_range_times_are_clamped() {
        let mut c = DateCache::new();
        c.update(UNIX_EPOCH - Duration::from_secs(10));
        assert_eq!(c.value(), b"Thu, 01 Jan 1970 00:00:00 GMT");
        c.update(at(MAX_SECS + 1_000_000));
        assert_eq!(c.value(), b"Fri, 31 Dec 9999 23:59:59 GMT");
    }
}
