//! History in words: audit rows as lines a person reads. Names instead of ids (as the
//! reader may see them), Portuguese nouns and action labels, and what changed as
//! "Telefone: (11) 98765-4321 → (11) 3123-4567" in Brazilian formats. Never JSON, never
//! an internal id. The one place every page (audit, overview, company, portal) and the
//! audit spreadsheet use.
//!
//! Also the chain's last verification: run by a daily job or the "Verificar agora"
//! button, stored, and read by the audit page (which never walks the chain itself).

use crate::db::Conn;
use std::collections::HashMap;

use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Actor, Keys};
use crate::config::Settings;
use crate::db::audit::{Entry, Filter, Verdict};
use crate::db::{self, app_settings, applications as app_store, companies, users as user_store};
use crate::domain::{
    Action, ActionGroup, BackupStatus, CompanyStatus, PrivacyStatus, RemoteStatus, RequestStatus,
    Role, UserStatus, cnpj_format, phone_format,
};
use crate::error::AppError;

use crate::time;
use crate::views::int_br;

/// One audit row as a person reads it.
#[derive(Clone, Debug, Default)]
pub struct Line {
    pub id: i64,
    /// `dd/mm/aaaa hh:mm`, São Paulo time.
    pub at: String,
    /// Who did it: a person's name, an application's name, "Sistema", or (for a client
    /// company) "Equipe <vendor>".
    pub who: String,
    /// The person's e-mail, for the platform's readers only ("" otherwise).
    pub who_detail: String,
    /// The action's code, for the page's markup (`data-action`), never shown.
    pub action: String,
    /// What happened, in Portuguese.
    pub what: String,
    /// What it happened to: "Empresa Padaria Pão Quente", "Pessoa Ana Souza".
    pub item: String,
    /// The company it concerns, when that is not already the item ("" otherwise).
    pub company: String,
    /// Where the company's page is, for the platform's readers ("" otherwise).
    pub company_href: String,
    /// What changed or what was recorded, one sentence each.
    pub changes: Vec<String>,
    pub ip: String,
}

impl Line {
    /// The changes as one text (for a spreadsheet cell).
    pub fn changes_text(&self) -> String {
        self.changes.join("; ")
    }
}

/// Turns audit rows into lines for `reader`, looking each name up once.
pub fn lines(conn: &Connection, reader: &Actor, rows: &[Entry]) -> Result<Vec<Line>, AppError> {
    let mut names = Names::new(conn, reader);
    rows.iter().map(|e| names.line(e)).collect()
}

/// Up to `limit` lines the reader may see, newest first, and whether more exist.
pub fn page(
    conn: &Connection,
    reader: &Actor,
    filter: Filter,
    limit: usize,
) -> Result<(Vec<Line>, bool), AppError> {
    let (rows, more) = super::audit::list(conn, reader, filter, limit)?;
    Ok((lines(conn, reader, &rows)?, more))
}

/// The headers of the audit spreadsheet.
pub const CSV_HEADERS: [&str; 7] = [
    "Quando",
    "Quem",
    "E-mail de quem fez",
    "O que aconteceu",
    "Item",
    "Empresa",
    "Detalhes",
];

/// The audit spreadsheet for people (`;`, BOM, Portuguese headers, Brazilian dates): every
/// row `filter` finds, newest first, read 1,000 at a time and handed to `out` a page at a
/// time, so memory stays small at any size. `out` answers false to stop (the reader went
/// away). Platform readers only; recorded as `audit.export`. Returns the rows written.
pub fn export_csv(
    conn: &mut Conn,
    audit_key: &[u8],
    reader: &Actor,
    filter: Filter,
    out: &mut dyn FnMut(String) -> bool,
) -> Result<usize, AppError> {
    if !reader.is_platform() {
        return Err(AppError::Forbidden);
    }
    let mut rows = 0usize;
    let mut filter = filter;
    let mut done = !out(format!(
        "{}{}",
        crate::csv::EXCEL_BOM,
        crate::csv::excel_line(&CSV_HEADERS)
    ));
    {
        let mut names = Names::new(conn, reader);
        while !done {
            let (page, more) = super::audit::list(conn, reader, filter.clone(), 1_000)?;
            let mut chunk = String::with_capacity(page.len() * 160);
            for e in &page {
                let l = names.line(e)?;
                chunk.push_str(&crate::csv::excel_line(&[
                    l.at.as_str(),
                    &l.who,
                    &l.who_detail,
                    &l.what,
                    &l.item,
                    &l.company,
                    &l.changes_text(),
                ]));
            }
            rows += page.len();
            if !chunk.is_empty() && !out(chunk) {
                break;
            }
            match page.last() {
                Some(last) if more => filter.before = Some(last.id),
                _ => done = true,
            }
        }
    }
    let now = time::now_db();
    let w_audit_key = audit_key.to_owned();
    let w_reader = reader.to_owned();
    db::write(conn, move |tx| {
        let audit_key = &w_audit_key;
        let reader = &w_reader;
        let mut entry = reader.entry(Action::AuditExport, "audit", None);
        entry.details = serde_json::json!({ "format": "planilha", "rows": rows });
        crate::db::audit::append(tx, audit_key, &now, &entry)?;
        Ok(())
    })?;
    Ok(rows)
}

