//! Dependencies point down (DESIGN.md §3): routes → web → services → jobs/backup/email
//! → db → domain. This reads the source and fails when a lower layer names a higher
//! one, or when the framework-free layers name the web framework.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Files of a layer: a module directory or a single file under src/.
fn layer(name: &str) -> Vec<PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let dir = src.join(name);
    let mut files = Vec::new();
    if dir.is_dir() {
        rust_files(&dir, &mut files);
    } else {
        files.push(src.join(format!("{name}.rs")));
    }
    files
}

/// `(file, line)` of every use of a forbidden path, comments left out.
fn offences(layers: &[&str], forbidden: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for l in layers {
        for file in layer(l) {
            let text = std::fs::read_to_string(&file).unwrap();
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                for f in forbidden {
                    if code.contains(f) {
                        found.push(format!("{}:{} uses {f}", file.display(), n + 1));
                    }
                }
            }
        }
    }
    found
}

const BELOW_WEB: &[&str] = &[
    "domain", "db", "services", "jobs", "backup", "email", "error", "config", "time", "crypto",
    "keyring", "views", "demo", "csv", "files",
];

#[test]
fn nothing_below_the_web_layer_imports_it() {
    let found = offences(
        BELOW_WEB,
        &[
            "crate::web",
            "crate::routes",
            "crate::startup",
            "crate::cli",
        ],
    );
    assert!(found.is_empty(), "upward imports:\n{}", found.join("\n"));
}

#[test]
fn the_store_and_the_domain_import_no_use_case() {
    let found = offences(
        &["domain", "db"],
        &["crate::services", "crate::backup", "crate::email"],
    );
    assert!(found.is_empty(), "upward imports:\n{}", found.join("\n"));
}

#[test]
fn the_lower_layers_are_free_of_the_web_framework() {
    let found = offences(BELOW_WEB, &["actix_web", "actix_http", "HttpResponse"]);
    assert!(
        found.is_empty(),
        "framework in a lower layer:\n{}",
        found.join("\n")
    );
}

/// DESIGN §3: handlers call one use case. They neither reach the store nor make up an
/// actor (the `Acting` extractor, or the use case for visitors, says who acts, and from
/// where).
#[test]
fn the_routes_reach_neither_the_store_nor_make_actors() {
    let found = offences(
        &["routes"],
        &[
            "crate::db",
            "db::run",
            "db::write",
            "Actor {",
            "Actor::system",
            ".actor(\"",
        ],
    );
    assert!(found.is_empty(), "in the routes:\n{}", found.join("\n"));
}

#[test]
fn the_check_sees_an_offence_when_there_is_one() {
    // The routes do import web: a check that found nothing there would be blind.
    assert!(!offences(&["routes"], &["crate::web"]).is_empty());
}
