//! E-mail: messages rendered from Portuguese text + HTML templates, queued in the outbox
//! inside the caller's transaction, and sent by [`worker`].

pub mod worker;

use askama::Template;
use rusqlite::Connection;

use crate::db::outbox::{self, NewMail};
use crate::error::AppError;
use crate::keyring::Keyring;

/// A message ready to queue.
pub struct Outgoing {
    pub kind: &'static str,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// What the bodies of queued mail are sealed to (they carry reset and invitation links
/// until sent, and are blanked once sent).
pub const BODY_AAD: &str = "outbox-body";

/// The base URL this process makes links with (`OTM_BASE_URL`, or the bound address),
/// set once at start. Each queued message records it, and the mailer rewrites the links
/// to the base URL in force when it sends (the setting may change while mail waits).
static LINK_BASE: std::sync::RwLock<String> = std::sync::RwLock::new(String::new());

pub fn set_link_base(base_url: &str) {
    *LINK_BASE.write().unwrap_or_else(|e| e.into_inner()) = base_url.to_string();
}

/// The base URL links are made with now ("" before the start set it).
pub fn link_base() -> String {
    LINK_BASE.read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// A queued body's links, made with `queued_base`, moved to `base_now`.
pub fn rebase(body: &str, queued_base: Option<&str>, base_now: &str) -> String {
    match queued_base {
        Some(old) if !old.is_empty() && old != base_now => body.replace(old, base_now),
        _ => body.to_string(),
    }
}

/// Writes the message to the outbox, its bodies sealed under the master key; it leaves
/// when the caller's transaction commits.
pub fn queue(conn: &Connection, ring: &Keyring, m: &Outgoing, now: &str) -> Result<i64, AppError> {
    let base = link_base();
    Ok(outbox::insert(
        conn,
        &NewMail {
            kind: m.kind,
            to: &m.to,
            subject: &m.subject,
            text: &ring.seal(BODY_AAD, m.text.as_bytes()),
            html: &ring.seal(BODY_AAD, m.html.as_bytes()),
            sealed: true,
            link_base: Some(base.as_str()).filter(|b| !b.is_empty()),
        },
        now,
    )?)
}

/// Rewrites a held message (see `outbox::replace_held`), its bodies sealed like
/// `queue`'s; false when it already left the hold.
pub fn replace_held(
    conn: &Connection,
    ring: &Keyring,
    id: i64,
    m: &Outgoing,
    not_before: &str,
) -> Result<bool, AppError> {
    Ok(outbox::replace_held(
        conn,
        id,
        &m.subject,
        &ring.seal(BODY_AAD, m.text.as_bytes()),
        &ring.seal(BODY_AAD, m.html.as_bytes()),
        not_before,
    )?)
}

/// The last check before a value becomes a header: no line break or other control
/// character in the address or the subject (the forms refuse them first; this keeps a
/// value from anywhere else from splitting a header). Refused in the caller's
/// transaction, so nothing it was writing is kept.
pub fn header_safe(to: &str, subject: &str) -> Result<(), AppError> {
    if to.chars().any(char::is_control) {
        return Err(AppError::field(
            "email",
            "O e-mail não pode ter quebras de linha nem caracteres de controle.",
        ));
    }
    if subject.chars().any(char::is_control) {
        return Err(AppError::field(
            "name",
            "O nome não pode ter quebras de linha nem caracteres de controle.",
        ));
    }
    Ok(())
}

/// Declares a message: its data, its subject, and its two templates
/// (`templates/email/<name>.txt` and `.html`), which see the data as `m`.
macro_rules! message {
    ($name:ident, $kind:literal, $txt:literal, $html:literal, { $($field:ident : $ty:ty),* $(,)? }) => {
        pub struct $name { $(pub $field: $ty),* }

        const _: () = {
            #[derive(Template)]
            #[template(path = $txt)]
            struct Text<'a> { m: &'a $name }

            #[derive(Template)]
            #[template(path = $html)]
            struct Html<'a> { m: &'a $name }

            impl $name {
                pub fn to_outgoing(&self, to: &str, subject: String) -> Result<Outgoing, AppError> {
                    let render = |e: askama::Error| AppError::Internal(anyhow::Error::new(e).context("render e-mail"));
                    header_safe(to, &subject)?;
                    Ok(Outgoing {
                        kind: $kind,
                        to: to.to_string(),
                        subject,
                        text: Text { m: self }.render().map_err(render)?,
                        html: Html { m: self }.render().map_err(render)?,
                    })
                }
            }
        };
    };
}

message!(TestMessage, "test", "email/test.txt", "email/test.html", {
    base_url: String,
    requested_by: String,
});

message!(SignupReceived, "signup_received", "email/signup_received.txt", "email/signup_received.html", {
    name: String,
    cnpj: String,
    new_company: bool,
});

message!(SignupForOwner, "signup_owner", "email/signup_owner.txt", "email/signup_owner.html", {
    name: String,
    email: String,
    cnpj: String,
    company: String,
    link: String,
});

message!(SignupDecided, "signup_decided", "email/signup_decided.txt", "email/signup_decided.html", {
    name: String,
    approved: bool,
    reason: String,
    login_link: String,
});

message!(SignupAgain, "signup_again", "email/signup_again.txt", "email/signup_again.html", {
    login_link: String,
});

message!(PasswordResetMessage, "password_reset", "email/password_reset.txt", "email/password_reset.html", {
    name: String,
    link: String,
});

message!(InvitationMessage, "invitation", "email/invitation.txt", "email/invitation.html", {
    inviter: String,
    company: String,
    role: String,
    link: String,
    expires: String,
});

message!(MfaNotice, "mfa", "email/mfa_notice.txt", "email/mfa_notice.html", {
    name: String,
    headline: String,
    detail: String,
    advice: String,
    link: String,
});

/// One change in a notification: when, who did what to what, and what changed.
#[derive(Clone, Debug)]
pub struct MailLine {
    pub when: String,
    pub text: String,
    pub changes: Vec<String>,
}

message!(NotifyMessage, "notify", "email/notify.txt", "email/notify.html", {
    name: String,
    headline: String,
    digest: bool,
    lines: Vec<MailLine>,
    link: String,
    prefs_link: String,
});

message!(AlertMessage, "alert", "email/alert.txt", "email/alert.html", {
    raised: bool,
    what: String,
    detail: String,
    advice: String,
    link: String,
});

message!(SummaryMessage, "summary", "email/summary.txt", "email/summary.html", {
    r: crate::services::summary::Summary,
    link: String,
});

message!(NewSignInMessage, "new_sign_in", "email/new_sign_in.txt", "email/new_sign_in.html", {
    name: String,
    when: String,
    device: String,
    ip: String,
    link: String,
});

message!(PasswordChangedMessage, "password_changed", "email/password_changed.txt", "email/password_changed.html", {
    name: String,
    when: String,
    ip: String,
    by_link: bool,
    link: String,
});

message!(PrivacyOpened, "privacy_opened", "email/privacy_opened.txt", "email/privacy_opened.html", {
    name: String,
    kind: String,
    opened: String,
    due: String,
    link: String,
});

message!(PrivacyResolved, "privacy_resolved", "email/privacy_resolved.txt", "email/privacy_resolved.html", {
    name: String,
    kind: String,
    opened: String,
    done: bool,
    reason: String,
    link: String,
});

message!(PrivacyReminder, "privacy_reminder", "email/privacy_reminder.txt", "email/privacy_reminder.html", {
    items: Vec<(String, String, String)>,
    link: String,
});
