use std::fmt;

/// A new password that meets the policy: at least 12 characters and not a common or
/// trivially guessable one. Never printed: `Debug` hides it.
#[derive(Clone)]
pub struct Password(String);

/// Words that, padded with digits or symbols, make up most leaked long passwords.
const WEAK_WORDS: &[&str] = &[
    "password",
    "passw0rd",
    "senha",
    "minhasenha",
    "qwerty",
    "qwertyuiop",
    "asdfgh",
    "asdfghjkl",
    "zxcvbnm",
    "admin",
    "administrador",
    "abc",
    "abcdef",
    "iloveyou",
    "teamo",
    "mudar",
    "mudarsenha",
    "trocar",
    "omie",
    "brasil",
    "letmein",
    "welcome",
    "bemvindo",
    "master",
    "root",
    "test",
    "teste",
    "dragon",
    "monkey",
    "football",
    "futebol",
    "flamengo",
    "corinthians",
    "palmeiras",
    "saopaulo",
    "gremio",
    "cruzeiro",
    "vasco",
    "santos",
];

const SEQUENCES: &[&str] = &[
    "01234567890123456789",
    "98765432109876543210",
    "abcdefghijklmnopqrstuvwxyz",
    "qwertyuiopasdfghjklzxcvbnm",
    "1qaz2wsx3edc4rfv5tgb6yhn",
];

impl Password {
    pub const MIN_CHARS: usize = 12;

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        if raw.chars().count() < Self::MIN_CHARS {
            return Err("A senha deve ter pelo menos 12 caracteres.");
        }
        if raw.len() > 72 {
            // bcrypt reads only the first 72 bytes; longer would silently ignore the rest.
            return Err("A senha pode ter no máximo 72 caracteres.");
        }
        let lower = raw.to_lowercase();
        let first = lower.chars().next();
        if lower.chars().all(|c| Some(c) == first) {
            return Err("Essa senha é fácil demais de adivinhar: evite repetir o mesmo caractere.");
        }
        if SEQUENCES.iter().any(|s| s.contains(&lower)) {
            return Err(
                "Essa senha é fácil demais de adivinhar: evite sequências de teclado ou de números.",
            );
        }
        let letters: String = lower.chars().filter(|c| c.is_alphabetic()).collect();
        if letters.is_empty() || WEAK_WORDS.contains(&letters.as_str()) {
            return Err(
                "Essa senha está entre as mais usadas. Escolha outra, por exemplo uma frase com várias palavras.",
            );
        }
        Ok(Self(raw.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_a_passphrase() {
        assert!(Password::parse("cavalo bateria grampo").is_ok());
    }

    #[test]
    fn refuses_short_common_and_trivial() {
        for bad in [
            "curta",
            "password1234",
            "Senha@123456",
            "123456789012",
            "qwertyuiopas",
            "aaaaaaaaaaaaaa",
            "omie20262026",
        ] {
            assert!(Password::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_hides_the_value() {
        let p = Password::parse("cavalo bateria grampo").unwrap();
        assert!(!format!("{p:?}").contains("cavalo"));
    }
}
