//! Optional fields that do not read: a value of the wrong type (a string where a number is
//! expected), one out of its type's range, or a value object missing a part, written by a buggy
//! or newer peer.
//!
//! A lenient read (the device's) takes such a field as absent (or empty, or its default) and
//! notes its path, so the rest of the record reads; the value stays in the document, and an
//! edit of other fields leaves it there (writes touch only the fields that changed). A strict
//! read (the server's, which refuses a push that leaves a field of the wrong type) fails on the
//! first, as before. Required fields, the tombstone (`deleted`: a record must not come back to
//! life because its flag did not read) and the items of a list (edits are diffed by position,
//! so a skipped item would misplace them) never read leniently: a document with one of those of
//! the wrong type does not read at all.
//! An enum field holding text this code does not know is no error: it reads as `Unknown`
//! (`string_enum!` in `model.rs`); an optional enum of the wrong type reads as absent here.

use std::collections::BTreeMap;

use super::fields::{self, Fields, Node};
use crate::error::ValidationError;

/// What a read collects of the fields it could not read (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct Unread {
    lenient: bool,
    fields: Vec<String>,
}

impl Unread {
    /// Fails on the first field that does not read.
    pub(crate) fn strict() -> Unread {
        Unread::default()
    }

    /// Reads such fields as absent and notes them.
    pub(crate) fn lenient() -> Unread {
        Unread {
            lenient: true,
            fields: Vec::new(),
        }
    }

    /// The paths of the fields noted (`visit_cadence_days`, `check_in.accuracy_m`), in the
    /// order they were read.
    pub(crate) fn into_fields(self) -> Vec<String> {
        self.fields
    }

    /// The value `read` gave, or, for a lenient read when the value does not read, the
    /// default (absent, empty) with `field` noted.
    pub(super) fn optional<T: Default>(
        &mut self,
        field: &str,
        read: Result<T, ValidationError>,
    ) -> Result<T, ValidationError> {
        match read {
            Err(error) if self.lenient => match unread_part(&error) {
                Some(part) => {
                    self.fields.push(path(field, part));
                    Ok(T::default())
                }
                None => Err(error),
            },
            other => other,
        }
    }

    pub(super) fn opt_str(
        &mut self,
        f: &Fields,
        key: &str,
    ) -> Result<Option<String>, ValidationError> {
        self.optional(key, fields::opt_str(f, key))
    }

    pub(super) fn opt_int(
        &mut self,
        f: &Fields,
        key: &str,
    ) -> Result<Option<i64>, ValidationError> {
        self.optional(key, fields::opt_int(f, key))
    }

    pub(super) fn opt_small<T: TryFrom<i64>>(
        &mut self,
        f: &Fields,
        key: &str,
    ) -> Result<Option<T>, ValidationError> {
        self.optional(key, fields::opt_small(f, key))
    }

    pub(super) fn text(&mut self, f: &Fields, key: &str) -> Result<String, ValidationError> {
        self.optional(key, fields::text(f, key))
    }

    pub(super) fn set(
        &mut self,
        f: &Fields,
        key: &str,
    ) -> Result<std::collections::BTreeSet<String>, ValidationError> {
        self.optional(key, fields::set(f, key))
    }

    /// A map of strings; leniently, entries whose value is not a string are left out (the
    /// field noted once), the others read.
    pub(super) fn string_map(
        &mut self,
        f: &Fields,
        key: &str,
    ) -> Result<BTreeMap<String, String>, ValidationError> {
        if !self.lenient {
            return fields::string_map(f, key);
        }
        let Some(entries) = self.optional(key, fields::map(f, key))? else {
            return Ok(BTreeMap::new());
        };
        let mut read = BTreeMap::new();
        let mut skipped = false;
        for (k, v) in entries {
            match v {
                Node::Str(s) => {
                    read.insert(k.clone(), s.clone());
                }
                _ => skipped = true,
            }
        }
        if skipped {
            self.fields.push(key.to_owned());
        }
        Ok(read)
    }
}

