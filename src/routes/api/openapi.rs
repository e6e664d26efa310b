//! The OpenAPI 3.1 document of the API, generated from the handlers' `#[utoipa::path]`
//! attributes and the request and response types they use, so it cannot describe a field
//! the server does not send. The router and the document are compared both ways by the
//! test below.

use std::sync::LazyLock;

use actix_web::HttpResponse;
use serde::Serialize;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{
    ClientCredentials, Flow, HttpAuthScheme, HttpBuilder, OAuth2, Scopes, SecurityScheme,
};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};
use utoipa::{Modify, OpenApi, ToSchema};

use super::{
    applications, audit, auth, backups, companies, erasure, health, me, notifications, omie,
    privacy, proxy, reports, token, users, validate,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Omie Tenant Manager API",
        version = "1.0.0",
        description = "JSON API of the Omie Tenant Manager. Authenticate with \
            `Authorization: Bearer <token>` (a person's token from `POST /api/v1/auth/login`, \
            an application's from `POST /api/v1/auth/token`). Errors are RFC 9457 \
            `application/problem+json`. Lists take `limit` and `cursor` and return \
            `{items, next_cursor}`. Ids are opaque strings. Timestamps are RFC 3339 with offset."
    ),
    servers((url = "/")),
    paths(
        crate::routes::health::healthz,
        crate::routes::health::readyz,
        document,
        auth::login,
        auth::logout,
        token::token,
        me::get,
        me::start,
        me::confirm,
        me::disable,
        notifications::get,
        notifications::put,
        privacy::export,
        privacy::open,
        privacy::list,
        privacy::resolve,
        privacy::audit_export,
        crate::routes::signup::api,
        companies::list,
        companies::create,
        companies::get,
        companies::update,
        companies::archive,
        omie::get,
        omie::put,
        omie::test,
        users::list,
        users::create,
        users::get,
        users::update,
        users::disable,
        users::approve,
        erasure::anonymize_user,
        erasure::anonymize_company,
        applications::list,
        applications::create,
        applications::get,
        applications::update,
        applications::revoke,
        applications::rotate,
        applications::revoke_secret,
        applications::link,
        applications::unlink,
        proxy::forward,
        reports::usage,
        reports::summary,
        audit::list,
        backups::list,
        backups::create,
        backups::get,
        health::get,
        validate::cnpj,
    ),
    components(
        schemas(Problem, FieldError),
        responses(
            BadRequest,
            Unauthorized,
            Forbidden,
            NotFound,
            Conflict,
            PayloadTooLarge,
            ValidationFailed,
            TooManyRequests
        )
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "health", description = "Liveness and readiness probes, and the system's health checks."),
        (name = "auth", description = "Bearer tokens for people and applications."),
        (name = "me", description = "The signed-in person's own account and second factor."),
        (name = "companies", description = "Client companies and their Omie credentials."),
        (name = "users", description = "People of a company."),
        (name = "applications", description = "Integrations that act for companies."),
        (name = "reports", description = "Usage and the audit trail."),
        (name = "backups", description = "Backups of the database."),
        (name = "privacy", description = "Requests of data subjects (LGPD Art. 18), with deadlines."),
        (name = "validation", description = "Input helpers."),
        (name = "meta", description = "This document."),
    )
)]
pub struct ApiDoc;

/// An RFC 9457 problem, as `web::error::ApiError` writes it.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "type": "about:blank", "title": "Invalid input", "status": 422,
    "detail": "One or more fields are invalid.",
    "errors": [{"field": "cnpj", "message": "Informe o CNPJ."}]
}))]
pub struct Problem {
    /// Always `about:blank`: the status and title say what happened.
    #[serde(rename = "type")]
    #[schema(example = "about:blank")]
    pub kind: String,
    #[schema(example = "Invalid input")]
    pub title: String,
    #[schema(example = 422)]
    pub status: u16,
    #[schema(example = "One or more fields are invalid.")]
    pub detail: String,
    /// A machine-readable reason where the status alone does not tell: `mfa_required`,
    /// `invalid_otp`, `mfa_locked`, `mfa_enrollment_required`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "mfa_required")]
    pub code: Option<String>,
    /// Per-field problems, for validation failures (422) and conflicts (409).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// One field's problem.
#[derive(Serialize, ToSchema)]
pub struct FieldError {
    /// The request field, e.g. `cnpj`.
    #[schema(example = "cnpj")]
    pub field: String,
    /// In Portuguese, to show to people.
    #[schema(example = "Informe o CNPJ.")]
    pub message: String,
}

fn problem_response(description: &str, example: serde_json::Value) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        "application/problem+json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Problem")))
            .example(Some(example))
            .build(),
    )
}

fn header(description: &str, example: &str) -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .examples([example]),
        )
        .description(Some(description))
        .build()
}

