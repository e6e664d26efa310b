//! Company use cases: create, edit, change status, read, list.

/// The rows this use case answers with, for the interfaces.
pub use crate::db::companies::Company;

use crate::db::Conn;
use crate::db::Tx;
use crate::domain::Action;
use rusqlite::Connection;
use serde_json::{Map, Value, json};
use std::sync::Arc;

use super::app::App;
use super::company_index::{self, Builder, CompanyIndex, Shown};
use super::{Actor, Keys, Page};
use crate::crypto::new_id;
pub use crate::db::companies::OmieFilter;
use crate::db::companies::{self as store, Fields, ListFilter, Picked};
use crate::db::{self, audit};
use crate::domain::{Cnpj, CompanyStatus, Email, MonthlyFee, Phone, Role, required_text};
use crate::error::{AppError, FieldError};
use crate::time;

/// Raw input, as typed. `None` leaves a field as it is (PATCH); on create it means empty.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct CompanyInput {
    pub legal_name: Option<String>,
    pub trade_name: Option<String>,
    pub cnpj: Option<String>,
    pub contact_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// The monthly fee; `None` leaves it as it is (on create: no fee).
    #[serde(skip)]
    pub monthly_fee: Option<FeeInput>,
}

/// A monthly fee as given: typed on a page ("R$ 1.234,56", empty clears it) or in cents
/// through the API (`null` clears it).
#[derive(Clone, Debug)]
pub enum FeeInput {
    Typed(String),
    Cents(Option<i64>),
}

impl FeeInput {
    fn parse(&self) -> Result<Option<MonthlyFee>, String> {
        match self {
            Self::Typed(s) => MonthlyFee::parse(s),
            Self::Cents(None) => Ok(None),
            Self::Cents(Some(c)) => MonthlyFee::from_cents(*c).map(Some),
        }
    }
}

/// Fields a company's own admin may change; the rest belong to the owner.
const CONTACT_FIELDS: &[&str] = &["contact_name", "email", "phone"];

fn optional_text(raw: &str, max: usize) -> Result<String, String> {
    if raw.trim().is_empty() {
        Ok(String::new())
    } else {
        required_text(raw, max, "")
    }
}

/// Validates every field and reports all problems at once.
fn validate(input: &CompanyInput, base: Option<&Company>) -> Result<Fields, AppError> {
    let pick = |new: &Option<String>, old: Option<&String>| -> String {
        new.clone().or_else(|| old.cloned()).unwrap_or_default()
    };
    let mut errors = Vec::new();
    let legal_name = required_text(
        &pick(&input.legal_name, base.map(|b| &b.legal_name)),
        200,
        "Informe a razão social.",
    )
    .unwrap_or_else(|m| {
        errors.push(FieldError::new("legal_name", m));
        String::new()
    });
    let trade_name = optional_text(&pick(&input.trade_name, base.map(|b| &b.trade_name)), 200)
        .unwrap_or_else(|m| {
            errors.push(FieldError::new("trade_name", m));
            String::new()
        });
    let old_cnpj = base.map(|b| b.cnpj.as_str().to_string());
    let cnpj = match Cnpj::parse(&pick(&input.cnpj, old_cnpj.as_ref())) {
        Ok(c) => Some(c),
        Err(m) => {
            errors.push(FieldError::new("cnpj", m));
            None
        }
    };
    let contact_name = optional_text(
        &pick(&input.contact_name, base.map(|b| &b.contact_name)),
        200,
    )
    .unwrap_or_else(|m| {
        errors.push(FieldError::new("contact_name", m));
        String::new()
    });
    let email_raw = pick(&input.email, base.map(|b| &b.email));
    let email = if email_raw.trim().is_empty() {
        String::new()
    } else {
        match Email::parse(&email_raw) {
            Ok(e) => e.as_str().to_string(),
            Err(m) => {
                errors.push(FieldError::new("email", m));
                String::new()
            }
        }
    };
    let phone_raw = pick(&input.phone, base.map(|b| &b.phone));
    let phone = if phone_raw.trim().is_empty() {
        String::new()
    } else {
        match Phone::parse(&phone_raw) {
            Ok(p) => p.as_str().to_string(),
            Err(m) => {
                errors.push(FieldError::new("phone", m));
                String::new()
            }
        }
    };
    let monthly_fee_cents = match &input.monthly_fee {
        None => base.and_then(|b| b.monthly_fee_cents),
        Some(f) => match f.parse() {
            Ok(fee) => fee.map(MonthlyFee::cents),
            Err(m) => {
                errors.push(FieldError::new("monthly_fee_cents", m));
                None
            }
        },
    };
    if let (true, Some(cnpj)) = (errors.is_empty(), cnpj) {
        Ok(Fields {
            legal_name,
            trade_name,
            cnpj,
            contact_name,
            email,
            phone,
            monthly_fee_cents,
        })
    } else {
        Err(AppError::Validation(errors))
    }
}

