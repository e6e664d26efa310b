//! The data inventory (LGPD Art. 37): every column of every table that holds personal
//! data, declared once with its class, whose data it is, its legal basis (Art. 7), its
//! purpose, how long it is kept, how it is exported and how it is erased. Every other
//! column is listed in [`NOT_PERSONAL`]. A test (`db::schema`) opens a freshly migrated
//! database and fails on any column that is in neither list, so a migration cannot add
//! a column nobody classified.
//!
//! The privacy notice (`/privacidade`), the record of processing (ANPD's simplified
//! model), the retention job and its page are generated from these entries. Adding a
//! column is one line here (`col(...)` in [`PERSONAL`], or a name in [`NOT_PERSONAL`]).

/// What kind of personal data a column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum DataClass {
    /// Names.
    Identification,
    /// E-mail addresses and phone numbers.
    Contact,
    /// Password hashes, second-factor secrets, token hashes.
    Credentials,
    /// Where and when someone connected: IP address, browser, device, times.
    AccessRecord,
    /// Who did what and when (the audit trail, sign-up history).
    Activity,
    /// E-mail messages we send (recipient, subject, body).
    Communication,
    /// Free text typed by someone that may mention a person (reasons, notes).
    FreeText,
    /// Records of the privacy notice version a person accepted.
    NoticeAcceptance,
}

impl DataClass {
    pub const ALL: &'static [DataClass] = &[
        Self::Identification,
        Self::Contact,
        Self::Credentials,
        Self::AccessRecord,
        Self::Activity,
        Self::Communication,
        Self::FreeText,
        Self::NoticeAcceptance,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Self::Identification => "Identificação (nome)",
            Self::Contact => "Contato (e-mail, telefone)",
            Self::Credentials => "Credenciais de acesso (senha cifrada, códigos, chaves)",
            Self::AccessRecord => "Registros de acesso (endereço IP, navegador, data e hora)",
            Self::Activity => "Registro de atividades (quem fez o quê e quando)",
            Self::Communication => "E-mails enviados (destinatário, assunto, texto)",
            Self::FreeText => "Textos livres (motivos e anotações)",
            Self::NoticeAcceptance => "Ciência do aviso de privacidade (versão, data, IP)",
        }
    }
}

/// Whose data it is (category of data subjects).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Subject {
    /// People with an account: the owner, the team, the client companies' people.
    AccountHolder,
    /// People who asked for access (sign-up) and are not approved yet, or were refused.
    Applicant,
    /// People invited by e-mail who have not accepted yet.
    Invitee,
    /// The contact person a client company named.
    CompanyContact,
    /// Anyone mentioned in an incident record.
    AffectedPerson,
}

impl Subject {
    pub fn label(self) -> &'static str {
        match self {
            Self::AccountHolder => {
                "Pessoas com conta (proprietário, equipe e pessoas das empresas clientes)"
            }
            Self::Applicant => "Pessoas que pediram acesso",
            Self::Invitee => "Pessoas convidadas",
            Self::CompanyContact => "Contatos das empresas clientes",
            Self::AffectedPerson => "Pessoas afetadas por um incidente",
        }
    }
}

/// The legal hypothesis of LGPD Art. 7 the processing rests on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LegalBasis {
    /// Art. 7 II.
    LegalObligation,
    /// Art. 7 V: performing the contract with the client company, or steps before it
    /// at the person's request.
    Contract,
    /// Art. 7 VI.
    ExerciseOfRights,
    /// Art. 7 IX.
    LegitimateInterest,
}

impl LegalBasis {
    pub fn label(self) -> &'static str {
        match self {
            Self::LegalObligation => {
                "Cumprimento de obrigação legal ou regulatória (LGPD, art. 7º, II)"
            }
            Self::Contract => {
                "Execução de contrato ou de procedimentos preliminares a pedido do titular (LGPD, art. 7º, V)"
            }
            Self::ExerciseOfRights => {
                "Exercício regular de direitos em processo (LGPD, art. 7º, VI)"
            }
            Self::LegitimateInterest => "Legítimo interesse (LGPD, art. 7º, IX)",
        }
    }
}

