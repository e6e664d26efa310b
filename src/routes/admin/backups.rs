//! `/admin/backups`: "Fazer backup agora", progress, history, download, schedule
//! settings, and the recovery kit for the master key.

use crate::domain::{BackupStatus, RemoteStatus};
use actix_files::NamedFile;
use actix_web::http::header::{ContentDisposition, DispositionParam, DispositionType};
use actix_web::{HttpRequest, HttpResponse, mime, web};
use askama::Template;
use serde::Deserialize;

use crate::backup::{self, remote};
use crate::error::AppError;
use crate::services::backups as uc;
use crate::services::backups::Backup;
use crate::time;
use crate::web::State;
use crate::web::error::PageError;
use crate::web::guard::SignedIn;
use crate::web::page::{Ctx, Form, Nav, redirect_outcome, render};

pub struct Row {
    pub id: String,
    pub when: String,
    pub kind: &'static str,
    pub size: String,
    pub duration: String,
    pub verified: bool,
    pub copy: String,
    pub copy_failed: bool,
    /// rclone's own words for a failed copy, shown folded away.
    pub copy_detail: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub error: String,
    pub downloadable: bool,
}

pub fn phase_br(phase: &str) -> &'static str {
    match phase {
        "snapshot" => "copiando o banco de dados",
        "check" => "verificando a integridade da cópia",
        "encrypt" => "comprimindo e criptografando",
        "verify" => "conferindo o arquivo criado",
        "copy" => "enviando a cópia para fora do servidor",
        "prune" => "apagando backups antigos",
        "done" => "concluído",
        _ => "iniciando",
    }
}

fn error_br(code: &str) -> &'static str {
    match code {
        "snapshot" => "Não foi possível copiar o banco de dados (disco cheio?).",
        "integrity" => "A cópia do banco de dados falhou na verificação de integridade.",
        "encrypt" => "Não foi possível gravar o arquivo criptografado (disco cheio?).",
        "verify" => "O arquivo criado não passou na conferência e foi descartado.",
        "interrupted" => "O servidor parou antes de o backup terminar.",
        _ => "O backup falhou.",
    }
}

/// What an off-site copy failure means, in words, from rclone's English message (which
/// the page keeps folded away as the technical detail).
pub fn remote_error_br(detail: &str) -> &'static str {
    let d = detail.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| d.contains(w));
    if has(&["not installed"]) {
        "O programa rclone, que envia as cópias, não está instalado neste servidor."
    } else if has(&["didn't find section", "config file", "unknown remote"]) {
        "Esse destino não existe na configuração do rclone deste servidor: confira o nome \
         (a parte antes dos dois-pontos) ou crie o destino com rclone config."
    } else if has(&[
        "401",
        "403",
        "unauthorized",
        "forbidden",
        "permission denied",
        "token",
        "auth",
    ]) {
        "O destino recusou o acesso: a autorização guardada no rclone pode ter expirado ou \
         sido revogada. Refaça a autorização com rclone config."
    } else if has(&["quota", "insufficient storage", "no space", "507"]) {
        "O destino está sem espaço livre."
    } else if has(&[
        "connection refused",
        "no such host",
        "dial tcp",
        "timeout",
        "timed out",
        "network is unreachable",
        "connection reset",
    ]) {
        "O destino não respondeu (sem conexão com a internet, ou o serviço está fora do ar)."
    } else {
        "Não foi possível enviar a cópia para fora do servidor."
    }
}

impl From<&Backup> for Row {
    fn from(b: &Backup) -> Self {
        let status_class = match b.status {
            BackupStatus::Succeeded => "ok",
            BackupStatus::Running => "pending",
            BackupStatus::Failed => "error",
        };
        let status = b.status.label();
        let (copy, copy_failed) = match (b.remote_status, &b.remote, &b.file_name) {
            (Some(RemoteStatus::Copied), Some(r), Some(n)) => {
                (format!("Copiado para {}", remote::target(r, n)), false)
            }
            (Some(RemoteStatus::Failed), _, _) => (
                format!(
                    "Falhou: {} O backup ficou guardado neste servidor.",
                    remote_error_br(b.remote_error.as_deref().unwrap_or(""))
                ),
                true,
            ),
            _ => ("Só no servidor".into(), false),
        };
        let error = match (&b.error_code, &b.error) {
            (Some(code), detail) => format!(
                "{} {}",
                error_br(code),
                detail
                    .as_deref()
                    .map(|d| format!("({d})"))
                    .unwrap_or_default()
            ),
            _ => String::new(),
        };
        Self {
            id: b.id.clone(),
            when: time::db_to_br(&b.started_at),
            kind: if b.kind == "scheduled" {
                "Agendado"
            } else {
                "Manual"
            },
            size: b.size_bytes.map(time::bytes_br).unwrap_or_default(),
            duration: b
                .duration_ms
                .map(|ms| format!("{:.1} s", ms as f64 / 1000.0).replace('.', ","))
                .unwrap_or_default(),
            verified: b.verified,
            copy,
            copy_failed,
            copy_detail: if copy_failed {
                b.remote_error.clone().unwrap_or_default()
            } else {
                String::new()
            },
            status,
            status_class,
            error,
            downloadable: b.status == crate::domain::BackupStatus::Succeeded
                && b.pruned_at.is_none()
                && b.file_name.is_some(),
        }
    }
}

