use actix_web::HttpResponse;

/// The OpenAPI 3 description of every API route, kept next to the routes it describes.
pub const DOCUMENT: &str = include_str!("openapi.json");

pub async fn document() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(DOCUMENT)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::collections::BTreeSet;

    use crate::routes::{Area, table};

    /// The document and the router list the same operations: every `/api/v1` route is
    /// documented with its method, and everything documented is served.
    #[test]
    fn the_document_and_the_router_have_the_same_operations() {
        let doc: serde_json::Value = serde_json::from_str(super::DOCUMENT).unwrap();
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
}