/// The actions grouped as the audit page's filter shows them: (group, [(code, label)]).
pub fn action_groups() -> Vec<(&'static str, Vec<(&'static str, &'static str)>)> {
    ActionGroup::ALL
        .iter()
        .map(|g| {
            let mut actions: Vec<(&'static str, &'static str)> = Action::ALL
                .iter()
                .filter(|a| a.group() == *g)
                .map(|a| (a.as_str(), a.label()))
                .collect();
            actions.sort_by_key(|(_, label)| crate::domain::fold(label));
            (g.label(), actions)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Names

struct Names<'a> {
    conn: &'a Connection,
    reader: &'a Actor,
    /// id → (name, is platform person, company id)
    users: HashMap<String, Option<(String, bool, Option<String>)>>,
    by_email: HashMap<String, Option<(String, bool)>>,
    companies: HashMap<String, Option<String>>,
    apps: HashMap<String, Option<String>>,
}

impl<'a> Names<'a> {
    fn new(conn: &'a Connection, reader: &'a Actor) -> Self {
        Self {
            conn,
            reader,
            users: HashMap::new(),
            by_email: HashMap::new(),
            companies: HashMap::new(),
            apps: HashMap::new(),
        }
    }

    fn user(&mut self, id: &str) -> Result<Option<(String, bool, Option<String>)>, AppError> {
        if let Some(u) = self.users.get(id) {
            return Ok(u.clone());
        }
        let u = user_store::get(self.conn, id)?.map(|u| {
            let name = if u.name.trim().is_empty() {
                u.email.clone()
            } else {
                u.name.clone()
            };
            (name, u.role.is_platform(), u.company_id.clone())
        });
        self.users.insert(id.to_string(), u.clone());
        Ok(u)
    }

    fn user_by_email(&mut self, email: &str) -> Result<Option<(String, bool)>, AppError> {
        if let Some(u) = self.by_email.get(email) {
            return Ok(u.clone());
        }
        let u = user_store::by_email(self.conn, email)?.map(|u| {
            let name = if u.name.trim().is_empty() {
                u.email.clone()
            } else {
                u.name.clone()
            };
            (name, u.role.is_platform())
        });
        self.by_email.insert(email.to_string(), u.clone());
        Ok(u)
    }

    fn company(&mut self, id: &str) -> Result<Option<String>, AppError> {
        if !self.reader.is_platform() && self.reader.company_id() != Some(id) {
            // A client company never reads another company's name.
            return Ok(Some("outra empresa".to_string()));
        }
        if let Some(c) = self.companies.get(id) {
            return Ok(c.clone());
        }
        let c = companies::get(self.conn, id)?.map(|c| {
            if c.trade_name.trim().is_empty() {
                c.legal_name
            } else {
                c.trade_name
            }
        });
        self.companies.insert(id.to_string(), c.clone());
        Ok(c)
    }

    fn app(&mut self, id: &str) -> Result<Option<String>, AppError> {
        if let Some(a) = self.apps.get(id) {
            return Ok(a.clone());
        }
        let a = app_store::get(self.conn, id)?.map(|a| a.name);
        self.apps.insert(id.to_string(), a.clone());
        Ok(a)
    }

    fn team(&self) -> String {
        super::audit::platform_team_label()
    }

    /// A person as the reader may name them.
    fn person(&mut self, id: &str) -> Result<String, AppError> {
        let platform_reader = self.reader.is_platform();
        Ok(match self.user(id)? {
            Some((_, true, _)) if !platform_reader => self.team(),
            Some((_, _, company))
                if !platform_reader && company.as_deref() != self.reader.company_id() =>
            {
                "pessoa de outra empresa".to_string()
            }
            Some((name, _, _)) => name,
            None => "pessoa removida".to_string(),
        })
    }

    fn who(&mut self, e: &Entry) -> Result<(String, String), AppError> {
        let platform_reader = self.reader.is_platform();
        let label = e.actor_label.trim();
        let email_detail = |l: &str| {
            if platform_reader && l.contains('@') {
                l.to_string()
            } else {
                String::new()
            }
        };
        match e.actor_type.as_str() {
            "user" => {
                if e.erased_by.is_some() {
                    // The personal part is gone: the label is the person's pseudonym.
                    return Ok((label.to_string(), String::new()));
                }
                let name = match &e.actor_id {
                    Some(id) => self.person(id)?,
                    None => label.to_string(),
                };
                Ok((name, email_detail(label)))
            }
            "application" => {
                let name = match &e.actor_id {
                    Some(id) => self.app(id)?,
                    None => None,
                };
                Ok((
                    format!("Aplicação {}", name.unwrap_or_else(|| "removida".into())),
                    String::new(),
                ))
            }
            _ => {
                if label.is_empty() || label == "sistema" {
                    return Ok((
                        if platform_reader {
                            "Sistema".to_string()
                        } else {
                            self.team()
                        },
                        String::new(),
                    ));
                }
                if label == "command line" {
                    return Ok(("Linha de comando do servidor".to_string(), String::new()));
                }
                if label == self.team() {
                    return Ok((label.to_string(), String::new()));
                }
                if e.erased_by.is_some() {
                    return Ok((label.to_string(), String::new()));
                }
                if label.contains('@') {
                    // Someone not signed in (a sign-up, a forgotten password): known by
                    // the e-mail they typed.
                    return Ok(match self.user_by_email(label)? {
                        Some((_, true)) if !platform_reader => (self.team(), String::new()),
                        Some((name, _)) => (name, email_detail(label)),
                        None => (label.to_string(), String::new()),
                    });
                }
                Ok((label.to_string(), String::new()))
            }
        }
    }

    fn item(&mut self, e: &Entry, details: &Value) -> Result<(String, bool), AppError> {
        let id = e.entity_id.as_deref().unwrap_or("");
        let action = Action::parse(&e.action);
        let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        // (text, whether the item already names the company)
        Ok(match e.entity_type.as_str() {
            "company" => {
                let name = self.company(id)?.unwrap_or_else(|| "removida".into());
                match action.map(Action::group) {
                    Some(ActionGroup::Omie) => (format!("Credenciais Omie de {name}"), true),
                    _ => (format!("Empresa {name}"), true),
                }
            }
            "user" => {
                let name = if id.is_empty() {
                    "—".to_string()
                } else {
                    self.person(id)?
                };
                (format!("Pessoa {name}"), false)
            }
            "application" => {
                let name = self.app(id)?.unwrap_or_else(|| "removida".into());
                match action {
                    Some(Action::ApplicationLink | Action::ApplicationUnlink) => {
                        let company = match &e.company_id {
                            Some(c) => self.company(c)?.unwrap_or_else(|| "removida".into()),
                            None => "uma empresa".into(),
                        };
                        (format!("Vínculo da aplicação {name} com {company}"), true)
                    }
                    _ => (format!("Aplicação {name}"), false),
                }
            }
            "invitation" => {
                let to = s(details, "email");
                if to.is_empty() {
                    ("Convite".to_string(), false)
                } else {
                    (format!("Convite para {to}"), false)
                }
            }
            "company_request" => {
                let cnpj = s(details, "cnpj");
                if cnpj.is_empty() {
                    ("Pedido de cadastro de empresa".to_string(), false)
                } else {
                    (
                        format!(
                            "Pedido de cadastro da empresa de CNPJ {}",
                            cnpj_format(&cnpj)
                        ),
                        false,
                    )
                }
            }
            "backup" => ("Backup".to_string(), false),
            "settings" => (
                match id {
                    "mail" => "Configurações de e-mail",
                    "backup" => "Configurações de backup",
                    _ => "Configurações",
                }
                .to_string(),
                false,
            ),
            "setting" => ("Prazo de retenção".to_string(), false),
            "retention" => ("Retenção de dados".to_string(), false),
            "email" => ("E-mail".to_string(), false),
            "audit" => ("Trilha de auditoria".to_string(), false),
            "job" => ("Tarefa de fundo".to_string(), false),
            "alert" => ("Alerta".to_string(), false),
            "incident" => ("Incidente de segurança".to_string(), false),
            "privacy_request" => ("Pedido de titular (LGPD)".to_string(), false),
            "setup" => ("Instalação".to_string(), false),
            "session" => ("Sessão".to_string(), false),
            "" => (String::new(), false),
            _ => ("Registro do sistema".to_string(), false),
        })
    }

    fn line(&mut self, e: &Entry) -> Result<Line, AppError> {
        let details: Value = serde_json::from_str(&e.details).unwrap_or(Value::Null);
        let action = Action::parse(&e.action);
        let (who, who_detail) = self.who(e)?;
        let (item, names_company) = self.item(e, &details)?;
        // A client company reads only its own history: naming itself again says nothing.
        let (company, company_href) = match (&e.company_id, names_company) {
            (Some(c), false) if self.reader.is_platform() => (
                format!(
                    "Empresa {}",
                    self.company(c)?.unwrap_or_else(|| "removida".into())
                ),
                format!("/admin/companies/{c}"),
            ),
            _ => (String::new(), String::new()),
        };
        let mut changes = describe(action, &details);
        if e.facts.len() > 2 && e.facts != e.details {
            let facts: Value = serde_json::from_str(&e.facts).unwrap_or(Value::Null);
            changes.extend(describe(action, &facts));
        }
        // A tenant's rows were masked before: a removed e-mail or IP leaves no trace.
        Ok(Line {
            id: e.id,
            at: time::db_to_br(&e.at),
            who,
            who_detail,
            action: e.action.clone(),
            what: action
                .map(|a| a.label().to_string())
                .unwrap_or_else(|| "Registro de uma versão anterior".to_string()),
            item,
            company,
            company_href,
            changes,
            ip: e.ip.clone(),
        })
    }
}

// ---------------------------------------------------------------------------------------
// What changed, in words

/// How a recorded value reads.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Text,
    Phone,
    Cnpj,
    Cpf,
    Date,
    Bool,
    Count,
    Days,
    Minutes,
    Bytes,
    Millis,
    Money,
    Role,
    Status,
    Scopes,
    Words,
}

/// Every key the product records, with its Portuguese label and kind. `None`: never
/// shown (ids, digests, internal lists). A key not in this table is not shown either.
fn key(k: &str) -> Option<(&'static str, Kind)> {
    use Kind::*;
    Some(match k {
        "legal_name" => ("Razão social", Text),
        "trade_name" => ("Nome fantasia", Text),
        "cnpj" => ("CNPJ", Cnpj),
        "cpf" => ("CPF", Cpf),
        "contact_name" => ("Contato", Text),
        "email" => ("E-mail", Text),
        "phone" => ("Telefone", Phone),
        "name" => ("Nome", Text),
        "role" => ("Papel", Role),
        "status" => ("Situação", Status),
        "scopes" | "scope" => ("Permissões", Scopes),
        "unlinked_applications" => ("Aplicações desligadas", Count),
        "recipients" => ("Destinatários", Count),
        "panic" => ("Falha", Text),
        "failures" => ("Tentativas erradas seguidas", Count),
        "via" => ("Por", Words),
        "file" => ("Arquivo", Text),
        "times" => ("Horários", Text),
        "retention_days" => ("Guardar por", Days),
        "remote_changed" => ("Destino da cópia externa alterado", Bool),
        "to" => ("Para", Text),
        "messages" => ("Mensagens", Count),
        "resealed" => ("Itens lacrados com a nova chave", Count),
        "host" => ("Servidor de e-mail", Text),
        "port" => ("Porta", Text),
        "security" => ("Segurança", Words),
        "username_set" => ("Com usuário", Bool),
        "password" => ("Senha", Words),
        "mail_from_changed" => ("Remetente alterado", Bool),
        "alert_recipients" => ("Destinatários de alertas", Count),
        "reason" => ("Motivo", Words),
        "company_admin_required" => ("Exigida de administradores de empresa", Bool),
        "left" => ("Tentativas restantes", Count),
        "minutes" => ("Bloqueio", Minutes),
        "with" => ("Com", Words),
        "had_factor" => ("Tinha verificação em duas etapas", Bool),
        "sessions_ended" => ("Sessões encerradas", Count),
        "tokens_revoked" => ("Chaves de API encerradas", Count),
        "app_key" => ("App key", Text),
        "rotated" => ("Troca de credenciais", Bool),
        "ok" => ("Aceitas pelo Omie", Bool),
        "cnpj_matches" => ("CNPJ confere com o do Omie", Bool),
        "cached" => ("Resultado de um teste recente", Bool),
        "known_on" => ("Conhecido em", Date),
        "risk" => ("Risco", Words),
        "anpd_notified_on" => ("ANPD comunicada em", Date),
        "subjects_notified_on" => ("Titulares comunicados em", Date),
        "sessions" => ("Sessões", Count),
        "tokens" => ("Chaves de API", Count),
        "rule" => ("Regra", Words),
        "days" => ("Prazo", Days),
        "before" => ("Prazo anterior", Days),
        "as_of" => ("Em", Date),
        "removed" => ("Apagados", Count),
        "device" => ("Aparelho", Text),
        "ip" => ("Endereço IP", Text),
        "created_at" => ("Sessão iniciada em", Date),
        "after_refusal" => ("Depois de uma recusa", Bool),
        "runs" => ("Backups", Count),
        "kind" => ("Tipo", Words),
        "size_bytes" => ("Tamanho", Bytes),
        "duration_ms" => ("Duração", Millis),
        "remote_status" => ("Cópia externa", Status),
        "error_code" => ("Erro", Words),
        "backup_made_at" => ("Backup feito em", Date),
        "subject" => ("Pessoa", Text),
        "erased_rows" => ("Registros anonimizados", Count),
        "anonymized" => ("Sem dados pessoais", Bool),
        "format" => ("Formato", Words),
        "rows" => ("Registros", Count),
        "due_at" => ("Prazo", Date),
        "late" => ("Atrasado", Bool),
        "events" => ("Ocorrências", Count),
        "outcome" => ("Resultado", Words),
        "owners" => ("Proprietários avisados", Count),
        "amount_cents" | "price_cents" => ("Valor", Money),
        "monthly_fee_cents" => ("Mensalidade", Money),
        "legacy_verdict" => ("Cadeia anterior", Words),
        "legacy_rows" => ("Registros convertidos", Count),
        // Retention's counts.
        "links" => ("Links de e-mail", Count),
        "access_records" => ("Registros de acesso", Count),
        "audit_ips" => ("Endereços IP na auditoria", Count),
        "sent_mail" => ("E-mails enviados", Count),
        "usage" => ("Registros de uso da API", Count),
        "signups" => ("Pedidos de acesso", Count),
        "invitations" => ("Convites", Count),
        _ => return None,
    })
}

/// Fixed words some values are recorded as.
fn words(v: &str) -> String {
    match v {
        "page" | "web" => "página".into(),
        "api" => "API".into(),
        "cli" => "linha de comando".into(),
        "code" => "código do aplicativo".into(),
        "password" => "senha".into(),
        "recovery" => "código de recuperação".into(),
        "starttls" => "STARTTLS".into(),
        "tls" => "TLS".into(),
        "none" => "nenhuma".into(),
        "kept" => "mantida".into(),
        "changed" | "set" => "alterada".into(),
        "cleared" | "removed" => "apagada".into(),
        "unchanged" => "mantida".into(),
        "sender_lost_right" => "quem convidou não pode mais convidar".into(),
        "company_inactive" => "a empresa não está ativa".into(),
        "manual" => "manual".into(),
        "scheduled" => "agendado".into(),
        "low" => "baixo".into(),
        "medium" => "médio".into(),
        "high" => "alto".into(),
        "intact" => "íntegra".into(),
        "broken" => "quebrada".into(),
        "planilha" => "planilha".into(),
        other => other.replace('_', " "),
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "Sim" } else { "Não" }
}

/// `12345678909` → `123.456.789-09`.
pub fn cpf_format(s: &str) -> String {
    let d: String = s.chars().filter(char::is_ascii_digit).collect();
    if d.len() != 11 {
        return s.to_string();
    }
    format!("{}.{}.{}-{}", &d[..3], &d[3..6], &d[6..9], &d[9..])
}

/// Cents as money: `123456` → `R$ 1.234,56`.
pub fn money_br(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.unsigned_abs();
    format!("{sign}R$ {},{:02}", int_br((c / 100) as i64), c % 100)
}

/// A date or time as recorded (database time or `aaaa-mm-dd`) in Brazilian form.
fn date_br(s: &str) -> String {
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d.format("%d/%m/%Y").to_string();
    }
    let br = time::db_to_br(s);
    if br.is_empty() { s.to_string() } else { br }
}

