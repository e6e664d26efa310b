//! Display forms of stored rows, shared by pages: masks, Portuguese labels, local times.

use crate::db::companies::Company;
use crate::domain::cnpj_format;
use crate::domain::phone_format;
use crate::time;

pub struct CompanyView {
    pub id: String,
    pub legal_name: String,
    pub trade_name: String,
    pub cnpj: String,
    pub contact_name: String,
    pub email: String,
    pub phone: String,
    pub status: String,
    pub status_label: &'static str,
    pub created: String,
    pub updated: String,
}

impl From<&Company> for CompanyView {
    fn from(c: &Company) -> Self {
        Self {
            id: c.id.clone(),
            legal_name: c.legal_name.clone(),
            trade_name: c.trade_name.clone(),
            cnpj: cnpj_format(&c.cnpj),
            contact_name: c.contact_name.clone(),
            email: c.email.clone(),
            phone: phone_format(&c.phone),
            status: c.status.as_str().to_string(),
            status_label: c.status.label(),
            created: time::db_to_br(&c.created_at),
            updated: time::db_to_br(&c.updated_at),
        }
    }
}

/// A person's status in words; a refused sign-up is "Recusado", not just inactive.
pub fn user_status_label(u: &crate::db::users::User) -> &'static str {
    if u.rejected_at.is_some() {
        "Recusado"
    } else {
        u.status.label()
    }
}

/// An integer in Brazilian form: `1234567` → `1.234.567`.
pub fn int_br(n: impl std::borrow::Borrow<i64>) -> String {
    let n = *n.borrow();
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push('.');
        }
        out.push(c);
    }
    out
}

/// A count with its noun in the right number: `1 usuário`, `1.234 usuários`.
pub fn count_br(n: i64, one: &str, many: &str) -> String {
    format!("{} {}", int_br(n), if n == 1 { one } else { many })
}

#[cfg(test)]
mod number_tests {
    use super::*;

    #[test]
    fn brazilian_thousands_and_plurals() {
        assert_eq!(int_br(0), "0");
        assert_eq!(int_br(999), "999");
        assert_eq!(int_br(1234), "1.234");
        assert_eq!(int_br(1234567), "1.234.567");
        assert_eq!(int_br(-1000), "-1.000");
        assert_eq!(count_br(1, "usuário", "usuários"), "1 usuário");
        assert_eq!(count_br(2, "usuário", "usuários"), "2 usuários");
    }
}
