use std::fmt;

/// An e-mail address, trimmed and lower-cased, with a plausible shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let s = raw.trim().to_lowercase();
        if s.is_empty() {
            return Err("Informe o e-mail.");
        }
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("E-mail inválido: não use espaços.");
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return Err("E-mail inválido: falta o @ (exemplo: nome@empresa.com.br).");
        };
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
        if local.is_empty() || local.contains('@') || !domain_ok {
            return Err("E-mail inválido. Use o formato nome@empresa.com.br.");
        }
        // The mail library's own rules too: an address it refuses could be stored but
        // never sent to.
        if s.parse::<lettre::Address>().is_err() {
            return Err(
                "E-mail inválido: confira os caracteres antes do @ (use letras, números, ponto, hífen ou _).",
            );
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_normalizes() {
        assert_eq!(
            Email::parse("  Ana@Empresa.COM.br ").unwrap().as_str(),
            "ana@empresa.com.br"
        );
    }

    #[test]
    fn refuses_bad_shapes() {
        for bad in [
            "",
            "ana",
            "ana@",
            "@x.com",
            "ana@empresa",
            "a b@x.com",
            "a@x..com",
            "a@.x.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn refuses_what_the_mail_library_cannot_send_to() {
        for bad in [
            "ana..silva@x.com",
            ".ana@x.com",
            "ana.@x.com",
            "<ana>@x.com",
            "ana,bia@x.com",
            "ana(bia)@x.com",
            "ana\"bia@x.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
            assert!(bad.parse::<lettre::Address>().is_err(), "{bad}");
        }
    }
}
