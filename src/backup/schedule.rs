//! When scheduled backups are due: at the configured São Paulo times, and at start for
//! a time that passed while the server was down.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::America::Sao_Paulo;

/// `03:00,15:00` (seconds allowed: `03:00:30`). At least one time.
pub fn parse_times(s: &str) -> Result<Vec<NaiveTime>, String> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let t = NaiveTime::parse_from_str(part, "%H:%M")
            .or_else(|_| NaiveTime::parse_from_str(part, "%H:%M:%S"))
            .map_err(|_| format!("{part:?} is not a time like 03:00"))?;
        out.push(t);
    }
    if out.is_empty() {
        return Err("give at least one time, such as 03:00,15:00".into());
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The latest scheduled moment at or before `now`.
pub fn latest_slot(now: DateTime<Utc>, times: &[NaiveTime]) -> Option<DateTime<Utc>> {
    let today = now.with_timezone(&Sao_Paulo).date_naive();
    [today - Duration::days(1), today]
        .iter()
        .flat_map(|d| times.iter().map(move |t| d.and_time(*t)))
        .filter_map(|local| Sao_Paulo.from_local_datetime(&local).earliest())
        .map(|t| t.with_timezone(&Utc))
        .filter(|t| *t <= now)
        .max()
}

/// The next scheduled moment after `now`.
pub fn next_slot(now: DateTime<Utc>, times: &[NaiveTime]) -> Option<DateTime<Utc>> {
    let today = now.with_timezone(&Sao_Paulo).date_naive();
    [today, today + Duration::days(1)]
        .iter()
        .flat_map(|d| times.iter().map(move |t| d.and_time(*t)))
        .filter_map(|local| Sao_Paulo.from_local_datetime(&local).earliest())
        .map(|t| t.with_timezone(&Utc))
        .filter(|t| *t > now)
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn parses_times_and_refuses_nonsense() {
        assert_eq!(parse_times("15:00, 03:00").unwrap().len(), 2);
        assert!(parse_times("03:00:30").is_ok());
        assert!(parse_times("25:00").is_err());
        assert!(parse_times("").is_err());
        assert!(parse_times("três horas").is_err());
    }

    #[test]
    fn slots_are_in_sao_paulo_time() {
        let times = parse_times("03:00,15:00").unwrap();
        // 14:00 in São Paulo (UTC-3) is 17:00 UTC: the last slot was 03:00 local = 06:00 UTC.
        let now = utc("2026-11-28T17:00:00Z");
        assert_eq!(latest_slot(now, &times), Some(utc("2026-11-28T06:00:00Z")));
        assert_eq!(next_slot(now, &times), Some(utc("2026-11-28T18:00:00Z")));
        // Just after midnight local, the last slot is yesterday's 15:00.
        let now = utc("2026-11-28T03:30:00Z");
        assert_eq!(latest_slot(now, &times), Some(utc("2026-11-27T18:00:00Z")));
        assert_eq!(next_slot(now, &times), Some(utc("2026-11-28T06:00:00Z")));
        // Exactly on a slot counts as that slot.
        let now = utc("2026-11-28T18:00:00Z");
        assert_eq!(latest_slot(now, &times), Some(now));
    }
}