/// Why the data is processed (a processing activity of the record of processing).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Purpose {
    /// Accounts and access to the system.
    Accounts,
    /// Analysing requests for access and invitations.
    Onboarding,
    /// Security: sessions, sign-in protection, detecting misuse.
    Security,
    /// The audit trail: who did what.
    Audit,
    /// Sending the service's e-mails.
    Mail,
    /// Talking to the client company.
    ClientRelationship,
    /// Complying with the LGPD itself (notice acceptance, incidents).
    Compliance,
}

impl Purpose {
    pub const ALL: &'static [Purpose] = &[
        Self::Accounts,
        Self::Onboarding,
        Self::Security,
        Self::Audit,
        Self::Mail,
        Self::ClientRelationship,
        Self::Compliance,
    ];

    /// The processing activity's name in the record of processing.
    pub fn activity(self) -> &'static str {
        match self {
            Self::Accounts => "Contas de acesso",
            Self::Onboarding => "Pedidos de acesso e convites",
            Self::Security => "Segurança do acesso",
            Self::Audit => "Trilha de auditoria",
            Self::Mail => "Envio de e-mails do serviço",
            Self::ClientRelationship => "Relacionamento com as empresas clientes",
            Self::Compliance => "Cumprimento da LGPD",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Accounts => "Criar e manter sua conta e permitir que você use o sistema",
            Self::Onboarding => "Analisar pedidos de acesso e convites antes de criar a conta",
            Self::Security => {
                "Proteger as contas: sessões, bloqueio de tentativas, aviso de acesso novo"
            }
            Self::Audit => {
                "Manter o registro de quem fez o quê, para segurança e prestação de contas"
            }
            Self::Mail => "Enviar os e-mails do serviço (convites, senhas, avisos)",
            Self::ClientRelationship => "Falar com a pessoa de contato da empresa cliente",
            Self::Compliance => {
                "Provar a ciência do aviso de privacidade e registrar incidentes de segurança"
            }
        }
    }
}

/// A retention period the daily job applies; the owner may tighten it (never past
/// `max_days`, nor below `min_days`, which is what a law makes us keep).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    /// Expired sessions and tokens: removed once expired.
    Sessions,
    /// Refused and never-approved sign-ups (and answered requests for a new company).
    Signups,
    /// Used, expired or revoked password-reset and invitation links.
    Links,
    /// IP addresses and times of access (Marco Civil da Internet, Art. 15: 6 months).
    AccessRecords,
    /// Sent (and given-up) e-mail: recipient and subject (bodies are blanked once sent).
    SentMail,
}

impl Rule {
    pub const ALL: &'static [Rule] = &[
        Self::Sessions,
        Self::Signups,
        Self::Links,
        Self::AccessRecords,
        Self::SentMail,
    ];

    /// The key in the settings table, and in the job's audit details.
    pub fn key(self) -> &'static str {
        match self {
            Self::Sessions => "sessions",
            Self::Signups => "signups",
            Self::Links => "links",
            Self::AccessRecords => "access_records",
            Self::SentMail => "sent_mail",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|r| r.key() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Sessions => "Sessões e chaves de API vencidas",
            Self::Signups => "Pedidos de acesso recusados ou nunca aprovados",
            Self::Links => "Links de senha e convites usados, vencidos ou revogados",
            Self::AccessRecords => "Endereços IP e horários de acesso",
            Self::SentMail => "E-mails enviados (destinatário e assunto)",
        }
    }

    /// Days kept after the event that starts the count (the inventory's maximum).
    pub fn max_days(self) -> u32 {
        match self {
            Self::Sessions => 0,
            Self::Signups => 90,
            Self::Links => 30,
            // 6 months: 184 days covers any 6 calendar months.
            Self::AccessRecords => 184,
            Self::SentMail => 30,
        }
    }

    /// The least the law makes us keep (the owner cannot go below it).
    pub fn min_days(self) -> u32 {
        match self {
            Self::AccessRecords => 184,
            _ => 0,
        }
    }

    /// From when the count starts, in Portuguese.
    pub fn counted_from(self) -> &'static str {
        match self {
            Self::Sessions => "depois de vencer",
            Self::Signups => "depois da recusa, ou do pedido quando nunca foi aprovado",
            Self::Links => "depois de usado, vencido ou revogado",
            Self::AccessRecords => "depois do acesso",
            Self::SentMail => "depois do envio",
        }
    }

    /// Why the minimum, when there is one.
    pub fn legal_note(self) -> &'static str {
        match self {
            Self::AccessRecords => {
                "O Marco Civil da Internet (Lei 12.965/2014, art. 15) obriga a guardar os registros de acesso por 6 meses."
            }
            _ => "",
        }
    }
}

