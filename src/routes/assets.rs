//! Static files, embedded in the binary so a deployment is one file plus its data dir.
//! Their URLs carry a hash of their content (`/static/app.css?v=…`), so they can be
//! cached for a year and a new build's files are fetched at once.

use std::sync::LazyLock;

use actix_web::{HttpResponse, web};
use sha2::{Digest, Sha256};

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

/// `/static/<name>?v=<first 10 hex digits of the content's SHA-256>`, computed once.
fn versioned(name: &str) -> String {
    let body = FILES
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, _, body)| *body)
        .unwrap_or_default();
    let hash = hex::encode(Sha256::digest(body));
    format!("/static/{name}?v={}", &hash[..10])
}

static CSS_URL: LazyLock<String> = LazyLock::new(|| versioned("app.css"));
static JS_URL: LazyLock<String> = LazyLock::new(|| versioned("app.js"));

/// For templates: `{{ crate::routes::assets::css_url() }}`.
pub fn css_url() -> &'static str {
    &CSS_URL
}

/// For templates: `{{ crate::routes::assets::js_url() }}`.
pub fn js_url() -> &'static str {
    &JS_URL
}

pub async fn serve(file: web::Path<String>) -> HttpResponse {
    match FILES.iter().find(|(name, _, _)| *name == file.as_str()) {
        Some((_, ct, body)) => HttpResponse::Ok().content_type(*ct).body(*body),
        None => HttpResponse::NotFound().finish(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn urls_carry_ten_hex_digits_of_their_own_content() {
        let (css, js) = (super::css_url(), super::js_url());
        let v = |u: &str| {
            u.rsplit_once("?v=")
                .map(|(_, v)| v.to_string())
                .unwrap_or_default()
        };
        assert!(css.starts_with("/static/app.css?v=") && js.starts_with("/static/app.js?v="));
        assert_eq!(v(css).len(), 10);
        assert!(v(css).bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(v(css), v(js));
    }
}
