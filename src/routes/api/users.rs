use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::openapi::{
    BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, Unauthorized, ValidationFailed,
};
use super::{ListJson, no_null, page_limit};
use crate::domain::{Role, UserStatus};
use crate::error::AppError;
use crate::services::users::User;
use crate::services::users::{self, Added, NewMember, UserPatch};
use crate::time;
use crate::web::State;
use crate::web::acting::Acting;
use crate::web::error::ApiError;

/// A person.
#[derive(Serialize, ToSchema)]
#[schema(as = User)]
pub struct UserJson {
    #[schema(example = "usr_abcdefghijklmnop")]
    id: String,
    /// Null for the owner and staff.
    #[schema(example = "cmp_abcdefghijklmnop")]
    company_id: Option<String>,
    #[schema(example = "Joana Lima")]
    name: String,
    #[schema(example = "joana@padaria.com.br")]
    email: String,
    role: Role,
    status: UserStatus,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    last_login_at: Option<String>,
}

impl From<User> for UserJson {
    fn from(u: User) -> Self {
        Self {
            created_at: time::db_to_rfc3339(&u.created_at),
            last_login_at: u.last_login_at.as_deref().map(time::db_to_rfc3339),
            id: u.id,
            company_id: u.company_id,
            name: u.name,
            email: u.email,
            role: u.role,
            status: u.status,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
// A parameter the document does not name is refused (400), so a typo is not silently
// a different query.
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Page size, 1 to 200 (a value outside answers 422).
    #[param(minimum = 1, maximum = 200, default = 50)]
    limit: Option<usize>,
    /// `next_cursor` of the previous page; empty or absent for the first page.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    cursor: Option<String>,
}

/// List a company's people
#[utoipa::path(
    get,
    path = "/api/v1/companies/{id}/users",
    tag = "users",
    operation_id = "listCompanyUsers",
    params(("id" = String, Path, description = "Company id."), ListParams),
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "A page of people, by name.", body = ListJson<UserJson>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = ValidationFailed),
    )
)]
pub async fn list(
    app: State,
    who: Acting,
    id: web::Path<String>,
    p: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, p) = (who.actor(), id.into_inner(), p.into_inner());
    let page = app
        .run(move |conn, _| {
            users::list_company(conn, &actor, &id, page_limit(p.limit)?, p.cursor.as_deref())
        })
        .await?;
    Ok(HttpResponse::Ok().json(ListJson::from(page.map(UserJson::from))))
}

/// A person to add to a company.
#[derive(Deserialize, ToSchema)]
#[schema(as = NewCompanyUser, example = json!({
    "email": "joana@padaria.com.br", "name": "Joana Lima", "role": "company_user"
}))]
pub struct CreateBody {
    #[schema(example = "joana@padaria.com.br")]
    email: String,
    /// Required with a `password`; with an invitation the person may give it.
    #[serde(default)]
    #[schema(example = "Joana Lima")]
    name: String,
    /// `company_admin` or `company_user` (the default).
    #[serde(default, deserialize_with = "no_null")]
    #[schema(
        nullable = false,
        pattern = "^company_(admin|user)$",
        example = "company_user"
    )]
    role: Option<String>,
    /// Owner and staff only: with a password the person is created active (201). A
    /// company admin may not send one (422): the address becomes an account only once
    /// its owner accepts the e-mailed invitation and chooses the password.
    #[serde(default, deserialize_with = "no_null")]
    #[schema(nullable = false, min_length = 12)]
    password: Option<String>,
}

/// An invitation e-mailed to the person.
#[derive(Serialize, ToSchema)]
#[schema(as = Invitation)]
pub struct InvitationJson {
    #[schema(example = "inv_abcdefghijklmnop")]
    invitation_id: String,
    email: String,
    role: Role,
    /// The link stops working then (72 hours).
    #[schema(format = DateTime)]
    expires_at: String,
}

fn company_role(role: Option<&str>) -> Result<Role, AppError> {
    match role {
        None => Ok(Role::CompanyUser),
        Some(r) => Role::parse(r)
            .filter(|r| !r.is_platform())
            .ok_or_else(|| AppError::field("role", "role must be company_admin or company_user")),
    }
}

