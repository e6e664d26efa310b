//! A browser's User-Agent in words a person recognises ("Chrome no Windows").

/// The browser and system a User-Agent names, in Portuguese; "Navegador desconhecido"
/// or the program's own name when it is no browser (an API client).
pub fn describe(ua: &str) -> String {
    let ua = ua.trim();
    if ua.is_empty() {
        return "Dispositivo desconhecido".to_string();
    }
    let has = |s: &str| ua.contains(s);
    // Order matters: Edge and Opera also say "Chrome", Chrome also says "Safari".
    let browser = if has("Edg/") || has("Edge/") {
        Some("Edge")
    } else if has("OPR/") || has("Opera") {
        Some("Opera")
    } else if has("SamsungBrowser/") {
        Some("Samsung Internet")
    } else if has("Firefox/") || has("FxiOS/") {
        Some("Firefox")
    } else if has("HeadlessChrome/") {
        Some("Chrome (automatizado)")
    } else if has("Chrome/") || has("CriOS/") || has("Chromium/") {
        Some("Chrome")
    } else if has("Safari/") && has("Version/") {
        Some("Safari")
    } else {
        None
    };
    let system = if has("iPhone") {
        Some("iPhone")
    } else if has("iPad") {
        Some("iPad")
    } else if has("Android") {
        Some("Android")
    } else if has("Windows") {
        Some("Windows")
    } else if has("Mac OS X") || has("Macintosh") {
        Some("Mac")
    } else if has("CrOS") {
        Some("Chromebook")
    } else if has("Linux") {
        Some("Linux")
    } else {
        None
    };
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} no {s}"),
        (Some(b), None) => b.to_string(),
        (None, Some(s)) => format!("Navegador no {s}"),
        (None, None) => {
            // A program (curl/8.0, python-requests/2.31): its name, without versions.
            let name: String = ua
                .split(['/', ' '])
                .next()
                .unwrap_or("")
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                .take(40)
                .collect();
            if name.is_empty() {
                "Dispositivo desconhecido".to_string()
            } else {
                format!("Programa ({name})")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn common_browsers_in_words() {
        let chrome_win = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
        assert_eq!(describe(chrome_win), "Chrome no Windows");
        let safari_iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
        assert_eq!(describe(safari_iphone), "Safari no iPhone");
        let firefox_linux =
            "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";
        assert_eq!(describe(firefox_linux), "Firefox no Linux");
        let edge =
            "Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/120.0 Safari/537.36 Edg/120.0";
        assert_eq!(describe(edge), "Edge no Windows");
        let android = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36";
        assert_eq!(describe(android), "Chrome no Android");
        assert_eq!(describe("curl/8.5.0"), "Programa (curl)");
        assert_eq!(describe(""), "Dispositivo desconhecido");
        assert_eq!(describe("<script>"), "Programa (script)");
    }
}