/// Reusable error answers: each operation lists the ones it can give, by reference.
macro_rules! problem {
    ($name:ident, $status:literal, $title:literal, $description:literal, $detail:literal $(, $header:literal = ($hdesc:literal, $hex:literal))?) => {
        pub struct $name;

        impl<'r> utoipa::ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<Response>) {
                #[allow(unused_mut)]
                let mut r = problem_response(
                    $description,
                    serde_json::json!({
                        "type": "about:blank", "title": $title, "status": $status, "detail": $detail
                    }),
                );
                $(r = r.header($header, header($hdesc, $hex));)?
                (stringify!($name), r.build().into())
            }
        }
    };
}

problem!(
    BadRequest,
    400,
    "Bad request",
    "The body or the query could not be read (not JSON, a field of the wrong type, `null` for a field that is optional but not nullable).",
    "Json deserialize error: invalid type: null, expected a string at line 1 column 19"
);
problem!(
    Unauthorized,
    401,
    "Unauthorized",
    "Missing, invalid or expired bearer token.",
    "A valid bearer token is required.",
    "WWW-Authenticate" = ("Always `Bearer`.", "Bearer")
);
problem!(
    Forbidden,
    403,
    "Forbidden",
    "The caller may not do this (its role, or the scopes of an application's link).",
    "You may not do this."
);
problem!(
    NotFound,
    404,
    "Not found",
    "No such resource, or one the caller may not see (another company's ids answer 404).",
    "No such resource."
);
problem!(
    Conflict,
    409,
    "Conflict",
    "The request conflicts with what exists (a CNPJ or e-mail already in use, a backup already running).",
    "The value is already in use."
);
problem!(
    PayloadTooLarge,
    413,
    "Payload too large",
    "The body is over the size limit.",
    "The body is larger than the limit of 65536 bytes."
);
problem!(
    ValidationFailed,
    422,
    "Invalid input",
    "One or more fields (or query parameters) are invalid, or the request breaks a rule of the current state; `errors` says which and why, in Portuguese.",
    "One or more fields are invalid."
);
problem!(
    TooManyRequests,
    429,
    "Too many requests",
    "Too many attempts; retry after the number of seconds in `Retry-After`.",
    "Too many attempts. Try again later.",
    "Retry-After" = ("Seconds to wait.", "60")
);

/// The bearer scheme every protected operation uses, HTTP Basic for client
/// authentication at the token endpoint, and the OAuth 2.0 client-credentials flow that
/// gives applications their bearer tokens (it also tells tools which operation mints
/// credentials, so they do not take its 400/401 for a bug).
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearerAuth",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "Opaque token from `POST /api/v1/auth/login` (people) or \
                         `POST /api/v1/auth/token` (applications).",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "basicClient",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some("client_id and client_secret (RFC 6749 §2.3.1)."))
                    .build(),
            ),
        );
        let scopes = Scopes::from_iter([
            ("companies:read", "Read the linked company's data."),
            (
                "omie_credentials:read",
                "Read the linked company's Omie credentials in clear.",
            ),
            (
                "omie:proxy",
                "Call Omie for the linked company through the proxy.",
            ),
        ]);
        components.add_security_scheme(
            "applicationAuth",
            SecurityScheme::OAuth2(OAuth2::with_description(
                [Flow::ClientCredentials(ClientCredentials::new(
                    "/api/v1/auth/token",
                    scopes,
                ))],
                "Applications: the client-credentials grant gives a bearer token, sent as \
                 `Authorization: Bearer`. What it may do is set per company by the link's scopes.",
            )),
        );
    }
}

/// The document, rendered once: it only changes with the code.
static DOCUMENT: LazyLock<Result<String, String>> = LazyLock::new(render);

fn render() -> Result<String, String> {
    let json = ApiDoc::openapi()
        .to_pretty_json()
        .map_err(|e| e.to_string())?;
    Ok(camel_case_links(&json))
}

/// utoipa 5 writes a Link object's fields as `operation_id`, `operation_ref` and
/// `request_body`; OpenAPI names them `operationId`, `operationRef` and `requestBody`,
/// and validators and schemathesis refuse or ignore the snake-case form. The rename is
/// done on the text (a quoted key followed by `": `) so the document keeps utoipa's
/// property order; no schema of ours has a property by these names, which the tests
/// below check.
fn camel_case_links(json: &str) -> String {
    json.replace("\"operation_id\": ", "\"operationId\": ")
        .replace("\"operation_ref\": ", "\"operationRef\": ")
        .replace("\"request_body\": ", "\"requestBody\": ")
}