/// How long a column's value is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retention {
    /// While the account exists; erased when the person is anonymized or removed.
    WhileAccount,
    /// While the company is a client; erased when the company is anonymized.
    WhileCompany,
    /// A period the retention job applies.
    Period(Rule),
    /// Kept because a law or a right requires it, until `until`.
    LegalHold {
        reason: &'static str,
        until: &'static str,
    },
}

impl Retention {
    /// In Portuguese; `days` gives the effective days of a rule.
    pub fn describe(self, days: impl Fn(Rule) -> u32) -> String {
        match self {
            Self::WhileAccount => "Enquanto a conta existir".into(),
            Self::WhileCompany => "Enquanto a empresa for cliente".into(),
            Self::Period(Rule::Sessions) => "Até a sessão ou a chave vencer".into(),
            Self::Period(r) => format!("{} dias {}", days(r), r.counted_from()),
            Self::LegalHold { reason, until } => format!("{until} ({reason})"),
        }
    }
}

/// How a person's export carries the column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Export {
    /// In the export, under this section of the JSON document (DESIGN §8.3).
    In(&'static str),
    /// Not exported, and why.
    Not(&'static str),
}

/// What erasing a person (or a company) does to the column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Erasure {
    /// The row is deleted.
    Delete,
    /// The value is replaced (a pseudonym or blank); the row stays.
    Anonymize,
    /// Kept under a legal hold (see the retention) and erased at its end.
    Hold,
    /// Derived from another column (a search index) and follows it.
    FollowsSource,
}

impl Erasure {
    pub fn label(self) -> &'static str {
        match self {
            Self::Delete => "apagado",
            Self::Anonymize => "anonimizado (substituído por um pseudônimo ou apagado)",
            Self::Hold => "guardado pelo prazo legal e apagado ao fim dele",
            Self::FollowsSource => "acompanha o dado de origem",
        }
    }
}

/// One personal-data column.
#[derive(Clone, Copy, Debug)]
pub struct Column {
    pub table: &'static str,
    pub column: &'static str,
    pub class: DataClass,
    pub subject: Subject,
    pub basis: LegalBasis,
    pub purpose: Purpose,
    pub retention: Retention,
    pub export: Export,
    pub erasure: Erasure,
}

#[allow(clippy::too_many_arguments)]
const fn col(
    table: &'static str,
    column: &'static str,
    class: DataClass,
    subject: Subject,
    basis: LegalBasis,
    purpose: Purpose,
    retention: Retention,
    export: Export,
    erasure: Erasure,
) -> Column {
    Column {
        table,
        column,
        class,
        subject,
        basis,
        purpose,
        retention,
        export,
        erasure,
    }
}

use DataClass as C;
use Erasure as E;
use Export::{In, Not};
use LegalBasis as B;
use Purpose as P;
use Retention::{LegalHold, Period, WhileAccount, WhileCompany};
use Subject as S;

/// The audit trail is kept 5 years: proof of who did what (Art. 7 VI, Art. 16 I/II).
const AUDIT_HOLD: Retention = LegalHold {
    reason: "prova de quem fez o quê, para defesa em processo (LGPD, art. 7º, VI e art. 16)",
    until: "5 anos depois do registro; depois de 6 meses (ou antes, quando a pessoa é anonimizada) o endereço IP, o nome e o e-mail da linha dão lugar a um pseudônimo",
};
/// Incidents: Res. CD/ANPD 15/2024, Art. 10.
const INCIDENT_HOLD: Retention = LegalHold {
    reason: "Resolução CD/ANPD nº 15/2024, art. 10",
    until: "5 anos depois do registro do incidente",
};
/// Notice acceptances prove what the person was told.
const NOTICE_HOLD: Retention = LegalHold {
    reason: "prova do aviso de privacidade apresentado (LGPD, art. 8º, §2º e art. 7º, VI)",
    until: "Enquanto a conta existir e 5 anos depois",
};
/// Requests of data subjects prove that the rights were answered, and when.
const RIGHTS_HOLD: Retention = LegalHold {
    reason: "prova de que o pedido do titular foi atendido no prazo (LGPD, art. 18, art. 19 e art. 7º, VI)",
    until: "5 anos depois da resposta",
};
const HASH_ONLY: Export = Not("guardado só como hash cifrado; não serve fora do sistema");
const SEALED: Export = Not("segredo cifrado; mostrá-lo seria um risco à própria conta");
const NOT_YOURS: Export = Not("registro interno do serviço, sem dado seu além do já exportado");

