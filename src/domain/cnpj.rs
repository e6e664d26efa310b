use std::fmt;

/// A CNPJ, numeric or alphanumeric (IN RFB 2.229/2024), stored as its 14 characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Cnpj(String);

const W1: [u32; 12] = [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2];
const W2: [u32; 13] = [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2];

fn check_digit(values: &[u32], weights: &[u32]) -> u32 {
    let r = values.iter().zip(weights).map(|(v, w)| v * w).sum::<u32>() % 11;
    if r < 2 { 0 } else { 11 - r }
}

/// The two check digits of a 12-character base (`0-9A-Z`); a character counts as its
/// ASCII code minus 48, so numeric CNPJs keep the digits they always had.
pub fn check_digits(base: &[u8; 12]) -> [u8; 2] {
    let mut vals: Vec<u32> = base.iter().map(|c| u32::from(*c) - 48).collect();
    let d1 = check_digit(&vals, &W1);
    vals.push(d1);
    let d2 = check_digit(&vals, &W2);
    [b'0' + d1 as u8, b'0' + d2 as u8]
}

/// Strips the mask characters and spaces and upper-cases letters.
pub fn normalize(raw: &str) -> String {
    raw.chars()
        .filter(|c| !matches!(c, '.' | '/' | '-' | ' ' | '\t'))
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

impl Cnpj {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let s = normalize(raw);
        if s.is_empty() {
            return Err("Informe o CNPJ.");
        }
        if s.chars().count() != 14 {
            return Err("O CNPJ deve ter 14 caracteres (por exemplo 11.222.333/0001-81).");
        }
        let b = s.as_bytes();
        if !b[..12]
            .iter()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        {
            return Err("O CNPJ só pode ter números e letras de A a Z.");
        }
        if !b[12..].iter().all(u8::is_ascii_digit) {
            return Err(
                "Os dois últimos caracteres do CNPJ (dígitos verificadores) devem ser números.",
            );
        }
        if b.iter().all(|c| *c == b[0]) {
            return Err("CNPJ inválido: todos os caracteres são iguais.");
        }
        let mut base = [0u8; 12];
        base.copy_from_slice(&b[..12]);
        if check_digits(&base) != [b[12], b[13]] {
            return Err(
                "CNPJ inválido: os dígitos verificadores não conferem. Confira se foi digitado corretamente.",
            );
        }
        Ok(Self(s))
    }

    /// Builds a valid CNPJ from any 12-character base (used by the demo generator).
    pub fn from_base(base: &[u8; 12]) -> Option<Self> {
        let dv = check_digits(base);
        let mut s = String::from_utf8(base.to_vec()).ok()?;
        s.push(dv[0] as char);
        s.push(dv[1] as char);
        Self::parse(&s).ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_alphanumeric(&self) -> bool {
        self.0.bytes().any(|c| c.is_ascii_uppercase())
    }

    /// `00.000.000/0000-00`
    pub fn formatted(&self) -> String {
        format_cnpj(&self.0)
    }
}

/// Masks a stored 14-character CNPJ; anything else is returned unchanged.
pub fn format_cnpj(s: &str) -> String {
    if s.len() != 14 || !s.is_ascii() {
        return s.to_string();
    }
    format!(
        "{}.{}.{}/{}-{}",
        &s[0..2],
        &s[2..5],
        &s[5..8],
        &s[8..12],
        &s[12..14]
    )
}

// Stored as its 14 normalized characters; a stored value that is not a valid CNPJ is a
// read error, so a row can only hold a real one.
impl rusqlite::types::ToSql for Cnpj {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.0.as_str().into())
    }
}

impl rusqlite::types::FromSql for Cnpj {
    fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        let s = v.as_str()?;
        Cnpj::parse(s).map_err(|m| rusqlite::types::FromSqlError::Other(m.into()))
    }
}

/// Read as its normalized text wherever a `&str` is wanted (masks, search, SQL).
impl std::ops::Deref for Cnpj {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl serde::Serialize for Cnpj {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl fmt::Display for Cnpj {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.formatted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn official_vectors_validate() {
        for (raw, norm, masked) in [
            ("11.222.333/0001-81", "11222333000181", "11.222.333/0001-81"),
            ("00000000000191", "00000000000191", "00.000.000/0001-91"),
            ("33.000.167/0001-01", "33000167000101", "33.000.167/0001-01"),
            ("12.ABC.345/01DE-35", "12ABC34501DE35", "12.ABC.345/01DE-35"),
            ("A1B2C3D4000193", "A1B2C3D4000193", "A1.B2C.3D4/0001-93"),
            ("AB.CDE.FGH/IJKL-80", "ABCDEFGHIJKL80", "AB.CDE.FGH/IJKL-80"),
        ] {
            let c = Cnpj::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(c.as_str(), norm);
            assert_eq!(c.formatted(), masked);
        }
    }

    #[test]
    fn lower_case_input_is_upper_cased() {
        assert_eq!(
            Cnpj::parse("12abc34501de35").unwrap().as_str(),
            "12ABC34501DE35"
        );
    }

    #[test]
    fn invalid_values_are_refused_with_a_reason() {
        for bad in [
            "12.ABC.345/01DE-00",
            "00000000000000",
            "11.222.333/0001-80",
            "1122233300018",
            "",
            "11.222.333/0001-8A",
            "11.222.333/0001-8!",
        ] {
            let err = Cnpj::parse(bad).unwrap_err();
            assert!(!err.is_empty(), "{bad}");
        }
    }

    #[test]
    fn from_base_always_validates() {
        let c = Cnpj::from_base(b"ZZ9X00010001").unwrap();
        assert!(c.is_alphanumeric());
        assert_eq!(Cnpj::parse(&c.formatted()).unwrap(), c);
    }
}
