//! Text bound for a spreadsheet: a cell that a spreadsheet could run as a formula is defused,
//! for every CSV the server writes (the route export, the record exports).

use std::borrow::Cow;

/// Characters a spreadsheet may read as the start of a formula, with their full-width forms
/// (some spreadsheets fold those to ASCII).
const FORMULA_TRIGGERS: &[char] = &[
    '=', '+', '-', '@', '\t', '\r', '\u{FF1D}', '\u{FF0B}', '\u{FF0D}', '\u{FF20}',
];

/// Invisible characters that are neither white space nor control characters to Rust.
const INVISIBLE: &[char] = &['\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}'];

/// Whether a spreadsheet could run `text` as a formula: its first character that is neither
/// white space nor a control or invisible character (tab and carriage return are triggers
/// themselves) is a formula trigger, and the whole is not a plain number.
fn formula_like(text: &str) -> bool {
    let skipped = |c: &char| c.is_whitespace() || c.is_control() || INVISIBLE.contains(c);
    let first = text
        .chars()
        .find(|c| FORMULA_TRIGGERS.contains(c) || !skipped(c));
    first.is_some_and(|c| FORMULA_TRIGGERS.contains(&c)) && text.trim().parse::<f64>().is_err()
}

/// `text` as a cell's content: with a leading quote mark when it could start a formula, so a
/// spreadsheet shows it as text; unchanged otherwise. Quoting for CSV is the writer's job.
pub fn defuse(text: &str) -> Cow<'_, str> {
    if formula_like(text) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}
