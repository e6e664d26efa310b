//! The registrar every `configure` function uses, and the route table read back from it.
//!
//! Routes are registered through [`register`] (and scopes through [`scope`]) instead of
//! `ServiceConfig::route`, so that one call both adds the route to actix and, when
//! [`table`] is listening, records its method, full pattern and area. The table comes
//! from running the real `configure` functions, so it cannot drift from what the server
//! serves: the authorization test walks it, and the OpenAPI test compares it with the
//! document.
//!
//! All the methods of one path become one actix resource. A request whose path exists
//! but whose method does not is then answered 405 with `Allow` by that resource, instead
//! of falling through to the 404 of the default service.

use std::cell::RefCell;

use actix_web::http::{Method, header};
use actix_web::{FromRequest, Handler, HttpRequest, HttpResponse, Responder, Route, web};

/// Which face of the program a route belongs to; each has its own guard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Area {
    /// Outside every scope: sign-in, links, health, static files, the OpenAPI document.
    Public,
    /// `/admin`, behind the platform-user guard.
    Admin,
    /// `/portal`, behind the company-user guard.
    Portal,
    /// `/api/v1`, bearer tokens decided per handler.
    Api,
}

/// One (method, pattern) the router answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteInfo {
    pub method: Method,
    /// The full actix pattern, scope prefix included, e.g. `/api/v1/companies/{id}`.
    pub path: String,
    pub area: Area,
}

impl RouteInfo {
    /// The pattern with actix's regex parts dropped (`{endpoint:.*}` → `{endpoint}`),
    /// which is also the OpenAPI form of the path.
    pub fn template(&self) -> String {
        let mut out = String::with_capacity(self.path.len());
        let mut rest = self.path.as_str();
        while let Some(i) = rest.find('{') {
            out.push_str(&rest[..=i]);
            let after = &rest[i + 1..];
            let end = after.find('}').unwrap_or(after.len());
            let name = &after[..end];
            out.push_str(name.split(':').next().unwrap_or(name));
            rest = &after[end..];
        }
        out.push_str(rest);
        out
    }

    /// The names of the path parameters, in order.
    pub fn params(&self) -> Vec<String> {
        let t = self.template();
        t.split('{')
            .skip(1)
            .filter_map(|s| s.split_once('}').map(|(name, _)| name.to_string()))
            .collect()
    }
}