fn duplicate_cnpj() -> AppError {
    AppError::Conflict(vec![FieldError::new(
        "cnpj",
        "Já existe uma empresa cadastrada com este CNPJ. Procure-a na lista de empresas.",
    )])
}

fn fields_json(f: &Fields) -> Value {
    json!({
        "legal_name": f.legal_name, "trade_name": f.trade_name, "cnpj": f.cnpj,
        "contact_name": f.contact_name, "email": f.email, "phone": f.phone,
        "monthly_fee_cents": f.monthly_fee_cents,
    })
}

/// Loads a company the actor may see; anything else is "not found", so ids leak nothing.
fn visible(conn: &Connection, actor: &Actor, id: &str) -> Result<Company, AppError> {
    let c = store::get(conn, id)?.ok_or(AppError::NotFound)?;
    if actor.application_id().is_some() {
        // Applications see active companies they are linked to; a link or a token
        // without the scope is "forbidden", anything else "not found".
        super::applications::link_check(conn, actor, &c.id, c.status, "companies:read")?;
        return Ok(c);
    }
    if actor.is_platform() || actor.company_id() == Some(c.id.as_str()) {
        Ok(c)
    } else {
        Err(AppError::NotFound)
    }
}

pub fn get(conn: &Connection, actor: &Actor, id: &str) -> Result<Company, AppError> {
    visible(conn, actor, id).map(|c| shown_to(actor, c))
}

/// What a reader gets of a company: the monthly fee is the vendor's business, so only
/// the platform's people see it; a company's own people and the applications read
/// `null`. (Writes compare against the stored row, never against this.)
fn shown_to(actor: &Actor, mut c: Company) -> Company {
    if !actor.is_platform() {
        c.monthly_fee_cents = None;
    }
    c
}

pub fn create(
    conn: &mut Conn,
    keys: &Keys,
    actor: &Actor,
    input: &CompanyInput,
) -> Result<Company, AppError> {
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    let w_input = input.to_owned();
    db::write(conn, move |tx| create_in(tx, &w_keys, &w_actor, &w_input))
}

/// Creates a company inside the caller's transaction (sign-up acceptance uses it too).
pub fn create_in(
    tx: &Tx<'_>,
    keys: &Keys,
    actor: &Actor,
    input: &CompanyInput,
) -> Result<Company, AppError> {
    if !actor.is_platform() {
        return Err(AppError::Forbidden);
    }
    let fields = validate(input, None)?;
    if store::cnpj_taken(tx, &fields.cnpj, None)? {
        return Err(duplicate_cnpj());
    }
    let id = new_id("cmp");
    let now = time::now_db();
    store::insert(tx, &id, &fields, &now).map_err(|e| {
        if db::is_unique_violation(&e) {
            duplicate_cnpj()
        } else {
            e.into()
        }
    })?;
    let mut entry = actor.entry(Action::CompanyCreate, "company", Some(&id));
    entry.company_id = Some(id.clone());
    let mut recorded = fields_json(&fields);
    if fields.monthly_fee_cents.is_none()
        && let Value::Object(m) = &mut recorded
    {
        m.remove("monthly_fee_cents");
    } else {
        record_mrr(tx)?;
    }
    entry.details = json!({ "fields": recorded });
    audit::append(tx, &keys.audit, &now, &entry)?;
    store::get(tx, &id)?.ok_or(AppError::NotFound)
}

pub fn update(
    conn: &mut Conn,
    keys: &Keys,
    actor: &Actor,
    id: &str,
    input: &CompanyInput,
) -> Result<Company, AppError> {
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    let w_id = id.to_owned();
    let w_input = input.to_owned();
    db::write(conn, move |tx| {
        update_in(tx, &w_keys, &w_actor, &w_id, &w_input)
    })
}

