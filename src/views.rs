//! Display forms of stored rows, shared by pages: masks, Portuguese labels, local times.

use crate::db::audit::Entry;
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

pub struct AuditView {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub action_label: &'static str,
    pub entity: String,
    pub company_id: String,
    pub ip: String,
    pub details: String,
}

/// Portuguese descriptions of audit actions, for people.
pub fn action_label(action: &str) -> &'static str {
    match action {
        "auth.login" => "Entrou no sistema",
        "auth.login_failed" => "Tentativa de entrada recusada",
        "auth.logout" => "Saiu do sistema",
        "company.create" => "Empresa cadastrada",
        "company.update" => "Empresa alterada",
        "company.suspend" => "Empresa suspensa",
        "company.reactivate" => "Empresa reativada",
        "company.archive" => "Empresa arquivada",
        "user.create" => "Usuário criado",
        "email.test" => "E-mail de teste enviado",
        "auth.login_refused" => "Entrada recusada (conta inativa)",
        "user.signup" => "Pedido de acesso",
        "user.approve" => "Acesso aprovado",
        "user.reject" => "Acesso recusado",
        "user.enable" => "Conta reativada",
        "user.disable" => "Conta desativada",
        "user.role_change" => "Papel alterado",
        "company_request.create" => "Pedido de cadastro de empresa",
        "company_request.accept" => "Empresa aceita",
        "company_request.refuse" => "Empresa recusada",
        "user.password_reset_requested" => "Pediu troca de senha",
        "user.password_reset_sent" => "Link de troca de senha enviado",
        "user.password_reset" => "Senha trocada por link",
        "user.password_change" => "Senha alterada",
        "invitation.create" => "Convite enviado",
        "invitation.resend" => "Convite reenviado",
        "invitation.revoke" => "Convite cancelado",
        "invitation.accept" => "Convite aceito",
        "omie_credentials.update" => "Credenciais do Omie alteradas",
        "omie_credentials.reveal" => "Segredo do Omie exibido",
        "omie_credentials.test" => "Credenciais do Omie testadas",
        "key.rotate" => "Chave mestra trocada",
        "omie_credentials.read" => "Credenciais do Omie lidas por aplicação",
        "application.create" => "Aplicação criada",
        "application.update" => "Aplicação alterada",
        "application.secret_rotate" => "Novo segredo de aplicação",
        "application.secret_revoke" => "Segredo de aplicação revogado",
        "application.revoke" => "Aplicação revogada",
        "application.link" => "Aplicação ligada à empresa",
        "application.unlink" => "Aplicação desligada da empresa",
        "backup.start" => "Backup iniciado",
        "backup.finish" => "Backup terminado",
        "backup.prune" => "Backups antigos apagados",
        "backup.interrupted" => "Backup interrompido por uma parada do servidor",
        "backup.download" => "Backup baixado",
        "backup.settings_update" => "Configurações de backup alteradas",
        "backup.recovery_kit" => "Kit de recuperação exibido",
        "backup.recovery_kit_denied" => "Kit de recuperação recusado (senha errada)",
        "alert.raise" => "Alerta enviado",
        "alert.clear" => "Alerta resolvido",
        "application.token_issue" => "Aplicação obteve um token",
        "application.logout" => "Aplicação encerrou o token",
        "setup.link_issue" => "Link de criação do proprietário gerado",
        "user.signup_repeat" => "Pedido de cadastro com e-mail já conhecido",
        "backup.restore" => "Banco de dados restaurado de um backup",
        "email.retry" => "E-mails não enviados voltaram para a fila",
        "job.panic" => "Tarefa de fundo falhou e foi reiniciada",
        "job.dead" => "Tarefa de fundo parou de vez",
        _ => "",
    }
}

pub const AUDIT_ACTIONS: &[&str] = &[
    "auth.login",
    "auth.login_failed",
    "auth.logout",
    "company.create",
    "company.update",
    "company.suspend",
    "company.reactivate",
    "company.archive",
    "user.create",
    "email.test",
    "auth.login_refused",
    "user.signup",
    "user.approve",
    "user.reject",
    "user.enable",
    "user.disable",
    "user.role_change",
    "company_request.create",
    "company_request.accept",
    "company_request.refuse",
    "user.password_reset_requested",
    "user.password_reset_sent",
    "user.password_reset",
    "user.password_change",
    "invitation.create",
    "invitation.resend",
    "invitation.revoke",
    "invitation.accept",
    "omie_credentials.update",
    "omie_credentials.reveal",
    "omie_credentials.test",
    "key.rotate",
    "omie_credentials.read",
    "application.create",
    "application.update",
    "application.secret_rotate",
    "application.secret_revoke",
    "application.revoke",
    "application.link",
    "application.unlink",
    "backup.start",
    "backup.finish",
    "backup.prune",
    "backup.interrupted",
    "backup.download",
    "backup.settings_update",
    "backup.recovery_kit",
    "backup.recovery_kit_denied",
    "alert.raise",
    "alert.clear",
    "application.token_issue",
    "application.logout",
    "setup.link_issue",
    "user.signup_repeat",
    "backup.restore",
    "email.retry",
    "job.panic",
    "job.dead",
];

impl From<&Entry> for AuditView {
    fn from(e: &Entry) -> Self {
        Self {
            id: e.id,
            at: time::db_to_br(&e.at),
            actor: if e.actor_label.is_empty() {
                e.actor_type.clone()
            } else {
                e.actor_label.clone()
            },
            action: e.action.clone(),
            action_label: action_label(&e.action),
            entity: match &e.entity_id {
                Some(id) => format!("{} {}", e.entity_type, id),
                None => e.entity_type.clone(),
            },
            company_id: e.company_id.clone().unwrap_or_default(),
            ip: e.ip.clone(),
            details: e.details.clone(),
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