fn status_word(action: Option<Action>, v: &str) -> String {
    let group = action.map(Action::group);
    let label = match group {
        Some(ActionGroup::Companies) => CompanyStatus::parse(v).map(CompanyStatus::label),
        Some(ActionGroup::Backups) => BackupStatus::parse(v)
            .map(BackupStatus::label)
            .or_else(|| RemoteStatus::parse(v).map(RemoteStatus::label)),
        _ => None,
    }
    .or_else(|| UserStatus::parse(v).map(UserStatus::label))
    .or_else(|| RequestStatus::parse(v).map(RequestStatus::label))
    .or_else(|| PrivacyStatus::parse(v).map(PrivacyStatus::label))
    .or_else(|| CompanyStatus::parse(v).map(CompanyStatus::label));
    label.map(str::to_string).unwrap_or_else(|| words(v))
}

/// One value in words.
fn value(action: Option<Action>, kind: Kind, v: &Value) -> String {
    let text = match v {
        Value::Null => return "—".into(),
        Value::Bool(b) => return yes_no(*b).into(),
        Value::Array(items) => {
            let all: Vec<String> = items.iter().map(|i| value(action, kind, i)).collect();
            return if all.is_empty() {
                "nenhum".into()
            } else {
                all.join(", ")
            };
        }
        Value::Object(_) => return String::new(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
    };
    if text.trim().is_empty() {
        return "—".into();
    }
    let int = v.as_i64();
    match kind {
        Kind::Text => text,
        Kind::Phone => phone_format(&text),
        Kind::Cnpj => cnpj_format(&text),
        Kind::Cpf => cpf_format(&text),
        Kind::Date => date_br(&text),
        Kind::Bool => yes_no(matches!(text.as_str(), "true" | "1" | "yes")).into(),
        Kind::Count => int.map(int_br).unwrap_or(text),
        Kind::Days => match int {
            Some(1) => "1 dia".into(),
            Some(n) => format!("{} dias", int_br(n)),
            None => text,
        },
        Kind::Minutes => match int {
            Some(1) => "1 minuto".into(),
            Some(n) => format!("{} minutos", int_br(n)),
            None => text,
        },
        Kind::Bytes => int.map(time::bytes_br).unwrap_or(text),
        Kind::Millis => match int {
            Some(ms) if ms < 1000 => "menos de 1 segundo".into(),
            Some(ms) if ms < 120_000 => format!("{} segundos", int_br(ms / 1000)),
            Some(ms) => format!("{} minutos", int_br(ms / 60_000)),
            None => text,
        },
        Kind::Money => int.map(money_br).unwrap_or(text),
        Kind::Role => Role::parse(&text)
            .map(|r| r.label().to_string())
            .unwrap_or_else(|| words(&text)),
        Kind::Status => status_word(action, &text),
        Kind::Scopes => super::applications::scopes_in_words(&text),
        Kind::Words => words(&text),
    }
}

/// What a row's details (or facts) say, one sentence per fact.
fn describe(action: Option<Action>, v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Value::Object(map) = v {
        describe_map(action, map, &mut out);
    }
    out
}

fn describe_map(action: Option<Action>, map: &Map<String, Value>, out: &mut Vec<String>) {
    for (k, v) in map {
        match (k.as_str(), v) {
            // {"changed": {"phone": {"from": …, "to": …}}}
            ("changed", Value::Object(fields)) => {
                for (f, change) in fields {
                    if let Some((label, kind)) = key(f) {
                        let from = change.get("from").unwrap_or(&Value::Null);
                        let to = change.get("to").unwrap_or(&Value::Null);
                        out.push(format!(
                            "{label}: {} → {}",
                            value(action, kind, from),
                            value(action, kind, to)
                        ));
                    }
                }
            }
            // {"fields": {"legal_name": …}}: what a new record holds.
            ("fields", Value::Object(fields)) => describe_map(action, fields, out),
            (_, Value::Object(inner)) => match key(k) {
                // {"status": {"from": …, "to": …}}
                Some((label, kind)) if inner.contains_key("to") => {
                    let from = inner.get("from").unwrap_or(&Value::Null);
                    let to = inner.get("to").unwrap_or(&Value::Null);
                    out.push(format!(
                        "{label}: {} → {}",
                        value(action, kind, from),
                        value(action, kind, to)
                    ));
                }
                // {"removed": {"sessions": 3, …}}: counts under a heading.
                Some((label, _)) => {
                    let mut parts = Vec::new();
                    describe_map(action, inner, &mut parts);
                    if !parts.is_empty() {
                        out.push(format!("{label}: {}", parts.join(", ")));
                    }
                }
                None => {}
            },
            _ => {
                if let Some((label, kind)) = key(k) {
                    // Empty text says nothing.
                    if v.as_str().is_some_and(|s| s.trim().is_empty()) {
                        continue;
                    }
                    out.push(format!("{label}: {}", value(action, kind, v)));
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The chain's last verification

const VERIFIED_KEY: &str = "audit.last_verification";

/// A verification of the chain, as stored.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Check {
    /// When it ran (database time).
    pub at: String,
    pub intact: bool,
    pub rows: u64,
    /// The first row found wrong, when broken.
    pub broken_at: Option<i64>,
    /// Why, in English, for the log and the technical detail.
    pub reason: String,
}

impl Check {
    /// `dd/mm/aaaa às hh:mm`.
    pub fn when_br(&self) -> String {
        time::db_to_br(&self.at).replacen(' ', " às ", 1)
    }
}

/// Walks the chain now and stores the outcome (for the page, which only reads it); a
/// break, or its end, changes the `audit_chain` alert (mailed like the others).
/// Platform readers and the system only.
pub fn verify_now(
    conn: &mut Conn,
    keys: &Keys,
    settings: &Settings,
    actor: &Actor,
) -> Result<Check, AppError> {
    if !actor.is_platform() {
        return Err(AppError::Forbidden);
    }
    let verdict = super::audit::verify(conn, &keys.audit)?;
    let check = match verdict {
        Verdict::Intact { rows } => Check {
            at: time::now_db(),
            intact: true,
            rows,
            broken_at: None,
            reason: String::new(),
        },
        Verdict::Broken { at_id, reason } => {
            tracing::error!(at_id, reason, "the audit chain is broken");
            Check {
                at: time::now_db(),
                intact: false,
                rows: 0,
                broken_at: Some(at_id),
                reason,
            }
        }
    };
    let text = serde_json::to_string(&check).map_err(|e| AppError::Internal(e.into()))?;
    let at = check.at.clone();
    db::write(conn, move |tx| {
        app_settings::set(tx, VERIFIED_KEY, &text, &at)?;
        Ok(())
    })?;
    super::alerts::evaluate(conn, keys, settings, &None)?;
    Ok(check)
}

/// The last stored verification, if the chain was ever verified.
pub fn last_check(conn: &Connection) -> Result<Option<Check>, AppError> {
    Ok(app_settings::get(conn, VERIFIED_KEY)?.and_then(|t| serde_json::from_str(&t).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_phone_change_reads_in_brazilian_form() {
        let d = json!({"changed": {"phone": {"from": "+5511987654321", "to": "+551131234567"}}});
        assert_eq!(
            describe(Some(Action::CompanyUpdate), &d),
            ["Telefone: (11) 98765-4321 → (11) 3123-4567"]
        );
    }

    #[test]
    fn formats_are_brazilian() {
        let d = json!({
            "cnpj": "11222333000181",
            "ok": true,
            "cached": false,
            "size_bytes": 1_500_000,
            "retention_days": 30,
            "role": {"from": "company_user", "to": "company_admin"},
            "status": {"from": "active", "to": "suspended"},
            "known_on": "2026-03-04",
            "scopes": "companies:read omie_credentials:read",
            "client_id": "cli_abc",
            "erased_digest": "ff",
        });
        let text = describe(Some(Action::CompanySuspend), &d).join(" | ");
        for want in [
            "CNPJ: 11.222.333/0001-81",
            "Aceitas pelo Omie: Sim",
            "Resultado de um teste recente: Não",
            "Tamanho: 1,5 MB",
            "Guardar por: 30 dias",
            "Papel: Usuário da empresa → Administrador da empresa",
            "Situação: Ativa → Suspensa",
            "Conhecido em: 04/03/2026",
            "Ler as credenciais do Omie da empresa",
        ] {
            assert!(text.contains(want), "{want} in {text}");
        }
        assert!(!text.contains("cli_") && !text.contains("ff"), "{text}");
        assert_eq!(money_br(123_456), "R$ 1.234,56");
        assert_eq!(money_br(5), "R$ 0,05");
        assert_eq!(cpf_format("12345678909"), "123.456.789-09");
        assert_eq!(
            describe(None, &json!({"created_at": "2026-01-02T15:04:05.000000Z"})),
            ["Sessão iniciada em: 02/01/2026 12:04"]
        );
    }

    /// Every action the product writes reads as words: its label is Portuguese prose, not
    /// a code, and it belongs to a group the filter shows.
    #[test]
    fn every_action_has_a_rendering_that_is_not_a_raw_code() {
        let groups = action_groups();
        for a in Action::ALL {
            let l = a.label();
            assert_ne!(l, a.as_str(), "{a:?}");
            assert!(
                !l.contains('.') || l.contains(". "),
                "{a:?} reads like a code: {l}"
            );
            assert!(!l.contains('_'), "{a:?}: {l}");
            assert!(
                l.chars().next().is_some_and(char::is_uppercase),
                "{a:?}: {l}"
            );
            assert!(
                groups
                    .iter()
                    .any(|(_, acts)| acts.iter().any(|(c, _)| *c == a.as_str())),
                "{a:?} missing from the filter"
            );
        }
        // Every group has a Portuguese name and at least one action.
        for (g, acts) in &groups {
            assert!(!g.is_empty() && !acts.is_empty(), "{g}");
        }
    }

    /// Every key the product records today has words (or is deliberately hidden); the
    /// keys found in the source are listed in the module's table.
    #[test]
    fn recorded_keys_have_words_and_ids_never_show() {
        for k in [
            "after_refusal",
            "alert_recipients",
            "anonymized",
            "anpd_notified_on",
            "app_key",
            "as_of",
            "backup_made_at",
            "before",
            "cached",
            "cnpj",
            "cnpj_matches",
            "company_admin_required",
            "created_at",
            "days",
            "device",
            "due_at",
            "duration_ms",
            "email",
            "erased_rows",
            "error_code",
            "events",
            "failures",
            "file",
            "had_factor",
            "host",
            "ip",
            "kind",
            "known_on",
            "late",
            "left",
            "mail_from_changed",
            "messages",
            "minutes",
            "name",
            "ok",
            "outcome",
            "owners",
            "panic",
            "password",
            "port",
            "reason",
            "recipients",
            "remote_changed",
            "remote_status",
            "removed",
            "resealed",
            "retention_days",
            "risk",
            "role",
            "rotated",
            "rows",
            "rule",
            "runs",
            "scope",
            "scopes",
            "security",
            "sessions",
            "sessions_ended",
            "size_bytes",
            "status",
            "subject",
            "subjects_notified_on",
            "times",
            "to",
            "tokens",
            "tokens_revoked",
            "username_set",
            "via",
            "with",
            "phone",
            "legal_name",
            "trade_name",
            "contact_name",
            "unlinked_applications",
        ] {
            assert!(key(k).is_some(), "{k}");
        }
        for hidden in [
            "client_id",
            "secret_id",
            "invitation_id",
            "user_id",
            "key_id",
            "stored",
            "erased_digest",
        ] {
            assert!(key(hidden).is_none(), "{hidden}");
        }
        let d = json!({"invitation_id": "inv_x", "user_id": "usr_y", "name": "Ana", "role": "company_admin"});
        let text = describe(Some(Action::InvitationAccept), &d).join(" ");
        assert!(
            !text.contains("inv_") && !text.contains("usr_") && !text.contains('{'),
            "{text}"
        );
        assert!(text.contains("Papel: Administrador da empresa"), "{text}");
    }
}
