//! The product catalog and orders through the real server binary: everyone receives the
//! catalog and only an admin writes it (a rep's or a manager's product stays on their device,
//! refused with the reason); a rep orders only for customers they may write; a submitted order
//! is frozen on the server too; apps speaking protocol versions 1 and 2 get neither products
//! nor orders, and their cursor moves past them.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use fieldcrm_core::protocol::{self, RejectCode};
use fieldcrm_core::*;

mod support;
use support::{BIN, Device, Launch, OrgServer, device};

const PASSWORD: &str = "secret pass";
const NOW: Millis = 1_790_000_000_000;

fn organisation() -> OrgServer {
    OrgServer::start(
        BIN,
        &[
            ("ada", "admin", None),
            ("ana", "rep", Some("harbour")),
            ("ben", "rep", Some("hills")),
            ("mia", "manager", None),
        ],
        PASSWORD,
        Launch::default(),
    )
}

fn bread() -> Product {
    let mut p = Product::new("AB-1001", "Roggenbrot");
    p.category = Some("bread".into());
    p.prices.insert("EUR".into(), 349);
    p.tax_rate_bp = 700;
    p
}

fn synced(device: &Device) -> SyncReport {
    device.sync().unwrap()
}

/// The one rejection `device` holds for `doc_id`.
fn rejection(device: &Device, doc_id: &str) -> RejectedChange {
    let rejected: Vec<RejectedChange> = device
        .store
        .rejected_changes()
        .unwrap()
        .into_iter()
        .filter(|r| r.doc_id == doc_id)
        .collect();
    assert!(!rejected.is_empty(), "no rejection for {doc_id}");
    rejected[0].clone()
}

#[test]
fn everyone_receives_the_catalog_and_only_an_admin_writes_it() {
    let server = organisation();
    let (ada, ana, ben, mia) = (
        device(&server.base, "ada", PASSWORD),
        device(&server.base, "ana", PASSWORD),
        device(&server.base, "ben", PASSWORD),
        device(&server.base, "mia", PASSWORD),
    );
    // A rep's and a manager's product are refused and stay on their device with the reason.
    for writer in [&ana, &mia] {
        let own = writer
            .store
            .create(Product::new("X-1", "Home-made"))
            .unwrap();
        synced(writer);
        let refused = rejection(writer, &own.meta.id);
        assert_eq!(refused.code, RejectCode::Forbidden);
        assert!(refused.reason.contains("product"), "{}", refused.reason);
        assert_eq!(
            writer.store.get::<Product>(&own.meta.id).unwrap(),
            Some(own),
            "the change stays visible"
        );
    }
    // The admin's product reaches every role, whatever their team or territories.
    let product = ada.store.create(bread()).unwrap();
    synced(&ada);
    assert!(ada.store.rejected_changes().unwrap().is_empty());
    for reader in [&ana, &ben, &mia] {
        synced(reader);
        assert_eq!(
            reader.store.get::<Product>(&product.meta.id).unwrap(),
            Some(product.clone())
        );
        let found = reader
            .store
            .query(&Query::SearchProducts {
                text: "rogg".into(),
                limit: 10,
            })
            .unwrap();
        assert!(
            matches!(&found, QueryResult::Products(rows) if rows.len() == 1),
            "{found:?}"
        );
    }
    // A rep's edit of the admin's product is refused; the admin's next edit reaches everyone.
    let mut cheaper = product.clone();
    cheaper.prices.insert("EUR".into(), 1);
    ana.store.update(cheaper).unwrap();
    synced(&ana);
    assert_eq!(
        rejection(&ana, &product.meta.id).code,
        RejectCode::Forbidden
    );
    let mut dearer = product.clone();
    dearer.prices.insert("EUR".into(), 399);
    ada.store.update(dearer).unwrap();
    synced(&ada);
    synced(&ben);
    let on_ben = ben.store.get::<Product>(&product.meta.id).unwrap().unwrap();
    assert_eq!(on_ben.price_in("EUR"), Some(399));
}

