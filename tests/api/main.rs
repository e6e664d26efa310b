//! Black-box tests: the real binary over HTTP. One test binary, so linking happens once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accessibility;
mod app_hardening;
mod applications;
mod audit;
mod auth;
mod authz;
mod backups;
mod browser;
mod common;
mod companies;
mod durability;
mod email;
mod invitations;
mod links;
mod mfa;
mod omie;
mod omie_stub;
mod platform;
mod plumbing;
mod proxy;
mod sessions;
mod sign_in_policy;
mod smtp;
mod tenancy;
mod users;