struct Recording {
    /// Scopes being configured, innermost last.
    scopes: Vec<(&'static str, Area)>,
    routes: Vec<RouteInfo>,
}

thread_local! {
    // On only while `table()` runs the configure functions on this thread; the server's
    // workers never see it on, so registering costs them nothing.
    static RECORDING: RefCell<Option<Recording>> = const { RefCell::new(None) };
}

fn with_recording(f: impl FnOnce(&mut Recording)) {
    RECORDING.with(|r| {
        if let Some(rec) = r.borrow_mut().as_mut() {
            f(rec);
        }
    });
}

/// Turns recording off even if a configure function panics, so a later call on this
/// thread starts clean.
struct RecordingGuard;

impl Drop for RecordingGuard {
    fn drop(&mut self) {
        RECORDING.with(|r| r.borrow_mut().take());
    }
}

/// Every route the server serves, in registration order, read from the router itself.
pub fn table() -> Vec<RouteInfo> {
    RECORDING.with(|r| {
        *r.borrow_mut() = Some(Recording {
            scopes: Vec::new(),
            routes: Vec::new(),
        })
    });
    let guard = RecordingGuard;
    // `App::configure` and `Scope::configure` call their closure at once, so building
    // the app (without serving it) runs every registration below.
    let _app = actix_web::App::new().configure(super::unserved);
    let routes = RECORDING
        .with(|r| r.borrow_mut().take())
        .map(|r| r.routes)
        .unwrap_or_default();
    drop(guard);
    routes
}

/// A scope whose routes are recorded under `prefix` and `area`.
pub fn scope(
    prefix: &'static str,
    area: Area,
    configure: fn(&mut web::ServiceConfig),
) -> actix_web::Scope {
    with_recording(|r| r.scopes.push((prefix, area)));
    let scope = web::scope(prefix).configure(configure);
    with_recording(|r| {
        r.scopes.pop();
    });
    scope
}

/// Routes of one `configure` function, grouped by path until [`register`] adds them.
#[derive(Default)]
pub struct Routes {
    groups: Vec<Group>,
}

struct Group {
    path: String,
    methods: Vec<Method>,
    routes: Vec<Route>,
}

/// Collects the routes `build` declares, records them, and adds one resource per path
/// to `cfg`.
pub fn register(cfg: &mut web::ServiceConfig, build: impl FnOnce(&mut Routes)) {
    let mut routes = Routes::default();
    build(&mut routes);
    for g in routes.groups {
        with_recording(|r| {
            let prefix: String = r.scopes.iter().map(|(p, _)| *p).collect();
            let area = r.scopes.last().map_or(Area::Public, |(_, a)| *a);
            for m in &g.methods {
                r.routes.push(RouteInfo {
                    method: m.clone(),
                    path: format!("{prefix}{}", g.path),
                    area,
                });
            }
        });
        let allow = g
            .methods
            .iter()
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        let mut resource = web::resource(g.path.as_str());
        for route in g.routes {
            resource = resource.route(route);
        }
        resource = resource.default_service(web::to(move |req: HttpRequest| {
            let allow = allow.clone();
            async move { method_not_allowed(&req, &allow) }
        }));
        cfg.service(resource);
    }
}

/// 405 with `Allow`; problem+json on the API, like every other API error.
fn method_not_allowed(req: &HttpRequest, allow: &str) -> HttpResponse {
    let mut resp = HttpResponse::MethodNotAllowed();
    resp.insert_header((header::ALLOW, allow.to_string()));
    if req.path().starts_with("/api/") {
        resp.content_type("application/problem+json").body(
            serde_json::json!({
                "type": "about:blank",
                "title": "Method not allowed",
                "status": 405,
                "detail": format!("This path answers {allow}."),
            })
            .to_string(),
        )
    } else {
        resp.finish()
    }
}

macro_rules! method {
    ($name:ident, $method:ident, $builder:ident) => {
        #[doc = concat!("Declares a `", stringify!($method), "` route.")]
        pub fn $name<F, Args>(&mut self, path: &str, handler: F) -> &mut Self
        where
            F: Handler<Args>,
            Args: FromRequest + 'static,
            F::Output: Responder + 'static,
        {
            self.add(Method::$method, path, web::$builder().to(handler))
        }
    };
}

impl Routes {
    method!(get, GET, get);
    method!(post, POST, post);
    method!(put, PUT, put);
    method!(patch, PATCH, patch);
    method!(delete, DELETE, delete);

