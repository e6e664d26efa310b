//! The CSV the product writes: RFC 4180 quoting, and no cell a spreadsheet would run
//! as a formula. Every CSV cell goes through [`cell`] (or [`cell_in`]).
//!
//! Two dialects: the API's (`,`, what programs expect) and the one for people
//! ([`excel_line`], [`EXCEL_BOM`]): Excel set to Brazilian Portuguese splits columns on
//! `;` (`,` is the decimal mark there) and reads a file as UTF-8 only when it starts
//! with a byte-order mark, otherwise "Pão" shows as "PÃ£o".
//!
//! OWASP "CSV Injection": a cell starting with `=`, `+`, `-` or `@` is a formula to
//! Excel, LibreOffice and Google Sheets (`=HYPERLINK(…)`, `=cmd|…`), and a leading tab or
//! carriage return can hide one; such a cell is prefixed with `'`, which spreadsheets
//! show as text and do not display.

/// First characters that make a spreadsheet read a cell as a formula.
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Starts a file meant for a spreadsheet opened by a person (see the module's note).
pub const EXCEL_BOM: &str = "\u{feff}";

/// One CSV cell: neutralised when it could start a formula, then quoted when it holds
/// a comma, a quote or a line break.
pub fn cell(s: &str) -> String {
    cell_in(s, ',')
}

/// One cell for a file whose columns are split on `separator`.
pub fn cell_in(s: &str, separator: char) -> String {
    let text = if s.starts_with(FORMULA_START) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if text.contains([separator, '"', '\n', '\r']) {
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

/// One line for Brazilian Excel: cells split on `;`, ending in `\r\n` (what Excel
/// writes). Start the file with [`EXCEL_BOM`].
pub fn excel_line<S: AsRef<str>>(cells: &[S]) -> String {
    let mut out = cells
        .iter()
        .map(|c| cell_in(c.as_ref(), ';'))
        .collect::<Vec<_>>()
        .join(";");
    out.push_str("\r\n");
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

    #[test]
    fn an_excel_line_splits_on_semicolons_and_quotes_them() {
        assert_eq!(
            excel_line(&["Pão; Cia", "1.234,50", "=x"]),
            "\"Pão; Cia\";1.234,50;'=x\r\n"
        );
        assert_eq!(excel_line(&["a,b"]), "a,b\r\n");
    }
}
