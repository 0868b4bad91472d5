//! Human renderings of the snapshots. Every function is pure: it takes the
//! snapshot and the server's clock (`now`, Unix seconds) and returns the text,
//! so golden tests pin the exact output. Times are shown in UTC.

mod fib;
mod peers;
mod routes;
mod status;

pub use fib::fib;
pub use peers::{bird_protocols, peer_detail, peers_table};
pub use routes::routes;
pub use status::{advertise, reload, status};

/// A `+---+` bordered table as calicoctl prints it (Go tablewriter defaults):
/// headers centred, cells left-aligned, one space of padding.
pub(crate) fn bordered_table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line: String = {
        let mut s = String::from("+");
        for w in &widths {
            s.push_str(&"-".repeat(w + 2));
            s.push('+');
        }
        s.push('\n');
        s
    };
    let mut out = line.clone();
    out.push('|');
    for (h, w) in headers.iter().zip(&widths) {
        let pad = w - h.chars().count();
        let left = pad / 2;
        out.push_str(&format!(" {}{}{} |", " ".repeat(left), h, " ".repeat(pad - left)));
    }
    out.push('\n');
    out.push_str(&line);
    for row in rows {
        out.push('|');
        for (cell, w) in row.iter().zip(&widths) {
            out.push_str(&format!(" {cell:<w$} |"));
        }
        out.push('\n');
    }
    out.push_str(&line);
    out
}

/// Civil date (year, month, day) of a day count since 1970-01-01
/// (H. Hinnant's `civil_from_days`), so we need no date crate for UTC.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `YYYY-MM-DD`.
pub(crate) fn date(unix: u64) -> String {
    let (y, m, d) = civil_from_days((unix / 86_400) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `HH:MM:SS`.
pub(crate) fn clock(unix: u64) -> String {
    let s = unix % 86_400;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// `YYYY-MM-DD HH:MM:SS`.
pub(crate) fn datetime(unix: u64) -> String {
    format!("{} {}", date(unix), clock(unix))
}

/// BIRD's "iso short" SINCE: the time of day when less than 20 hours ago,
/// else the date; one token either way (calicoctl splits on whitespace).
pub(crate) fn since(unix: u64, now: u64) -> String {
    if now.saturating_sub(unix) < 20 * 3600 { clock(unix) } else { date(unix) }
}

/// `3d04h05m06s`-style duration, leading zero units left out.
pub(crate) fn duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d{h:02}h{m:02}m{s:02}s")
    } else if h > 0 {
        format!("{h}h{m:02}m{s:02}s")
    } else if m > 0 {
        format!("{m}m{s:02}s")
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_match_known_days() {
        assert_eq!(datetime(0), "1970-01-01 00:00:00");
        assert_eq!(datetime(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(datetime(1_767_225_599), "2025-12-31 23:59:59");
        assert_eq!(datetime(4_107_542_400), "2100-03-01 00:00:00");
    }

    #[test]
    fn since_switches_to_date_after_twenty_hours() {
        let now = 1_767_225_600; // 2026-01-01 00:00:00
        assert_eq!(since(now - 3600, now), "23:00:00");
        assert_eq!(since(now - 20 * 3600, now), "2025-12-31");
    }

    #[test]
    fn durations_drop_leading_zero_units() {
        assert_eq!(duration(5), "5s");
        assert_eq!(duration(65), "1m05s");
        assert_eq!(duration(3661), "1h01m01s");
        assert_eq!(duration(90_061), "1d01h01m01s");
    }

    #[test]
    fn table_centres_headers_like_calicoctl() {
        let t = bordered_table(&["STATE", "SINCE"], &[vec!["up".into(), "23:30:04".into()]]);
        assert_eq!(
            t,
            "+-------+----------+\n\
             | STATE |  SINCE   |\n\
             +-------+----------+\n\
             | up    | 23:30:04 |\n\
             +-------+----------+\n"
        );
    }
}