#[test]
fn a_rep_orders_only_for_customers_they_may_write_and_a_submitted_order_is_frozen() {
    let server = organisation();
    let (ada, ana, ben, mia) = (
        device(&server.base, "ada", PASSWORD),
        device(&server.base, "ana", PASSWORD),
        device(&server.base, "ben", PASSWORD),
        device(&server.base, "mia", PASSWORD),
    );
    let product = ada.store.create(bread()).unwrap();
    synced(&ada);
    let mut harbour = Customer::new("Café Mitte");
    harbour.territory = Some("harbour".into());
    let harbour = ana.store.create(harbour).unwrap();
    synced(&ana);
    synced(&ben);
    assert!(
        ben.store
            .get::<Customer>(&harbour.meta.id)
            .unwrap()
            .is_none()
    );

    // Ben (hills) orders for Ana's harbour customer: refused like any write out of scope.
    let foreign = ben
        .store
        .create_order(&harbour.meta.id, None, "EUR")
        .unwrap();
    ben.store
        .add_order_line(&foreign.meta.id, &product.meta.id, 2)
        .unwrap();
    synced(&ben);
    assert_eq!(
        rejection(&ben, &foreign.meta.id).code,
        RejectCode::Forbidden
    );
    assert!(ben.store.get::<Order>(&foreign.meta.id).unwrap().is_some());

    // Ana's order for her own customer, at a visit, reaches her manager.
    let visit = ana
        .store
        .create(Visit::new(&harbour.meta.id, ana.store.user()))
        .unwrap();
    let order = ana
        .store
        .create_order(&harbour.meta.id, Some(&visit.meta.id), "EUR")
        .unwrap();
    let order = ana
        .store
        .add_order_line(&order.meta.id, &product.meta.id, 3)
        .unwrap();
    // A line naming a product nobody knows is kept and shown as unknown.
    let mut with_unknown = order.clone();
    with_unknown.lines.push(OrderLine {
        id: "0190a0b0-0000-7000-8000-0000000000ff".into(),
        product_id: "no-such-product".into(),
        sku: String::new(),
        name: "Something from the back room".into(),
        quantity: 1,
        unit_price_minor: 100,
        tax_rate_bp: 0,
        discount_bp: 0,
    });
    let order = ana.store.update(with_unknown).unwrap();
    synced(&ana);
    assert!(ana.store.rejected_changes().unwrap().is_empty());
    synced(&mia);
    let on_mia = mia.store.get::<Order>(&order.meta.id).unwrap().unwrap();
    assert_eq!(on_mia, order);
    match mia
        .store
        .query(&Query::OrdersOfVisit {
            visit_id: visit.meta.id.clone(),
        })
        .unwrap()
    {
        QueryResult::Orders(rows) => {
            assert_eq!(rows.len(), 1);
            assert_eq!(rows[0].unknown_products, 1);
            assert_eq!(rows[0].totals.subtotal_minor, 3 * 349 + 100);
        }
        other => panic!("{other:?}"),
    }
    synced(&ben);
    assert!(ben.store.get::<Order>(&order.meta.id).unwrap().is_none());

    // Ana's second phone still holds the draft and adds a line while the first submits it: the
    // server re-checks the freeze on the merged order and refuses the late line.
    let second = device(&server.base, "ana", PASSWORD);
    synced(&second);
    ana.store
        .set_order_status(&order.meta.id, OrderStatus::Submitted)
        .unwrap();
    synced(&ana);
    second
        .store
        .add_order_line(&order.meta.id, &product.meta.id, 9)
        .unwrap();
    let report = synced(&second);
    let refused = rejection(&second, &order.meta.id);
    assert_eq!(refused.code, RejectCode::ImmutableField, "{report:?}");
    assert!(refused.reason.contains("submitted"), "{}", refused.reason);
    synced(&mia);
    let on_mia = mia.store.get::<Order>(&order.meta.id).unwrap().unwrap();
    assert_eq!(on_mia.status, OrderStatus::Submitted);
    assert_eq!(
        on_mia.lines, order.lines,
        "the late line never reached anyone"
    );
}

