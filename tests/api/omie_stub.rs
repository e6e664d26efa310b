//! A loopback stand-in for Omie's API (a third party we cannot reach): answers
//! `ListarEmpresas` at `/geral/empresas/` and records what it was sent.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

pub struct OmieStub {
    pub base: String,
    pub requests: Arc<Mutex<Vec<(String, Value)>>>,
    /// The most requests it was answering at the same time, per method.
    pub max_in_flight: Arc<Mutex<std::collections::HashMap<String, usize>>>,
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
    let max_in_flight = Arc::new(Mutex::new(std::collections::HashMap::new()));
    let in_flight = Arc::new(Mutex::new(std::collections::HashMap::<String, usize>::new()));
    let (maxes, flights) = (max_in_flight.clone(), in_flight.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let (accounts, log, maxes, flights) = (
                accounts.clone(),
                log.clone(),
                maxes.clone(),
                flights.clone(),
            );
            std::thread::spawn(move || serve(stream, &accounts, &log, &maxes, &flights));
        }
    });
    OmieStub {
        base,
        requests,
        max_in_flight,
    }
}

type Log = Arc<Mutex<Vec<(String, Value)>>>;
type Counts = Arc<Mutex<std::collections::HashMap<String, usize>>>;

fn serve(
    mut stream: std::net::TcpStream,
    accounts: &[(String, String)],
    log: &Log,
    maxes: &Counts,
    flights: &Counts,
) {
    {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).is_err() {
            return;
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
        let call = value["call"].as_str().unwrap_or("").to_string();
        {
            let mut f = flights.lock().unwrap();
            let n = f.entry(call.clone()).or_insert(0);
            *n += 1;
            let mut m = maxes.lock().unwrap();
            let max = m.entry(call.clone()).or_insert(0);
            *max = (*max).max(*n);
        }
        let (status, answer) = answer_for(&path, &value, accounts);
        if call.contains("Lento") || call.starts_with("Incluir") {
            std::thread::sleep(std::time::Duration::from_millis(30));
        }
        *flights.lock().unwrap().get_mut(&call).unwrap() -= 1;
        let text = answer.to_string();
        let _ = write!(
            stream,
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
            text.len()
        );
    }
}

fn answer_for(path: &str, value: &Value, accounts: &[(String, String)]) -> (u16, Value) {
    let key = value["app_key"].as_str().unwrap_or("");
    let secret_ok = value["app_secret"].as_str().is_some_and(|s| s.len() >= 20);
    let known = accounts.iter().find(|(k, _)| k == key);
    if !value["param"].is_array() || !path.ends_with('/') {
        return (
            500,
            json!({"faultstring": "ERROR: JSON request with SyntaxError", "faultcode": "SOAP-ENV:Client-100"}),
        );
    }
    let Some((_, cnpj)) = known.filter(|_| secret_ok) else {
        return (
            500,
            json!({"faultstring": "ERROR: Chave de acesso inválida para o aplicativo!", "faultcode": "SOAP-ENV:Client-101"}),
        );
    };
    match (path, value["call"].as_str().unwrap_or("")) {
        ("/api/v1/geral/empresas/", "ListarEmpresas") if value["param"][0]["pagina"] == 1 => (
            200,
            json!({"pagina": 1, "total_de_paginas": 1, "registros": 1, "total_de_registros": 1,
                   "empresas_cadastro": [{"codigo_empresa": 1, "cnpj": cnpj, "razao_social": "Empresa no Omie"}]}),
        ),
        (_, "Bloquear") => (
            425,
            json!({"faultstring": "API bloqueada por consumo indevido. Tente novamente em 1800 segundos.", "faultcode": "MISUSE_API_PROCESS"}),
        ),
        (_, "ConsultarInexistente") => (
            500,
            json!({"faultstring": "ERROR: Não existem registros para a página [1]!", "faultcode": "SOAP-ENV:Client-5113"}),
        ),
        ("/api/v1/geral/empresas/", _) => (
            500,
            json!({"faultstring": "ERROR: JSON request with SyntaxError", "faultcode": "SOAP-ENV:Client-100"}),
        ),
        (_, call) => (
            200,
            json!({"call": call, "path": path, "param": value["param"]}),
        ),
    }
}

/// A stand-in that answers every call with `status` (a 307 or 308) and `Location:
/// {location}{path}`, as a hijacked or misconfigured Omie would; it records what it
/// was sent like [`start`].
pub fn start_redirecting(status: u16, location: &str) -> OmieStub {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/api/v1", listener.local_addr().unwrap());
    let requests: Log = Arc::new(Mutex::new(Vec::new()));
    let (log, location) = (requests.clone(), location.to_string());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let (log, location) = (log.clone(), location.clone());
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    return;
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
                log.lock().unwrap().push((path.clone(), value));
                let to = format!("{location}{}", path.trim_start_matches("/api/v1"));
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} Redirect\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            });
        }
    });
    OmieStub {
        base,
        requests,
        max_in_flight: Default::default(),
    }
}
