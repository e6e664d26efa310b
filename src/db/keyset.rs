//! Opaque keyset cursors: a (sort key, id) pair, so that page N costs what page 1 costs.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub fn encode(key: &str, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{key}\u{0}{id}"))
}

pub fn decode(s: &str) -> Option<(String, String)> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(s).ok()?).ok()?;
    let (key, id) = text.split_once('\u{0}')?;
    Some((key.to_string(), id.to_string()))
}
