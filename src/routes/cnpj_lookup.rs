//! The CNPJ look-up behind the company forms: `GET /admin/companies/lookup?cnpj=` (platform
//! users) and `GET /signup/lookup?cnpj=` (visitors, limited per address). `static/app.js`
//! calls them as a CNPJ is typed and fills the form; without JavaScript the forms' "Buscar
//! dados do CNPJ" button does the same through [`notes`] and a re-rendered form.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::domain::Cnpj;
use crate::services::cnpj_lookup::{CnpjInfo, Lookup};
use crate::web::{Edge, State};

#[derive(Deserialize)]
pub struct LookupQuery {
    #[serde(default)]
    cnpj: String,
}

/// The answer `app.js` reads.
#[derive(Serialize, Default)]
struct Answer {
    /// `found`, `not_found`, `unavailable`, `off`, `invalid` or `throttled`.
    status: &'static str,
    cnpj: String,
    legal_name: String,
    trade_name: String,
    email: String,
    phone: String,
    situation: String,
    /// What to show beside the CNPJ, in Portuguese.
    messages: Vec<String>,
}

/// What the form says after a look-up: that it was filled, the company's name (for the
/// sign-up page, which has no fields for it), and its situação when not active, or why
/// nothing was filled.
pub fn notes(found: &Lookup, with_name: bool) -> Vec<String> {
    let mut out = Vec::new();
    if let Lookup::Found(i) = found {
        if with_name {
            out.push(company_line(i));
        } else {
            out.push(
                "Dados preenchidos com o cadastro da Receita; confira antes de salvar.".into(),
            );
        }
    }
    out.extend(found.message());
    out
}

fn company_line(i: &CnpjInfo) -> String {
    if i.trade_name.is_empty() || i.trade_name == i.legal_name {
        format!("Empresa: {}", i.legal_name)
    } else {
        format!("Empresa: {} ({})", i.legal_name, i.trade_name)
    }
}

async fn answer(state: &State, raw: &str, with_name: bool) -> HttpResponse {
    let cnpj = match Cnpj::parse(raw) {
        Ok(c) => c,
        Err(m) => {
            return HttpResponse::BadRequest().json(Answer {
                status: "invalid",
                messages: vec![m.to_string()],
                ..Default::default()
            });
        }
    };
    let found = state.cnpj.lookup(&cnpj).await;
    let mut a = Answer {
        status: found.code(),
        cnpj: cnpj.formatted(),
        messages: notes(&found, with_name),
        ..Default::default()
    };
    if let Lookup::Found(i) = found {
        a.legal_name = i.legal_name;
        a.trade_name = i.trade_name;
        a.email = i.email;
        a.phone = i.phone;
        a.situation = i.situation;
    }
    HttpResponse::Ok().json(a)
}

/// `GET /admin/companies/lookup?cnpj=`.
pub async fn for_platform(state: State, q: web::Query<LookupQuery>) -> HttpResponse {
    answer(&state, &q.cnpj, false).await
}

/// The message for a visitor who asked too often.
pub fn throttled_message(wait_secs: u64) -> String {
    format!(
        "Muitas consultas de CNPJ deste endereço. Aguarde {} minuto(s) ou preencha os dados à mão.",
        wait_secs.div_ceil(60)
    )
}

/// `GET /signup/lookup?cnpj=`: the same, for visitors, limited per address.
pub async fn for_visitor(
    req: HttpRequest,
    state: State,
    q: web::Query<LookupQuery>,
) -> HttpResponse {
    if let Err(wait) = state.cnpj.admit_visitor(&state.client_ip(&req)) {
        return HttpResponse::TooManyRequests()
            .insert_header((header::RETRY_AFTER, wait.to_string()))
            .json(Answer {
                status: "throttled",
                messages: vec![throttled_message(wait)],
                ..Default::default()
            });
    }
    answer(&state, &q.cnpj, true).await
}
