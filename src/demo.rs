//! `demo`: realistic fake data for trying the product and for benchmarks. Everything is
//! written through the same store functions and audit chain as real data.

use crate::db::Conn;
use crate::domain::Action;
use crate::domain::CompanyStatus;
use std::collections::HashSet;
use std::time::Instant;

use anyhow::bail;
use serde_json::json;

use crate::crypto::{new_id, random_bytes};
use crate::db::{self, audit, companies, users};
use crate::domain::{Cnpj, Password};
use crate::error::AppError;
use crate::services::Keys;
use crate::services::auth::hash_password;
use crate::time;

const FIRST: &[&str] = &[
    "Ana", "Bruno", "Carla", "Diego", "Eduarda", "Felipe", "Gabriela", "Henrique", "Isabela",
    "João", "Larissa", "Marcos", "Natália", "Otávio", "Paula", "Rafael", "Sofia", "Thiago",
    "Vitória", "Wagner",
];
const LAST: &[&str] = &[
    "Silva",
    "Santos",
    "Oliveira",
    "Souza",
    "Rodrigues",
    "Ferreira",
    "Alves",
    "Pereira",
    "Lima",
    "Gomes",
    "Costa",
    "Ribeiro",
    "Martins",
    "Carvalho",
    "Almeida",
    "Lopes",
    "Soares",
    "Fernandes",
    "Vieira",
    "Barbosa",
];
const TRADE: &[&str] = &[
    "Padaria",
    "Mercado",
    "Auto Peças",
    "Farmácia",
    "Construtora",
    "Transportes",
    "Distribuidora",
    "Comércio de Alimentos",
    "Tecnologia",
    "Consultoria",
    "Oficina",
    "Papelaria",
    "Materiais Elétricos",
    "Clínica",
    "Restaurante",
    "Confecções",
    "Agropecuária",
    "Logística",
    "Gráfica",
    "Imobiliária",
];
const PLACE: &[&str] = &[
    "São Paulo",
    "Campinas",
    "Curitiba",
    "Porto Alegre",
    "Belo Horizonte",
    "Recife",
    "Salvador",
    "Fortaleza",
    "Goiânia",
    "Florianópolis",
    "Joinville",
    "Ribeirão Preto",
    "Uberlândia",
    "Manaus",
    "Belém",
    "Vitória",
    "Natal",
    "Maceió",
    "Londrina",
    "Santos",
];
const SUFFIX: &[&str] = &["Ltda", "S.A.", "ME", "EIRELI", "Ltda EPP"];
const DDD: &[&str] = &["11", "19", "41", "51", "31", "81", "71", "85", "62", "48"];

/// A small deterministic generator (SplitMix64), seeded from the OS.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

