//! Usage report pages: `/admin/usage` (everything, filterable) and `/portal/usage` (own
//! company). A period preset (hoje, 7 dias, 30 dias, este mês) or two dates, the
//! company picked by name and the application from a list, all in the query string;
//! totals, top 10 lists and a per-day chart drawn as server-side SVG with axes, all
//! aggregated in SQL, and one page of rows — so the page stays small at any volume. The
//! download is the CSV for people (`;`, a BOM, Portuguese headers).

use actix_web::HttpResponse;
use actix_web::http::header;
use askama::Template;
use chrono::{Datelike, Duration, NaiveDate};
use serde::Deserialize;

use crate::services::usage::{Filter, Ranked, Summary, Tally, Top};
use crate::services::{Actor, usage};
use crate::views::int_br;
use crate::web::State;
use crate::web::error::PageError;
use crate::web::page::{Ctx, Nav, render};

#[derive(Deserialize, Default, Clone)]
pub struct UsageQuery {
    /// `hoje`, `7dias`, `30dias`, `mes` or `personalizado` (then `from` and `to`).
    #[serde(default)]
    pub periodo: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    /// Picked from the list (never typed).
    #[serde(default)]
    pub company_id: String,
    /// Picked from the list (never typed).
    #[serde(default)]
    pub application_id: String,
    /// A company's name or CNPJ, to find it.
    #[serde(default)]
    pub busca: String,
    /// From 1.
    #[serde(default)]
    pub pagina: String,
}

/// Longest period a report covers (a custom period is cut to its last days).
const MAX_DAYS: i64 = 366;

/// The presets, as (value, label).
const PRESETS: [(&str, &str); 4] = [
    ("hoje", "Hoje"),
    ("7dias", "7 dias"),
    ("30dias", "30 dias"),
    ("mes", "Este mês"),
];

/// The period a query asks for, in São Paulo days: (preset, first day, last day, note).
fn period(q: &UsageQuery, today: NaiveDate) -> (String, NaiveDate, NaiveDate, Option<String>) {
    let custom = q.periodo == "personalizado"
        || (q.periodo.is_empty() && (!q.from.trim().is_empty() || !q.to.trim().is_empty()));
    if custom {
        let to = crate::time::parse_br_date(&q.to).unwrap_or(today);
        let from = crate::time::parse_br_date(&q.from).unwrap_or(to - Duration::days(29));
        let (from, to) = if from > to { (to, from) } else { (from, to) };
        if (to - from).num_days() >= MAX_DAYS {
            let cut = to - Duration::days(MAX_DAYS - 1);
            let note = format!(
                "O período foi limitado aos últimos {MAX_DAYS} dias: de {} a {}.",
                br(cut),
                br(to)
            );
            return ("personalizado".into(), cut, to, Some(note));
        }
        return ("personalizado".into(), from, to, None);
    }
    match q.periodo.as_str() {
        "hoje" => ("hoje".into(), today, today, None),
        "7dias" => ("7dias".into(), today - Duration::days(6), today, None),
        "mes" => (
            "mes".into(),
            today.with_day(1).unwrap_or(today),
            today,
            None,
        ),
        _ => ("30dias".into(), today - Duration::days(29), today, None),
    }
}

