//! The e-mail settings the owner changes on the settings page: the SMTP server, the
//! sender and the alert recipients. Each is stored in the database; a value the
//! environment (or the config file) sets wins and is shown read-only. The SMTP password
//! is sealed under the master key, like the Omie credentials, and never shown again.
//! The mailer reads [`load`] before each round, so a change takes effect without a restart.

use crate::db::Conn;
use rusqlite::Connection;
use serde_json::json;

use super::{Actor, Keys};
use crate::config::{Settings, SmtpSecurity, SmtpSettings};
use crate::db::{self, app_settings, audit};
use crate::domain::{Action, Email, Role};
use crate::error::{AppError, FieldError};
use crate::time;

pub const HOST: &str = "smtp_host";
pub const PORT: &str = "smtp_port";
pub const SECURITY: &str = "smtp_security";
pub const USERNAME: &str = "smtp_username";
pub const PASSWORD: &str = "smtp_password";
pub const MAIL_FROM: &str = "mail_from";
pub const ALERT_EMAILS: &str = "alert_emails";

/// What the stored password is sealed to.
const PASSWORD_AAD: &str = "setting:smtp_password";

/// The environment variable that sets `key`.
pub fn env_name(key: &str) -> String {
    format!("OTM_{}", key.to_ascii_uppercase())
}

/// The mail settings in force: the dashboard's values, each one the environment sets
/// replaced by the environment's.
#[derive(Clone, Debug)]
pub struct MailConfig {
    /// `None` while no SMTP host is in force: mail stays queued.
    pub smtp: Option<SmtpSettings>,
    pub mail_from: String,
    /// Empty: alerts go to the owners.
    pub alert_emails: Vec<String>,
    pub host: String,
    pub port: Option<u16>,
    pub security: SmtpSecurity,
    pub username: String,
    pub has_password: bool,
    /// The keys above that the environment or config file sets (not editable here).
    pub fixed: Vec<&'static str>,
}

impl MailConfig {
    pub fn is_fixed(&self, key: &str) -> bool {
        self.fixed.contains(&key)
    }
}

/// Whether mail left the last time the settings were read ([`load`] keeps it): pages
/// read it to offer "Copiar link" while mail is off, without a query of their own.
static MAIL_ON: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The last known answer of "does mail leave?" (the use cases check the database).
pub fn mail_on_cached() -> bool {
    MAIL_ON.load(std::sync::atomic::Ordering::Relaxed)
}

/// The configuration in force now.
pub fn load(conn: &Connection, keys: &Keys, settings: &Settings) -> Result<MailConfig, AppError> {
    let cfg = load_uncached(conn, keys, settings)?;
    MAIL_ON.store(cfg.smtp.is_some(), std::sync::atomic::Ordering::Relaxed);
    Ok(cfg)
}

fn load_uncached(
    conn: &Connection,
    keys: &Keys,
    settings: &Settings,
) -> Result<MailConfig, AppError> {
    let fixed: Vec<&'static str> = [
        HOST,
        PORT,
        SECURITY,
        USERNAME,
        PASSWORD,
        MAIL_FROM,
        ALERT_EMAILS,
    ]
    .into_iter()
    .filter(|k| settings.explicit.contains(k))
    .collect();
    let stored = |key: &'static str| -> Result<Option<String>, AppError> {
        if fixed.contains(&key) {
            Ok(None)
        } else {
            Ok(app_settings::get(conn, key)?)
        }
    };
    let env = &settings.smtp_fields;
    let host = if fixed.contains(&HOST) {
        env.host.clone()
    } else {
        stored(HOST)?.unwrap_or_default()
    };
    let security = if fixed.contains(&SECURITY) {
        env.security
    } else {
        stored(SECURITY)?.and_then(|s| SmtpSecurity::parse(&s))
    }
    .unwrap_or(SmtpSecurity::Starttls);
    let port = if fixed.contains(&PORT) {
        env.port
    } else {
        stored(PORT)?.and_then(|p| p.parse::<u16>().ok().filter(|p| *p > 0))
    };
    let username = if fixed.contains(&USERNAME) {
        env.username.clone()
    } else {
        stored(USERNAME)?.unwrap_or_default()
    };
    let password = if fixed.contains(&PASSWORD) {
        env.password.clone()
    } else {
        match stored(PASSWORD)?.filter(|s| !s.is_empty()) {
            Some(sealed) => match keys.ring.open_string(PASSWORD_AAD, &sealed) {
                Ok(p) => p,
                Err(_) => {
                    tracing::warn!("the stored SMTP password does not open with the master key");
                    String::new()
                }
            },
            None => String::new(),
        }
    };
    let mail_from = stored(MAIL_FROM)?
        .filter(|f| !f.trim().is_empty())
        .unwrap_or_else(|| settings.mail_from.clone());
    let alert_emails = match stored(ALERT_EMAILS)? {
        Some(list) => split_list(&list),
        None => settings.alert_emails.clone(),
    };
    let smtp = (!host.trim().is_empty()).then(|| SmtpSettings {
        host: host.trim().to_string(),
        port: port.unwrap_or_else(|| security.default_port()),
        security,
        username: Some(username.clone()).filter(|u| !u.is_empty()),
        password: Some(password.clone()).filter(|p| !p.is_empty()),
    });
    Ok(MailConfig {
        smtp,
        mail_from,
        alert_emails,
        host,
        port,
        security,
        username,
        has_password: !password.is_empty(),
        fixed,
    })
}