/// This document.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "meta",
    operation_id = "getOpenApiDocument",
    responses((status = 200, description = "This OpenAPI 3.1 document.", content_type = "application/json", body = Object))
)]
pub async fn document() -> HttpResponse {
    match DOCUMENT.as_ref() {
        Ok(json) => HttpResponse::Ok()
            .content_type("application/json")
            .body(json.clone()),
        Err(e) => {
            tracing::error!(error = %e, "rendering the OpenAPI document");
            HttpResponse::InternalServerError().finish()
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::collections::BTreeSet;

    use actix_web::ResponseError;
    use actix_web::body::MessageBody;

    use utoipa::OpenApi;

    use crate::error::AppError;
    use crate::routes::{Area, table};
    use crate::web::error::ApiError;

    fn doc() -> serde_json::Value {
        serde_json::from_str(super::DOCUMENT.as_ref().unwrap()).unwrap()
    }

    /// The document and the router list the same operations: every `/api/v1` route is
    /// documented with its method, and everything documented is served.
    #[test]
    fn the_document_and_the_router_have_the_same_operations() {
        let doc = doc();
        let documented: BTreeSet<(String, String)> = doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .unwrap()
                    .keys()
                    .filter(|k| {
                        ["get", "put", "post", "delete", "patch", "head", "options"]
                            .contains(&k.as_str())
                    })
                    .map(|m| (m.to_uppercase(), path.clone()))
                    .collect::<Vec<_>>()
            })
            .collect();
        let all: BTreeSet<(String, String)> = table()
            .into_iter()
            .map(|r| (r.method.to_string(), r.template()))
            .collect();
        let routed: BTreeSet<(String, String)> = table()
            .into_iter()
            .filter(|r| r.area == Area::Api)
            .map(|r| (r.method.to_string(), r.template()))
            .collect();
        let undocumented: Vec<_> = routed.difference(&documented).collect();
        // The document may also describe a few public routes (health, itself).
        let unrouted: Vec<_> = documented.difference(&all).collect();
        assert!(
            undocumented.is_empty() && unrouted.is_empty(),
            "served but not documented: {undocumented:?}; documented but not served: {unrouted:?}"
        );
        assert!(routed.len() > 30, "{} API operations", routed.len());
    }

    /// Every path parameter of a route is declared by its operation, under the router's
    /// name for it, so a client fills the right placeholder.
    #[test]
    fn every_path_parameter_is_declared() {
        let doc = doc();
        for r in table().into_iter().filter(|r| r.area == Area::Api) {
            let op = &doc["paths"][r.template()][r.method.as_str().to_lowercase()];
            let declared: BTreeSet<String> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().unwrap().to_string())
                .collect();
            let wanted: BTreeSet<String> = r.params().into_iter().collect();
            assert_eq!(declared, wanted, "{} {}", r.method, r.template());
        }
    }

    /// Every reference points at something the document defines, and every link names
    /// an operation that exists, so a tool following them never meets a dead end.
    #[test]
    fn references_and_links_resolve() {
        let doc = doc();
        let ops: BTreeSet<String> = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|item| item.as_object().unwrap().values())
            .filter_map(|op| op["operationId"].as_str().map(str::to_string))
            .collect();
        let mut links = 0;
        fn walk(
            v: &serde_json::Value,
            doc: &serde_json::Value,
            ops: &BTreeSet<String>,
            links: &mut usize,
        ) {
            match v {
                serde_json::Value::Object(m) => {
                    if let Some(r) = m.get("$ref").and_then(|r| r.as_str()) {
                        let ptr = r.trim_start_matches('#');
                        assert!(doc.pointer(ptr).is_some(), "dangling {r}");
                    }
                    if let Some(l) = m.get("links").and_then(|l| l.as_object()) {
                        for (name, link) in l {
                            let id = link["operationId"].as_str().unwrap();
                            assert!(ops.contains(id), "link {name} to unknown {id}");
                            *links += 1;
                        }
                    }
                    m.values().for_each(|v| walk(v, doc, ops, links));
                }
                serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, doc, ops, links)),
                _ => {}
            }
        }
        walk(&doc, &doc, &ops, &mut links);
        assert!(links >= 10, "{links} links");
        // The renaming of utoipa's snake-case link fields touched links and nothing else:
        // every `operation_id` utoipa wrote was a link's, and none is left.
        let raw = super::ApiDoc::openapi().to_pretty_json().unwrap();
        assert_eq!(raw.matches("\"operation_id\": ").count(), links);
        assert!(
            raw.matches("\"operation_ref\": ").count() + raw.matches("\"request_body\": ").count()
                == 0
        );
        let text = super::DOCUMENT.as_ref().unwrap();
        assert!(!text.contains("\"operation_id\""));
    }

    /// The Problem schema describes what `ApiError` really writes: the same keys, the
    /// required ones always there.
    #[test]
    fn the_problem_schema_matches_what_errors_write() {
        let doc = doc();
        let schema = &doc["components"]["schemas"]["Problem"];
        let props: BTreeSet<String> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        let required: BTreeSet<String> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        for e in [
            AppError::NotFound,
            AppError::field("cnpj", "Informe o CNPJ."),
            AppError::Unauthenticated,
        ] {
            let body = ApiError(e)
                .error_response()
                .into_body()
                .try_into_bytes()
                .unwrap();
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let keys: BTreeSet<String> = v.as_object().unwrap().keys().cloned().collect();
            assert!(keys.is_subset(&props), "{keys:?} not in {props:?}");
            assert!(
                required.is_subset(&keys),
                "{required:?} not all in {keys:?}"
            );
        }
    }
}