fn br(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

fn iso(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn br_of_iso(s: &str) -> String {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(br)
        .unwrap_or_else(|_| s.to_string())
}

/// An operation in words.
pub fn operation_label(op: &str) -> String {
    match op {
        "companies.read" => "Leitura de uma empresa".into(),
        "companies.list" => "Lista de empresas".into(),
        "omie_credentials.read" => "Leitura das credenciais do Omie".into(),
        "refused" => "Recusada".into(),
        "failed" => "Falha (Omie ou servidor)".into(),
        "auth.token" => "Emissão de token de acesso".into(),
        "POST /api/v1/auth/logout" => "Encerramento do token".into(),
        _ => match op.strip_prefix("omie:") {
            Some(call) => format!("Omie: {call}"),
            None => format!("Outra chamada: {op}"),
        },
    }
}

/// A query string of the filter with some parameters changed (`""` drops one).
fn link(base: &str, q: &UsageQuery, set: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(&str, String)> = vec![
        ("periodo", q.periodo.clone()),
        ("from", q.from.clone()),
        ("to", q.to.clone()),
        ("company_id", q.company_id.clone()),
        ("application_id", q.application_id.clone()),
        ("pagina", String::new()),
    ];
    for (k, v) in set {
        if let Some(p) = pairs.iter_mut().find(|(n, _)| n == k) {
            p.1 = v.to_string();
        }
    }
    if pairs
        .iter()
        .any(|(k, v)| *k == "periodo" && v != "personalizado")
    {
        pairs.retain(|(k, _)| *k != "from" && *k != "to");
    }
    pairs.retain(|(_, v)| !v.is_empty());
    let qs = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    if qs.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{qs}")
    }
}

/// One line of a top list, as shown.
struct TopLine {
    name: String,
    /// Where clicking the name filters the report by it.
    href: Option<String>,
    tally: Tally,
}

/// One top list on the page; `extra` is the line of calls about no company.
struct Section {
    id: &'static str,
    title: &'static str,
    first: &'static str,
    top: TopView,
    extra: Tally,
}

struct TopView {
    lines: Vec<TopLine>,
    others: i64,
    others_tally: Tally,
}

impl TopView {
    fn new(top: Top, name: impl Fn(&Ranked) -> (String, Option<String>)) -> Self {
        Self {
            lines: top
                .lines
                .iter()
                .map(|r| {
                    let (name, href) = name(r);
                    TopLine {
                        name,
                        href,
                        tally: r.tally,
                    }
                })
                .collect(),
            others: top.others,
            others_tally: top.others_tally,
        }
    }
}

/// A row of the detail table: names, not ids.
struct Line {
    date: String,
    company: String,
    /// The refusal counter or another call about no company.
    no_company: bool,
    application: String,
    operation: String,
    count: i64,
}

impl From<&usage::Row> for Line {
    fn from(r: &usage::Row) -> Self {
        Self {
            date: br_of_iso(&r.date),
            company: r
                .company_name
                .clone()
                .unwrap_or_else(|| "Empresa removida".into()),
            no_company: r.company_id.is_none(),
            application: r
                .application_name
                .clone()
                .unwrap_or_else(|| "Aplicação removida".into()),
            operation: operation_label(&r.operation),
            count: r.count,
        }
    }
}

/// The chart: calls per day with a labelled y axis and dd/mm dates, in a 360 × 230
/// view box (it scales down to a phone's width).
pub struct Chart {
    pub title: String,
    pub desc: String,
    pub ticks: Vec<(f64, String)>,
    pub bars: Vec<ChartBar>,
    pub x_labels: Vec<(f64, String)>,
}

pub struct ChartBar {
    pub x: f64,
    pub w: f64,
    pub y: f64,
    pub h: f64,
    /// The refused and failed part, drawn over the bottom of the bar.
    pub bad_y: f64,
    pub bad_h: f64,
    pub title: String,
    /// The value written above the bar, when there is room for it.
    pub value: Option<String>,
}

const PLOT_LEFT: f64 = 48.0;
const PLOT_RIGHT: f64 = 352.0;
const PLOT_TOP: f64 = 16.0;
const PLOT_BOTTOM: f64 = 196.0;

/// A round step for about four ticks up to `max`.
fn tick_step(max: i64) -> i64 {
    let raw = (max.max(1) as f64 / 4.0).max(1.0);
    let mag = 10f64.powf(raw.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if m * mag >= raw {
            return (m * mag).round().max(1.0) as i64;
        }
    }
    (10.0 * mag) as i64
}

/// Every day of the period (days without calls as zero) as a chart.
pub fn chart(days: &[(NaiveDate, Tally)]) -> Chart {
    let max = days.iter().map(|(_, t)| t.calls).max().unwrap_or(0);
    let step = tick_step(max);
    let top = ((max + step - 1) / step).max(1) * step;
    let scale = |v: i64| (PLOT_BOTTOM - PLOT_TOP) * v as f64 / top as f64;
    let ticks = (0..=top / step)
        .map(|i| (PLOT_BOTTOM - scale(i * step), int_br(i * step)))
        .collect();
    let n = days.len().max(1) as f64;
    let slot = (PLOT_RIGHT - PLOT_LEFT) / n;
    let w = (slot * 0.7).max(1.0);
    let every = days.len().div_ceil(7).max(1);
    let mut x_labels = Vec::new();
    let mut bars = Vec::new();
    for (i, (d, t)) in days.iter().enumerate() {
        let x = PLOT_LEFT + slot * i as f64 + (slot - w) / 2.0;
        let h = scale(t.calls);
        let bad_h = scale(t.refused + t.failed).min(h);
        let mut title = format!(
            "{}: {}",
            br(*d),
            crate::views::count_br(t.calls, "chamada", "chamadas")
        );
        if t.refused + t.failed > 0 {
            title.push_str(&format!(
                " ({} recusadas, {} com falha)",
                int_br(t.refused),
                int_br(t.failed)
            ));
        }
        let value = (days.len() <= 8 || (t.calls == max && max > 0)).then(|| int_br(t.calls));
        bars.push(ChartBar {
            x,
            w,
            y: PLOT_BOTTOM - h,
            h,
            bad_y: PLOT_BOTTOM - bad_h,
            bad_h,
            title,
            value,
        });
        if i % every == 0 {
            x_labels.push((x + w / 2.0, d.format("%d/%m").to_string()));
        }
    }
    let total: i64 = days.iter().map(|(_, t)| t.calls).sum();
    let (first, last) = (
        days.first().map(|(d, _)| br(*d)).unwrap_or_default(),
        days.last().map(|(d, _)| br(*d)).unwrap_or_default(),
    );
    Chart {
        title: format!("Chamadas por dia, de {first} a {last}"),
        desc: format!(
            "{} no período; o dia com mais chamadas teve {}.",
            crate::views::count_br(total, "chamada", "chamadas"),
            int_br(max)
        ),
        ticks,
        bars,
        x_labels,
    }
}

#[derive(Template)]
#[template(path = "usage.html")]
struct UsagePage {
    ctx: Ctx,
    base: &'static str,
    q: UsageQuery,
    show_company_filter: bool,
    presets: Vec<(&'static str, &'static str, String, bool)>,
    period_text: String,
    period_note: Option<String>,
    from_iso: String,
    to_iso: String,
    totals: Tally,
    chart: Chart,
    days: Vec<(String, Tally)>,
    sections: Vec<Section>,
    rows: Vec<Line>,
    rows_text: String,
    first_page: String,
    page: usize,
    pages: usize,
    prev: Option<String>,
    next: Option<String>,
    applications_to_pick: Vec<(String, String)>,
    company_name: Option<String>,
    company_matches: Vec<(String, String, String)>,
    clear_company: String,
    csv_href: String,
}

fn filter_of(q: &UsageQuery, from: NaiveDate, to: NaiveDate) -> Filter {
    let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    Filter {
        from: Some(iso(from)),
        to: Some(iso(to)),
        company_id: opt(&q.company_id),
        application_id: opt(&q.application_id),
    }
}

pub async fn page(
    state: &State,
    ctx: Ctx,
    actor: Actor,
    base: &'static str,
    mut q: UsageQuery,
) -> Result<HttpResponse, PageError> {
    let show_company_filter = actor.is_platform();
    let (preset, from, to, period_note) = period(&q, crate::time::today_br());
    q.periodo = preset;
    if q.periodo == "personalizado" {
        (q.from, q.to) = (iso(from), iso(to));
    }
    // A company searched by name: picked at once when one matches, else listed to pick.
    let mut company_matches = Vec::new();
    if show_company_filter && q.company_id.is_empty() && !q.busca.trim().is_empty() {
        let (a, busca) = (actor.clone(), q.busca.clone());
        company_matches = state
            .run(move |conn, _| usage::companies_to_pick(conn, &a, &busca))
            .await?;
        if let [(id, _, _)] = company_matches.as_slice() {
            q.company_id = id.clone();
            company_matches.clear();
        }
    }
    let page_no = q
        .pagina
        .trim()
        .parse::<usize>()
        .unwrap_or(1)
        .clamp(1, 100_000);
    let f = filter_of(&q, from, to);
    let a = actor.clone();
    let s: Summary = state
        .run(move |conn, app| usage::summary(conn, &app.meter, &a, f, page_no - 1))
        .await?;
    let per_day: std::collections::HashMap<&str, Tally> =
        s.per_day.iter().map(|(d, t)| (d.as_str(), *t)).collect();
    let all_days: Vec<(NaiveDate, Tally)> = from
        .iter_days()
        .take_while(|d| *d <= to)
        .map(|d| {
            let key = iso(d);
            (d, per_day.get(key.as_str()).copied().unwrap_or_default())
        })
        .collect();
    let pages = (s.row_count.max(0) as usize)
        .div_ceil(usage::PAGE_ROWS)
        .max(1);
    let page_text = |n: usize| n.to_string();
    let prev = (page_no > 1).then(|| link(base, &q, &[("pagina", &page_text(page_no - 1))]));
    let next = (page_no < pages).then(|| link(base, &q, &[("pagina", &page_text(page_no + 1))]));
    let presets = PRESETS
        .iter()
        .map(|(v, l)| (*v, *l, link(base, &q, &[("periodo", v)]), q.periodo == *v))
        .collect();
    let company_href = |r: &Ranked| {
        (
            r.name.clone().unwrap_or_else(|| "Empresa removida".into()),
            show_company_filter.then(|| link(base, &q, &[("company_id", &r.key)])),
        )
    };
    let app_href = |r: &Ranked| {
        (
            r.name
                .clone()
                .unwrap_or_else(|| "Aplicação removida".into()),
            Some(link(base, &q, &[("application_id", &r.key)])),
        )
    };
    let period_text = if from == to {
        format!("em {}", br(from))
    } else {
        format!("de {} a {}", br(from), br(to))
    };
    let mut sections = Vec::new();
    if show_company_filter && q.company_id.is_empty() {
        sections.push(Section {
            id: "top-companies",
            title: "Empresas que mais usaram",
            first: "Empresa",
            top: TopView::new(s.companies, company_href),
            extra: s.without_company,
        });
    }
    sections.push(Section {
        id: "top-applications",
        title: "Aplicações que mais chamaram",
        first: "Aplicação",
        top: TopView::new(s.applications, app_href),
        extra: Tally::default(),
    });
    sections.push(Section {
        id: "top-operations",
        title: "Operações mais chamadas",
        first: "Operação",
        top: TopView::new(s.operations, |r| (operation_label(&r.key), None)),
        extra: Tally::default(),
    });
    let csv_href = link(&format!("{base}.csv"), &q, &[]);
    let clear_company = link(base, &q, &[("company_id", "")]);
    render(&UsagePage {
        ctx: ctx.with_nav(Nav::Usage),
        base,
        show_company_filter,
        presets,
        period_text,
        period_note,
        from_iso: iso(from),
        to_iso: iso(to),
        totals: s.totals,
        chart: chart(&all_days),
        days: all_days
            .iter()
            .rev()
            .filter(|(_, t)| t.calls > 0)
            .map(|(d, t)| (br(*d), *t))
            .collect(),
        sections,
        rows: s.rows.iter().map(Line::from).collect(),
        rows_text: crate::views::count_br(s.row_count, "linha", "linhas"),
        first_page: link(base, &q, &[]),
        page: page_no,
        pages,
        prev,
        next,
        applications_to_pick: s.applications_to_pick,
        company_name: s.company_name,
        company_matches,
        clear_company,
        csv_href,
        q,
    })
}

/// The CSV's header, for people (Brazilian Excel).
pub const PEOPLE_CSV_HEADER: [&str; 5] = ["Dia", "Empresa", "Aplicação", "Operação", "Chamadas"];

/// The rows as a CSV Brazilian Excel opens as columns: a BOM, `;`, Portuguese headers,
/// dates as dd/mm/aaaa and counts as plain integers.
pub fn people_csv(rows: &[usage::Row]) -> String {
    let mut out = String::from(crate::csv::EXCEL_BOM);
    out.push_str(&crate::csv::excel_line(&PEOPLE_CSV_HEADER));
    for r in rows {
        let l = Line::from(r);
        let company = if l.no_company {
            if r.operation == "refused" {
                "Fora das empresas da aplicação".to_string()
            } else {
                "Sem empresa".to_string()
            }
        } else {
            l.company
        };
        out.push_str(&crate::csv::excel_line(&[
            l.date,
            company,
            l.application,
            l.operation,
            r.count.to_string(),
        ]));
    }
    out
}

pub async fn csv(state: &State, actor: Actor, q: UsageQuery) -> Result<HttpResponse, PageError> {
    let (_, from, to, _) = period(&q, crate::time::today_br());
    let f = filter_of(&q, from, to);
    let rows = state
        .run(move |conn, app| usage::download(conn, &app.meter, &actor, f))
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"uso-da-api-{}-a-{}.csv\"",
                from.format("%d-%m-%Y"),
                to.format("%d-%m-%Y")
            ),
        ))
        .body(people_csv(&rows)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(periodo: &str, from: &str, to: &str) -> UsageQuery {
        UsageQuery {
            periodo: periodo.into(),
            from: from.into(),
            to: to.into(),
            ..Default::default()
        }
    }

    #[test]
    fn presets_count_back_from_today_in_sao_paulo_days() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let p = |x: &UsageQuery| {
            let (_, a, b, _) = period(x, today);
            (a, b)
        };
        assert_eq!(p(&q("hoje", "", "")), (today, today));
        assert_eq!(p(&q("7dias", "", "")), (d("2026-11-22"), today));
        assert_eq!(p(&q("30dias", "", "")), (d("2026-10-30"), today));
        assert_eq!(p(&q("", "", "")), (d("2026-10-30"), today));
        assert_eq!(p(&q("mes", "", "")), (d("2026-11-01"), today));
        assert_eq!(
            p(&q("personalizado", "05/11/2026", "2026-11-10")),
            (d("2026-11-05"), d("2026-11-10"))
        );
        // Reversed dates are put in order; no preset but dates is a custom period.
        assert_eq!(
            p(&q("", "2026-11-10", "2026-11-05")),
            (d("2026-11-05"), d("2026-11-10"))
        );
        let (_, a, b, note) = period(&q("personalizado", "2020-01-01", "2026-11-28"), today);
        assert_eq!((b - a).num_days(), MAX_DAYS - 1);
        assert!(note.unwrap().contains("366"));
    }

    #[test]
    fn ticks_are_round_and_cover_the_highest_day() {
        assert_eq!(tick_step(0), 1);
        assert_eq!(tick_step(7), 2);
        assert_eq!(tick_step(40), 10);
        assert_eq!(tick_step(1234), 500);
        let day = |n| {
            (
                NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
                Tally {
                    calls: n,
                    refused: 1,
                    failed: 0,
                },
            )
        };
        let c = chart(&[day(3), day(1234)]);
        let labels: Vec<&str> = c.ticks.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(labels, ["0", "500", "1.000", "1.500"]);
        assert_eq!(c.bars.len(), 2);
        assert_eq!(c.x_labels[0].1, "01/11");
        assert!(c.bars[1].title.contains("1.234 chamadas"));
        assert!(
            c.bars
                .iter()
                .all(|b| b.x >= PLOT_LEFT && b.x + b.w <= PLOT_RIGHT)
        );
    }

    #[test]
    fn the_people_csv_is_for_brazilian_excel() {
        let rows = [usage::Row {
            date: "2026-11-28".into(),
            company_id: Some("cmp_1".into()),
            company_name: Some("Pão; Cia".into()),
            application_id: "app_1".into(),
            application_name: Some("=Robô".into()),
            operation: "omie:ListarClientes".into(),
            count: 1234,
        }];
        assert_eq!(
            people_csv(&rows),
            "\u{feff}Dia;Empresa;Aplicação;Operação;Chamadas\r\n\
             28/11/2026;\"Pão; Cia\";'=Robô;Omie: ListarClientes;1234\r\n"
        );
    }
}
