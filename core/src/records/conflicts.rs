//! Fields on which concurrent writers disagreed: Automerge keeps the values that lost a
//! last-writer-wins merge, so an app can show "changed elsewhere".

use automerge::{Automerge, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value, ValueRef};

/// A field on which concurrent writers disagreed. `values[0]` is the value every replica shows;
/// the others lost the last-writer-wins merge but stay readable.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldConflict {
    pub field: String,
    pub values: Vec<String>,
}

/// Bookkeeping keys whose concurrent writes are expected and not worth showing.
const NOT_CONFLICTS: &[&str] = &["updated_at", "status"];

fn render(value: &Value<'_>) -> String {
    match value {
        Value::Scalar(s) => match s.as_ref() {
            ScalarValue::Str(text) => text.to_string(),
            other => other.to_string(),
        },
        Value::Object(ObjType::Map) => "{…}".to_owned(),
        Value::Object(other) => format!("{other:?}"),
    }
}

fn conflicts_in(doc: &Automerge, obj: &ObjId, prefix: &str, out: &mut Vec<FieldConflict>) {
    for item in doc.map_range(obj, ..) {
        let key = item.key.to_string();
        let field = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        // Only the root's maps merged per key are looked into, one level (a crafted document
        // may nest a map in itself without end): the address and a product's prices, and each
        // line of an order (`lines.<line id>.quantity`).
        if let ValueRef::Object(ObjType::Map) = item.value
            && prefix.is_empty()
        {
            match key.as_str() {
                "address" | "prices" => conflicts_in(doc, &item.id(), &field, out),
                "lines" => {
                    for line in doc.map_range(item.id(), ..) {
                        if let ValueRef::Object(ObjType::Map) = line.value {
                            let at = format!("lines.{}", line.key);
                            conflicts_in(doc, &line.id(), &at, out);
                        }
                    }
                }
                _ => {}
            }
        }
        if !item.conflict || NOT_CONFLICTS.contains(&key.as_str()) {
            continue;
        }
        let winner = item.id();
        let Ok(all) = doc.get_all(obj, key.as_str()) else {
            continue;
        };
        let mut values: Vec<(bool, String)> = all
            .iter()
            .map(|(value, id)| (*id != winner, render(value)))
            .collect();
        values.sort();
        out.push(FieldConflict {
            field,
            values: values.into_iter().map(|(_, v)| v).collect(),
        });
    }
}

/// Fields whose concurrent values were merged by last-writer-wins, with the losing values.
pub fn conflicts(doc: &Automerge) -> Vec<FieldConflict> {
    let mut out = Vec::new();
    conflicts_in(doc, &ROOT, "", &mut out);
    out
}