/// [`update`] inside the caller's transaction.
pub fn update_in(
    tx: &Tx<'_>,
    keys: &Keys,
    actor: &Actor,
    id: &str,
    input: &CompanyInput,
) -> Result<Company, AppError> {
    let may_edit_all = actor.is_platform();
    let is_own_admin = actor.role() == Some(Role::CompanyAdmin) && actor.company_id() == Some(id);
    let before = visible(tx, actor, id)?;
    if !may_edit_all && !is_own_admin {
        return Err(AppError::Forbidden);
    }
    if before.status == CompanyStatus::Archived {
        return Err(AppError::field(
            "status",
            "Esta empresa está arquivada e não pode ser alterada. Reative-a antes de editar.",
        ));
    }
    if !may_edit_all {
        // A company admin edits contact fields only (the owner keeps the registry data).
        let changes =
            |new: &Option<String>, old: &str| new.as_deref().is_some_and(|n| n.trim() != old);
        let cnpj_changes = input
            .cnpj
            .as_deref()
            .is_some_and(|c| crate::domain::cnpj_normalize(c) != *before.cnpj);
        // The fee is the vendor's business, not the client's.
        let fee_changes = input.monthly_fee.as_ref().is_some_and(|f| {
            f.parse().ok().map(|o| o.map(MonthlyFee::cents)) != Some(before.monthly_fee_cents)
        });
        if changes(&input.legal_name, &before.legal_name)
            || changes(&input.trade_name, &before.trade_name)
            || cnpj_changes
            || fee_changes
        {
            return Err(AppError::Forbidden);
        }
    }
    let input = input.clone();
    let fields = validate(&input, Some(&before))?;
    if fields.cnpj != before.cnpj && store::cnpj_taken(tx, &fields.cnpj, Some(id))? {
        return Err(duplicate_cnpj());
    }
    let old = fields_json(&Fields {
        legal_name: before.legal_name.clone(),
        trade_name: before.trade_name.clone(),
        cnpj: before.cnpj.clone(),
        contact_name: before.contact_name.clone(),
        email: before.email.clone(),
        phone: before.phone.clone(),
        monthly_fee_cents: before.monthly_fee_cents,
    });
    let new = fields_json(&fields);
    let mut changed = Map::new();
    if let (Value::Object(o), Value::Object(n)) = (&old, &new) {
        for (k, v) in n {
            if o.get(k) != Some(v) {
                changed.insert(k.clone(), json!({ "from": o.get(k), "to": v }));
            }
        }
    }
    if changed.is_empty() {
        return Ok(before);
    }
    debug_assert!(may_edit_all || changed.keys().all(|k| CONTACT_FIELDS.contains(&k.as_str())));
    let now = time::now_db();
    store::update(tx, id, &fields, &now).map_err(|e| {
        if db::is_unique_violation(&e) {
            duplicate_cnpj()
        } else {
            e.into()
        }
    })?;
    if changed.contains_key("monthly_fee_cents") {
        record_mrr(tx)?;
    }
    let mut entry = actor.entry(Action::CompanyUpdate, "company", Some(id));
    entry.company_id = Some(id.to_string());
    entry.details = json!({ "changed": changed });
    audit::append(tx, &keys.audit, &now, &entry)?;
    store::get(tx, id)?.ok_or(AppError::NotFound)
}

/// Suspends, reactivates or archives a company (platform users only).
pub fn set_status(
    conn: &mut Conn,
    keys: &Keys,
    actor: &Actor,
    id: &str,
    status: CompanyStatus,
) -> Result<Company, AppError> {
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    let w_id = id.to_owned();
    db::write(conn, move |tx| {
        set_status_in(tx, &w_keys, &w_actor, &w_id, status)
    })
    .inspect(|_| keys.hot.forget_company(id))
}