/// The field an error of a value that does not read names; `None` for errors of another kind
/// (an unknown enum value is not a value of the wrong type).
fn unread_part(error: &ValidationError) -> Option<&str> {
    match error {
        ValidationError::Malformed { field, .. }
        | ValidationError::OutOfRange { field, .. }
        | ValidationError::Required { field } => Some(field),
        _ => None,
    }
}

/// `field`, or `field.part` when the error is about a part inside it (`check_in` and
/// `accuracy_m`).
fn path(field: &str, part: &str) -> String {
    if field.rsplit('.').next() == Some(part) {
        field.to_owned()
    } else {
        format!("{field}.{part}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(entries: &[(&str, Node)]) -> Fields {
        entries
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    #[test]
    fn a_lenient_read_takes_a_value_of_the_wrong_type_as_absent_and_notes_it() {
        let f = fields(&[
            ("days", Node::Str("fourteen".into())),
            ("owner", Node::Str("anna".into())),
            ("radius", Node::Int(i64::from(u32::MAX) + 1)),
            ("tags", Node::Int(3)),
            ("notes", Node::F64(1.5)),
        ]);
        let mut unread = Unread::lenient();
        assert_eq!(unread.opt_small::<u32>(&f, "days"), Ok(None));
        assert_eq!(unread.opt_str(&f, "owner"), Ok(Some("anna".into())));
        assert_eq!(unread.opt_small::<u32>(&f, "radius"), Ok(None));
        assert_eq!(unread.set(&f, "tags"), Ok(Default::default()));
        assert_eq!(unread.text(&f, "notes"), Ok(String::new()));
        assert_eq!(unread.opt_int(&f, "absent"), Ok(None));
        assert_eq!(unread.into_fields(), ["days", "radius", "tags", "notes"]);
    }

    #[test]
    fn a_strict_read_fails_on_the_first_as_before() {
        let f = fields(&[("days", Node::Str("fourteen".into()))]);
        let mut unread = Unread::strict();
        assert_eq!(
            unread.opt_small::<u32>(&f, "days"),
            fields::opt_small::<u32>(&f, "days")
        );
        assert!(unread.opt_small::<u32>(&f, "days").is_err());
        assert!(unread.into_fields().is_empty());
    }

    #[test]
    fn a_part_of_a_value_object_is_named_by_its_path() {
        let stamp = fields(&[("accuracy_m", Node::Str("5 m".into()))]);
        let f = fields(&[("check_in", Node::Map(stamp)), ("check_out", Node::Int(1))]);
        let read_accuracy = |f: &Fields, key: &str| -> Result<Option<f64>, ValidationError> {
            fields::map(f, key)?
                .map(|m| fields::req_f64(m, "accuracy_m"))
                .transpose()
        };
        let mut unread = Unread::lenient();
        assert_eq!(
            unread.optional("check_in", read_accuracy(&f, "check_in")),
            Ok(None)
        );
        assert_eq!(
            unread.optional("check_out", read_accuracy(&f, "check_out")),
            Ok(None)
        );
        assert_eq!(unread.into_fields(), ["check_in.accuracy_m", "check_out"]);
    }

    #[test]
    fn string_values_that_are_not_strings_are_left_out_one_by_one() {
        let custom = fields(&[("colour", Node::Str("blue".into())), ("size", Node::Int(3))]);
        let f = fields(&[("custom_fields", Node::Map(custom))]);
        let mut unread = Unread::lenient();
        let read = unread.string_map(&f, "custom_fields").unwrap();
        assert_eq!(
            read,
            BTreeMap::from([("colour".to_owned(), "blue".to_owned())])
        );
        assert_eq!(unread.into_fields(), ["custom_fields"]);
        assert!(Unread::strict().string_map(&f, "custom_fields").is_err());
    }

    #[test]
    fn an_unknown_enum_value_is_not_read_leniently_here() {
        let unknown = ValidationError::UnknownValue {
            field: "stage".into(),
            value: "paused".into(),
        };
        let mut unread = Unread::lenient();
        assert_eq!(
            unread.optional::<Option<u8>>("stage", Err(unknown.clone())),
            Err(unknown)
        );
    }
}