/// Add a person to a company
///
/// Without a `password`, an invitation is e-mailed (202). To a company admin the answer
/// is the same whether or not the address has an account elsewhere (or an invitation
/// from another company): nothing tells which addresses exist, and nothing is created
/// for the address until its owner accepts the link. An address that already has an
/// account is told so on the link, and nothing changes. 409 only for what the caller's
/// own company holds (a person of the company, an open invitation of the company); the
/// owner and staff, who see every account, also get 409 for an address in use anywhere.
///
/// With a `password` (owner and staff only), an active user (201).
#[utoipa::path(
    post,
    path = "/api/v1/companies/{id}/users",
    tag = "users",
    operation_id = "createCompanyUser",
    params(("id" = String, Path, description = "Company id.")),
    request_body = CreateBody,
    security(("bearerAuth" = [])),
    responses(
        (status = 201, description = "Created, active.", body = UserJson,
            headers(("Location" = String, description = "URL of the new person.")),
            links(
                ("GetUser" = (operation_id = "getUser", parameters(("id" = "$response.body#/id")))),
                ("UpdateUser" = (operation_id = "updateUser", parameters(("id" = "$response.body#/id")))),
                ("DisableUser" = (operation_id = "disableUser", parameters(("id" = "$response.body#/id")))),
                ("ApproveUser" = (operation_id = "approveUser", parameters(("id" = "$response.body#/id")))),
            )
        ),
        (status = 202, description = "Invitation e-mailed; the same answer whether or not the address has an account elsewhere.", body = InvitationJson),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = ValidationFailed),
    )
)]
pub async fn create(
    app: State,
    who: Acting,
    id: web::Path<String>,
    body: crate::routes::api::JsonBody<CreateBody>,
) -> Result<HttpResponse, ApiError> {
    let (actor, cid, b) = (who.actor(), id.into_inner(), body.into_inner());
    let role = company_role(b.role.as_deref())?;
    let added = app
        .blocking(move |app| users::add_to_company(app, &actor, &b.member(&cid, role)))
        .await?;
    Ok(match added {
        Added::User(u) => HttpResponse::Created()
            .insert_header(("Location", format!("/api/v1/users/{}", u.id)))
            .json(UserJson::from(u)),
        Added::Invitation(inv) => HttpResponse::Accepted().json(InvitationJson::from(inv)),
    })
}

impl CreateBody {
    fn member<'a>(&'a self, company_id: &'a str, role: Role) -> NewMember<'a> {
        NewMember {
            company_id,
            name: &self.name,
            email: &self.email,
            role,
            password: self.password.as_deref(),
        }
    }
}

impl From<crate::services::mailed_links::Invitation> for InvitationJson {
    fn from(inv: crate::services::mailed_links::Invitation) -> Self {
        Self {
            invitation_id: inv.id,
            email: inv.email,
            role: inv.role,
            expires_at: time::db_to_rfc3339(&inv.expires_at),
        }
    }
}

/// Read a person
#[utoipa::path(
    get,
    path = "/api/v1/users/{id}",
    tag = "users",
    operation_id = "getUser",
    params(("id" = String, Path, description = "User id.")),
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The person.", body = UserJson),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
pub async fn get(app: State, who: Acting, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let (actor, id) = (who.actor(), id.into_inner());
    let u = app
        .run(move |conn, _| users::get(conn, &actor, &id))
        .await?;
    Ok(HttpResponse::Ok().json(UserJson::from(u)))
}

/// What to change; all optional.
#[derive(Deserialize, ToSchema)]
#[schema(as = UserPatch, example = json!({"role": "company_admin"}))]
pub struct PatchBody {
    #[serde(default, deserialize_with = "no_null")]
    #[schema(nullable = false)]
    name: Option<String>,
    #[serde(default, deserialize_with = "no_null")]
    #[schema(value_type = Role, required = false)]
    role: Option<String>,
    /// `active` or `disabled`.
    #[serde(default, deserialize_with = "no_null")]
    #[schema(nullable = false, pattern = "^(active|disabled)$")]
    status: Option<String>,
}

