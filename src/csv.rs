//! The CSV the product writes (usage reports): RFC 4180 quoting, and no cell a
//! spreadsheet would run as a formula. Every CSV cell goes through [`cell`].
//!
//! OWASP "CSV Injection": a cell starting with `=`, `+`, `-` or `@` is a formula to
//! Excel, LibreOffice and Google Sheets (`=HYPERLINK(…)`, `=cmd|…`), and a leading tab or
//! carriage return can hide one; such a cell is prefixed with `'`, which spreadsheets
//! show as text and do not display.

/// First characters that make a spreadsheet read a cell as a formula.
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// One CSV cell: neutralised when it could start a formula, then quoted when it holds
/// a comma, a quote or a line break.
pub fn cell(s: &str) -> String {
    let text = if s.starts_with(FORMULA_START) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// One CSV line of cells, ending in `\n`.
pub fn line<S: AsRef<str>>(cells: &[S]) -> String {
    let mut out = cells
        .iter()
        .map(|c| cell(c.as_ref()))
        .collect::<Vec<_>>()
        .join(",");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_starts_are_neutralised() {
        assert_eq!(cell("=1+1"), "'=1+1");
        assert_eq!(cell("+5511999999999"), "'+5511999999999");
        assert_eq!(cell("-2"), "'-2");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("\tx"), "'\tx");
        assert_eq!(cell("\r=1"), "\"'\r=1\"");
    }

    #[test]
    fn neutralised_cells_are_still_quoted() {
        assert_eq!(
            cell("=HYPERLINK(\"http://x\",\"y\")"),
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""
        );
    }

    #[test]
    fn ordinary_cells_are_left_alone_or_quoted() {
        assert_eq!(cell("Padaria Pão Quente"), "Padaria Pão Quente");
        assert_eq!(cell("a=b"), "a=b");
        assert_eq!(cell(""), "");
        assert_eq!(cell("Silva, Souza & Cia"), "\"Silva, Souza & Cia\"");
        assert_eq!(cell("diz \"oi\""), "\"diz \"\"oi\"\"\"");
        assert_eq!(cell("duas\nlinhas"), "\"duas\nlinhas\"");
    }

    #[test]
    fn a_line_joins_cells() {
        assert_eq!(line(&["2026-11-28", "=x", "3"]), "2026-11-28,'=x,3\n");
    }
}
