//! Placeholder until the timer branch lands (same interface).
use std::time::{SystemTime, UNIX_EPOCH};

pub struct DateCache {
    secs: u64,
    buf: [u8; 29],
}

impl Default for DateCache {
    fn default() -> Self {
        Self::new()
    }
}

impl DateCache {
    pub fn new() -> Self {
        let mut d = DateCache {
            secs: u64::MAX,
            buf: [b' '; 29],
        };
        d.update(SystemTime::now());
        d
    }
    pub fn update(&mut self, now: SystemTime) -> bool {
        let secs = now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        if secs == self.secs {
            return false;
        }
        self.secs = secs;
        let days = (secs / 86400) as i64;
        let rem = secs % 86400;
        let (h, m, s) = (rem / 3600, (rem / 60) % 60, rem % 60);
        let wd = ((days + 4) % 7) as usize;
        let z = days + 719468;
        let era = z.div_euclid(146097);
        let doe = z - era * 146097;
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let mo = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + if mo <= 2 { 1 } else { 0 };
        const WD: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
        const MO: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let s = format!(
            "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
            WD[wd],
            d,
            MO[(mo - 1) as usize],
            y,
            h,
            m,
            s
        );
        self.buf.copy_from_slice(&s.as_bytes()[..29]);
        true
    }
    pub fn value(&self) -> &[u8; 29] {
        &self.buf
    }
}
