//! Reading an import file: the header against a kind's columns, each row's cells by column
//! name, and the line number a spreadsheet shows for each row.

use std::collections::HashMap;

use csv::{ByteRecord, StringRecord};

use super::ImportError;

/// A column a kind's CSV may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    /// A required column must be in the header, and its cell must not be empty.
    pub required: bool,
}

impl Column {
    pub const fn required(name: &'static str) -> Column {
        Column {
            name,
            required: true,
        }
    }

    pub const fn optional(name: &'static str) -> Column {
        Column {
            name,
            required: false,
        }
    }
}

/// The columns of a kind, as an error message names them: `external_id*, name*, city (* required)`.
pub fn expected(columns: &[Column]) -> String {
    let names: Vec<String> = columns
        .iter()
        .map(|c| {
            if c.required {
                format!("{}*", c.name)
            } else {
                c.name.to_owned()
            }
        })
        .collect();
    format!("{} (* required)", names.join(", "))
}

/// The header of an import file, checked against its kind's columns.
#[derive(Debug)]
pub struct Header {
    index: HashMap<&'static str, usize>,
    width: usize,
}

impl Header {
    /// Every column known, none twice, every required one present. Names are compared
    /// without surrounding white space and case.
    pub fn check(
        record: &ByteRecord,
        columns: &[Column],
        line: u64,
    ) -> Result<Header, ImportError> {
        let wrong = |problem: String| ImportError::Header {
            line,
            problem,
            expected: expected(columns),
        };
        let mut index = HashMap::new();
        for (position, raw) in record.iter().enumerate() {
            let name = std::str::from_utf8(raw)
                .map_err(|_| ImportError::NotUtf8 {
                    line,
                    rows_before: 0,
                })?
                .trim()
                .to_ascii_lowercase();
            let Some(column) = columns.iter().find(|c| c.name == name) else {
                return Err(wrong(if name.is_empty() {
                    format!("column {} has no name", position + 1)
                } else {
                    format!("unknown column {name:?}")
                }));
            };
            if index.insert(column.name, position).is_some() {
                return Err(wrong(format!("column {name:?} appears twice")));
            }
        }
        let missing: Vec<&str> = columns
            .iter()
            .filter(|c| c.required && !index.contains_key(c.name))
            .map(|c| c.name)
            .collect();
        if !missing.is_empty() {
            return Err(wrong(format!("missing column {}", missing.join(", "))));
        }
        Ok(Header {
            index,
            width: record.len(),
        })
    }

    pub fn width(&self) -> usize {
        self.width
    }

    fn position(&self, column: &str) -> Option<usize> {
        self.index.get(column).copied()
    }
}

/// One row's cells, by column name, trimmed.
#[derive(Debug)]
pub struct Row<'a> {
    header: &'a Header,
    cells: &'a StringRecord,
    pub line: u64,
}

impl<'a> Row<'a> {
    pub fn new(header: &'a Header, cells: &'a StringRecord, line: u64) -> Row<'a> {
        Row {
            header,
            cells,
            line,
        }
    }

    /// A cell: `None` when the file has no such column (the field is left as it is),
    /// `Some(None)` when the cell is empty (the field is cleared), `Some(Some(text))` else.
    pub fn get(&self, column: &str) -> Option<Option<&'a str>> {
        let position = self.header.position(column)?;
        let text = self.cells.get(position).unwrap_or("").trim();
        Some((!text.is_empty()).then_some(text))
    }

    /// A required column's cell, which must not be empty.
    pub fn required(&self, column: &str) -> Result<&'a str, String> {
        self.get(column)
            .flatten()
            .ok_or_else(|| format!("{column} is empty"))
    }
}

/// The line number a spreadsheet shows for each record: the csv reader's line of the
/// record's start, less the line breaks inside quoted cells before it (a spreadsheet shows a
/// cell with line breaks on one row).
#[derive(Debug, Default)]
pub struct Lines {
    breaks_in_cells: u64,
}

impl Lines {
    /// The line of `record`, just read; call once per record, in order.
    pub fn line_of(&mut self, record: &ByteRecord) -> u64 {
        let line = record
            .position()
            .map_or(0, |p| p.line())
            .saturating_sub(self.breaks_in_cells);
        self.breaks_in_cells += record
            .iter()
            .map(|cell| cell.iter().filter(|b| **b == b'\n').count() as u64)
            .sum::<u64>();
        line
    }
}
