//! Where a record's writer puts its operations: a transaction on the record's document, or, for
//! a record being created, [`NewDoc`], which gathers the new document's content and writes it
//! in one batch (`init_root_from_hydrate`). Automerge splices every single operation into each
//! column of its op set, so a new customer written field by field cost about 250 µs; written in
//! one batch, about 60 µs. The record kinds' `write` functions serve both, so how a record
//! maps onto its document stays written once.

use std::collections::HashMap;

use automerge::transaction::{Transactable, Transaction};
use automerge::{ActorId, AutomergeError, ObjId, ObjType, Prop, ReadDoc, ScalarValue, hydrate};

use super::AnyRecord;
use super::fields::Am;

/// The operations the record kinds write with (the subset of Automerge's `Transactable` they
/// use).
pub(crate) trait DocWrite {
    fn put(&mut self, obj: &ObjId, prop: impl Into<Prop>, value: impl Into<ScalarValue>) -> Am;
    fn delete(&mut self, obj: &ObjId, prop: impl Into<Prop>) -> Am;
    fn put_object(&mut self, obj: &ObjId, prop: impl Into<Prop>, obj_type: ObjType) -> Am<ObjId>;
    fn insert_object(&mut self, obj: &ObjId, index: usize, obj_type: ObjType) -> Am<ObjId>;
    fn update_text(&mut self, obj: &ObjId, text: &str) -> Am;
    /// The object under `key` of the map `obj`, with its type; `None` when the key holds no
    /// object.
    fn object_at(&mut self, obj: &ObjId, key: &str) -> Am<Option<(ObjType, ObjId)>>;
}

impl DocWrite for Transaction<'_> {
    fn put(&mut self, obj: &ObjId, prop: impl Into<Prop>, value: impl Into<ScalarValue>) -> Am {
        Transactable::put(self, obj, prop, value)
    }

    fn delete(&mut self, obj: &ObjId, prop: impl Into<Prop>) -> Am {
        Transactable::delete(self, obj, prop)
    }

    fn put_object(&mut self, obj: &ObjId, prop: impl Into<Prop>, obj_type: ObjType) -> Am<ObjId> {
        Transactable::put_object(self, obj, prop, obj_type)
    }

    fn insert_object(&mut self, obj: &ObjId, index: usize, obj_type: ObjType) -> Am<ObjId> {
        Transactable::insert_object(self, obj, index, obj_type)
    }

    fn update_text(&mut self, obj: &ObjId, text: &str) -> Am {
        Transactable::update_text(self, obj, text)
    }

    fn object_at(&mut self, obj: &ObjId, key: &str) -> Am<Option<(ObjType, ObjId)>> {
        Ok(match ReadDoc::get(self, obj, key)? {
            Some((automerge::Value::Object(obj_type), id)) => Some((obj_type, id)),
            _ => None,
        })
    }
}

/// The content of a document being created, gathered in memory. Its objects are named by
/// handles valid only within it (the root is `ROOT`, the n-th object made `ObjId::Id(n, ..)`).
#[derive(Debug)]
pub(crate) struct NewDoc {
    objects: Vec<Object>,
    handle_actor: ActorId,
}

#[derive(Debug)]
enum Object {
    Map(HashMap<String, Slot>),
    List(Vec<Slot>),
    Text(String),
}

#[derive(Debug)]
enum Slot {
    Scalar(ScalarValue),
    Object(usize),
}

impl NewDoc {
    pub(crate) fn new() -> NewDoc {
        NewDoc {
            objects: vec![Object::Map(HashMap::new())],
            handle_actor: ActorId::from(Vec::new()),
        }
    }

    /// The root map's content, for `init_root_from_hydrate`.
    pub(crate) fn into_root(mut self) -> hydrate::Map {
        let root = std::mem::replace(&mut self.objects[0], Object::Text(String::new()));
        match self.hydrate(root) {
            hydrate::Value::Map(map) => map,
            _ => hydrate::Map::from(HashMap::<String, hydrate::Value>::new()),
        }
    }