impl PatchBody {
    fn parse(self) -> Result<UserPatch, AppError> {
        let role = match self.role.as_deref() {
            None => None,
            Some(r) => Some(Role::parse(r).ok_or_else(|| AppError::field("role", "unknown role"))?),
        };
        let enabled = match self.status.as_deref() {
            None => None,
            Some("active") => Some(true),
            Some("disabled") => Some(false),
            Some(_) => {
                return Err(AppError::field(
                    "status",
                    "status must be active or disabled",
                ));
            }
        };
        Ok(UserPatch {
            name: self.name,
            role,
            enabled,
        })
    }
}

/// Change a person
///
/// Their name, role (within what the caller may give) or status.
#[utoipa::path(
    patch,
    path = "/api/v1/users/{id}",
    tag = "users",
    operation_id = "updateUser",
    params(("id" = String, Path, description = "User id.")),
    request_body = PatchBody,
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The changed person.", body = UserJson),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 409, response = Conflict),
        (status = 422, response = ValidationFailed),
    )
)]
pub async fn update(
    app: State,
    who: Acting,
    id: web::Path<String>,
    body: crate::routes::api::JsonBody<PatchBody>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, patch) = (who.actor(), id.into_inner(), body.into_inner().parse()?);
    let u = app
        .run(move |conn, app| users::patch(conn, &app.keys, &actor, &id, &patch))
        .await?;
    Ok(HttpResponse::Ok().json(UserJson::from(u)))
}

/// Disable a person
///
/// The account and its history stay; open sessions and tokens end at once. Nobody can
/// disable their own account (422).
#[utoipa::path(
    delete,
    path = "/api/v1/users/{id}",
    tag = "users",
    operation_id = "disableUser",
    params(("id" = String, Path, description = "User id.")),
    security(("bearerAuth" = [])),
    responses(
        (status = 204, description = "Disabled."),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = ValidationFailed),
    )
)]
pub async fn disable(
    app: State,
    who: Acting,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id) = (who.actor(), id.into_inner());
    app.run(move |conn, app| users::set_enabled(conn, &app.keys, &actor, &id, false))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The role to give; the one asked for at sign-up when absent. The body is optional
/// (none, or `null`, approves with that role).
#[derive(Deserialize, Default, ToSchema)]
#[schema(as = Approval)]
pub struct ApproveBody {
    #[serde(default, deserialize_with = "no_null")]
    #[schema(
        nullable = false,
        pattern = "^company_(admin|user)$",
        example = "company_user"
    )]
    role: Option<String>,
}

/// Approve a pending person
#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/approve",
    tag = "users",
    operation_id = "approveUser",
    params(("id" = String, Path, description = "User id.")),
    request_body(content = Option<ApproveBody>),
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "Approved.", body = UserJson),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = ValidationFailed),
    )
)]
pub async fn approve(
    app: State,
    who: Acting,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (actor, id) = (who.actor(), id.into_inner());
    // The body is optional, but one that is there must be an approval: reading a bad
    // one as "no body" would approve with a role the caller did not ask for.
    let body: ApproveBody = if body.iter().all(u8::is_ascii_whitespace) {
        ApproveBody::default()
    } else {
        let bad = |e: serde_json::Error| AppError::BadRequest(e.to_string());
        match serde_json::from_slice::<serde_json::Value>(&body).map_err(bad)? {
            serde_json::Value::Null => ApproveBody::default(),
            // An object only: serde would read an array as an approval too.
            v @ serde_json::Value::Object(_) => serde_json::from_value(v).map_err(bad)?,
            _ => return Err(AppError::BadRequest("the body must be a JSON object".into()).into()),
        }
    };
    let role = match body.role {
        None => None,
        Some(r) => Some(company_role(Some(&r))?),
    };
    let u = app
        .run(move |conn, app| {
            users::approve(
                conn,
                &app.keys,
                &actor,
                &id,
                role,
                &app.settings.base_url,
                true,
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(UserJson::from(u)))
}