/// Every column that holds personal data. One line each.
#[rustfmt::skip]
pub const PERSONAL: &[Column] = &[
    col("users", "name", C::Identification, S::AccountHolder, B::Contract, P::Accounts, WhileAccount, In("person"), E::Anonymize),
    col("users", "email", C::Contact, S::AccountHolder, B::Contract, P::Accounts, WhileAccount, In("person"), E::Anonymize),
    col("users", "password_hash", C::Credentials, S::AccountHolder, B::Contract, P::Accounts, WhileAccount, HASH_ONLY, E::Delete),
    col("users", "last_login_at", C::AccessRecord, S::AccountHolder, B::LegalObligation, P::Security, WhileAccount, In("person"), E::Anonymize),
    col("users", "last_failed_at", C::AccessRecord, S::AccountHolder, B::LegitimateInterest, P::Security, WhileAccount, In("person"), E::Anonymize),
    col("users", "status_reason", C::FreeText, S::Applicant, B::Contract, P::Onboarding, Period(Rule::Signups), In("person"), E::Anonymize),
    col("users", "sort_key", C::Identification, S::AccountHolder, B::Contract, P::Accounts, WhileAccount, Not("cópia do nome para ordenar as listas"), E::FollowsSource),
    col("users", "rejected_at", C::Activity, S::Applicant, B::Contract, P::Onboarding, Period(Rule::Signups), In("person"), E::Delete),
    col("sessions", "ip", C::AccessRecord, S::AccountHolder, B::LegalObligation, P::Security, Period(Rule::Sessions), In("sessions"), E::Delete),
    col("sessions", "user_agent", C::AccessRecord, S::AccountHolder, B::LegitimateInterest, P::Security, Period(Rule::Sessions), In("sessions"), E::Delete),
    col("sessions", "created_at", C::AccessRecord, S::AccountHolder, B::LegalObligation, P::Security, Period(Rule::Sessions), In("sessions"), E::Delete),
    col("sessions", "last_seen_at", C::AccessRecord, S::AccountHolder, B::LegalObligation, P::Security, Period(Rule::Sessions), In("sessions"), E::Delete),
    col("sessions", "state", C::AccessRecord, S::AccountHolder, B::Contract, P::Security, Period(Rule::Sessions), Not("estado técnico da sessão"), E::Delete),
    col("known_clients", "value", C::AccessRecord, S::AccountHolder, B::LegitimateInterest, P::Security, Period(Rule::AccessRecords), In("sessions"), E::Delete),
    col("known_clients", "first_at", C::AccessRecord, S::AccountHolder, B::LegitimateInterest, P::Security, Period(Rule::AccessRecords), In("sessions"), E::Delete),
    col("known_clients", "last_at", C::AccessRecord, S::AccountHolder, B::LegitimateInterest, P::Security, Period(Rule::AccessRecords), In("sessions"), E::Delete),
    col("mfa_factors", "secret_sealed", C::Credentials, S::AccountHolder, B::Contract, P::Security, WhileAccount, SEALED, E::Delete),
    col("mfa_recovery_codes", "code_hash", C::Credentials, S::AccountHolder, B::Contract, P::Security, WhileAccount, HASH_ONLY, E::Delete),
    col("company_requests", "requester_name", C::Identification, S::Applicant, B::Contract, P::Onboarding, Period(Rule::Signups), In("person"), E::Delete),
    col("company_requests", "requester_email", C::Contact, S::Applicant, B::Contract, P::Onboarding, Period(Rule::Signups), In("person"), E::Delete),
    col("company_requests", "password_hash", C::Credentials, S::Applicant, B::Contract, P::Onboarding, Period(Rule::Signups), HASH_ONLY, E::Delete),
    col("company_requests", "reason", C::FreeText, S::Applicant, B::Contract, P::Onboarding, Period(Rule::Signups), In("person"), E::Delete),
    col("invitations", "email", C::Contact, S::Invitee, B::Contract, P::Onboarding, Period(Rule::Links), In("person"), E::Delete),
    col("invitations", "invited_by", C::Contact, S::AccountHolder, B::Contract, P::Onboarding, Period(Rule::Links), In("events"), E::Delete),
    col("companies", "contact_name", C::Identification, S::CompanyContact, B::Contract, P::ClientRelationship, WhileCompany, In("company"), E::Anonymize),
    col("companies", "email", C::Contact, S::CompanyContact, B::Contract, P::ClientRelationship, WhileCompany, In("company"), E::Anonymize),
    col("companies", "phone", C::Contact, S::CompanyContact, B::Contract, P::ClientRelationship, WhileCompany, In("company"), E::Anonymize),
    col("omie_credentials", "updated_by", C::Contact, S::AccountHolder, B::LegitimateInterest, P::Audit, WhileCompany, In("events"), E::Anonymize),
    col("omie_credential_history", "changed_by", C::Contact, S::AccountHolder, B::LegitimateInterest, P::Audit, WhileCompany, In("events"), E::Anonymize),
    col("application_links", "granted_by", C::Contact, S::AccountHolder, B::LegitimateInterest, P::Audit, WhileCompany, In("events"), E::Anonymize),
    col("backups", "requested_by", C::Contact, S::AccountHolder, B::LegitimateInterest, P::Audit, WhileAccount, In("events"), E::Anonymize),
    col("audit_log", "actor_label", C::Activity, S::AccountHolder, B::ExerciseOfRights, P::Audit, AUDIT_HOLD, In("events"), E::Anonymize),
    col("audit_log", "details", C::Activity, S::AccountHolder, B::ExerciseOfRights, P::Audit, AUDIT_HOLD, In("events"), E::Anonymize),
    col("audit_log", "ip", C::AccessRecord, S::AccountHolder, B::LegalObligation, P::Audit, Period(Rule::AccessRecords), In("events"), E::Anonymize),
    col("outbox", "to_addr", C::Communication, S::AccountHolder, B::Contract, P::Mail, Period(Rule::SentMail), NOT_YOURS, E::Delete),
    col("outbox", "subject", C::Communication, S::AccountHolder, B::Contract, P::Mail, Period(Rule::SentMail), NOT_YOURS, E::Delete),
    col("outbox", "text_body", C::Communication, S::AccountHolder, B::Contract, P::Mail, Period(Rule::SentMail), NOT_YOURS, E::Delete),
    col("outbox", "html_body", C::Communication, S::AccountHolder, B::Contract, P::Mail, Period(Rule::SentMail), NOT_YOURS, E::Delete),
    col("outbox", "last_error", C::Communication, S::AccountHolder, B::Contract, P::Mail, Period(Rule::SentMail), NOT_YOURS, E::Delete),
    col("notice_acceptances", "notice_version", C::NoticeAcceptance, S::AccountHolder, B::ExerciseOfRights, P::Compliance, NOTICE_HOLD, In("consents"), E::Hold),
    col("notice_acceptances", "accepted_at", C::NoticeAcceptance, S::AccountHolder, B::ExerciseOfRights, P::Compliance, NOTICE_HOLD, In("consents"), E::Hold),
    col("notice_acceptances", "ip", C::AccessRecord, S::AccountHolder, B::LegalObligation, P::Compliance, Period(Rule::AccessRecords), In("consents"), E::Delete),
    col("incidents", "summary", C::FreeText, S::AffectedPerson, B::LegalObligation, P::Compliance, INCIDENT_HOLD, NOT_YOURS, E::Hold),
    col("incidents", "data_affected", C::FreeText, S::AffectedPerson, B::LegalObligation, P::Compliance, INCIDENT_HOLD, NOT_YOURS, E::Hold),
    col("incidents", "people_affected", C::FreeText, S::AffectedPerson, B::LegalObligation, P::Compliance, INCIDENT_HOLD, NOT_YOURS, E::Hold),
    col("incidents", "measures", C::FreeText, S::AffectedPerson, B::LegalObligation, P::Compliance, INCIDENT_HOLD, NOT_YOURS, E::Hold),
    col("incidents", "communication", C::FreeText, S::AffectedPerson, B::LegalObligation, P::Compliance, INCIDENT_HOLD, NOT_YOURS, E::Hold),
    col("incidents", "created_by", C::Contact, S::AccountHolder, B::LegalObligation, P::Compliance, INCIDENT_HOLD, NOT_YOURS, E::Hold),
    col("privacy_requests", "message", C::FreeText, S::AccountHolder, B::LegalObligation, P::Compliance, RIGHTS_HOLD, In("privacy_requests"), E::Hold),
    col("privacy_requests", "reason", C::FreeText, S::AccountHolder, B::LegalObligation, P::Compliance, RIGHTS_HOLD, In("privacy_requests"), E::Hold),
    col("privacy_requests", "resolved_by", C::Contact, S::AccountHolder, B::LegalObligation, P::Compliance, RIGHTS_HOLD, NOT_YOURS, E::Hold),
    // The company search index holds copies of the company's names (a MEI's name can be
    // a person's): it follows the companies table through triggers.
    col("companies", "search_text", C::Identification, S::CompanyContact, B::Contract, P::ClientRelationship, WhileCompany, Not("cópia para busca"), E::FollowsSource),
    col("companies_fts", "legal_name", C::Identification, S::CompanyContact, B::Contract, P::ClientRelationship, WhileCompany, Not("cópia para busca"), E::FollowsSource),
    col("companies_fts", "trade_name", C::Identification, S::CompanyContact, B::Contract, P::ClientRelationship, WhileCompany, Not("cópia para busca"), E::FollowsSource),
    col("companies_fts_data", "block", C::Identification, S::CompanyContact, B::Contract, P::ClientRelationship, WhileCompany, Not("cópia para busca"), E::FollowsSource),
    col("companies_fts_idx", "term", C::Identification, S::CompanyContact, B::Contract, P::ClientRelationship, WhileCompany, Not("cópia para busca"), E::FollowsSource),
];

