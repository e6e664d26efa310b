//! Timestamps: stored as UTC text in one fixed format, shown in São Paulo time.

use chrono::{DateTime, NaiveDate, SecondsFormat, TimeZone, Utc};
use chrono_tz::America::Sao_Paulo;

/// Format used in the database: fixed width, so text order is time order. [`to_db`]
/// writes it out by hand; the tests hold it to this pattern.
#[cfg(test)]
const DB_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";

pub fn now() -> DateTime<Utc> {
    Utc::now()
}

/// The database format (`%Y-%m-%dT%H:%M:%S%.6fZ`), written out: chrono's `format` parses
/// its pattern again on every call, and the writer formats a time in nearly every job
/// (issue 14).
pub fn to_db(t: DateTime<Utc>) -> String {
    use chrono::{Datelike, Timelike};
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        // A leap second is second 60 with its nanoseconds past 10^9, as `%S%.6f` shows it.
        t.second() + t.nanosecond() / 1_000_000_000,
        t.nanosecond() % 1_000_000_000 / 1_000
    )
}

pub fn now_db() -> String {
    to_db(now())
}

pub fn parse_db(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// RFC 3339 with offset, as the API promises.
pub fn db_to_rfc3339(s: &str) -> String {
    parse_db(s)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_else(|| s.to_string())
}

/// `dd/mm/aaaa HH:MM` in America/Sao_Paulo, for pages.
pub fn db_to_br(s: &str) -> String {
    parse_db(s)
        .map(|t| {
            t.with_timezone(&Sao_Paulo)
                .format("%d/%m/%Y %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

/// Start of a São Paulo calendar day, in UTC database format.
pub fn br_day_start(d: NaiveDate) -> Option<String> {
    let local = d.and_hms_opt(0, 0, 0)?;
    Sao_Paulo
        .from_local_datetime(&local)
        .earliest()
        .map(|t| to_db(t.with_timezone(&Utc)))
}

/// Accepts `aaaa-mm-dd` (HTML date inputs) or `dd/mm/aaaa`.
pub fn parse_br_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s, "%d/%m/%Y"))
        .ok()
}

/// Today's date in São Paulo.
pub fn today_br() -> NaiveDate {
    now().with_timezone(&Sao_Paulo).date_naive()
}

/// "há 5 minutos", "há 3 horas", "há 2 dias": how long ago, for pages.
pub fn ago_br(s: &str) -> String {
    let Some(t) = parse_db(s) else {
        return String::new();
    };
    let secs = (now() - t).num_seconds().max(0);
    let plural = |n: i64, one: &str, many: &str| {
        if n == 1 {
            format!("há 1 {one}")
        } else {
            format!("há {n} {many}")
        }
    };
    match secs {
        0..60 => "agora há pouco".into(),
        60..3600 => plural(secs / 60, "minuto", "minutos"),
        3600..86_400 => plural(secs / 3600, "hora", "horas"),
        _ => plural(secs / 86_400, "dia", "dias"),
    }
}

/// "1,5 MB": sizes for pages, with the Brazilian decimal comma.
pub fn bytes_br(n: i64) -> String {
    let n = n.max(0) as f64;
    let (v, unit) = if n >= 1e9 {
        (n / 1e9, "GB")
    } else if n >= 1e6 {
        (n / 1e6, "MB")
    } else if n >= 1e3 {
        (n / 1e3, "kB")
    } else {
        return format!("{n} bytes");
    };
    format!("{v:.1} {unit}").replace('.', ",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_written_out_db_format_is_db_format() {
        let leap = NaiveDate::from_ymd_opt(2016, 12, 31)
            .and_then(|d| d.and_hms_nano_opt(23, 59, 59, 1_500_000_000))
            .map(|t| t.and_utc());
        for t in [
            Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap(),
            Utc.with_ymd_and_hms(1999, 12, 31, 23, 59, 59).unwrap()
                + chrono::Duration::nanoseconds(123_456_789),
            Utc.with_ymd_and_hms(2026, 11, 29, 0, 0, 0).unwrap()
                + chrono::Duration::microseconds(1),
            now(),
        ]
        .into_iter()
        .chain(leap)
        {
            assert_eq!(to_db(t), t.format(DB_FORMAT).to_string());
        }
    }

    #[test]
    fn db_format_round_trips_and_sorts() {
        let a = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        let b = Utc.with_ymd_and_hms(2026, 11, 2, 3, 4, 5).unwrap();
        assert_eq!(parse_db(&to_db(a)), Some(a));
        assert!(to_db(a) < to_db(b));
    }

    #[test]
    fn shows_sao_paulo_time() {
        let t = to_db(Utc.with_ymd_and_hms(2026, 7, 1, 15, 30, 0).unwrap());
        assert_eq!(db_to_br(&t), "01/07/2026 12:30");
    }

    #[test]
    fn day_start_is_three_hours_after_utc_midnight() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 5).unwrap();
        assert_eq!(br_day_start(d).unwrap(), "2026-03-05T03:00:00.000000Z");
        assert_eq!(parse_br_date("05/03/2026"), Some(d));
    }
}