fn split_list(s: &str) -> Vec<String> {
    s.split([',', ';', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// True when an SMTP host is in force (mail leaves; otherwise it waits in the queue).
pub fn sending_configured(conn: &Connection, settings: &Settings) -> Result<bool, AppError> {
    let on = if settings.explicit.contains(&HOST) {
        !settings.smtp_fields.host.trim().is_empty()
    } else {
        app_settings::get(conn, HOST)?.is_some_and(|h| !h.trim().is_empty())
    };
    MAIL_ON.store(on, std::sync::atomic::Ordering::Relaxed);
    Ok(on)
}

/// [`sending_configured`] with a connection of its own (for pages that answer visitors).
pub fn mail_leaves(app: &super::app::App) -> Result<bool, AppError> {
    sending_configured(&*app.pool.get()?, &app.settings)
}

/// The words a flash uses after something queued an e-mail: `sent` ("Convite enviado
/// para …") while mail leaves, the truth while it cannot.
pub fn mail_flash(configured: bool, sent: &str, queued: &str) -> String {
    if configured {
        sent.to_string()
    } else {
        format!("{queued} O e-mail ficará na fila até o envio ser configurado (em Configurações).")
    }
}

/// What the owner typed on the settings page (no `Debug`: it holds the password).
#[derive(Clone, Default, serde::Deserialize)]
pub struct MailInput {
    #[serde(default)]
    pub host: String,
    #[serde(default)]
    pub port: String,
    #[serde(default)]
    pub security: String,
    #[serde(default)]
    pub username: String,
    /// Blank keeps the stored password.
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub clear_password: Option<String>,
    #[serde(default)]
    pub mail_from: String,
    #[serde(default)]
    pub alert_emails: String,
}

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// Checks and stores the owner's e-mail settings (those the environment sets stay);
/// audited without the password.
pub fn update(
    conn: &mut Conn,
    keys: &Keys,
    settings: &Settings,
    actor: &Actor,
    input: &MailInput,
) -> Result<MailConfig, AppError> {
    match actor.role() {
        Some(Role::Owner) => {}
        Some(Role::Staff) => return Err(AppError::Forbidden),
        _ => return Err(AppError::NotFound),
    }
    let mut errors = Vec::new();
    // A field the environment sets is not checked: the page cannot change it.
    let editable = |key: &str| !settings.explicit.contains(&key);
    let host = input.host.trim().to_string();
    let host_ok = host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_:[]".contains(c));
    if editable(HOST) && !host_ok {
        errors.push(FieldError::new(
            "host",
            "Informe só o nome do servidor de e-mail, como smtp.gmail.com (sem espaços, sem http://).",
        ));
    }
    let port = match input.port.trim() {
        "" => None,
        p => match p.parse::<u16>() {
            Ok(p) if p > 0 => Some(p),
            _ if !editable(PORT) => None,
            _ => {
                errors.push(FieldError::new(
                    "port",
                    "Informe a porta com números, de 1 a 65535 (normalmente 587 ou 465), ou deixe em branco.",
                ));
                None
            }
        },
    };
    let security = match SmtpSecurity::parse(&input.security) {
        Some(s) => s,
        None if !editable(SECURITY) => SmtpSecurity::Starttls,
        None => {
            errors.push(FieldError::new(
                "security",
                "Escolha a segurança da conexão: STARTTLS, TLS ou nenhuma.",
            ));
            SmtpSecurity::Starttls
        }
    };
    let username = input.username.trim().to_string();
    if editable(USERNAME) && (username.len() > 320 || has_control(&username)) {
        errors.push(FieldError::new(
            "username",
            "O usuário pode ter até 320 caracteres, sem quebras de linha.",
        ));
    }
    if editable(PASSWORD) && (input.password.len() > 500 || has_control(&input.password)) {
        errors.push(FieldError::new(
            "password",
            "A senha pode ter até 500 caracteres, sem quebras de linha.",
        ));
    }
    let mail_from = input.mail_from.trim().to_string();
    let from_ok = !mail_from.is_empty()
        && mail_from.len() <= 320
        && !has_control(&mail_from)
        && mail_from.parse::<lettre::message::Mailbox>().is_ok();
    if editable(MAIL_FROM) && !from_ok {
        errors.push(FieldError::new(
            "mail_from",
            "Informe o remetente como um e-mail, ou como Nome <email@empresa.com.br>.",
        ));
    }
    let mut alerts = Vec::new();
    let typed_alerts = if editable(ALERT_EMAILS) {
        split_list(&input.alert_emails)
    } else {
        vec![]
    };
    for a in typed_alerts {
        match Email::parse(&a) {
            Ok(e) => alerts.push(e.as_str().to_string()),
            Err(_) => {
                errors.push(FieldError::new(
                    "alert_emails",
                    format!(
                        "\"{a}\" não é um e-mail válido. Separe os endereços por vírgula, ou deixe em branco para avisar os proprietários."
                    ),
                ));
                break;
            }
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let clear = input.clear_password.is_some();
    let w_keys = keys.to_owned();
    let w_settings = settings.to_owned();
    let w_actor = actor.to_owned();
    let w_input = input.to_owned();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let settings = &w_settings;
        let actor = &w_actor;
        let input = &w_input;
        let now = time::now_db();
        let old = load(tx, keys, settings)?;
        let mut stored = Vec::new();
        let mut values: Vec<(&'static str, String)> = vec![
            (HOST, host.clone()),
            (PORT, port.map(|p| p.to_string()).unwrap_or_default()),
            (SECURITY, security.as_str().to_string()),
            (USERNAME, username.clone()),
            (MAIL_FROM, mail_from.clone()),
            (ALERT_EMAILS, alerts.join(", ")),
        ];
        let password = if clear {
            values.push((PASSWORD, String::new()));
            "cleared"
        } else if !input.password.is_empty() {
            values.push((
                PASSWORD,
                keys.ring.seal(PASSWORD_AAD, input.password.as_bytes()),
            ));
            "changed"
        } else {
            "kept"
        };
        for (key, value) in values {
            if !old.is_fixed(key) {
                app_settings::set(tx, key, &value, &now)?;
                stored.push(key);
            }
        }
        let new = load(tx, keys, settings)?;
        let mut entry = actor.entry(Action::MailSettingsUpdate, "settings", Some("mail"));
        // Never the password: only whether it changed.
        entry.details = json!({
            "host": new.host,
            "port": new.port,
            "security": new.security.as_str(),
            "username_set": !new.username.is_empty(),
            "password": if old.is_fixed(PASSWORD) { "kept" } else { password },
            "mail_from_changed": old.mail_from != new.mail_from,
            "alert_recipients": new.alert_emails.len(),
            "stored": stored,
        });
        audit::append(tx, &keys.audit, &now, &entry)?;
        Ok(new)
    })
}

/// Where a test message stands: `None` while it waits, `Some(Ok)` once sent,
/// `Some(Err(reason))` when the mailer gave up or the last attempt failed.
pub fn test_status(
    conn: &Connection,
    actor: &Actor,
    id: i64,
) -> Result<Option<Result<(), String>>, AppError> {
    actor.platform_only()?;
    Ok(
        crate::db::outbox::status(conn, id)?.and_then(|(status, last_error)| {
            if status == "sent" {
                Some(Ok(()))
            } else {
                last_error.map(Err)
            }
        }),
    )
}

/// A reason from the mailer, in words the owner can act on (the technical text follows).
pub fn reason_br(err: &str) -> String {
    let e = err.to_ascii_lowercase();
    let what = if e.contains("connection refused") {
        "o servidor de e-mail recusou a conexão (confira o servidor e a porta)"
    } else if e.contains("timed out") || e.contains("timeout") {
        "o servidor de e-mail não respondeu a tempo (confira o servidor, a porta e a segurança)"
    } else if e.contains("authentication")
        || e.contains("credentials")
        || e.contains("535")
        || e.contains("auth")
    {
        "o servidor de e-mail não aceitou o usuário e a senha"
    } else if e.contains("tls") || e.contains("certificate") || e.contains("handshake") {
        "a conexão segura falhou (confira a segurança escolhida: STARTTLS ou TLS)"
    } else if e.contains("dns") || e.contains("resolve") || e.contains("lookup") {
        "o nome do servidor de e-mail não foi encontrado"
    } else if e.contains("550") || e.contains("mailbox") {
        "o servidor recusou o destinatário (confira o endereço)"
    } else {
        "o servidor de e-mail não aceitou a mensagem"
    };
    format!("{what}. Detalhe técnico: {err}")
}
