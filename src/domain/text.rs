use serde::Serialize;

/// Trims a required free-text field and bounds its length.
pub fn required_text(raw: &str, max: usize, empty_msg: &'static str) -> Result<String, String> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(empty_msg.to_string());
    }
    if s.chars().count() > max {
        return Err(format!("Use no máximo {max} caracteres."));
    }
    if s.chars().any(char::is_control) {
        return Err("Remova caracteres de controle do texto.".to_string());
    }
    Ok(s.to_string())
}

/// A form value that may reach a mail header or a redirect: it must not carry a line
/// break or any other control character (a CR/LF would split a header). Said in the
/// words of the form, naming the field as the person sees it.
pub fn single_line(raw: &str, label: &str) -> Result<(), String> {
    if raw.chars().any(char::is_control) {
        return Err(format!(
            "O campo \"{label}\" não pode ter quebras de linha nem caracteres de controle."
        ));
    }
    Ok(())
}

/// An id this program made (`cmp_…`, `usr_…`): a short prefix, `_`, and lower-case
/// letters and digits. Anything else typed where an id goes (a URL, a line break) is not one.
pub fn is_entity_id(raw: &str, prefix: &str) -> bool {
    raw.strip_prefix(prefix)
        .and_then(|r| r.strip_prefix('_'))
        .is_some_and(|rest| {
            (1..=64).contains(&rest.len())
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// A redirect target this program may send: a path on this same site (`/…`), never
/// another host (`//host`, `/\host`, `https://…`), with no control character or
/// backslash. `None` for anything else.
pub fn local_path(raw: &str) -> Option<&str> {
    let ok = raw.starts_with('/')
        && !raw.starts_with("//")
        && !raw.contains('\\')
        && !raw.chars().any(|c| c.is_control() || c.is_whitespace());
    ok.then_some(raw)
}

/// Lower case without accents, for search: "São João" and "sao joao" fold alike.
pub fn fold(s: &str) -> String {
    s.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ã' | 'ä' | 'å' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'õ' | 'ö' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            'ñ' => 'n',
            'ý' | 'ÿ' => 'y',
            c => c,
        })
        .collect()
}

macro_rules! string_enum {
    ($name:ident { $($variant:ident => $s:literal / $pt:literal),+ $(,)? }) => {
        // ToSchema: the API document lists the values from this one definition.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }

            /// The Portuguese label shown on pages.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $pt),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some($name::$variant),)+ _ => None }
            }
        }

        // Stored as its text; a value the program does not know is a read error, not
        // a silent default.
        impl rusqlite::types::ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok(self.as_str().into())
            }
        }

        impl rusqlite::types::FromSql for $name {
            fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
                let s = v.as_str()?;
                Self::parse(s).ok_or_else(|| {
                    rusqlite::types::FromSqlError::Other(
                        format!("unknown {} {s:?}", stringify!($name)).into(),
                    )
                })
            }
        }
    };
}

string_enum!(CompanyStatus {
    Active => "active" / "Ativa",
    Suspended => "suspended" / "Suspensa",
    Archived => "archived" / "Arquivada",
});

string_enum!(Role {
    Owner => "owner" / "Proprietário",
    Staff => "staff" / "Equipe",
    CompanyAdmin => "company_admin" / "Administrador da empresa",
    CompanyUser => "company_user" / "Usuário da empresa",
});

impl Role {
    /// What the role may do, in words for the pages (DESIGN.md §5).
    pub fn explained(self) -> &'static str {
        match self {
            Role::Owner => {
                "Dono do painel: pode tudo, inclusive cuidar da equipe, das configurações, dos backups e das restaurações."
            }
            Role::Staff => {
                "Equipe: trabalha no painel com todas as empresas, aplicações e usuários, mas não mexe nas contas da equipe nem nas configurações."
            }
            Role::CompanyAdmin => {
                "Administrador da empresa: no portal, vê e edita os dados da própria empresa, aprova e cuida das pessoas dela, guarda as credenciais do Omie e vê o uso das aplicações."
            }
            Role::CompanyUser => {
                "Usuário da empresa: no portal, só vê os dados da própria empresa e cuida da própria conta."
            }
        }
    }
}

// What a person asks of the controller (LGPD Art. 18).
string_enum!(PrivacyKind {
    Access => "access" / "Acesso aos meus dados",
    Correction => "correction" / "Correção de dados",
    Erasure => "erasure" / "Eliminação dos meus dados",
    Portability => "portability" / "Portabilidade",
    Information => "information" / "Informação sobre compartilhamento",
});

string_enum!(PrivacyStatus {
    Open => "open" / "Aberto",
    Done => "done" / "Atendido",
    Refused => "refused" / "Recusado",
});

string_enum!(BackupStatus {
    Running => "running" / "Em andamento",
    Succeeded => "succeeded" / "Concluído",
    Failed => "failed" / "Falhou",
});

string_enum!(ValidationStatus {
    Ok => "ok" / "OK",
    Failed => "failed" / "Falhou",
});

impl ValidationStatus {
    /// Omie accepted the keys at the last test.
    pub fn passed(self) -> bool {
        self == Self::Ok
    }
}

string_enum!(RemoteStatus {
    Copied => "copied" / "Copiado",
    Failed => "failed" / "Falhou",
});

string_enum!(ApplicationStatus {
    Active => "active" / "Ativa",
    Revoked => "revoked" / "Revogada",
});

string_enum!(RequestStatus {
    Pending => "pending" / "Aguardando decisão",
    Accepted => "accepted" / "Aceito",
    Refused => "refused" / "Recusado",
});

string_enum!(UserStatus {
    Pending => "pending" / "Aguardando aprovação",
    Active => "active" / "Ativo",
    Disabled => "disabled" / "Desativado",
    Anonymized => "anonymized" / "Anonimizado",
});

impl Role {
    pub fn is_platform(self) -> bool {
        matches!(self, Role::Owner | Role::Staff)
    }
}

#[cfg(test)]
mod edge_tests {
    use super::*;

    #[test]
    fn single_line_refuses_line_breaks_and_controls() {
        assert!(single_line("ana@x.com.br", "E-mail").is_ok());
        for bad in ["a\r\nBcc: x@y.z", "a\nb", "a\rb", "a\u{0}b", "a\tb"] {
            let m = single_line(bad, "E-mail").unwrap_err();
            assert!(m.contains("\"E-mail\""), "{m}");
        }
    }

    #[test]
    fn entity_ids_are_only_what_the_program_makes() {
        assert!(is_entity_id("cmp_abcdefghij234567", "cmp"));
        for bad in [
            "",
            "cmp_",
            "usr_abc",
            "cmp_ABC",
            "cmp_abc\r\n",
            "cmp_abc/../x",
            "https://evil.example",
            "//evil.example",
        ] {
            assert!(!is_entity_id(bad, "cmp"), "{bad}");
        }
    }

    #[test]
    fn local_paths_stay_on_this_site() {
        for ok in ["/", "/admin/companies/cmp_x", "/portal/users?x=1"] {
            assert_eq!(local_path(ok), Some(ok));
        }
        for bad in [
            "",
            "admin",
            "//evil.example",
            "/\\evil.example",
            "https://evil.example/",
            "/admin\r\nSet-Cookie: x=1",
            "/a b",
            "javascript:alert(1)",
        ] {
            assert_eq!(local_path(bad), None, "{bad:?}");
        }
    }
}
