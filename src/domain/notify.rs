//! Notifications by e-mail (DESIGN §8.4): the four categories every mutation belongs to,
//! the three choices a person makes per category, and THE table that puts each audit
//! action in one category and says whether it is mailed at all.

use super::Action;

/// What a mail is about; each person chooses per category.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Category {
    Security,
    Approvals,
    Changes,
    System,
}

impl Category {
    pub const ALL: [Category; 4] = [Self::Security, Self::Approvals, Self::Changes, Self::System];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Security => "security",
            Self::Approvals => "approvals",
            Self::Changes => "changes",
            Self::System => "system",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The name people read.
    pub fn label(self) -> &'static str {
        match self {
            Self::Security => "Segurança",
            Self::Approvals => "Aprovações",
            Self::Changes => "Alterações",
            Self::System => "Sistema",
        }
    }

    /// What the category holds, in words for the owner.
    pub fn explanation(self) -> &'static str {
        match self {
            Self::Security => {
                "Verificação em duas etapas ligada ou desligada, senhas trocadas, papéis \
                 alterados, sessões encerradas, segredos e kits de recuperação exibidos, \
                 backups baixados, incidentes de segurança."
            }
            Self::Approvals => {
                "Pedidos de cadastro de empresas, acessos aprovados ou recusados, convites \
                 enviados, aceitos ou cancelados, pedidos de titular (LGPD)."
            }
            Self::Changes => {
                "Empresas cadastradas, alteradas, suspensas, reativadas ou arquivadas; \
                 pessoas criadas, alteradas, desativadas; credenciais do Omie e aplicações \
                 alteradas."
            }
            Self::System => {
                "Configurações de e-mail, de backup, de retenção e da marca alteradas, \
                 restaurações de backup, backups interrompidos, troca da chave mestra."
            }
        }
    }

    /// The choice of a person who never chose.
    pub fn default_choice(self) -> Choice {
        match self {
            Self::Changes => Choice::Daily,
            _ => Choice::Immediate,
        }
    }
}

/// When a person gets the mails of a category.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    Immediate,
    Daily,
    Off,
}

impl Choice {
    pub const ALL: [Choice; 3] = [Self::Immediate, Self::Daily, Self::Off];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Immediate => "immediate",
            Self::Daily => "daily",
            Self::Off => "off",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Immediate => "Na hora",
            Self::Daily => "Resumo diário",
            Self::Off => "Não receber",
        }
    }
}

/// A person's four choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prefs {
    pub security: Choice,
    pub approvals: Choice,
    pub changes: Choice,
    pub system: Choice,
}

impl Default for Prefs {
    fn default() -> Self {
        Self {
            security: Category::Security.default_choice(),
            approvals: Category::Approvals.default_choice(),
            changes: Category::Changes.default_choice(),
            system: Category::System.default_choice(),
        }
    }
}

impl Prefs {
    pub fn get(&self, c: Category) -> Choice {
        match c {
            Category::Security => self.security,
            Category::Approvals => self.approvals,
            Category::Changes => self.changes,
            Category::System => self.system,
        }
    }

    pub fn set(&mut self, c: Category, v: Choice) {
        match c {
            Category::Security => self.security = v,
            Category::Approvals => self.approvals = v,
            Category::Changes => self.changes = v,
            Category::System => self.system = v,
        }
    }
}

/// Whether an action's row is mailed, and why not when it is not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mailing {
    /// Mailed to the platform's people by their choice for the category.
    Mailed,
    /// A read, a routine or machine event: recorded in the trail only, so the mails
    /// stay worth reading.
    Quiet,
    /// Another mail already tells the owner (new sign-in, alerts, sign-up requests,
    /// LGPD reminders): mailing it again would be a double mail.
    MailedElsewhere,
}

