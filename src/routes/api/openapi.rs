use actix_web::HttpResponse;

/// The OpenAPI 3 description of every API route, kept next to the routes it describes.
pub const DOCUMENT: &str = include_str!("openapi.json");

pub async fn document() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(DOCUMENT)
}