pub struct SettingView {
    pub value: String,
    /// Set by the environment or the config file: shown, not editable here.
    pub fixed: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "admin/backups.html")]
struct Page {
    ctx: Ctx,
    running: Option<(String, &'static str)>,
    last_good: Option<(String, String)>,
    alerts: Vec<(String, String)>,
    rows: Vec<Row>,
    /// The older rows' page, when there are more.
    next_url: Option<String>,
    times: SettingView,
    retention: SettingView,
    remote: SettingView,
    next_run: String,
    /// The answer of "Testar destino", on the page it was pressed on.
    remote_test: Option<RemoteTest>,
}

/// "Testar destino"'s answer: in words, with rclone's own folded away.
struct RemoteTest {
    ok: bool,
    message: String,
    detail: String,
}

#[derive(Deserialize)]
pub struct ListQuery {
    cursor: Option<String>,
}

impl Page {
    fn new(
        ctx: Ctx,
        settings: &crate::config::Settings,
        summary: &uc::Summary,
        (rows, next): (Vec<Backup>, Option<String>),
    ) -> Self {
        // A value the environment or the config file sets is shown, not editable here.
        let fixed = |key: &'static str| {
            settings.explicit.contains(&key).then_some(match key {
                backup::SETTING_TIMES => "OTM_BACKUP_TIMES",
                backup::SETTING_RETENTION => "OTM_BACKUP_RETENTION_DAYS",
                _ => "OTM_BACKUP_REMOTE",
            })
        };
        let p = &summary.policy;
        let setting = |value: String, key| SettingView {
            value,
            fixed: fixed(key),
        };
        Self {
            ctx,
            running: summary
                .running
                .as_ref()
                .map(|b| (time::db_to_br(&b.started_at), phase_br(&b.phase))),
            last_good: summary.last_good.as_ref().map(|b| {
                let at = b.finished_at.as_deref().unwrap_or(&b.started_at);
                (time::ago_br(at), time::db_to_br(at))
            }),
            alerts: summary
                .alerts
                .iter()
                .map(|a| {
                    let what = if a.kind == "remote_failed" {
                        format!("{} {}", alert_br(&a.kind), remote_error_br(&a.detail))
                    } else {
                        alert_br(&a.kind).to_string()
                    };
                    (what, a.detail.clone())
                })
                .collect(),
            rows: rows.iter().map(Row::from).collect(),
            next_url: next.map(|cursor| {
                let qs = serde_urlencoded::to_string([("cursor", cursor)]);
                format!("/admin/backups?{}", qs.unwrap_or_default())
            }),
            times: setting(p.times_text.clone(), backup::SETTING_TIMES),
            retention: setting(p.retention_days.to_string(), backup::SETTING_RETENTION),
            remote: setting(p.remote.clone().unwrap_or_default(), backup::SETTING_REMOTE),
            remote_test: None,
            next_run: backup::schedule::next_slot(time::now(), &p.times)
                .map(|t| time::db_to_br(&time::to_db(t)))
                .unwrap_or_default(),
        }
    }
}