/// [`set_status`] inside the caller's transaction.
pub fn set_status_in(
    tx: &Tx<'_>,
    keys: &Keys,
    actor: &Actor,
    id: &str,
    status: CompanyStatus,
) -> Result<Company, AppError> {
    let before = visible(tx, actor, id)?;
    if !actor.is_platform() {
        return Err(AppError::Forbidden);
    }
    if before.status == status {
        return Ok(before);
    }
    let action = match status {
        CompanyStatus::Active => Action::CompanyReactivate,
        CompanyStatus::Suspended => Action::CompanySuspend,
        CompanyStatus::Archived => Action::CompanyArchive,
    };
    let now = time::now_db();
    store::set_status(tx, id, status, &now)?;
    if before.monthly_fee_cents.is_some() {
        record_mrr(tx)?;
    }
    let mut entry = actor.entry(action, "company", Some(id));
    entry.company_id = Some(id.to_string());
    entry.details = json!({ "status": { "from": before.status, "to": status.as_str() } });
    if status == CompanyStatus::Archived {
        // DESIGN §4: archiving revokes the company's links and tokens. The links are
        // removed, not hidden, so reactivating never restores an application's access
        // silently: someone grants it again, and that is audited.
        let unlinked = crate::db::applications::delete_links_of_company(tx, id)?;
        crate::db::tokens::revoke_for_company(tx, id, &now)?;
        crate::db::sessions::delete_for_company(tx, id)?;
        entry.details["unlinked_applications"] = json!(unlinked);
    }
    audit::append(tx, &keys.audit, &now, &entry)?;
    if status != CompanyStatus::Active {
        // Nobody joins a company whose access is suspended or ended.
        super::mailed_links::revoke_fallen(tx, keys, actor, None, Some(id), &now)?;
    }
    store::get(tx, id)?.ok_or(AppError::NotFound)
}

/// Records today's monthly recurring revenue (São Paulo date) in the caller's
/// transaction: every change that can move it calls this, so the MRR of any past day is
/// the latest record on or before it.
pub fn record_mrr(tx: &Connection) -> Result<(), AppError> {
    store::record_mrr(tx, &time::today_br().format("%Y-%m-%d").to_string())?;
    Ok(())
}

/// The monthly recurring revenue now and 30 days ago.
#[derive(Clone, Debug, Default)]
pub struct Mrr {
    /// Sum of the fees of active companies, in cents.
    pub cents: i64,
    /// Active companies with a fee.
    pub companies: i64,
    /// The MRR at the end of the day 30 days ago (0 before any fee existed).
    pub month_ago_cents: i64,
}

impl Mrr {
    /// "R$ 12.345,00".
    pub fn text(&self) -> String {
        crate::domain::money_br(self.cents)
    }

    /// "↑ +R$ 1.000,00 (+8,8%) em relação a 30 dias atrás", or "= igual a 30 dias atrás".
    pub fn trend_text(&self) -> String {
        let (now, before) = (self.cents, self.month_ago_cents);
        let diff = now - before;
        if diff == 0 {
            return "= igual a 30 dias atrás".into();
        }
        let (arrow, sign) = if diff > 0 { ("↑", "+") } else { ("↓", "") };
        let pct = if before > 0 {
            let p = diff as f64 * 100.0 / before as f64;
            format!(" ({sign}{}%)", format!("{p:.1}").replace('.', ","))
        } else {
            String::new()
        };
        format!(
            "{arrow} {sign}{}{pct} em relação a 30 dias atrás",
            crate::domain::money_br(diff)
        )
    }
}

/// The MRR for the overview and the reports (platform only).
pub fn mrr(conn: &Connection, actor: &Actor) -> Result<Mrr, AppError> {
    if !actor.is_platform() {
        return Err(AppError::Forbidden);
    }
    mrr_facts(conn)
}

/// [`mrr`] without the check, for the system's own reports.
pub fn mrr_facts(conn: &Connection) -> Result<Mrr, AppError> {
    let (cents, companies) = store::mrr(conn)?;
    let day = (time::today_br() - chrono::Days::new(30))
        .format("%Y-%m-%d")
        .to_string();
    // Every change that moves the MRR records the day's figure, and before the first
    // record no fee existed (the column came with it): no record by then means zero.
    let month_ago_cents = store::mrr_on(conn, &day)?.unwrap_or(0);
    Ok(Mrr {
        cents,
        companies,
        month_ago_cents,
    })
}

/// What a list of companies asks for, as typed.
#[derive(Debug, Default)]
pub struct ListQuery {
    pub q: Option<String>,
    pub status: Option<CompanyStatus>,
    /// The opaque cursor of the page before; empty or `None` for the first.
    pub cursor: Option<String>,
    pub limit: usize,
    /// The overview's lists: without Omie credentials, or whose last test failed.
    pub omie: Option<store::OmieFilter>,
}