    fn add(&mut self, method: Method, path: &str, route: Route) -> &mut Self {
        match self.groups.iter_mut().find(|g| g.path == path) {
            Some(g) => {
                g.methods.push(method);
                g.routes.push(route);
            }
            None => self.groups.push(Group {
                path: path.to_string(),
                methods: vec![method],
                routes: vec![route],
            }),
        }
        self
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::cell::RefCell;
    use std::collections::{BTreeMap, HashSet};
    use std::rc::Rc;

    use actix_web::App;
    use actix_web::dev::{ResourceMap, Service};
    use actix_web::test::{TestRequest, call_service, init_service};

    use super::*;

    /// `path` with every parameter replaced by a plain segment.
    fn concrete(r: &RouteInfo) -> String {
        let mut p = r.template();
        for name in r.params() {
            p = p.replace(&format!("{{{name}}}"), "x1");
        }
        p
    }

    #[test]
    fn the_table_lists_known_routes_once_each_with_their_area() {
        let t = table();
        let has = |m: Method, p: &str, a: Area| {
            t.iter()
                .any(|r| r.method == m && r.path == p && r.area == a)
        };
        assert!(has(Method::GET, "/healthz", Area::Public));
        assert!(has(Method::POST, "/login", Area::Public));
        assert!(has(Method::GET, "/admin", Area::Admin));
        assert!(has(Method::POST, "/admin/users/{id}/disable", Area::Admin));
        assert!(has(Method::GET, "/portal/omie", Area::Portal));
        assert!(has(Method::DELETE, "/api/v1/companies/{id}", Area::Api));
        assert!(has(
            Method::POST,
            "/api/v1/companies/{id}/omie/{endpoint:.*}",
            Area::Api
        ));
        let mut seen = HashSet::new();
        for r in &t {
            assert!(
                seen.insert((r.method.clone(), r.path.clone())),
                "twice: {r:?}"
            );
        }
        // Recording is off again: a second run gives the same table, not a doubled one.
        assert_eq!(table(), t);
    }

    #[test]
    fn templates_drop_regexes_and_name_params() {
        let r = RouteInfo {
            method: Method::POST,
            path: "/api/v1/companies/{id}/omie/{endpoint:.*}".into(),
            area: Area::Api,
        };
        assert_eq!(r.template(), "/api/v1/companies/{id}/omie/{endpoint}");
        assert_eq!(r.params(), ["id", "endpoint"]);
        assert_eq!(concrete(&r), "/api/v1/companies/x1/omie/x1");
    }

    /// The table against actix's own router: as many resources as the table has
    /// paths, each path reaching the resource the table names (nothing registered
    /// earlier shadows it), and each resource answering exactly the table's methods.
    #[actix_web::test]
    async fn the_table_is_what_actix_routes() {
        let t = table();
        let rmap: Rc<RefCell<Option<ResourceMap>>> = Rc::default();
        let keep = rmap.clone();
        let app = init_service(
            App::new()
                .wrap_fn(move |req, srv| {
                    keep.replace(Some(req.request().resource_map().clone()));
                    srv.call(req)
                })
                .configure(super::super::unserved),
        )
        .await;
        call_service(&app, TestRequest::get().uri("/healthz").to_request()).await;
        let rmap = rmap.take().expect("the middleware saw the router");

        let mut by_path: BTreeMap<&str, Vec<&RouteInfo>> = BTreeMap::new();
        for r in &t {
            by_path.entry(r.path.as_str()).or_default().push(r);
        }
        // Every leaf of actix's resource tree is an edge node (`nodes: None`); scopes
        // are the only inner nodes. `ResourceMap` has no iterator, only `Debug`.
        let leaves = format!("{rmap:?}").matches("nodes: None").count();
        assert_eq!(
            leaves,
            by_path.len(),
            "resources registered outside the table"
        );

        let all = [
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ];
        for (path, routes) in &by_path {
            let uri = concrete(routes[0]);
            assert_eq!(rmap.match_pattern(&uri).as_deref(), Some(*path), "{uri}");
            // The guards of /admin and /portal answer before the resource does.
            if routes[0].area == Area::Admin || routes[0].area == Area::Portal {
                continue;
            }
            for m in &all {
                let declared = routes.iter().any(|r| r.method == *m);
                let req = TestRequest::default()
                    .method(m.clone())
                    .uri(&uri)
                    .to_request();
                let resp = call_service(&app, req).await;
                assert_eq!(
                    resp.status() == actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
                    !declared,
                    "{m} {path}"
                );
                if !declared && routes[0].area == Area::Api {
                    assert_eq!(
                        resp.headers().get(header::CONTENT_TYPE).unwrap(),
                        "application/problem+json",
                        "{m} {path}"
                    );
                }
                if !declared {
                    let allow = resp.headers().get(header::ALLOW).unwrap();
                    let want: Vec<&str> = routes.iter().map(|r| r.method.as_str()).collect();
                    assert_eq!(allow.to_str().unwrap(), want.join(", "));
                }
            }
        }
    }
}