pub async fn show(
    state: State,
    ctx: Ctx,
    who: SignedIn,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, PageError> {
    let (actor, cursor) = (who.actor(), q.into_inner().cursor);
    let (summary, list) = state
        .run(move |conn, app| {
            let summary = uc::summary(conn, &app.settings, &actor)?;
            Ok((summary, uc::list(conn, &actor, cursor.as_deref(), 30)?))
        })
        .await?;
    let ctx = ctx.with_nav(Nav::Backups);
    render(&Page::new(ctx, &state.settings, &summary, list))
}

pub fn alert_br(kind: &str) -> &'static str {
    match kind {
        "backup_failed" => "O último backup falhou.",
        "remote_failed" => "A última cópia para fora do servidor falhou.",
        "backup_stale" => "Não há backup válido nas últimas 26 horas.",
        "db_integrity" => "A verificação de integridade do banco de dados falhou.",
        "mail_dead" => "Há e-mails que não puderam ser enviados (veja Configurações).",
        _ => "Há um alerta ativo.",
    }
}

pub async fn start(
    _req: HttpRequest,
    state: State,
    who: SignedIn,
    _form: Form<Empty>,
) -> Result<HttpResponse, PageError> {
    let actor = who.actor();
    let started = state
        .run(move |conn, app| uc::start(conn, &app.keys, &app.settings, &actor))
        .await
        .map(|(lock, row)| {
            crate::backup::jobs::spawn(state.get_ref().clone(), lock, row.id);
            "Backup iniciado. Esta página mostra o andamento e o resultado.".to_string()
        });
    redirect_outcome(&state, "/admin/backups", started)
}

#[derive(Deserialize)]
pub struct Empty {}

/// "Testar destino": writes and deletes a tiny file on the destination in force and
/// shows the answer on the backups page.
pub async fn test_remote(
    state: State,
    ctx: Ctx,
    who: SignedIn,
    _form: Form<Empty>,
) -> Result<HttpResponse, PageError> {
    let actor = who.actor();
    let tested = state
        .blocking(move |app| uc::test_remote(app, &actor))
        .await;
    let test = match tested {
        Ok(Ok(remote)) => RemoteTest {
            ok: true,
            message: format!(
                "Destino funcionando: um arquivo de teste foi gravado e apagado em {remote}."
            ),
            detail: String::new(),
        },
        Ok(Err(detail)) => RemoteTest {
            ok: false,
            message: format!(
                "O teste do destino falhou. {} Os backups continuam guardados neste servidor.",
                remote_error_br(&detail)
            ),
            detail,
        },
        Err(AppError::Validation(e)) => RemoteTest {
            ok: false,
            message: e
                .iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join(" "),
            detail: String::new(),
        },
        Err(e) => return Err(e.into()),
    };
    let actor = who.actor();
    let (summary, list) = state
        .run(move |conn, app| {
            let summary = uc::summary(conn, &app.settings, &actor)?;
            Ok((summary, uc::list(conn, &actor, None, 30)?))
        })
        .await?;
    let mut page = Page::new(ctx.with_nav(Nav::Backups), &state.settings, &summary, list);
    page.remote_test = Some(test);
    render(&page)
}

/// The owner's download of a backup file, through actix-files: byte ranges (a resumed or
/// parallel download), ETag and Last-Modified come with it. The use case refuses anyone
/// but the owner and writes the audit row once the file is open; that runs on the
/// blocking pool, and so does the `NamedFile` wrapping (it reads the file's metadata).
pub async fn download(
    req: HttpRequest,
    state: State,
    who: SignedIn,
    id: web::Path<String>,
    session: actix_session::Session,
) -> Result<HttpResponse, PageError> {
    let here = format!("/admin/backups/{}/download", id.as_str());
    if who.principal.role == crate::domain::Role::Owner
        && let Some(r) = crate::routes::mfa_pages::step_up(&state, &session, &who, &here)
    {
        return Ok(r);
    }
    let actor = who.actor();
    let id = id.into_inner();
    let file = state
        .run(move |conn, app| {
            let (file, _, name) = uc::download(conn, &app.keys, &app.settings, &actor, &id)?;
            let named = NamedFile::from_file(file, &name)
                .map_err(|e| AppError::Internal(anyhow::Error::new(e)))?;
            // Always a file to save, never something the browser tries to show.
            Ok(named
                .set_content_type(mime::APPLICATION_OCTET_STREAM)
                .set_content_disposition(ContentDisposition {
                    disposition: DispositionType::Attachment,
                    parameters: vec![DispositionParam::Filename(name)],
                }))
        })
        .await?;
    Ok(file.into_response(&req))
}

#[derive(Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    times: String,
    #[serde(default)]
    retention_days: String,
    #[serde(default)]
    remote: String,
}