fn ascii_slug(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            'á' | 'â' | 'ã' | 'à' => Some('a'),
            'é' | 'ê' => Some('e'),
            'í' => Some('i'),
            'ó' | 'ô' | 'õ' => Some('o'),
            'ú' => Some('u'),
            'ç' => Some('c'),
            c if c.is_ascii_alphanumeric() => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

fn cnpj(rng: &mut Rng, seen: &mut HashSet<String>, alphanumeric: bool) -> Cnpj {
    const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    loop {
        let mut base = [b'0'; 12];
        for (i, b) in base.iter_mut().enumerate() {
            *b = if alphanumeric && i < 8 {
                ALNUM[rng.below(ALNUM.len())]
            } else {
                b'0' + rng.below(10) as u8
            };
        }
        if !alphanumeric {
            // Most companies are a head office: order 0001.
            base[8..].copy_from_slice(b"0001");
        }
        if let Some(c) = Cnpj::from_base(&base)
            && c.is_alphanumeric() == alphanumeric
            && seen.insert(c.as_str().to_string())
        {
            return c;
        }
    }
}

/// Fills an empty database. Returns a short report with the timings.
pub fn fill(
    conn: &mut Conn,
    keys: &Keys,
    n_companies: usize,
    audit_rows: Option<usize>,
    bcrypt_cost: u32,
) -> anyhow::Result<String> {
    let existing: i64 = conn.query_row("SELECT COUNT(*) FROM companies", [], |r| r.get(0))?;
    if existing > 0 {
        bail!("the database already has {existing} companies; demo only fills an empty database");
    }
    let started = Instant::now();
    let mut rng = Rng(u64::from_le_bytes(random_bytes::<8>()));
    // One hash for every demo user: hashing 10,000 passwords would take most of an hour.
    let demo_password = Password::parse("demonstracao omie 2026").map_err(anyhow::Error::msg)?;
    let shared_hash =
        hash_password(&demo_password, bcrypt_cost).map_err(|e| anyhow::anyhow!("{e}"))?;
    let n_audit = audit_rows.unwrap_or(n_companies).max(n_companies);
    let owner_password = crate::crypto::new_token()[..20].to_string();
    let owner_hash = hash_password(
        &Password::parse(&owner_password).map_err(anyhow::Error::msg)?,
        bcrypt_cost,
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;

    let w_keys = keys.to_owned();
    let (made_owner, n_users) = db::write(conn, move |tx| {
        let keys = &w_keys;
        let base_time = time::now() - chrono::Duration::days(365);
        let mut seen = HashSet::new();
        let made_owner = !users::owner_exists(tx)?;
        if made_owner {
            users::insert(
                tx,
                &users::NewUser {
                    id: &new_id("usr"),
                    company_id: None,
                    name: "Dono da Demonstração",
                    email: "dono@demo.example.com.br",
                    role: crate::domain::Role::Owner,
                    status: crate::domain::UserStatus::Active,
                    password_hash: Some(&owner_hash),
                },
                &time::now_db(),
            )?;
        }
        let mut n_users = 0usize;
        let mut audit_written = 0usize;
        let mut company_ids = Vec::with_capacity(n_companies);
        for i in 0..n_companies {
            let alnum = rng.below(100) < 15;
            let c = cnpj(&mut rng, &mut seen, alnum);
            let trade = format!("{} {}", rng.pick(TRADE), rng.pick(PLACE));
            let legal = format!("{} {} {}", trade, rng.pick(LAST), rng.pick(SUFFIX));
            let contact = format!("{} {}", rng.pick(FIRST), rng.pick(LAST));
            let email = format!("{}.{}@{}.com.br", ascii_slug(contact.split(' ').next().unwrap_or("contato")), i, ascii_slug(&trade));
            let phone = format!("+55{}9{:08}", rng.pick(DDD), rng.below(100_000_000));
            let at = time::to_db(base_time + chrono::Duration::seconds((i as i64 * 31_536_000) / n_companies.max(1) as i64));
            let id = new_id("cmp");
            let fields = companies::Fields {
                legal_name: legal,
                trade_name: trade,
                cnpj: c.clone(),
                contact_name: contact.clone(),
                email: email.clone(),
                phone,
                monthly_fee_cents: [None, Some(19_900), Some(29_900), Some(49_900)][rng.below(4)],
            };
            companies::insert(tx, &id, &fields, &at)?;
            let status = match rng.below(100) {
                0..=89 => CompanyStatus::Active,
                90..=96 => CompanyStatus::Suspended,
                _ => CompanyStatus::Archived,
            };
            if status != CompanyStatus::Active {
                companies::set_status(tx, &id, status, &at)?;
            }
            let entry = audit::NewEntry {
                actor_type: "system",
                actor_label: "demo".into(),
                action: Action::CompanyCreate.as_str(),
                entity_type: "company",
                entity_id: Some(id.clone()),
                company_id: Some(id.clone()),
                details: json!({ "fields": { "legal_name": fields.legal_name, "cnpj": fields.cnpj } }),
                ..Default::default()
            };
            audit::append(tx, &keys.audit, &at, &entry)?;
            audit_written += 1;
            if i % 10 == 0 {
                let uid = new_id("usr");
                users::insert(
                    tx,
                    &users::NewUser {
                        id: &uid,
                        company_id: Some(&id),
                        name: &contact,
                        email: &email,
                        role: if i % 20 == 0 {
                            crate::domain::Role::CompanyAdmin
                        } else {
                            crate::domain::Role::CompanyUser
                        },
                        status: crate::domain::UserStatus::Active,
                        password_hash: Some(&shared_hash),
                    },
                    &at,
                )?;
                n_users += 1;
            }
            company_ids.push(id);
        }
        // Extra history: logins and edits spread over the companies.
        while audit_written < n_audit && !company_ids.is_empty() {
            let id = &company_ids[rng.below(company_ids.len())];
            let (action, details) = if rng.below(2) == 0 {
                ("auth.login", json!({ "via": "page" }))
            } else {
                ("company.update", json!({ "changed": { "phone": { "from": "", "to": "+5511900000000" } } }))
            };
            let entry = audit::NewEntry {
                actor_type: "system",
                actor_label: "demo".into(),
                action,
                entity_type: "company",
                entity_id: Some(id.clone()),
                company_id: Some(id.clone()),
                details,
                ..Default::default()
            };
            audit::append(tx, &keys.audit, &time::now_db(), &entry)?;
            audit_written += 1;
        }
        Ok::<_, AppError>((made_owner, n_users))
    })
    .map_err(|e| anyhow::anyhow!("demo failed: {e:?}"))?;
    let mut report = format!(
        "demo data: {n_companies} companies, {n_users} company users, {n_audit} audit rows in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    if made_owner {
        report.push_str(&format!(
            "\nowner account: dono@demo.example.com.br / {owner_password} (shown once)\ndemo company users' password: demonstracao omie 2026"
        ));
    }
    Ok(report)
}
