//! Omie Tenant Manager: one place for client companies, their people, their Omie
//! credentials and the applications allowed to act for them.
//!
//! Interfaces (admin pages, portal pages, REST API, CLI) parse input and call the use
//! cases in [`services`]; only those write, and each write carries its audit row in the
//! same transaction.

pub mod backup;
mod bounded;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod csv;
pub mod db;
pub mod demo;
pub mod domain;
pub mod email;
pub mod error;
pub mod files;
pub mod jobs;
pub mod keyring;
pub mod metrics;
pub mod routes;
pub mod services;
pub mod startup;
pub mod time;
pub mod views;
pub mod web;
