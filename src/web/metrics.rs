//! Counts every answered request for `/metrics` (DESIGN.md §8.4): method, route
//! *pattern* (`/admin/companies/{id}`, never the path) and status class, and the time
//! taken. Cheap: a clock read, the pattern the request log builds too, and an atomic
//! add under a read lock after the answer is made; nothing is held across an await.

use std::time::Instant;

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

use crate::metrics::{method_label, record_request};

pub async fn layer(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let method = method_label(req.method().as_str());
    let result = next.call(req).await;
    let seconds = started.elapsed().as_secs_f64();
    match &result {
        Ok(res) => record_request(
            method,
            res.request().match_pattern(),
            res.status().as_u16(),
            seconds,
        ),
        // The request went with the error: no pattern, the status still counts.
        Err(e) => record_request(
            method,
            None,
            e.as_response_error().status_code().as_u16(),
            seconds,
        ),
    }
    result
}
