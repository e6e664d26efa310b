//! What an audit row records as having happened: one enum, its code (the dotted string
//! stored in the trail and hashed by the chain), its Portuguese words and its group.

/// The groups the audit page's action filter shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionGroup {
    Access,
    Companies,
    People,
    Omie,
    Applications,
    Backups,
    System,
}

impl ActionGroup {
    pub const ALL: &'static [ActionGroup] = &[
        Self::Access,
        Self::Companies,
        Self::People,
        Self::Omie,
        Self::Applications,
        Self::Backups,
        Self::System,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Self::Access => "Acesso",
            Self::Companies => "Empresas",
            Self::People => "Pessoas",
            Self::Omie => "Credenciais do Omie",
            Self::Applications => "Aplicações",
            Self::Backups => "Backups",
            Self::System => "Sistema",
        }
    }
}

macro_rules! actions {
    ($($variant:ident => $code:literal / $label:literal / $group:ident),+ $(,)?) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Action { $($variant),+ }

        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$variant),+];

            /// The code stored in the trail (and covered by its hash chain).
            pub fn as_str(self) -> &'static str {
                match self { $(Action::$variant => $code),+ }
            }

            /// What happened, in Portuguese, for people.
            pub fn label(self) -> &'static str {
                match self { $(Action::$variant => $label),+ }
            }

            pub fn group(self) -> ActionGroup {
                match self { $(Action::$variant => ActionGroup::$group),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($code => Some(Action::$variant),)+ _ => None }
            }
        }
    };
}