    fn hydrate(&mut self, object: Object) -> hydrate::Value {
        match object {
            Object::Map(entries) => {
                let map: HashMap<String, hydrate::Value> = entries
                    .into_iter()
                    .map(|(key, slot)| (key, self.hydrate_slot(slot)))
                    .collect();
                hydrate::Value::Map(map.into())
            }
            Object::List(items) => {
                let list: Vec<hydrate::Value> = items
                    .into_iter()
                    .map(|slot| self.hydrate_slot(slot))
                    .collect();
                hydrate::Value::List(list.into())
            }
            Object::Text(text) => hydrate::Value::Text(hydrate::Text::new(
                automerge::TextEncoding::platform_default(),
                text,
            )),
        }
    }

    fn hydrate_slot(&mut self, slot: Slot) -> hydrate::Value {
        match slot {
            Slot::Scalar(value) => hydrate::Value::Scalar(value),
            Slot::Object(index) => {
                let object =
                    std::mem::replace(&mut self.objects[index], Object::Text(String::new()));
                self.hydrate(object)
            }
        }
    }

    fn index(&self, obj: &ObjId) -> Am<usize> {
        let index = match obj {
            ObjId::Root => 0,
            ObjId::Id(counter, _, _) => usize::try_from(*counter).unwrap_or(usize::MAX),
        };
        if index < self.objects.len() {
            Ok(index)
        } else {
            Err(AutomergeError::InvalidObjId(format!("{obj:?}")))
        }
    }

    fn handle(&self, index: usize) -> ObjId {
        ObjId::Id(index as u64, self.handle_actor.clone(), 0)
    }

    fn object_type(&self, index: usize) -> ObjType {
        match self.objects[index] {
            Object::Map(_) => ObjType::Map,
            Object::List(_) => ObjType::List,
            Object::Text(_) => ObjType::Text,
        }
    }

    /// Puts `slot` at `prop` of the object `obj` (inserting it into a list when `insert`).
    fn place(&mut self, obj: &ObjId, prop: Prop, slot: Slot, insert: bool) -> Am {
        let at = self.index(obj)?;
        let obj_type = self.object_type(at);
        match (&mut self.objects[at], prop) {
            (Object::Map(entries), Prop::Map(key)) => {
                entries.insert(key, slot);
                Ok(())
            }
            (Object::List(items), Prop::Seq(index)) if insert && index <= items.len() => {
                items.insert(index, slot);
                Ok(())
            }
            (Object::List(items), Prop::Seq(index)) if !insert && index < items.len() => {
                items[index] = slot;
                Ok(())
            }
            (Object::List(_), Prop::Seq(index)) => Err(AutomergeError::InvalidIndex(index)),
            _ => Err(AutomergeError::InvalidOp(obj_type)),
        }
    }

    fn make(&mut self, obj_type: ObjType) -> Am<usize> {
        let object = match obj_type {
            ObjType::Map => Object::Map(HashMap::new()),
            ObjType::List => Object::List(Vec::new()),
            ObjType::Text => Object::Text(String::new()),
            ObjType::Table => return Err(AutomergeError::InvalidOp(obj_type)),
        };
        self.objects.push(object);
        Ok(self.objects.len() - 1)
    }
}

impl DocWrite for NewDoc {
    fn put(&mut self, obj: &ObjId, prop: impl Into<Prop>, value: impl Into<ScalarValue>) -> Am {
        self.place(obj, prop.into(), Slot::Scalar(value.into()), false)
    }

    fn delete(&mut self, obj: &ObjId, prop: impl Into<Prop>) -> Am {
        let at = self.index(obj)?;
        let obj_type = self.object_type(at);
        match (&mut self.objects[at], prop.into()) {
            (Object::Map(entries), Prop::Map(key)) => {
                entries.remove(&key);
                Ok(())
            }
            (Object::List(items), Prop::Seq(index)) if index < items.len() => {
                items.remove(index);
                Ok(())
            }
            (Object::List(_), Prop::Seq(index)) => Err(AutomergeError::InvalidIndex(index)),
            _ => Err(AutomergeError::InvalidOp(obj_type)),
        }
    }

    fn put_object(&mut self, obj: &ObjId, prop: impl Into<Prop>, obj_type: ObjType) -> Am<ObjId> {
        let made = self.make(obj_type)?;
        self.place(obj, prop.into(), Slot::Object(made), false)?;
        Ok(self.handle(made))
    }

    fn insert_object(&mut self, obj: &ObjId, index: usize, obj_type: ObjType) -> Am<ObjId> {
        let made = self.make(obj_type)?;
        self.place(obj, Prop::Seq(index), Slot::Object(made), true)?;
        Ok(self.handle(made))
    }

