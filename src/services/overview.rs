//! The dashboard's first page: how many companies and people, what happened lately,
//! and whether the newest good backup is too old.

use crate::db::Conn;
use rusqlite::Connection;

use super::Actor;
use crate::db::audit::Entry;
use crate::db::overview as db_overview;
use crate::db::{app_settings, backups, companies, users};
use crate::domain::{Action, CompanyStatus, Role};
use crate::error::AppError;
use crate::time;
use crate::views::int_br;

pub struct Overview {
    pub active: i64,
    pub suspended: i64,
    pub archived: i64,
    pub users: i64,
    pub recent: Vec<Entry>,
    /// When the newest good backup finished, and whether that is too long ago.
    pub last_backup: Option<(String, bool)>,
    /// The newest off-site copy failed (and an off-site destination is still set): the
    /// backup is not healthy, whatever its age.
    pub copy_failing: bool,
    /// A backup is running now (the first one, when there is no good backup yet).
    pub running: bool,
}

pub fn overview(
    conn: &Connection,
    actor: &Actor,
    settings: &crate::config::Settings,
) -> Result<Overview, AppError> {
    actor.platform_only()?;
    let counts = companies::count_by_status(conn)?;
    let count = |s: CompanyStatus| {
        counts
            .iter()
            .find(|(k, _)| *k == s)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    };
    let (recent, _) = super::audit::list(conn, actor, Default::default(), 10)?;
    let last_backup = backups::last_good(conn)?.map(|b| {
        let at = b.finished_at.unwrap_or(b.started_at);
        let stale = time::parse_db(&at).is_none_or(|t| {
            time::now() - t > chrono::Duration::hours(super::alerts::STALE_AFTER_HOURS)
        });
        (at, stale)
    });
    let has_remote = crate::backup::Policy::load(conn, settings)?
        .remote
        .is_some();
    let copy_failing = has_remote
        && backups::last_copy_attempt(conn)?
            .is_some_and(|b| b.remote_status == Some(crate::domain::RemoteStatus::Failed));
    Ok(Overview {
        active: count(CompanyStatus::Active),
        suspended: count(CompanyStatus::Suspended),
        archived: count(CompanyStatus::Archived),
        users: users::count(conn)?,
        recent,
        last_backup,
        copy_failing,
        running: backups::running(conn)?.is_some(),
    })
}

/// How long a message may wait in the queue (with mail configured) before it is "stuck".
pub const MAIL_STUCK_MINUTES: i64 = 15;
/// Invitations expiring within this many hours are listed.
pub const EXPIRING_HOURS: i64 = 48;
/// At most this many expiring invitations are named one by one.
const EXPIRING_NAMED: usize = 5;

/// Facts the checklist cannot derive from the data (kept in `app_settings`).
pub const FACT_TEST_MAIL: &str = "fact.test_mail_sent_at";
pub const FACT_RECOVERY_KIT: &str = "fact.recovery_kit_viewed_at";
pub const CHECKLIST_HIDDEN: &str = "overview.checklist_hidden_at";

/// One line of "Precisa da sua atenção": a sentence and the button that deals with it.
#[derive(Clone, Debug)]
pub struct Attention {
    /// A stable name, for tests and the page's ids.
    pub key: String,
    pub text: String,
    pub href: String,
    pub button: &'static str,
    /// Red (something failed) rather than amber (something waits).
    pub severe: bool,
}

/// One step of "Primeiros passos".
#[derive(Clone, Debug)]
pub struct Step {
    pub key: &'static str,
    pub label: &'static str,
    pub done: bool,
    pub href: &'static str,
    pub button: &'static str,
}

fn line(
    key: impl Into<String>,
    text: String,
    href: impl Into<String>,
    button: &'static str,
    severe: bool,
) -> Attention {
    Attention {
        key: key.into(),
        text,
        href: href.into(),
        button,
        severe,
    }
}

