//! Static files, embedded in the binary so a deployment is one file plus its data dir.

use actix_web::{HttpResponse, web};

const FILES: &[(&str, &str, &[u8])] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/app.js"),
    ),
];

pub async fn serve(file: web::Path<String>) -> HttpResponse {
    match FILES.iter().find(|(name, _, _)| *name == file.as_str()) {
        Some((_, ct, body)) => HttpResponse::Ok().content_type(*ct).body(*body),
        None => HttpResponse::NotFound().finish(),
    }
}