/// THE table: each action's category and whether it is mailed. Exhaustive, so a new
/// action does not compile until it is placed here.
pub fn notice(a: Action) -> (Category, Mailing) {
    use Action::*;
    use Category::*;
    use Mailing::*;
    match a {
        // Signing in and out: the new-device mail already covers the one worth knowing.
        AuthLogin | AuthLoginFailed | AuthLogout | AuthLoginRefused => (Security, MailedElsewhere),
        SessionEnd | NotifyPrefsUpdate | AuthStepUp | AuthStepUpFailed | MfaEnrolStart
        | MfaCodeRejected => (Security, Quiet),
        SessionTokenRevoke | SessionEndAll | UserSessionsEnded => (Security, Mailed),
        MfaEnable
        | MfaDisable
        | MfaRecoveryRegenerate
        | MfaRecoveryUsed
        | MfaLocked
        | MfaReset
        | MfaPolicyUpdate => (Security, Mailed),
        UserRoleChange | UserPasswordChange | UserPasswordReset => (Security, Mailed),
        // Anyone can ask for a reset link: mailing the owner each time would be a flood.
        UserPasswordResetRequested | UserPasswordResetSent => (Security, Quiet),
        PasswordResetLinkCopy | InvitationLinkCopy | SetupLinkIssue => (Security, Mailed),
        OmieCredentialsReveal | BackupRecoveryKit | BackupRecoveryKitDenied | BackupDownload => {
            (Security, Mailed)
        }
        // An application reading its company's keys is the normal work of the proxy.
        OmieCredentialsRead | ApplicationTokenIssue | ApplicationLogout => (Security, Quiet),
        ApplicationSecretRotate | ApplicationSecretRevoke | KeyRotate => (Security, Mailed),
        PrivacyIncidentCreate | PrivacyIncidentUpdate | PrivacyExport | AuditExport => {
            (Security, Mailed)
        }
        // Sign-up requests already mail the owners (signup_owner).
        UserSignup | UserSignupRepeat => (Approvals, MailedElsewhere),
        UserApprove | UserReject | CompanyRequestCreate | CompanyRequestAccept
        | CompanyRequestRefuse => (Approvals, Mailed),
        InvitationCreate | InvitationResend | InvitationRevoke | InvitationAccept => {
            (Approvals, Mailed)
        }
        PrivacyRequestOpen | PrivacyRequestResolve => (Approvals, Mailed),
        PrivacyRequestReminder => (Approvals, MailedElsewhere),
        CompanyCreate
        | CompanyUpdate
        | CompanySuspend
        | CompanyReactivate
        | CompanyArchive
        | PrivacyAnonymizeCompany => (Changes, Mailed),
        UserCreate | UserEnable | UserDisable | UserUpdate | PrivacyAnonymize => (Changes, Mailed),
        OmieCredentialsUpdate
        | ApplicationCreate
        | ApplicationUpdate
        | ApplicationRevoke
        | ApplicationLink
        | ApplicationUnlink => (Changes, Mailed),
        OmieCredentialsTest => (Changes, Quiet),
        BackupSettingsUpdate
        | BackupRestore
        | BackupInterrupted
        | MailSettingsUpdate
        | VendorSettingsUpdate
        | PrivacyRetentionUpdate
        | PrivacyReapply
        | AuditRechain
        | EmailRetry => (System, Mailed),
        // Routine, or already an alert mail of its own (alerts, failed jobs).
        BackupStart
        | BackupFinish
        | BackupPrune
        | BackupRemoteTest
        | EmailTest
        | OverviewChecklistHide
        | PrivacyRetentionRun => (System, Quiet),
        AlertRaise | AlertClear | JobPanic | JobDead => (System, MailedElsewhere),
        // The weekly summary is itself the mail to the owners.
        ReportSummarySend => (System, MailedElsewhere),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_one_category_and_the_reads_stay_out_of_changes() {
        for a in Action::ALL {
            let (c, m) = notice(*a);
            assert!(Category::ALL.contains(&c), "{a:?}");
            if c == Category::Changes {
                assert!(
                    !matches!(a, Action::OmieCredentialsRead | Action::AuthLogin),
                    "{a:?}"
                );
            }
            let _ = m;
        }
        assert_eq!(
            notice(Action::CompanyCreate),
            (Category::Changes, Mailing::Mailed)
        );
        assert_eq!(notice(Action::AuthLogin).1, Mailing::MailedElsewhere);
        assert_eq!(notice(Action::OmieCredentialsRead).1, Mailing::Quiet);
    }

    #[test]
    fn defaults_are_changes_daily_and_the_rest_immediate() {
        let p = Prefs::default();
        assert_eq!(p.changes, Choice::Daily);
        for c in [Category::Security, Category::Approvals, Category::System] {
            assert_eq!(p.get(c), Choice::Immediate);
        }
        for c in Category::ALL {
            assert_eq!(Category::parse(c.as_str()), Some(c));
        }
        assert_eq!(Choice::parse("weekly"), None);
    }
}
