//! The outermost layer (DESIGN.md §8.1): every response carries `X-Request-Id`, and every
//! request leaves one access-log line with that id, the method, the route *pattern*, the
//! status and the duration. The pattern (`/admin/companies/{id}`) and never the path, so
//! ids, single-use tokens in paths and query strings stay out of the log; no header or
//! body is logged either.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};

pub const HEADER: &str = "x-request-id";
/// Longest id taken from a proxy; longer ones are replaced, not cut.
const MAX_LEN: usize = 64;

/// This request's id, in the request's extensions for code that wants to show it.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// A proxy's id is kept when it is short and plain (letters, digits, `-`, `_`, `.`), so a
/// client cannot smuggle line breaks or a megabyte into our log.
fn sane(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// 16 hex digits: 32 random bits drawn once per process, then a counter. Unique within
/// a process and, but for a 1-in-4-billion coincidence, across restarts; an id names a
/// request in the log, it guards nothing, so it needs no secret randomness per request
/// (that was one `getrandom` system call per request).
fn new_id() -> String {
    use std::sync::LazyLock;
    use std::sync::atomic::{AtomicU32, Ordering};
    static PROCESS: LazyLock<u32> =
        LazyLock::new(|| u32::from_be_bytes(crate::crypto::random_bytes::<4>()));
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{:08x}{:08x}",
        *PROCESS,
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

pub async fn layer(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let started = Instant::now();
    let id = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| sane(v))
        .map(str::to_string)
        .unwrap_or_else(new_id);
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().clone();
    let result = next.call(req).await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    match result {
        Ok(res) => {
            let mut res = res.map_into_boxed_body();
            let route = res.request().match_pattern();
            tracing::info!(
                target: "access",
                request_id = %id,
                method = %method,
                route = %route.as_deref().unwrap_or("-"),
                status = res.status().as_u16(),
                ms = format_args!("{ms:.1}"),
                "request"
            );
            if let Ok(v) = HeaderValue::from_str(&id) {
                res.headers_mut().insert(HeaderName::from_static(HEADER), v);
            }
            Ok(res)
        }
        Err(e) => {
            // The request went with the call, so no pattern; the status still tells.
            tracing::info!(
                target: "access",
                request_id = %id,
                method = %method,
                route = %"-",
                status = e.as_response_error().status_code().as_u16(),
                ms = format_args!("{ms:.1}"),
                "request"
            );
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_plain_short_ids_are_taken() {
        assert!(super::sane("abc-123") && super::sane("0a1b.c_d"));
        assert!(!super::sane(""));
        assert!(!super::sane("a b") && !super::sane("a\nb") && !super::sane("a/b"));
        assert!(!super::sane(&"a".repeat(65)) && super::sane(&"a".repeat(64)));
        let id = super::new_id();
        assert!(super::sane(&id) && id.len() == 16);
        assert_ne!(id, super::new_id(), "each request its own id");
    }
}