    fn update_text(&mut self, obj: &ObjId, text: &str) -> Am {
        let at = self.index(obj)?;
        let obj_type = self.object_type(at);
        match &mut self.objects[at] {
            Object::Text(current) => {
                text.clone_into(current);
                Ok(())
            }
            _ => Err(AutomergeError::InvalidOp(obj_type)),
        }
    }

    fn object_at(&mut self, obj: &ObjId, key: &str) -> Am<Option<(ObjType, ObjId)>> {
        let at = self.index(obj)?;
        Ok(match &self.objects[at] {
            Object::Map(entries) => match entries.get(key) {
                Some(Slot::Object(index)) => Some((self.object_type(*index), self.handle(*index))),
                _ => None,
            },
            _ => None,
        })
    }
}

impl AnyRecord {
    /// Writes this record, being created, into `tx` (a transaction on a new, empty document)
    /// in one batch: the same content as [`AnyRecord::write`] with no stored record.
    pub(crate) fn write_new(&self, tx: &mut Transaction<'_>) -> Am {
        let mut content = NewDoc::new();
        self.write(&mut content, None)?;
        tx.init_root_from_hydrate(&content.into_root())
    }
}

/// Checks that `record` written in one batch makes the document written op by op: the same
/// content (hydrated) and the same record read back, through a change a peer applies.
#[cfg(test)]
pub(super) fn assert_batch_writes_the_same(record: &AnyRecord) {
    use automerge::Automerge;
    let written = |batch: bool| {
        let mut doc = Automerge::new();
        doc.transact(|tx| {
            if batch {
                record.write_new(tx)
            } else {
                record.write(tx, None)
            }
        })
        .map_err(|failure| failure.error)
        .unwrap();
        // As a peer receives it: the change alone.
        let change = doc.get_last_local_change().expect("a change").clone();
        let mut peer = Automerge::new();
        peer.apply_changes([change]).unwrap();
        peer
    };
    let (by_op, batched) = (written(false), written(true));
    assert_eq!(batched.hydrate(None), by_op.hydrate(None));
    assert_eq!(AnyRecord::read(&batched), Ok(record.clone()));
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::*;
    use crate::records::test_support::meta;

    #[test]
    fn orders_and_products_written_in_one_batch_are_the_documents_written_op_by_op() {
        let mut order = Order {
            meta: meta(),
            ordered_at: 1_790_000_000_000,
            notes: "Back door".into(),
            ..Order::new("c1", "anna", "EUR")
        };
        for (id, quantity) in [("l1", 2), ("l2", 5)] {
            order.lines.push(OrderLine {
                id: id.into(),
                product_id: "p1".into(),
                sku: "AB-1".into(),
                name: "Rye bread".into(),
                quantity,
                unit_price_minor: 349,
                tax_rate_bp: 700,
                discount_bp: 500,
            });
        }
        assert_batch_writes_the_same(&AnyRecord::Order(order));
        let product = Product {
            meta: meta(),
            prices: BTreeMap::from([("EUR".to_owned(), 349), ("CHF".to_owned(), 380)]),
            tax_rate_bp: 700,
            category: Some("Bread".into()),
            ..Product::new("AB-1234", "Rye bread")
        };
        assert_batch_writes_the_same(&AnyRecord::Product(product));
    }

    #[test]
    fn a_new_document_refuses_handles_it_did_not_make() {
        let mut content = NewDoc::new();
        let foreign = ObjId::Id(7, ActorId::from(vec![1, 2]), 0);
        assert!(content.put(&foreign, "x", 1).is_err());
        let list = content
            .put_object(&ObjId::Root, "l", ObjType::List)
            .unwrap();
        assert!(content.insert_object(&list, 3, ObjType::Map).is_err());
        assert!(content.put(&list, "key", 1).is_err());
        let text = content
            .put_object(&ObjId::Root, "t", ObjType::Text)
            .unwrap();
        assert!(content.update_text(&list, "no").is_err());
        content.update_text(&text, "yes").unwrap();
        content.delete(&ObjId::Root, "l").unwrap();
        assert_eq!(content.object_at(&ObjId::Root, "l").unwrap(), None);
        assert_eq!(
            content
                .object_at(&ObjId::Root, "t")
                .unwrap()
                .map(|(t, _)| t),
            Some(ObjType::Text)
        );
    }
}