/// Columns that hold no personal data, per table: ids (random, meaningless outside the
/// system), states, company data (a legal person's), technical values, secrets of
/// companies and applications (sealed, not a person's). Adding a column is adding its
/// name here.
#[rustfmt::skip]
pub const NOT_PERSONAL: &[(&str, &[&str])] = &[
    ("users", &["id", "company_id", "role", "status", "failed_attempts", "locked_until", "created_at", "updated_at"]),
    ("sessions", &["id_hash", "user_id", "absolute_expires_at"]),
    ("api_tokens", &["token_hash", "user_id", "created_at", "expires_at", "revoked_at"]),
    ("setup_tokens", &["token_hash", "created_at", "used_at"]),
    ("audit_log", &["id", "at", "actor_type", "actor_id", "action", "entity_type", "entity_id", "company_id", "prev_hash", "hash", "facts", "personal_salt", "personal_commit", "erased_by"]),
    ("audit_head", &["singleton", "last_id", "last_hash", "mac"]),
    ("companies", &["id", "legal_name", "trade_name", "cnpj", "status", "created_at", "updated_at", "sort_key", "monthly_fee_cents"]),
    ("mrr_daily", &["date", "mrr_cents", "companies"]),
    ("companies_fts", &["cnpj"]),
    ("companies_fts_idx", &["segid", "pgno"]),
    ("companies_fts_data", &["id"]),
    ("companies_fts_docsize", &["id", "sz"]),
    ("companies_fts_config", &["k", "v"]),
    ("companies_version", &["id", "v"]),
    ("outbox", &["id", "created_at", "kind", "status", "attempts", "next_attempt_at", "sent_at", "sealed", "gave_up_at", "link_base"]),
    ("company_requests", &["id", "cnpj", "status", "created_at", "decided_at", "decided_by"]),
    ("password_resets", &["token_hash", "user_id", "created_at", "expires_at", "used_at"]),
    ("invitations", &["id", "token_hash", "company_id", "role", "created_at", "expires_at", "accepted_at", "revoked_at", "invited_by_user_id"]),
    ("sealed_keys", &["name", "sealed"]),
    ("omie_credentials", &["company_id", "app_key_sealed", "app_secret_sealed", "fingerprint", "updated_at", "validated_at", "validation_status", "validation_message", "validated_fingerprint"]),
    ("omie_credential_history", &["id", "company_id", "changed_at", "app_key_hint"]),
    ("applications", &["id", "name", "description", "client_id", "status", "created_at", "updated_at", "last_used_at"]),
    ("application_secrets", &["id", "application_id", "secret_hash", "hint", "created_at", "last_used_at", "revoked_at"]),
    ("application_links", &["application_id", "company_id", "scopes", "granted_at", "last_credentials_read_at"]),
    ("app_tokens", &["token_hash", "application_id", "secret_id", "scope", "created_at", "expires_at", "revoked_at"]),
    ("api_usage", &["date", "application_id", "company_id", "operation", "count"]),
    ("api_refusals", &["date", "application_id", "count"]),
    ("api_app_usage", &["date", "application_id", "operation", "count"]),
    ("backups", &["id", "kind", "status", "phase", "started_at", "finished_at", "file_name", "size_bytes", "db_bytes", "sha256", "duration_ms", "verified", "remote", "remote_status", "remote_error", "error_code", "error", "pruned_at"]),
    ("app_settings", &["key", "value", "updated_at"]),
    ("alerts", &["kind", "active", "changed_at", "detail"]),
    ("vendor_logo", &["id", "content_type", "bytes", "hash", "updated_at"]),
    ("mfa_factors", &["user_id", "confirmed_at", "last_step", "failures", "locked_until", "created_at", "updated_at"]),
    ("mfa_recovery_codes", &["user_id", "used_at", "created_at"]),
    ("known_clients", &["user_id", "kind"]),
    ("notice_acceptances", &["id", "user_id", "request_id", "context"]),
    ("privacy_requests", &["id", "user_id", "company_id", "kind", "status", "created_at", "due_at", "resolved_at", "reminded_on"]),
    ("incidents", &["id", "known_on", "risk", "anpd_notified_on", "subjects_notified_on", "created_at", "updated_at"]),
    // Notification choices and what waits for a mail: ids and codes only; the words
    // are rendered from the audit trail when the mail is written.
    ("notify_prefs", &["user_id", "security", "approvals", "changes", "system", "updated_at"]),
    ("notify_digest", &["id", "user_id", "audit_id", "created_at"]),
    ("notify_bundle", &["id", "user_id", "action", "entity", "outbox_id", "audit_ids", "created_at"]),
];

