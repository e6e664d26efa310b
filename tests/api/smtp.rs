//! A real SMTP server on loopback (mailin-embedded, in this process) and a small MIME
//! reader for what arrives.

use std::io;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use mailin_embedded::{Handler, Response, Server, SslConfig, response};

#[derive(Clone, Debug)]
pub struct Mail {
    pub to: Vec<String>,
    pub raw: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Clone)]
struct Collector {
    inbox: Arc<Mutex<Vec<Mail>>>,
    to: Vec<String>,
    data: Vec<u8>,
}

/// Addresses this server refuses for good (550), like a mailbox that does not exist.
pub const REFUSED_MAILBOX: &str = "ninguem@example.com.br";

impl Handler for Collector {
    fn rcpt(&mut self, to: &str) -> Response {
        if to.contains(REFUSED_MAILBOX) {
            response::NO_MAILBOX
        } else {
            response::OK
        }
    }

    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.to = to.to_vec();
        self.data.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let raw = String::from_utf8_lossy(&self.data).to_string();
        self.inbox.lock().unwrap().push(parse(self.to.clone(), raw));
        response::OK
    }
}

pub struct Smtp {
    pub port: u16,
    inbox: Arc<Mutex<Vec<Mail>>>,
}

/// An app server that sends mail to the SMTP server on `port`.
pub fn with_smtp(port: u16) -> crate::common::Server {
    let env = Smtp::env(port);
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    crate::common::Server::start_with(&pairs)
}

/// A port with nothing listening on it (yet).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Smtp {
    pub fn start() -> Smtp {
        Self::start_on(0)
    }

    /// Starts on `port` (0 = any). The server lives until the test process ends.
    pub fn start_on(port: u16) -> Smtp {
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let inbox = Arc::new(Mutex::new(Vec::new()));
        let mut server = Server::new(Collector {
            inbox: inbox.clone(),
            to: vec![],
            data: vec![],
        });
        server
            .with_name("smtp.test")
            .with_ssl(SslConfig::None)
            .unwrap()
            .with_tcp_listener(listener);
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        Smtp { port, inbox }
    }

    /// The settings that point the app at this server.
    pub fn env(port: u16) -> Vec<(&'static str, String)> {
        vec![
            ("OTM_SMTP_HOST", "127.0.0.1".to_string()),
            ("OTM_SMTP_PORT", port.to_string()),
            ("OTM_SMTP_SECURITY", "none".to_string()),
            (
                "OTM_MAIL_FROM",
                "Omie Tenant Manager <gestor@example.com.br>".to_string(),
            ),
            ("OTM_MAIL_RETRY_MAX_SECONDS", "1".to_string()),
        ]
    }

    pub fn all(&self) -> Vec<Mail> {
        self.inbox.lock().unwrap().clone()
    }

    /// Waits for a message to `to` whose subject contains `subject`.
    pub async fn wait_for(&self, to: &str, subject: &str) -> Mail {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(m) = self
                .all()
                .into_iter()
                .find(|m| m.to.iter().any(|t| t == to) && m.subject.contains(subject))
            {
                return m;
            }
            assert!(
                Instant::now() < deadline,
                "no mail to {to} about {subject:?}; got {:#?}",
                self.all()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn header(block: &str, name: &str) -> Option<String> {
    let mut value: Option<String> = None;
    for line in block.split("\r\n") {
        if let Some(v) = value.as_mut() {
            if line.starts_with(' ') || line.starts_with('\t') {
                // Unfolding keeps the whitespace (RFC 5322 §2.2.3).
                v.push(' ');
                v.push_str(line.trim_start());
                continue;
            }
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case(name)
        {
            value = Some(v.trim().to_string());
        }
    }
    value
}

fn decode_qp(s: &str) -> String {
    let s = s.replace("=\r\n", "");
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).to_string()
}

fn decode_body(part_headers: &str, body: &str) -> String {
    match header(part_headers, "Content-Transfer-Encoding")
        .map(|v| v.to_ascii_lowercase())
        .as_deref()
    {
        Some("base64") => {
            let joined: String = body.split_whitespace().collect();
            String::from_utf8_lossy(
                &base64::engine::general_purpose::STANDARD
                    .decode(joined)
                    .unwrap_or_default(),
            )
            .to_string()
        }
        Some("quoted-printable") => decode_qp(body),
        _ => body.to_string(),
    }
}

/// Decodes RFC 2047 encoded words in a header value.
fn decode_words(v: &str) -> String {
    let mut out = String::new();
    let mut prev_encoded = false;
    for word in v.split_whitespace() {
        let decoded = word
            .strip_prefix("=?")
            .and_then(|w| w.strip_suffix("?="))
            .and_then(|w| {
                let mut it = w.splitn(3, '?');
                let (_charset, enc, text) = (it.next()?, it.next()?, it.next()?);
                Some(if enc.eq_ignore_ascii_case("b") {
                    String::from_utf8_lossy(
                        &base64::engine::general_purpose::STANDARD
                            .decode(text)
                            .ok()?,
                    )
                    .to_string()
                } else {
                    decode_qp(&text.replace('_', " "))
                })
            });
        // Whitespace between two encoded words is not part of the text (RFC 2047 §6.2);
        // any other whitespace is.
        let encoded = decoded.is_some();
        let between_encoded = encoded && prev_encoded;
        if !out.is_empty() && !between_encoded {
            out.push(' ');
        }
        out.push_str(&decoded.unwrap_or_else(|| word.to_string()));
        prev_encoded = encoded;
    }
    out
}

fn parse(to: Vec<String>, raw: String) -> Mail {
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let subject = header(head, "Subject")
        .map(|s| decode_words(&s))
        .unwrap_or_default();
    let mut text = String::new();
    let mut html = String::new();
    let ct = header(head, "Content-Type").unwrap_or_default();
    if let Some(b) = ct.split("boundary=").nth(1) {
        let boundary = format!("--{}", b.trim_matches('"').split(';').next().unwrap());
        for part in body.split(&boundary) {
            let Some((ph, pb)) = part.trim_start_matches("\r\n").split_once("\r\n\r\n") else {
                continue;
            };
            let pct = header(ph, "Content-Type").unwrap_or_default();
            let decoded = decode_body(ph, pb.trim_end_matches("\r\n"));
            if pct.starts_with("text/plain") {
                text = decoded;
            } else if pct.starts_with("text/html") {
                html = decoded;
            }
        }
    } else {
        text = decode_body(head, body);
    }
    Mail {
        to,
        raw,
        subject,
        text,
        html,
    }
}

/// The first `base/...` link in a message's text.
pub fn link(mail: &Mail, base: &str) -> String {
    let start = mail
        .text
        .find(base)
        .unwrap_or_else(|| panic!("no link to {base} in:\n{}", mail.text));
    let rest = &mail.text[start + base.len()..];
    let end = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
    rest[..end].to_string()
}