/// Lists companies the actor may see: all for platform users, their own for company
/// users, the linked ones for an application (metered: one `companies.list` per company
/// returned).
pub fn list(
    app: &App,
    conn: &Connection,
    actor: &Actor,
    q: &ListQuery,
) -> Result<Page<Company>, AppError> {
    let filter = ListFilter {
        q: q.q.clone().filter(|q| !q.trim().is_empty()),
        status: q.status.map(|s| s.as_str().to_string()),
        after: super::parse_cursor(q.cursor.as_deref())?,
        omie: q.omie,
    };
    let (rows, more) = list_rows(Some(&app.search), conn, actor, &filter, q.limit)?;
    for c in &rows {
        app.meter.record(actor, &c.id, "companies.list");
    }
    Ok(Page::new(rows, more, store::cursor_after))
}

fn list_rows(
    index: Option<&CompanyIndex>,
    conn: &Connection,
    actor: &Actor,
    filter: &ListFilter,
    limit: usize,
) -> Result<(Vec<Company>, bool), AppError> {
    if actor.is_platform() {
        if let Some(page) = index
            .map(|i| search(i, conn, filter, limit))
            .transpose()?
            .flatten()
        {
            return Ok(page);
        }
        return Ok(store::list(conn, filter, limit)?);
    }
    if let Some(app) = actor.application_id() {
        // The same rule as one company (`visible`): active, and linked with the scope.
        let mut rows = Vec::new();
        for id in crate::db::applications::linked_company_ids(conn, app)? {
            match visible(conn, actor, &id) {
                Ok(c) => rows.push(shown_to(actor, c)),
                Err(AppError::NotFound | AppError::Forbidden) => {}
                Err(e) => return Err(e),
            }
        }
        return Ok((rows, false));
    }
    let Some(own) = actor.company_id() else {
        return Ok((Vec::new(), false));
    };
    let c = store::get(conn, own)?;
    Ok((
        c.into_iter()
            .filter(|c| {
                filter.after.is_none() && c.status != crate::domain::CompanyStatus::Archived
            })
            .map(|c| shown_to(actor, c))
            .collect(),
        false,
    ))
}

/// A search page through the in-memory index (`services::company_index`), or `None` when
/// the index cannot answer it (no search, the Omie filters, a term it cannot search):
/// then SQL answers. When the index is stale (the companies changed since it was built),
/// SQL answers too and the builder thread is asked for a build; without that thread (unit
/// tests) the search builds the index first and then uses it.
fn search(
    index: &CompanyIndex,
    conn: &Connection,
    filter: &ListFilter,
    limit: usize,
) -> Result<Option<(Vec<Company>, bool)>, AppError> {
    let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) else {
        return Ok(None);
    };
    if filter.omie.is_some() {
        return Ok(None);
    }
    let shown = match filter.status.as_deref() {
        None => Shown::NotArchived,
        Some(s) => match CompanyStatus::parse(s) {
            Some(s) => Shown::Only(s),
            None => return Ok(None),
        },
    };
    let terms = store::search_terms(q);
    let after = filter
        .after
        .as_ref()
        .map(|(k, id)| (k.as_str(), id.as_str()));
    for attempt in 0..2 {
        let built = index.current();
        let picked = store::list_picked(conn, filter, limit, |version| match &built {
            Some(b) if b.version() == version => match b.find(&terms, shown, after, limit) {
                Some(ids) => Picked::Ids(ids),
                None => Picked::Unable,
            },
            _ => Picked::Stale,
        })?;
        match picked {
            Ok(page) => return Ok(Some(page)),
            Err(Picked::Stale) if attempt == 0 => {
                // The builder thread builds it; SQL answers meanwhile. Without that
                // thread (tests), this search builds it.
                if index.ring() || !index.rebuild(|b| load(conn, b))? {
                    return Ok(None);
                }
            }
            Err(_) => return Ok(None),
        }
    }
    Ok(None)
}

