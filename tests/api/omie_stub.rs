//! A loopback stand-in for Omie's API (a third party we cannot reach): answers
//! `ListarEmpresas` at `/geral/empresas/` and records what it was sent.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

pub struct OmieStub {
    pub base: String,
    pub requests: Arc<Mutex<Vec<(String, Value)>>>,
}

/// app_key → CNPJ of the company those keys belong to; other keys get Omie's fault.
pub fn start(accounts: &[(&str, &str)]) -> OmieStub {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/api/v1", listener.local_addr().unwrap());
    let requests = Arc::new(Mutex::new(Vec::new()));
    let accounts: Vec<(String, String)> = accounts
        .iter()
        .map(|(k, c)| (k.to_string(), c.to_string()))
        .collect();
    let log = requests.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let path = request_line
                .split_whitespace()
                .nth(1)
                .unwrap_or("")
                .to_string();
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() || line == "\r\n" || line.is_empty() {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; length];
            let _ = reader.read_exact(&mut body);
            let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            log.lock().unwrap().push((path.clone(), value.clone()));
            let well_formed = path == "/api/v1/geral/empresas/"
                && value["call"] == "ListarEmpresas"
                && value["param"].is_array()
                && value["param"][0]["pagina"] == 1;
            let key = value["app_key"].as_str().unwrap_or("");
            let (status, answer) = match accounts.iter().find(|(k, _)| k == key) {
                _ if !well_formed => (
                    500,
                    json!({"faultstring": "ERROR: JSON request with SyntaxError", "faultcode": "SOAP-ENV:Client-100"}),
                ),
                Some((_, cnpj)) if value["app_secret"].as_str().is_some_and(|s| s.len() >= 20) => (
                    200,
                    json!({"pagina": 1, "total_de_paginas": 1, "registros": 1, "total_de_registros": 1,
                           "empresas_cadastro": [{"codigo_empresa": 1, "cnpj": cnpj, "razao_social": "Empresa no Omie"}]}),
                ),
                _ => (
                    500,
                    json!({"faultstring": "ERROR: Chave de acesso inválida para o aplicativo!", "faultcode": "SOAP-ENV:Client-101"}),
                ),
            };
            let text = answer.to_string();
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
        }
    });
    OmieStub { base, requests }
}
