//! The guide in Portuguese: `/admin/ajuda` for the owner and staff, `/portal/ajuda` for
//! a client company's people. Every page's "Ajuda" link ([`Ctx::help_href`]) opens the
//! section about it; [`ADMIN_SECTIONS`] and [`PORTAL_SECTIONS`] are the tables of
//! contents, and a test checks that every link lands on a section that exists.

use actix_web::HttpResponse;
use askama::Template;

use crate::web::error::PageError;
use crate::web::page::{Ctx, Nav, render};

/// The owner's guide: (anchor, title), in reading order.
pub const ADMIN_SECTIONS: &[(&str, &str)] = &[
    ("visao-geral", "A visão geral"),
    ("email", "Configurar o envio de e-mails"),
    ("empresas", "Cadastrar e cuidar das empresas"),
    ("aprovacoes", "Aprovar pessoas e convidar"),
    ("papeis", "O que cada papel pode fazer"),
    ("aplicacoes", "Aplicações e suas credenciais"),
    ("relatorios", "Ler os relatórios de uso"),
    ("auditoria", "Auditoria: quem fez o quê"),
    ("backups", "Backups: fazer e restaurar"),
    ("saude", "Saúde do sistema"),
    ("privacidade", "Privacidade (LGPD)"),
    ("conta", "Sua conta e a verificação em duas etapas"),
];

/// The portal's guide.
pub const PORTAL_SECTIONS: &[(&str, &str)] = &[
    ("empresa", "Minha empresa"),
    ("papeis", "Quem pode fazer o quê"),
    ("pessoas", "Pessoas da empresa"),
    ("omie", "Credenciais do Omie"),
    ("aplicacoes", "Aplicações com acesso à sua empresa"),
    ("uso", "Uso da API"),
    ("historico", "Histórico"),
    ("conta", "Sua conta e seus dados"),
];

#[derive(Template)]
#[template(path = "help/admin.html")]
struct AdminHelp {
    ctx: Ctx,
    sections: &'static [(&'static str, &'static str)],
}

#[derive(Template)]
#[template(path = "help/portal.html")]
struct PortalHelp {
    ctx: Ctx,
    sections: &'static [(&'static str, &'static str)],
    vendor: String,
}

pub async fn admin(ctx: Ctx) -> Result<HttpResponse, PageError> {
    render(&AdminHelp {
        ctx: ctx.with_nav(Nav::Help),
        sections: ADMIN_SECTIONS,
    })
}

pub async fn portal(ctx: Ctx) -> Result<HttpResponse, PageError> {
    render(&PortalHelp {
        ctx: ctx.with_nav(Nav::Help),
        sections: PORTAL_SECTIONS,
        vendor: crate::services::audit::vendor_name().to_string(),
    })
}