/// What needs a person: decisions waiting, alerts in force, companies that cannot reach
/// Omie, invitations about to expire. Empty: "Tudo em ordem".
pub fn attention(
    conn: &Connection,
    actor: &Actor,
    settings: &crate::config::Settings,
) -> Result<Vec<Attention>, AppError> {
    actor.platform_only()?;
    let mut out = Vec::new();
    let pending = users::pending_count(conn)?;
    if pending > 0 {
        out.push(line(
            "signups",
            if pending == 1 {
                "1 pedido de acesso aguarda a sua aprovação.".to_string()
            } else {
                format!(
                    "{} pedidos de acesso aguardam a sua aprovação.",
                    int_br(pending)
                )
            },
            "/admin/users",
            "Ver pedidos",
            false,
        ));
    }
    let requests = crate::db::company_requests::pending_count(conn)?;
    if requests > 0 {
        out.push(line(
            "company_requests",
            if requests == 1 {
                "1 pedido de cadastro de empresa nova aguarda a sua decisão.".to_string()
            } else {
                format!(
                    "{} pedidos de cadastro de empresa nova aguardam a sua decisão.",
                    int_br(requests)
                )
            },
            "/admin/users",
            "Ver pedidos",
            false,
        ));
    }
    for c in super::alerts::conditions(conn, settings, &None)? {
        if !c.active {
            continue;
        }
        let (text, href, button) = match c.kind {
            "backup_failed" => (
                "O último backup falhou. Veja o motivo e tente de novo.".to_string(),
                "/admin/backups",
                "Abrir backups",
            ),
            "remote_failed" => (
                "A cópia do último backup para fora do servidor (cópia externa) falhou. Confira o destino.".to_string(),
                "/admin/backups",
                "Abrir backups",
            ),
            "backup_stale" => (
                "Não há backup válido nas últimas 26 horas. Faça um backup agora.".to_string(),
                "/admin/backups",
                "Abrir backups",
            ),
            "mail_dead" => (
                {
                    let n = crate::db::outbox::dead_count(conn)?;
                    if n == 1 {
                        "1 e-mail não pôde ser enviado depois de todas as tentativas. Veja o erro e tente de novo.".to_string()
                    } else {
                        format!(
                            "{} e-mails não puderam ser enviados depois de todas as tentativas. Veja o erro de cada um e tente de novo.",
                            int_br(n)
                        )
                    }
                },
                "/admin/settings",
                "Ver e-mails",
            ),
            _ => continue,
        };
        out.push(line(c.kind, text, href, button, true));
    }
    if app_settings::alerts(conn)?
        .iter()
        .any(|a| a.kind == "db_integrity" && a.active)
    {
        out.push(line(
            "db_integrity",
            "A verificação de integridade do banco de dados falhou. Não apague nada; faça um backup e peça ajuda técnica.".into(),
            "/admin/backups",
            "Abrir backups",
            true,
        ));
    }
    let queued = crate::db::outbox::pending_count(conn)?;
    if !super::mail_settings::sending_configured(conn, settings)? {
        out.push(line(
            "mail_off",
            if queued == 0 {
                "O envio de e-mail não está configurado: convites, aprovações e trocas de senha ficarão na fila.".to_string()
            } else {
                format!(
                    "O envio de e-mail não está configurado: {} na fila.",
                    crate::views::count_br(queued, "e-mail aguarda", "e-mails aguardam")
                )
            },
            "/admin/settings",
            "Configurar e-mail",
            true,
        ));
    } else if let Some(oldest) = db_overview::oldest_queued(conn)?
        && time::parse_db(&oldest)
            .is_some_and(|t| time::now() - t > chrono::Duration::minutes(MAIL_STUCK_MINUTES))
    {
        out.push(line(
            "mail_stuck",
            format!(
                "O e-mail está parado: {} na fila, o mais antigo desde {}. Confira o servidor de e-mail.",
                crate::views::count_br(queued, "mensagem", "mensagens"),
                time::db_to_br(&oldest)
            ),
            "/admin/settings",
            "Ver a fila",
            true,
        ));
    }
    let missing = db_overview::companies_without_credentials(conn)?;
    if missing > 0 {
        out.push(line(
            "omie_missing",
            if missing == 1 {
                "1 empresa ativa ainda não tem as credenciais do Omie.".to_string()
            } else {
                format!(
                    "{} empresas ativas ainda não têm as credenciais do Omie.",
                    int_br(missing)
                )
            },
            "/admin/companies?status=active&omie=missing",
            "Ver empresas",
            false,
        ));
    }
    let failed = db_overview::companies_with_failed_credentials(conn)?;
    if failed > 0 {
        out.push(line(
            "omie_failed",
            if failed == 1 {
                "1 empresa ativa tem credenciais do Omie que falharam no último teste.".to_string()
            } else {
                format!(
                    "{} empresas ativas têm credenciais do Omie que falharam no último teste.",
                    int_br(failed)
                )
            },
            "/admin/companies?status=active&omie=failed",
            "Ver empresas",
            true,
        ));
    }
    let now = time::now();
    let (soon, total) = db_overview::invitations_expiring(
        conn,
        &time::to_db(now),
        &time::to_db(now + chrono::Duration::hours(EXPIRING_HOURS)),
        EXPIRING_NAMED,
    )?;
    for inv in &soon {
        let (place, href) = match (&inv.company_id, &inv.company_name) {
            (Some(id), Some(name)) => (
                format!(" para a empresa {name}"),
                format!("/admin/companies/{id}"),
            ),
            _ => (" para a equipe".to_string(), "/admin/users".to_string()),
        };
        out.push(line(
            format!("invitation_{}", inv.id),
            format!(
                "O convite de {}{place} vence em {}. Reenvie se a pessoa ainda não aceitou.",
                inv.email,
                time::db_to_br(&inv.expires_at)
            ),
            href,
            "Ver convite",
            false,
        ));
    }
    if total > soon.len() as i64 {
        out.push(line(
            "invitations_more",
            format!(
                "E mais {} vencem nas próximas {EXPIRING_HOURS} horas.",
                crate::views::count_br(total - soon.len() as i64, "convite", "convites")
            ),
            "/admin/users",
            "Ver convites",
            false,
        ));
    }
    Ok(out)
}

