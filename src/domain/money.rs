//! Money typed the Brazilian way: a company's monthly fee.

/// The largest fee accepted: R$ 999.999.999,99 (a typo guard, far above any real fee).
pub const MAX_FEE_CENTS: i64 = 99_999_999_999;

const HOW: &str = "Digite o valor em reais, por exemplo R$ 1.234,56 ou 1234,56.";

/// What a client company pays each month, in cents (never negative).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct MonthlyFee(i64);

impl MonthlyFee {
    pub fn cents(self) -> i64 {
        self.0
    }

    /// A fee given in cents (the API).
    pub fn from_cents(c: i64) -> Result<Self, String> {
        if c < 0 {
            Err("A mensalidade não pode ser negativa.".into())
        } else if c > MAX_FEE_CENTS {
            Err("A mensalidade passa do limite de R$ 999.999.999,99. Confira o valor.".into())
        } else {
            Ok(Self(c))
        }
    }

    /// A fee as a person types it: "R$ 1.234,56", "1234,56", "1.234", "1234,5", "0".
    /// Empty means "no fee" (`None`). Dots group thousands, the comma starts the cents.
    pub fn parse(raw: &str) -> Result<Option<Self>, String> {
        let s: String = raw
            .trim()
            .trim_start_matches("R$")
            .trim_start_matches("r$")
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if s.is_empty() {
            return Ok(None);
        }
        if s.starts_with('-') {
            return Err("A mensalidade não pode ser negativa.".into());
        }
        let (int, frac) = match s.split_once(',') {
            Some((i, f)) => (i, Some(f)),
            None => (s.as_str(), None),
        };
        let digits_only = |t: &str| !t.is_empty() && t.chars().all(|c| c.is_ascii_digit());
        // Thousands groups: "1.234.567" — every group after the first has three digits.
        let mut groups = int.split('.');
        let first = groups.next().unwrap_or("");
        if !digits_only(first) || (int.contains('.') && first.len() > 3) {
            return Err(HOW.into());
        }
        let mut whole = first.to_string();
        for g in groups {
            if g.len() != 3 || !digits_only(g) {
                return Err(HOW.into());
            }
            whole.push_str(g);
        }
        let cents = match frac {
            None => 0,
            Some(f) if digits_only(f) && f.len() <= 2 => {
                let n: i64 = f.parse().map_err(|_| HOW.to_string())?;
                if f.len() == 1 { n * 10 } else { n }
            }
            Some(_) => return Err(HOW.into()),
        };
        let reais: i64 = whole
            .trim_start_matches('0')
            .parse()
            .or_else(|e: std::num::ParseIntError| {
                if whole.chars().all(|c| c == '0') {
                    Ok(0)
                } else {
                    Err(e)
                }
            })
            .map_err(|_| {
                "A mensalidade passa do limite de R$ 999.999.999,99. Confira o valor.".to_string()
            })?;
        reais
            .checked_mul(100)
            .and_then(|r| r.checked_add(cents))
            .ok_or_else(|| {
                "A mensalidade passa do limite de R$ 999.999.999,99. Confira o valor.".to_string()
            })
            .and_then(Self::from_cents)
            .map(Some)
    }
}

/// Cents as money: `123456` → `R$ 1.234,56`.
pub fn money_br(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.unsigned_abs();
    let digits = (c / 100).to_string();
    let mut reais = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            reais.push('.');
        }
        reais.push(d);
    }
    format!("{sign}R$ {reais},{:02}", c % 100)
}

/// Cents as a form value, without the symbol: `123456` → `1.234,56`.
pub fn money_input(cents: i64) -> String {
    money_br(cents).replacen("R$ ", "", 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Option<i64>, String> {
        MonthlyFee::parse(s).map(|o| o.map(MonthlyFee::cents))
    }

    #[test]
    fn brazilian_amounts_parse_to_cents() {
        assert_eq!(p("R$ 1.234,56"), Ok(Some(123_456)));
        assert_eq!(p("1234,56"), Ok(Some(123_456)));
        assert_eq!(p("1.234"), Ok(Some(123_400)));
        assert_eq!(p("1234,5"), Ok(Some(123_450)));
        assert_eq!(p("0"), Ok(Some(0)));
        assert_eq!(p("0,99"), Ok(Some(99)));
        assert_eq!(p("R$\u{a0}1.000.000,00"), Ok(Some(100_000_000)));
        assert_eq!(p("  "), Ok(None));
    }

    #[test]
    fn anything_else_is_refused_in_portuguese() {
        for bad in [
            "12.34",
            "1,234.56",
            "abc",
            "1,234",
            "-5",
            "1.2345",
            ",5",
            "1..000",
            "99999999999999999999",
        ] {
            let e = p(bad).expect_err(bad);
            assert!(
                e.contains("mensalidade") || e.contains("reais"),
                "{bad}: {e}"
            );
        }
        assert!(MonthlyFee::from_cents(-1).is_err());
        assert!(MonthlyFee::from_cents(MAX_FEE_CENTS + 1).is_err());
    }

    #[test]
    fn cents_print_the_brazilian_way() {
        assert_eq!(money_br(123_456), "R$ 1.234,56");
        assert_eq!(money_br(5), "R$ 0,05");
        assert_eq!(money_input(100_000), "1.000,00");
    }
}