actions! {
    AuthLogin => "auth.login" / "Entrou no sistema" / Access,
    AuthLoginFailed => "auth.login_failed" / "Tentativa de entrada recusada" / Access,
    AuthLogout => "auth.logout" / "Saiu do sistema" / Access,
    SessionEnd => "session.end" / "Sessão encerrada" / Access,
    SessionTokenRevoke => "session.token_revoke" / "Chave de API de uma pessoa encerrada" / Access,
    SessionEndAll => "session.end_all" / "Todas as sessões e chaves de API encerradas" / Access,
    CompanyCreate => "company.create" / "Empresa cadastrada" / Companies,
    CompanyUpdate => "company.update" / "Empresa alterada" / Companies,
    CompanySuspend => "company.suspend" / "Empresa suspensa" / Companies,
    CompanyReactivate => "company.reactivate" / "Empresa reativada" / Companies,
    CompanyArchive => "company.archive" / "Empresa arquivada" / Companies,
    UserCreate => "user.create" / "Usuário criado" / People,
    EmailTest => "email.test" / "E-mail de teste enviado" / System,
    AuthLoginRefused => "auth.login_refused" / "Entrada recusada (conta inativa)" / Access,
    UserSignup => "user.signup" / "Pedido de acesso" / People,
    UserApprove => "user.approve" / "Acesso aprovado" / People,
    UserReject => "user.reject" / "Acesso recusado" / People,
    UserEnable => "user.enable" / "Conta reativada" / People,
    UserDisable => "user.disable" / "Conta desativada" / People,
    UserRoleChange => "user.role_change" / "Papel alterado" / People,
    CompanyRequestCreate => "company_request.create" / "Pedido de cadastro de empresa" / People,
    CompanyRequestAccept => "company_request.accept" / "Empresa aceita" / People,
    CompanyRequestRefuse => "company_request.refuse" / "Empresa recusada" / People,
    UserPasswordResetRequested => "user.password_reset_requested" / "Pediu troca de senha" / People,
    UserPasswordResetSent => "user.password_reset_sent" / "Link de troca de senha enviado" / People,
    UserPasswordReset => "user.password_reset" / "Senha trocada por link" / People,
    UserPasswordChange => "user.password_change" / "Senha alterada" / People,
    InvitationCreate => "invitation.create" / "Convite enviado" / People,
    InvitationResend => "invitation.resend" / "Convite reenviado" / People,
    InvitationRevoke => "invitation.revoke" / "Convite cancelado" / People,
    InvitationAccept => "invitation.accept" / "Convite aceito" / People,
    OmieCredentialsUpdate => "omie_credentials.update" / "Credenciais do Omie alteradas" / Omie,
    OmieCredentialsReveal => "omie_credentials.reveal" / "Segredo do Omie exibido" / Omie,
    OmieCredentialsTest => "omie_credentials.test" / "Credenciais do Omie testadas" / Omie,
    KeyRotate => "key.rotate" / "Chave mestra trocada" / System,
    OmieCredentialsRead => "omie_credentials.read" / "Credenciais do Omie lidas por aplicação" / Omie,
    ApplicationCreate => "application.create" / "Aplicação criada" / Applications,
    ApplicationUpdate => "application.update" / "Aplicação alterada" / Applications,
    ApplicationSecretRotate => "application.secret_rotate" / "Novo segredo de aplicação" / Applications,
    ApplicationSecretRevoke => "application.secret_revoke" / "Segredo de aplicação revogado" / Applications,
    ApplicationRevoke => "application.revoke" / "Aplicação revogada" / Applications,
    ApplicationLink => "application.link" / "Aplicação ligada à empresa" / Applications,
    ApplicationUnlink => "application.unlink" / "Aplicação desligada da empresa" / Applications,
    BackupStart => "backup.start" / "Backup iniciado" / Backups,
    BackupFinish => "backup.finish" / "Backup terminado" / Backups,
    BackupPrune => "backup.prune" / "Backups antigos apagados" / Backups,
    BackupInterrupted => "backup.interrupted" / "Backup interrompido por uma parada do servidor" / Backups,
    BackupDownload => "backup.download" / "Backup baixado" / Backups,
    BackupSettingsUpdate => "backup.settings_update" / "Configurações de backup alteradas" / Backups,
    BackupRecoveryKit => "backup.recovery_kit" / "Kit de recuperação exibido" / Backups,
    BackupRecoveryKitDenied => "backup.recovery_kit_denied" / "Kit de recuperação recusado (senha errada)" / Backups,
    AlertRaise => "alert.raise" / "Alerta enviado" / System,
    AlertClear => "alert.clear" / "Alerta resolvido" / System,
    ApplicationTokenIssue => "application.token_issue" / "Aplicação obteve um token" / Applications,
    ApplicationLogout => "application.logout" / "Aplicação encerrou o token" / Applications,
    SetupLinkIssue => "setup.link_issue" / "Link de criação do proprietário gerado" / Access,
    UserSignupRepeat => "user.signup_repeat" / "Pedido de cadastro com e-mail já conhecido" / People,
    BackupRestore => "backup.restore" / "Banco de dados restaurado de um backup" / Backups,
    EmailRetry => "email.retry" / "E-mails não enviados voltaram para a fila" / System,
    JobPanic => "job.panic" / "Tarefa de fundo falhou e foi reiniciada" / System,
    JobDead => "job.dead" / "Tarefa de fundo parou de vez" / System,
    UserSessionsEnded => "user.sessions_ended" / "Outras sessões encerradas" / People,
    UserUpdate => "user.update" / "Dados da pessoa alterados" / People,
    MfaEnrolStart => "mfa.enrol_start" / "Começou a ativar a verificação em duas etapas" / Access,
    MfaEnable => "mfa.enable" / "Verificação em duas etapas ativada" / Access,
    MfaDisable => "mfa.disable" / "Verificação em duas etapas desativada" / Access,
    MfaRecoveryRegenerate => "mfa.recovery_regenerate" / "Novos códigos de recuperação gerados" / Access,
    MfaRecoveryUsed => "mfa.recovery_used" / "Código de recuperação usado" / Access,
    MfaCodeRejected => "mfa.code_rejected" / "Código de verificação recusado" / Access,
    MfaLocked => "mfa.locked" / "Verificação em duas etapas bloqueada (5 códigos errados)" / Access,
    MfaReset => "mfa.reset" / "Verificação em duas etapas removida pela linha de comando" / Access,
    MailSettingsUpdate => "mail.settings_update" / "Configurações de e-mail alteradas" / System,
    OverviewChecklistHide => "overview.checklist_hide" / "Lista de primeiros passos ocultada" / System,
    VendorSettingsUpdate => "vendor.settings_update" / "Nome e logotipo da empresa alterados" / System,
    BackupRemoteTest => "backup.remote_test" / "Destino da cópia externa testado" / Backups,
    InvitationLinkCopy => "invitation.link_copy" / "Link de convite copiado" / People,
    PasswordResetLinkCopy => "user.password_reset_link_copy" / "Link de troca de senha copiado" / People,
    MfaPolicyUpdate => "mfa.policy_update" / "Exigência da verificação em duas etapas alterada" / System,
    AuthStepUp => "auth.step_up" / "Identidade confirmada para uma ação sensível" / Access,
    AuthStepUpFailed => "auth.step_up_failed" / "Confirmação de identidade recusada (senha errada)" / Access,
    PrivacyRetentionRun => "privacy.retention_run" / "Dados vencidos apagados pela retenção" / System,
    PrivacyRetentionUpdate => "privacy.retention_update" / "Prazo de retenção alterado" / System,
    PrivacyIncidentCreate => "privacy.incident_create" / "Incidente de segurança registrado" / System,
    PrivacyIncidentUpdate => "privacy.incident_update" / "Incidente de segurança atualizado" / System,
    PrivacyExport => "privacy.export" / "Dados pessoais exportados" / People,
    PrivacyRequestOpen => "privacy.request_open" / "Pedido de titular (LGPD) aberto" / People,
    PrivacyRequestResolve => "privacy.request_resolve" / "Pedido de titular (LGPD) respondido" / People,
    PrivacyRequestReminder => "privacy.request_reminder" / "Lembrete de prazo de pedido LGPD enviado" / People,
    AuditExport => "audit.export" / "Trilha de auditoria exportada" / System,
    PrivacyAnonymize => "privacy.anonymize" / "Pessoa anonimizada (dados pessoais apagados)" / People,
    PrivacyAnonymizeCompany => "privacy.anonymize_company" / "Empresa anonimizada ao fim do contrato" / Companies,
    PrivacyReapply => "privacy.reapply" / "Anonimização refeita após restaurar um backup" / System,
    AuditRechain => "audit.rechain" / "Trilha de auditoria convertida para permitir anonimização" / System,
    ReportSummarySend => "report.summary_send" / "Resumo semanal enviado aos proprietários" / System,
    NotifyPrefsUpdate => "notify.prefs_update" / "Preferências de notificação alteradas" / Access,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_a_unique_code_and_words() {
        let mut codes = std::collections::HashSet::new();
        for a in Action::ALL {
            assert!(codes.insert(a.as_str()), "{a:?}");
            assert!(!a.label().is_empty(), "{a:?}");
            assert_eq!(Action::parse(a.as_str()), Some(*a));
        }
    }
}