/// The first-steps checklist, for the owner while it is not hidden.
pub fn checklist(
    conn: &Connection,
    actor: &Actor,
    settings: &crate::config::Settings,
) -> Result<Option<Vec<Step>>, AppError> {
    actor.platform_only()?;
    if actor.role() != Some(Role::Owner) || app_settings::get(conn, CHECKLIST_HIDDEN)?.is_some() {
        return Ok(None);
    }
    let mail = super::mail_settings::sending_configured(conn, settings)?
        && (app_settings::get(conn, FACT_TEST_MAIL)?.is_some()
            || db_overview::test_mail_sent(conn)?);
    let policy = crate::backup::Policy::load(conn, settings)?;
    Ok(Some(vec![
        Step {
            key: "mail",
            label: "Configurar o envio de e-mail e receber o e-mail de teste",
            done: mail,
            href: "/admin/settings",
            button: "Configurar e-mail",
        },
        Step {
            key: "backup",
            label: "Fazer o primeiro backup",
            done: backups::last_good(conn)?.is_some(),
            href: "/admin/backups",
            button: "Fazer backup agora",
        },
        Step {
            key: "kit",
            label: "Imprimir ou baixar o kit de recuperação (a chave para restaurar os backups)",
            done: app_settings::get(conn, FACT_RECOVERY_KIT)?.is_some(),
            href: "/admin/backups/recovery-kit",
            button: "Abrir o kit",
        },
        Step {
            key: "offsite",
            label: "Configurar a cópia externa dos backups (fora deste servidor)",
            done: policy.remote.is_some(),
            href: "/admin/backups#destino",
            button: "Configurar destino",
        },
        Step {
            key: "company",
            label: "Cadastrar a primeira empresa cliente",
            done: db_overview::any_company(conn)?,
            href: "/admin/companies/new",
            button: "Cadastrar empresa",
        },
        Step {
            key: "application",
            label: "Criar a primeira aplicação (o sistema que acessa o Omie pelas empresas)",
            done: db_overview::any_application(conn)?,
            href: "/admin/applications",
            button: "Criar aplicação",
        },
    ]))
}

/// The owner hides the checklist once every step is done (audited).
pub fn hide_checklist(
    conn: &mut Conn,
    keys: &super::Keys,
    settings: &crate::config::Settings,
    actor: &Actor,
) -> Result<(), AppError> {
    actor.platform_only()?;
    if actor.role() != Some(Role::Owner) {
        return Err(AppError::Forbidden);
    }
    let steps = checklist(conn, actor, settings)?;
    if steps.as_ref().is_some_and(|s| s.iter().any(|s| !s.done)) {
        return Err(AppError::field(
            "checklist",
            "Conclua todos os primeiros passos antes de ocultar a lista.",
        ));
    }
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    crate::db::write(conn, move |tx| {
        let keys = &w_keys;
        let actor = &w_actor;
        let now = time::now_db();
        app_settings::set(tx, CHECKLIST_HIDDEN, &now, &now)?;
        let entry = actor.entry(Action::OverviewChecklistHide, "settings", Some("checklist"));
        crate::db::audit::append(tx, &keys.audit, &now, &entry)?;
        Ok(())
    })
}

/// Records, in the caller's transaction, a fact the checklist cannot derive.
pub fn record_fact(conn: &Connection, key: &str) -> Result<(), AppError> {
    let now = time::now_db();
    app_settings::get_or_init(conn, key, &now, &now)?;
    Ok(())
}