/// Starts the thread that builds the search index: at once, and again whenever a search
/// found it stale. It holds the program only while it builds, so it ends with it.
pub fn start_index(app: &Arc<App>) -> std::io::Result<()> {
    let (bell, rings) = std::sync::mpsc::sync_channel(1);
    // The first build, now: the first search need not wait for it.
    let _ = bell.try_send(());
    app.search.set_bell(bell);
    let app = Arc::downgrade(app);
    std::thread::Builder::new()
        .name("search-index".into())
        .spawn(move || {
            // One index at a time: the stale one is taken out of use and its buffers are
            // filled again (keeping it beside the new one doubled the memory: ~35 MB
            // more at 100,000 companies).
            while rings.recv().is_ok() {
                let Some(app) = app.upgrade() else { return };
                let started = std::time::Instant::now();
                let built = app.pool.get().map_err(AppError::from).and_then(|conn| {
                    // Rings that came while the last build ran ask for nothing new.
                    let now = store::version(&conn)?;
                    if app.search.current().is_some_and(|b| b.version() == now) {
                        return Ok(None);
                    }
                    let reused = app.search.take().and_then(company_index::reclaim);
                    Ok(Some(
                        app.search.rebuild_reusing(reused, |b| load(&conn, b))?,
                    ))
                });
                match (built, app.search.current()) {
                    (Ok(None), _) => {}
                    (Ok(Some(true)), Some(b)) => tracing::info!(
                        companies = b.len(),
                        bytes = b.bytes(),
                        ms = started.elapsed().as_millis() as u64,
                        "company search index built"
                    ),
                    (Ok(Some(_)), _) => {
                        tracing::warn!("company search index not built: past its 4 GB offsets")
                    }
                    (Err(e), _) => tracing::warn!(error = %e, "company search index not built"),
                }
            }
        })?;
    Ok(())
}

fn load(conn: &Connection, b: &mut Builder) -> rusqlite::Result<i64> {
    store::index_rows(conn, |id, key, status, text| b.push(id, key, status, text))
}

/// Companies whose name or CNPJ matches `q` (all when it is empty), for the pickers of
/// the platform's pages (a report's company, an application's new link): at most
/// `limit`, in name order, optionally of one status only.
pub fn pick(
    conn: &Connection,
    actor: &Actor,
    q: &str,
    only: Option<CompanyStatus>,
    limit: usize,
) -> Result<Vec<Company>, AppError> {
    actor.platform_only()?;
    let filter = ListFilter {
        q: Some(q.trim().to_string()).filter(|q| !q.is_empty()),
        status: only.map(|s| s.as_str().to_string()),
        after: None,
        omie: None,
    };
    Ok(store::list(conn, &filter, limit)?.0)
}

/// Reads one company (metered for applications: `companies.read`, or `refused` — on
/// the company when it is one of the application's, else without the id).
pub fn read(app: &App, conn: &Connection, actor: &Actor, id: &str) -> Result<Company, AppError> {
    let c = visible(conn, actor, id);
    app.meter.outcome(actor, id, "companies.read", &c);
    c.map(|c| shown_to(actor, c))
}

/// A change of a company: any fields, and perhaps its status, in one transaction — a
/// refused field change leaves the status as it was too.
pub fn patch(
    conn: &mut Conn,
    keys: &Keys,
    actor: &Actor,
    id: &str,
    input: &CompanyInput,
    status: Option<CompanyStatus>,
) -> Result<Company, AppError> {
    let has_fields = [
        &input.legal_name,
        &input.trade_name,
        &input.cnpj,
        &input.contact_name,
        &input.email,
        &input.phone,
    ]
    .iter()
    .any(|f| f.is_some())
        || input.monthly_fee.is_some();
    let w_keys = keys.to_owned();
    let w_actor = actor.to_owned();
    let w_id = id.to_owned();
    let w_input = input.to_owned();
    db::write(conn, move |tx| {
        let keys = &w_keys;
        let actor = &w_actor;
        let id = &w_id;
        let input = &w_input;
        let mut c = get(tx, actor, id)?;
        // Edit before archiving, and reactivate before editing.
        let archiving = status == Some(CompanyStatus::Archived);
        if let Some(s) = status.filter(|_| !archiving) {
            c = set_status_in(tx, keys, actor, id, s)?;
        }
        if has_fields {
            c = update_in(tx, keys, actor, id, input)?;
        }
        if archiving {
            c = set_status_in(tx, keys, actor, id, CompanyStatus::Archived)?;
        }
        Ok(shown_to(actor, c))
    })
    .inspect(|_| keys.hot.forget_company(id))
}

/// Everything the company's page shows: the company, its recent history, its people
/// (with the name of who approved or invited them) and its open invitations.
pub struct Detail {
    pub company: Company,
    pub history: Vec<crate::db::audit::Entry>,
    pub people: Vec<(crate::db::users::User, Option<String>)>,
    pub invitations: Vec<crate::db::invitations::Invitation>,
}

