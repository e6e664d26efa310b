//! Brazilian national holidays and working days, for the ANPD's incident deadline
//! (Res. CD/ANPD 15/2024: 3 working days from when the controller learned of it).
//!
//! Fixed-date national holidays (Lei 662/1949, Lei 6.802/1980, Lei 14.759/2023 for
//! 20 November from 2024), Good Friday (Lei 9.093/1995), and the federal optional days
//! on which public offices such as the ANPD close: Carnival Monday and Tuesday and
//! Corpus Christi, all from Easter (the Gregorian computus).

use chrono::{Datelike, Duration, NaiveDate, Weekday};

/// Easter Sunday of `year` (Anonymous Gregorian algorithm, Meeus/Jones/Butcher).
pub fn easter(year: i32) -> Option<NaiveDate> {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32)
}

/// The holiday's name, if `d` is a national holiday or a federal day off.
pub fn holiday(d: NaiveDate) -> Option<&'static str> {
    let fixed = match (d.month(), d.day()) {
        (1, 1) => Some("Confraternização Universal"),
        (4, 21) => Some("Tiradentes"),
        (5, 1) => Some("Dia do Trabalho"),
        (9, 7) => Some("Independência do Brasil"),
        (10, 12) => Some("Nossa Senhora Aparecida"),
        (11, 2) => Some("Finados"),
        (11, 15) => Some("Proclamação da República"),
        (11, 20) if d.year() >= 2024 => Some("Dia Nacional de Zumbi e da Consciência Negra"),
        (12, 25) => Some("Natal"),
        _ => None,
    };
    if fixed.is_some() {
        return fixed;
    }
    let e = easter(d.year())?;
    match (d - e).num_days() {
        -48 | -47 => Some("Carnaval"),
        -2 => Some("Sexta-feira Santa"),
        60 => Some("Corpus Christi"),
        _ => None,
    }
}

pub fn is_working_day(d: NaiveDate) -> bool {
    !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && holiday(d).is_none()
}

/// The `n`th working day after `from` (the day itself does not count).
pub fn add_working_days(from: NaiveDate, n: u32) -> NaiveDate {
    let mut d = from;
    let mut left = n;
    while left > 0 {
        d += Duration::days(1);
        if is_working_day(d) {
            left -= 1;
        }
    }
    d
}

/// The last day to tell the ANPD of an incident learned of on `known_on`.
pub fn anpd_deadline(known_on: NaiveDate) -> NaiveDate {
    add_working_days(known_on, 3)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn easter_falls_on_the_published_dates() {
        assert_eq!(easter(2024), Some(d(2024, 3, 31)));
        assert_eq!(easter(2025), Some(d(2025, 4, 20)));
        assert_eq!(easter(2026), Some(d(2026, 4, 5)));
        assert_eq!(easter(2027), Some(d(2027, 3, 28)));
        assert_eq!(easter(2019), Some(d(2019, 4, 21)));
    }

    #[test]
    fn the_movable_days_come_from_easter() {
        // 2025: Carnival 3–4 March, Good Friday 18 April, Corpus Christi 19 June.
        assert_eq!(holiday(d(2025, 3, 3)), Some("Carnaval"));
        assert_eq!(holiday(d(2025, 3, 4)), Some("Carnaval"));
        assert_eq!(
            holiday(d(2025, 3, 5)),
            None,
            "Ash Wednesday is a working day"
        );
        assert_eq!(holiday(d(2025, 4, 18)), Some("Sexta-feira Santa"));
        assert_eq!(holiday(d(2025, 6, 19)), Some("Corpus Christi"));
        // 2026: Carnival 16–17 February, Good Friday 3 April, Corpus Christi 4 June.
        assert_eq!(holiday(d(2026, 2, 16)), Some("Carnaval"));
        assert_eq!(holiday(d(2026, 2, 17)), Some("Carnaval"));
        assert_eq!(holiday(d(2026, 4, 3)), Some("Sexta-feira Santa"));
        assert_eq!(holiday(d(2026, 6, 4)), Some("Corpus Christi"));
    }

    #[test]
    fn black_consciousness_day_is_national_from_2024() {
        assert!(holiday(d(2023, 11, 20)).is_none());
        assert!(holiday(d(2025, 11, 20)).is_some());
    }

    #[test]
    fn the_anpd_deadline_skips_weekends_and_holidays() {
        // Learned on a plain Monday: Tue, Wed, Thu.
        assert_eq!(anpd_deadline(d(2025, 8, 4)), d(2025, 8, 7));
        // Learned on a Friday before Carnival 2025: Wed 5, Thu 6, Fri 7 March.
        assert_eq!(anpd_deadline(d(2025, 2, 28)), d(2025, 3, 7));
        // Learned the day before Good Friday 2025, with Tiradentes on the Monday.
        assert_eq!(anpd_deadline(d(2025, 4, 17)), d(2025, 4, 24));
        // Corpus Christi 2025 (Thursday 19 June): Wed 18, Fri 20, Mon 23.
        assert_eq!(anpd_deadline(d(2025, 6, 17)), d(2025, 6, 23));
        // Consciência Negra 2025 (Thursday 20 November): Wed 19, Fri 21, Mon 24.
        assert_eq!(anpd_deadline(d(2025, 11, 18)), d(2025, 11, 24));
        // Christmas 2026 (Friday): Thu 24, Mon 28, Tue 29 December.
        assert_eq!(anpd_deadline(d(2026, 12, 23)), d(2026, 12, 29));
        // New Year 2027 (Friday): Wed 30, Thu 31 Dec, Mon 4 Jan.
        assert_eq!(anpd_deadline(d(2026, 12, 29)), d(2027, 1, 4));
        // Learned on a Saturday: Mon, Tue, Wed.
        assert_eq!(anpd_deadline(d(2026, 11, 28)), d(2026, 12, 2));
    }
}
