//! HTTP plumbing shared by every route: application state, client IP, cookies, CSRF,
//! security headers, the signed-in guard for pages and the bearer guard for the API.

pub mod acting;
pub mod csrf;
pub mod error;
pub mod guard;
pub mod headers;
pub mod limits;
pub mod metering;
pub mod metrics;
pub mod multipart;
pub mod page;
pub mod request_log;
pub mod session_store;

use std::net::IpAddr;
use std::sync::Arc;

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite};

pub const SESSION_COOKIE: &str = "otm_session";
pub const CSRF_COOKIE: &str = "otm_csrf";
pub const FLASH_COOKIE: &str = "otm_flash";
/// Set at each successful page sign-in: 256 random bits naming the browser, which the
/// sign-in throttle and the "new sign-in" e-mail know it by (`services::known_clients`).
pub const DEVICE_COOKIE: &str = "otm_device";

pub use crate::services::app::App;

/// The application context as handlers receive it.
pub type State = actix_web::web::Data<Arc<App>>;

/// What the HTTP edge adds to the context: the client's address and our cookie policy.
pub trait Edge {
    fn client_ip(&self, req: &HttpRequest) -> String;
    fn cookie(&self, name: &'static str, value: String, same_site: SameSite) -> Cookie<'static>;
    fn removal(&self, name: &'static str) -> Cookie<'static>;
}

impl Edge for App {
    /// The client's address: the peer, or the last X-Forwarded-For hop when the peer is
    /// a trusted proxy (our nginx site overwrites that header, it does not append).
    fn client_ip(&self, req: &HttpRequest) -> String {
        let peer = req.peer_addr().map(|a| a.ip());
        let trusted = peer.is_some_and(|ip| self.settings.trusted_proxies.contains(&ip));
        if trusted {
            let forwarded = req
                .headers()
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .and_then(|v| v.trim().parse::<IpAddr>().ok());
            if let Some(ip) = forwarded {
                return ip.to_string();
            }
        }
        peer.map(|ip| ip.to_string()).unwrap_or_default()
    }

    /// A cookie with our policy: HttpOnly, path /, SameSite as given, Secure when behind TLS.
    fn cookie(&self, name: &'static str, value: String, same_site: SameSite) -> Cookie<'static> {
        Cookie::build(name, value)
            .path("/")
            .http_only(true)
            .same_site(same_site)
            .secure(self.settings.secure_cookies)
            .finish()
    }

    /// A cookie that tells the browser to forget `name`; same path and flags as when set.
    fn removal(&self, name: &'static str) -> Cookie<'static> {
        let mut c = self.cookie(name, String::new(), SameSite::Lax);
        c.make_removal();
        c
    }
}

pub fn user_agent(req: &HttpRequest) -> String {
    req.headers()
        .get(actix_web::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}