#[test]
fn apps_before_protocol_3_get_no_products_or_orders_and_move_past_them() {
    let server = organisation();
    let (ada, ana) = (
        device(&server.base, "ada", PASSWORD),
        device(&server.base, "ana", PASSWORD),
    );
    let product = ada.store.create(bread()).unwrap();
    synced(&ada);
    synced(&ana);
    let mut customer = Customer::new("Café Mitte");
    customer.territory = Some("harbour".into());
    let customer = ana.store.create(customer).unwrap();
    let order = ana
        .store
        .create_order(&customer.meta.id, None, "EUR")
        .unwrap();
    ana.store
        .add_order_line(&order.meta.id, &product.meta.id, 1)
        .unwrap();
    synced(&ana);
    // The newest document is an order: an old app's cursor must still reach it.
    let mut later = ana.store.get::<Order>(&order.meta.id).unwrap().unwrap();
    later.notes = "ring twice".into();
    ana.store.update(later).unwrap();
    synced(&ana);

    let current = device(&server.base, "ana", PASSWORD);
    current.pull_all_in(protocol::PROTOCOL_VERSION);
    assert!(
        current
            .store
            .get::<Product>(&product.meta.id)
            .unwrap()
            .is_some()
    );
    assert!(
        current
            .store
            .get::<Order>(&order.meta.id)
            .unwrap()
            .is_some()
    );
    let head = current.store.sync_status().unwrap().cursor;
    for version in [1, 2] {
        let old = device(&server.base, "ana", PASSWORD);
        old.pull_all_in(version);
        assert!(
            old.store
                .get::<Customer>(&customer.meta.id)
                .unwrap()
                .is_some(),
            "version {version}"
        );
        assert!(old.store.document_ids(Kind::Product).unwrap().is_empty());
        assert!(old.store.document_ids(Kind::Order).unwrap().is_empty());
        let status = old.store.sync_status().unwrap();
        assert_eq!(status.refused_documents, 0, "version {version}");
        assert_eq!(
            status.cursor, head,
            "version {version}: the cursor moved past them"
        );
        // Small pages, each of which may hold only held-back documents, get there too.
        let paged = device(&server.base, "ana", PASSWORD);
        let mut session = SyncSession::new(&paged.store).unwrap();
        session.protocol_version = version;
        session.page_size = 1;
        loop {
            let body = paged.transport.pull(session.build_pull().unwrap()).unwrap();
            if !session.apply_pull_response(&body, NOW).unwrap().has_more {
                break;
            }
        }
        assert_eq!(paged.store.sync_status().unwrap().cursor, head);
        assert!(
            paged
                .store
                .get::<Customer>(&customer.meta.id)
                .unwrap()
                .is_some()
        );
        // Asked for by id, they are answered like unknown ids.
        let request = protocol::RefetchRequest {
            doc_ids: vec![
                product.meta.id.clone(),
                order.meta.id.clone(),
                customer.meta.id.clone(),
            ],
        };
        let body = old
            .transport
            .refetch(protocol::encode_as(&request, version).unwrap())
            .unwrap();
        let answer = protocol::decode_refetch_response(&body, MAX_RESPONSE_BYTES).unwrap();
        assert_eq!(
            answer.missing,
            vec![product.meta.id.clone(), order.meta.id.clone()],
            "version {version}"
        );
        assert_eq!(answer.docs.len(), 1);
    }
    let request = protocol::RefetchRequest {
        doc_ids: vec![product.meta.id.clone(), order.meta.id.clone()],
    };
    let body = current
        .transport
        .refetch(protocol::encode(&request).unwrap())
        .unwrap();
    let answer = protocol::decode_refetch_response(&body, MAX_RESPONSE_BYTES).unwrap();
    assert!(answer.missing.is_empty());
    assert_eq!(answer.docs.len(), 2);
}
