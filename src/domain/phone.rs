/// A Brazilian phone number with area code, stored as E.164 (`+5511912345678`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let mut digits: String = raw.chars().filter(char::is_ascii_digit).collect();
        if raw.chars().any(|c| c.is_alphabetic()) {
            return Err("Telefone inválido: use só números, com DDD (exemplo: (11) 91234-5678).");
        }
        if (digits.len() == 12 || digits.len() == 13) && digits.starts_with("55") {
            digits.drain(..2);
        }
        let area_ok = digits.len() >= 2 && !digits.starts_with('0') && digits.as_bytes()[1] != b'0';
        let ok = match digits.len() {
            11 => area_ok && digits.as_bytes()[2] == b'9',
            10 => area_ok && matches!(digits.as_bytes()[2], b'2'..=b'5'),
            _ => false,
        };
        if !ok {
            return Err(
                "Telefone inválido: informe DDD e número, como (11) 91234-5678 ou (11) 3123-4567.",
            );
        }
        Ok(Self(format!("+55{digits}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `(11) 91234-5678` or `(11) 3123-4567` from the stored E.164 form.
pub fn format_phone(e164: &str) -> String {
    let d = e164.strip_prefix("+55").unwrap_or(e164);
    if !d.is_ascii() {
        return e164.to_string();
    }
    match d.len() {
        11 => format!("({}) {}-{}", &d[..2], &d[2..7], &d[7..]),
        10 => format!("({}) {}-{}", &d[..2], &d[2..6], &d[6..]),
        _ => e164.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobile_and_landline() {
        let m = Phone::parse("(11) 91234-5678").unwrap();
        assert_eq!(m.as_str(), "+5511912345678");
        assert_eq!(format_phone(m.as_str()), "(11) 91234-5678");
        let l = Phone::parse("+55 21 3123 4567").unwrap();
        assert_eq!(format_phone(l.as_str()), "(21) 3123-4567");
    }

    #[test]
    fn refuses_wrong_lengths_and_letters() {
        for bad in [
            "1234",
            "(11) 1234-5678",
            "(01) 91234-5678",
            "11 81234-56789",
            "abc",
        ] {
            assert!(Phone::parse(bad).is_err(), "{bad}");
        }
    }
}