pub fn detail(conn: &Connection, actor: &Actor, id: &str) -> Result<Detail, AppError> {
    let company = get(conn, actor, id)?;
    let filter = crate::db::audit::Filter {
        company_id: Some(company.id.clone()),
        ..Default::default()
    };
    let (history, _) = super::audit::list(conn, actor, filter, 100)?;
    let people_filter = crate::db::users::ListFilter {
        company_id: Some(company.id.clone()),
        ..Default::default()
    };
    let (people, _) = super::users::list(conn, actor, people_filter, 200)?;
    let invitations = super::mailed_links::list_open(conn, actor, Some(&company.id))?;
    Ok(Detail {
        company,
        history,
        people,
        invitations,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::services::ActorKind;

    /// A linked company whose row cannot be read (here a stored CNPJ that is not one)
    /// must make an application's list fail, not quietly leave the company out.
    #[test]
    fn an_unreadable_row_fails_the_application_list_instead_of_vanishing() {
        let mut conn = Connection::open_in_memory().unwrap();
        db::migrate(&mut conn).unwrap();
        conn.execute_batch(
            "INSERT INTO companies (id, legal_name, cnpj, created_at, updated_at)
               VALUES ('cmp_a', 'A', '11222333000181', 't', 't');
             INSERT INTO applications (id, name, client_id, created_at, updated_at)
               VALUES ('app_a', 'Robô', 'cli_a', 't', 't');
             INSERT INTO application_links (application_id, company_id, scopes, granted_by, granted_at)
               VALUES ('app_a', 'cmp_a', 'companies:read', 'dono', 't');",
        )
        .unwrap();
        let actor = Actor {
            kind: ActorKind::Application {
                id: "app_a".into(),
                client_id: "cli_a".into(),
                scope: "companies:read".into(),
                metered: Default::default(),
            },
            ip: "127.0.0.1".into(),
        };
        let filter = ListFilter::default();
        let (rows, _) = list_rows(None, &conn, &actor, &filter, 50).unwrap();
        assert_eq!(rows.len(), 1, "the linked company is listed");
        conn.execute("UPDATE companies SET cnpj = '11222333000182'", [])
            .unwrap();
        assert!(
            matches!(
                list_rows(None, &conn, &actor, &filter, 50),
                Err(AppError::Internal(_))
            ),
            "a read error is an error"
        );
    }

    fn fields(name: &str, trade: &str, n: u64) -> Fields {
        let base = format!("{:08}0001", n + 10);
        Fields {
            legal_name: name.into(),
            trade_name: trade.into(),
            cnpj: Cnpj::from_base(base.as_bytes().try_into().unwrap()).unwrap(),
            contact_name: String::new(),
            email: String::new(),
            phone: String::new(),
            monthly_fee_cents: None,
        }
    }

    /// 600 companies inserted out of name order; some suspended, some archived.
    fn many() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        db::migrate(&mut conn).unwrap();
        let words = [
            "Padaria",
            "Agropecuária",
            "Comércio",
            "Santos",
            "São João",
            "Auto Peças",
            "Ltda",
            "ME",
            "Oficina",
        ];
        let tx = conn.transaction().unwrap();
        for k in 0..600u64 {
            let i = (k * 7919) % 600;
            let w = |n: u64| words[(n % 9) as usize];
            let name = format!("{} {} {i:03}", w(i), w(i / 9 + 1));
            let trade = if i % 4 == 0 {
                format!("Loja {}", w(i / 3))
            } else {
                String::new()
            };
            let id = format!("cmp_{i:04}");
            store::insert(&tx, &id, &fields(&name, &trade, i * 37), "t").unwrap();
            if i % 7 == 0 {
                store::set_status(&tx, &id, CompanyStatus::Suspended, "t").unwrap();
            }
            if i % 11 == 0 {
                store::set_status(&tx, &id, CompanyStatus::Archived, "t").unwrap();
            }
        }
        tx.commit().unwrap();
        conn
    }

    fn filter(q: &str, status: Option<&str>, after: Option<&Company>) -> ListFilter {
        ListFilter {
            q: Some(q.into()),
            status: status.map(str::to_string),
            after: after.map(|c| (store::sort_key(&c.legal_name), c.id.clone())),
            omie: None,
        }
    }

    /// Every page of every kind of search (common and rare words, accents, one and two
    /// letters, CNPJ fragments masked or not, each status, cursors) is what SQL answers.
    #[test]
    fn the_index_answers_every_search_page_as_sql_does() {
        let conn = many();
        let index = CompanyIndex::default();
        let one = store::get(&conn, "cmp_0123").unwrap().unwrap();
        let cnpj = one.cnpj.as_str().to_string();
        let masked = format!("{}.{}.{}", &cnpj[0..2], &cnpj[2..5], &cnpj[5..8]);
        let queries = [
            "pad",
            "padaria",
            "sao",
            "são joão",
            "SANTOS",
            "ltda",
            "me",
            "a",
            "of",
            "00",
            "12",
            "xyz",
            "auto pe",
            "loja agro",
            "123",
            &cnpj[4..10],
            &masked,
        ];
        let mut answered = 0;
        for q in queries {
            for status in [None, Some("active"), Some("suspended"), Some("archived")] {
                for limit in [1, 3, 20] {
                    let mut after: Option<Company> = None;
                    for _page in 0..40 {
                        let f = filter(q, status, after.as_ref());
                        let want = store::list(&conn, &f, limit).unwrap();
                        let got = search(&index, &conn, &f, limit).unwrap().expect("indexed");
                        assert_eq!(got, want, "q={q:?} status={status:?} limit={limit}");
                        answered += 1;
                        if !want.1 {
                            break;
                        }
                        after = want.0.last().cloned();
                    }
                }
            }
        }
        assert!(answered > 500, "{answered} pages");
    }

    /// A change committed after the index was built: the next search sees it (found by
    /// the new name, not by the old), because the index is built again first.
    #[test]
    fn a_stale_index_is_built_again_before_it_answers() {
        let conn = many();
        let index = CompanyIndex::default();
        let f = filter("zeladoria", None, None);
        assert_eq!(search(&index, &conn, &f, 20).unwrap().unwrap().0, vec![]);
        let built = index.current().unwrap().version();
        let mut c = store::get(&conn, "cmp_0042").unwrap().unwrap();
        c.legal_name = "Zeladoria Única".into();
        let f2 = Fields {
            legal_name: c.legal_name.clone(),
            trade_name: c.trade_name.clone(),
            cnpj: c.cnpj.clone(),
            contact_name: String::new(),
            email: String::new(),
            phone: String::new(),
            monthly_fee_cents: None,
        };
        store::update(&conn, "cmp_0042", &f2, "t2").unwrap();
        let (rows, more) = search(&index, &conn, &f, 20).unwrap().unwrap();
        assert_eq!(
            rows.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
            ["cmp_0042"]
        );
        assert!(!more);
        assert_ne!(index.current().unwrap().version(), built, "built again");
        // Archived: gone from the default list, there under status=archived.
        store::set_status(&conn, "cmp_0042", CompanyStatus::Archived, "t3").unwrap();
        assert_eq!(search(&index, &conn, &f, 20).unwrap().unwrap().0, vec![]);
        let archived = filter("zeladoria", Some("archived"), None);
        assert_eq!(
            search(&index, &conn, &archived, 20)
                .unwrap()
                .unwrap()
                .0
                .len(),
            1
        );
    }

    /// An index that picked a company SQL does not show (here: told it is active while it
    /// is archived, at the current version) cannot put it on the page: SQL answers.
    #[test]
    fn a_company_the_index_picked_wrongly_never_reaches_the_page() {
        let conn = many();
        let index = CompanyIndex::default();
        let version = store::version(&conn).unwrap();
        index
            .rebuild(|b| {
                store::index_rows(&conn, |id, key, _status, text| {
                    b.push(id, key, CompanyStatus::Active, text)
                })
                .map(|_| version)
            })
            .unwrap();
        let f = filter("padaria", None, None);
        let got = search(&index, &conn, &f, 100).unwrap();
        assert_eq!(got, None, "SQL answers instead");
        let (rows, _) = list_rows(Some(&index), &conn, &platform(), &f, 100).unwrap();
        assert!(!rows.is_empty());
        assert!(rows.iter().all(|c| c.status != CompanyStatus::Archived));
    }

    fn platform() -> Actor {
        Actor {
            kind: ActorKind::User {
                id: "usr_owner".into(),
                email: "dono@example.com".into(),
                role: Role::Owner,
                company_id: None,
            },
            ip: "127.0.0.1".into(),
        }
    }
}
