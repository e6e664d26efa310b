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