pub async fn save_settings(
    _req: HttpRequest,
    state: State,
    ctx: Ctx,
    who: SignedIn,
    Form(f): Form<SettingsForm>,
) -> Result<HttpResponse, PageError> {
    let actor = who.actor();
    let input = uc::PolicyInput {
        times: f.times.clone(),
        retention_days: f.retention_days.clone(),
        remote: f.remote.clone(),
    };
    let saved = state
        .run(move |conn, app| uc::update_policy(conn, &app.keys, &app.settings, &actor, &input))
        .await;
    // Refused: the page again, with what was typed and why (nothing was saved).
    if let Err(AppError::Validation(errors)) = &saved {
        let message = errors
            .iter()
            .map(|e| e.message.clone())
            .collect::<Vec<_>>()
            .join(" ");
        let actor = who.actor();
        let (summary, list) = state
            .run(move |conn, app| {
                let summary = uc::summary(conn, &app.settings, &actor)?;
                Ok((summary, uc::list(conn, &actor, None, 30)?))
            })
            .await?;
        let mut ctx = ctx.with_nav(Nav::Backups);
        ctx.flash = Some(crate::web::page::Flash::error(message));
        let mut page = Page::new(ctx, &state.settings, &summary, list);
        let typed = |v: &mut SettingView, typed: String| {
            if v.fixed.is_none() {
                v.value = typed;
            }
        };
        typed(&mut page.times, f.times);
        typed(&mut page.retention, f.retention_days);
        // A destination with credentials in it is not echoed back into the page.
        if !(f.remote.contains('=') || f.remote.starts_with(':')) {
            typed(&mut page.remote, f.remote);
        }
        return crate::web::page::render_status(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            &page,
        );
    }
    let saved = saved.map(|p| {
        format!(
            "Configurações de backup salvas: horários {}, {} dias guardados.",
            p.times_text, p.retention_days
        )
    });
    redirect_outcome(&state, "/admin/backups", saved)
}

/// The recovery kit's page (where step-up sends the owner back to).
const KIT: &str = "/admin/backups/recovery-kit";

#[derive(Template)]
#[template(path = "admin/recovery_kit.html")]
struct KitPage {
    ctx: Ctx,
    error: String,
    kit: Option<uc::RecoveryKit>,
    made: String,
}

pub async fn kit_form(
    state: State,
    ctx: Ctx,
    who: SignedIn,
    session: actix_session::Session,
) -> Result<HttpResponse, PageError> {
    if !ctx.is_owner {
        return Err(AppError::Forbidden.into());
    }
    if let Some(r) = crate::routes::mfa_pages::step_up(&state, &session, &who, KIT) {
        return Ok(r);
    }
    render(&KitPage {
        ctx: ctx.with_nav(Nav::Backups),
        error: String::new(),
        kit: None,
        made: String::new(),
    })
}

#[derive(Deserialize)]
pub struct KitForm {
    #[serde(default)]
    password: String,
}

pub async fn kit_show(
    _req: HttpRequest,
    state: State,
    ctx: Ctx,
    who: SignedIn,
    Form(f): Form<KitForm>,
    session: actix_session::Session,
) -> Result<HttpResponse, PageError> {
    if ctx.is_owner
        && let Some(r) = crate::routes::mfa_pages::step_up(&state, &session, &who, KIT)
    {
        return Ok(r);
    }
    let (actor, ctx) = (who.actor(), ctx.with_nav(Nav::Backups));
    let r = state
        .blocking(move |app| uc::recovery_kit(app, &actor, &f.password))
        .await;
    let error = match r {
        Ok(kit) => return render(&KitPage::shown(ctx, kit)),
        Err(AppError::Validation(e)) => e.first().map(|e| e.message.clone()).unwrap_or_default(),
        Err(AppError::Throttled { retry_after_secs }) => {
            format!("Muitas tentativas com a senha errada. Aguarde {retry_after_secs} segundos.")
        }
        Err(e) => return Err(e.into()),
    };
    render(&KitPage::refused(ctx, error))
}

impl KitPage {
    fn shown(ctx: Ctx, kit: uc::RecoveryKit) -> Self {
        let made = time::db_to_br(&kit.made_at);
        Self {
            ctx,
            error: String::new(),
            kit: Some(kit),
            made,
        }
    }

    fn refused(ctx: Ctx, error: String) -> Self {
        Self {
            ctx,
            error,
            kit: None,
            made: String::new(),
        }
    }
}
