//! The record kinds added with protocol version 3 (products and orders), pinned as their first
//! version wrote them: `tests/fixtures/compat/v3/` holds the saved Automerge document of one
//! product and one order, written through the real `Store` API, and the record bytes sent beside
//! their snapshots (`WireRecord`, record format 1). Every later version must read them as the
//! values written out below; they are never rewritten. `write_v3_compat_fixtures` made them
//! (`--ignored`; it writes nothing when the folder exists).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use fieldcrm_core::protocol::{self, WireRecord};
use fieldcrm_core::*;

const ADMIN: &str = "6f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e09";
const ANNA: &str = "6f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e01";
const CUSTOMER: &str = "01937a00-0000-7000-8000-000000000001";
const VISIT: &str = "01937a00-0000-7000-8000-000000000004";
const PRODUCT: &str = "01937a00-0000-7000-8000-000000000007";
const ORDER: &str = "01937a00-0000-7000-8000-000000000008";

fn v3_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/compat/v3")
}

fn fixture(name: &str) -> Vec<u8> {
    let path = v3_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
#[ignore = "writes the fixtures once; never regenerate them (see the module docs)"]
fn write_v3_compat_fixtures() {
    let dir = v3_dir();
    if dir.exists() {
        println!("{} exists: nothing written", dir.display());
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let admin = Store::open(tmp.path().join("admin.sqlite")).unwrap();
    admin.set_user(ADMIN).unwrap();
    let mut product = Product::new("RF-25", "Rye flour 25 kg");
    product.meta.id = PRODUCT.into();
    product.category = Some("Flour".into());
    product.unit = Some("sack".into());
    product.prices.insert("EUR".into(), 2_390);
    product.prices.insert("CHF".into(), 2_650);
    product.tax_rate_bp = 700;
    product.image_ref = Some("images/rf-25.jpg".into());
    let mut product = admin.create(product).unwrap();
    product.active = false;
    admin.update(product.clone()).unwrap();
    let rep = Store::open(tmp.path().join("anna.sqlite")).unwrap();
    rep.set_user(ANNA).unwrap();
    rep.import(vec![IncomingDoc {
        doc_id: PRODUCT.into(),
        payload: IncomingPayload::Snapshot(admin.document_bytes(PRODUCT).unwrap().unwrap()),
    }])
    .unwrap();
    let mut order = Order::new(CUSTOMER, ANNA, "EUR");
    order.meta.id = ORDER.into();
    order.visit_id = Some(VISIT.into());
    order.notes = "Deliver before Friday".into();
    rep.create(order).unwrap();
    let order = rep.add_order_line(ORDER, PRODUCT, 4).unwrap();
    let line = order.lines[0].id.clone();
    rep.edit_order_line(
        ORDER,
        &line,
        LineEdit {
            discount_bp: Some(500),
            ..LineEdit::default()
        },
    )
    .unwrap();
    rep.set_order_status(ORDER, OrderStatus::Submitted).unwrap();
    std::fs::create_dir_all(dir.join("documents")).unwrap();
    std::fs::create_dir_all(dir.join("records")).unwrap();
    for (store, kind, id) in [(&admin, "product", PRODUCT), (&rep, "order", ORDER)] {
        let bytes = store.document_bytes(id).unwrap().unwrap();
        std::fs::write(dir.join(format!("documents/{kind}.automerge")), bytes).unwrap();
        let record = store.get_any(id).unwrap().unwrap();
        let wire = WireRecord::new(&record).unwrap();
        assert_eq!(wire.format, 1);
        std::fs::write(dir.join(format!("records/{kind}.format1")), wire.bytes).unwrap();
        println!("{record:#?}");
    }
}

fn meta(id: &str, by: &str, created_at: Millis, updated_at: Millis) -> RecordMeta {
    RecordMeta {
        id: id.into(),
        created_at,
        created_by: by.into(),
        updated_at,
        deleted: false,
    }
}

/// The product as its first version wrote it.
fn product() -> Product {
    Product {
        meta: meta(PRODUCT, ADMIN, 1_795_821_770_156, 1_795_821_770_169),
        sku: "RF-25".into(),
        name: "Rye flour 25 kg".into(),
        category: Some("Flour".into()),
        unit: Some("sack".into()),
        prices: [("CHF".to_owned(), 2_650), ("EUR".to_owned(), 2_390)].into(),
        tax_rate_bp: 700,
        active: false,
        image_ref: Some("images/rf-25.jpg".into()),
    }
}

/// The order as its first version wrote it: taken at a visit, one line with a discount,
/// submitted.
fn order() -> Order {
    Order {
        meta: meta(ORDER, ANNA, 1_795_821_770_202, 1_795_821_770_222),
        customer_id: CUSTOMER.into(),
        visit_id: Some(VISIT.into()),
        currency: "EUR".into(),
        status: OrderStatus::Submitted,
        owner: ANNA.into(),
        ordered_at: 1_795_821_770_202,
        notes: "Deliver before Friday".into(),
        lines: vec![OrderLine {
            id: "01a21f51-95e4-76f9-a873-0f9948cd8fef".into(),
            product_id: PRODUCT.into(),
            sku: "RF-25".into(),
            name: "Rye flour 25 kg".into(),
            quantity: 4,
            unit_price_minor: 2_390,
            tax_rate_bp: 700,
            discount_bp: 500,
        }],
        status_history: vec![
            OrderStatusChange {
                status: OrderStatus::Draft,
                at: 1_795_821_770_202,
                by: ANNA.into(),
            },
            OrderStatusChange {
                status: OrderStatus::Submitted,
                at: 1_795_821_770_222,
                by: ANNA.into(),
            },
        ],
    }
}

fn pinned() -> [(&'static str, &'static str, AnyRecord); 2] {
    [
        ("product", PRODUCT, AnyRecord::Product(product())),
        ("order", ORDER, AnyRecord::Order(order())),
    ]
}

#[test]
fn the_server_and_a_device_read_each_document_as_its_record() {
    for (kind, id, expected) in pinned() {
        let bytes = fixture(&format!("documents/{kind}.automerge"));
        let current = authority::Current::load(&bytes).unwrap_or_else(|e| panic!("{kind}: {e:?}"));
        assert_eq!(current.record, expected, "{kind}");
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("device.sqlite")).unwrap();
        let report = store
            .import(vec![IncomingDoc {
                doc_id: id.into(),
                payload: IncomingPayload::Snapshot(bytes),
            }])
            .unwrap();
        assert!(report.refused.is_empty(), "{kind}: {report:?}");
        assert_eq!(store.get_any(id).unwrap(), Some(expected), "{kind}");
    }
}

#[test]
fn each_record_sent_beside_a_snapshot_reads_in_format_1() {
    // Format 2 changed only the case: products and orders keep their format-1 layout, which
    // version 1 pages (`protocol/v1.rs`) rely on. A format-1 record itself is not read (the
    // device reads the document instead).
    assert_eq!(protocol::RECORD_FORMAT, 2);
    for (kind, _, expected) in pinned() {
        let bytes = fixture(&format!("records/{kind}.format1"));
        let format_1 = WireRecord {
            format: 1,
            bytes: bytes.clone(),
        };
        assert_eq!(format_1.read(), None, "{kind}: an older format");
        let wire = WireRecord {
            format: protocol::RECORD_FORMAT,
            bytes,
        };
        assert_eq!(wire.read(), Some(expected.clone()), "{kind}");
        assert_eq!(
            WireRecord::new(&expected).unwrap().bytes,
            wire.bytes,
            "{kind}: written again byte for byte"
        );
    }
}

#[test]
fn the_pinned_order_totals_and_freeze() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("device.sqlite")).unwrap();
    store.set_user(ANNA).unwrap();
    for (kind, id, _) in pinned() {
        store
            .import(vec![IncomingDoc {
                doc_id: id.into(),
                payload: IncomingPayload::Snapshot(fixture(&format!("documents/{kind}.automerge"))),
            }])
            .unwrap();
    }
    // 4 × 23.90 = 95.60, 5 % off = 4.78, net 90.82, 7 % tax = 6.3574 -> 6.36.
    assert_eq!(
        order().totals(),
        OrderTotals {
            subtotal_minor: 9_560,
            discount_minor: 478,
            net_minor: 9_082,
            tax_minor: 636,
            gross_minor: 9_718,
        }
    );
    let refused = store.add_order_line(ORDER, PRODUCT, 1).unwrap_err();
    assert!(
        matches!(
            refused,
            StoreError::Validation(ValidationError::OrderFrozen { .. })
        ),
        "{refused}"
    );
}