/// How a column is classified, if it is.
#[derive(Clone, Copy, Debug)]
pub enum Classified {
    Personal(&'static Column),
    NotPersonal,
}

pub fn classify(table: &str, column: &str) -> Option<Classified> {
    if let Some(c) = PERSONAL
        .iter()
        .find(|c| c.table == table && c.column == column)
    {
        return Some(Classified::Personal(c));
    }
    NOT_PERSONAL
        .iter()
        .any(|(t, cols)| *t == table && cols.contains(&column))
        .then_some(Classified::NotPersonal)
}

/// Every (table, column) the inventory names, personal or not.
pub fn declared() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<_> = PERSONAL.iter().map(|c| (c.table, c.column)).collect();
    for (t, cols) in NOT_PERSONAL {
        out.extend(cols.iter().map(|c| (*t, *c)));
    }
    out
}

/// The columns that serve one purpose.
pub fn for_purpose(p: Purpose) -> impl Iterator<Item = &'static Column> {
    PERSONAL.iter().filter(move |c| c.purpose == p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_column_is_declared_twice() {
        let mut all = declared();
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n, "a column is declared twice");
    }

    #[test]
    fn every_rule_keeps_no_less_than_the_law_asks() {
        for r in Rule::ALL {
            assert!(r.min_days() <= r.max_days(), "{r:?}");
        }
    }
}
