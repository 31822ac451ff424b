use fieldcrm_core::{Money, Opportunity, Stage, Store};

use super::*;
use crate::csv_import::{ImportKind, ImportLimits, import};
use crate::model::{Role, User};
use crate::storage::{CsvStorage, NewUser, SqliteStorage};

struct Org {
    storage: SqliteStorage,
    admin: User,
    ana: User,
    bo: User,
    mia: User,
}

/// Team north with territories harbour (rep ana) and hills (rep bo), manager mia; team south
/// with no one; admin root.
fn org() -> Org {
    let storage = SqliteStorage::open_in_memory().unwrap();
    let north = storage.create_team("north").unwrap();
    let south = storage.create_team("south").unwrap();
    let harbour = storage.create_territory("harbour", &north.id).unwrap();
    let hills = storage.create_territory("hills", &north.id).unwrap();
    storage.create_territory("dunes", &south.id).unwrap();
    let user = |name: &str, role: Role| {
        storage
            .create_user(NewUser {
                username: name,
                password_hash: None,
                role,
                team_id: (role != Role::Admin).then_some(north.id.as_str()),
            })
            .unwrap()
    };
    let org = Org {
        admin: user("root", Role::Admin),
        ana: user("ana", Role::Rep),
        bo: user("bo", Role::Rep),
        mia: user("mia", Role::Manager),
        storage,
    };
    org.storage
        .assign_user_territory(&org.ana.id, &harbour.id)
        .unwrap();
    org.storage
        .assign_user_territory(&org.bo.id, &hills.id)
        .unwrap();
    org
}

fn import_customers(org: &Org, csv: &str) {
    let report = import(
        ImportKind::Customers,
        &org.storage,
        &org.admin,
        csv.as_bytes(),
        ImportLimits { max_rows: None },
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!(report.rejected, 0, "{report}");
}

fn export(org: &Org, user: &User, kind: ExportKind) -> Vec<csv::StringRecord> {
    let principal = org.storage.principal(user).unwrap();
    let mut bytes = Vec::new();
    write(&org.storage, &principal, kind, &mut |piece| {
        bytes.extend(piece);
        true
    })
    .unwrap();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes.as_slice());
    reader.records().map(|r| r.unwrap()).collect()
}

fn column(records: &[csv::StringRecord], name: &str) -> Vec<String> {
    let index = records[0].iter().position(|h| h == name).unwrap();
    records[1..]
        .iter()
        .map(|r| r.get(index).unwrap().to_owned())
        .collect()
}

#[test]
fn customers_are_exported_as_each_user_may_see_them_with_formulas_defused() {
    let org = org();
    import_customers(
        &org,
        "external_id,name,territory,owner,phones,lat,lon,notes\n\
         C-1,=HYPERLINK(\"http://x\"),harbour,ana,+49 40 1;+49 40 2,-33.5,-70.25,\"@SUM(A1)\n-1\"\n\
         C-2,Kiosk,hills,bo,,,,plain\n\
         C-3,Dünen,dunes,,,,,-minus\n",
    );
    let all = export(&org, &org.admin, ExportKind::Customers);
    assert_eq!(
        all[0].iter().collect::<Vec<_>>(),
        customers::Customers::HEADER
    );
    assert_eq!(all.len(), 4, "header and three customers");
    let names = column(&all, "name");
    assert!(
        names.contains(&"'=HYPERLINK(\"http://x\")".to_owned()),
        "{names:?}"
    );
    assert!(column(&all, "notes").contains(&"'@SUM(A1)\n-1".to_owned()));
    assert!(column(&all, "notes").contains(&"'-minus".to_owned()));
    // Numbers stay numbers, sets are `;`-joined, phones starting with + are defused.
    assert!(column(&all, "lat").contains(&"-33.5".to_owned()));
    assert!(column(&all, "phones").contains(&"'+49 40 1; +49 40 2".to_owned()));
    assert!(column(&all, "owner").contains(&"ana".to_owned()));
    let mut ids = column(&all, "external_id");
    ids.sort();
    assert_eq!(ids, ["C-1", "C-2", "C-3"]);
    // A rep their territory's, a manager their team's.
    assert_eq!(
        column(
            &export(&org, &org.ana, ExportKind::Customers),
            "external_id"
        ),
        ["C-1"]
    );
    assert_eq!(
        column(&export(&org, &org.bo, ExportKind::Customers), "territory"),
        ["hills"]
    );
    let mut team = column(
        &export(&org, &org.mia, ExportKind::Customers),
        "external_id",
    );
    team.sort();
    assert_eq!(team, ["C-1", "C-2"]);
}

#[test]
fn opportunities_are_exported_with_their_customer_and_amounts_in_minor_units() {
    let org = org();
    import_customers(
        &org,
        "external_id,name,territory\nC-1,Nord,harbour\nC-2,Hang,hills\n",
    );
    let customer_of = |external_id: &str| {
        org.storage
            .imported_document(fieldcrm_core::Kind::Customer, external_id)
            .unwrap()
            .unwrap()
    };
    for (rep, customer, title) in [
        (&org.ana, customer_of("C-1"), "+Upsell"),
        (&org.bo, customer_of("C-2"), "Kiosk refit"),
    ] {
        let store = Store::open(":memory:").unwrap();
        store.set_user(&rep.id).unwrap();
        org.storage
            .register_device(&rep.id, &store.actor_id())
            .unwrap();
        let mut deal = Opportunity::new(
            customer,
            title,
            Money {
                minor: 1_250_050,
                currency: "EUR".into(),
            },
        );
        deal.stage = Stage::Proposal;
        deal.probability = Some(40);
        deal.owner = Some(rep.id.clone());
        store.create(deal).unwrap();
        let (request, _) = store.push_request(100).unwrap().unwrap();
        let principal = org.storage.principal(rep).unwrap();
        let (response, _) = org.storage.push_changes(&principal, request).unwrap();
        assert!(response.rejected.is_empty(), "{:?}", response.rejected);
    }
    let all = export(&org, &org.mia, ExportKind::Opportunities);
    assert_eq!(all.len(), 3);
    assert_eq!(column(&all, "amount_minor"), ["1250050", "1250050"]);
    let mut titles = column(&all, "title");
    titles.sort();
    assert_eq!(titles, ["'+Upsell", "Kiosk refit"]);
    let ana = export(&org, &org.ana, ExportKind::Opportunities);
    assert_eq!(column(&ana, "customer_external_id"), ["C-1"]);
    assert_eq!(column(&ana, "stage"), ["proposal"]);
    assert_eq!(column(&ana, "owner"), ["ana"]);
    assert_eq!(column(&ana, "territory"), ["harbour"]);
}

#[test]
fn a_large_export_is_written_in_pages_and_stops_when_the_client_goes() {
    let org = org();
    let rows = PAGE_ROWS as usize * 2 + 3;
    let mut csv = String::from("external_id,name,territory\n");
    for i in 0..rows {
        csv.push_str(&format!("C-{i},Customer {i},harbour\n"));
    }
    import_customers(&org, &csv);
    let principal = org.storage.principal(&org.ana).unwrap();
    let mut pieces = Vec::new();
    write(
        &org.storage,
        &principal,
        ExportKind::Customers,
        &mut |piece| {
            pieces.push(piece);
            true
        },
    )
    .unwrap();
    assert_eq!(pieces.len(), 3, "one piece per page");
    let whole: Vec<u8> = pieces.concat();
    let records = csv::Reader::from_reader(whole.as_slice()).records().count();
    assert_eq!(records, rows);
    let mut taken = 0;
    write(&org.storage, &principal, ExportKind::Customers, &mut |_| {
        taken += 1;
        false
    })
    .unwrap();
    assert_eq!(taken, 1, "nothing more is read once the client is gone");
    assert_eq!(
        ExportKind::from_file_name("opportunities.csv"),
        Some(ExportKind::Opportunities)
    );
    assert_eq!(ExportKind::from_file_name("users.csv"), None);
}

#[test]
fn orders_are_exported_one_row_per_line_with_their_totals_and_formulas_defused() {
    let org = org();
    import_customers(&org, "external_id,name,territory\nC-1,Nord,harbour\n");
    let customer = org
        .storage
        .imported_document(fieldcrm_core::Kind::Customer, "C-1")
        .unwrap()
        .unwrap();
    let store = Store::open(":memory:").unwrap();
    store.set_user(&org.ana.id).unwrap();
    org.storage
        .register_device(&org.ana.id, &store.actor_id())
        .unwrap();
    let mut order = store.create_order(&customer, None, "EUR").unwrap();
    for (index, (name, quantity)) in [("=HYPERLINK(\"x\")", 3), ("Cups", 1)].iter().enumerate() {
        order.lines.push(fieldcrm_core::OrderLine {
            id: format!("0190a0b0-0000-7000-8000-0000000000{index:02x}"),
            product_id: format!("p-{index}"),
            sku: format!("-SKU-{index}"),
            name: (*name).to_owned(),
            quantity: *quantity,
            unit_price_minor: 333,
            tax_rate_bp: 1_900,
            discount_bp: 1_000,
        });
    }
    let order = store.update(order).unwrap();
    store
        .set_order_status(&order.meta.id, fieldcrm_core::OrderStatus::Confirmed)
        .unwrap();
    // An order without lines is one row.
    store.create_order(&customer, None, "USD").unwrap();
    let (request, _) = store.push_request(100).unwrap().unwrap();
    let principal = org.storage.principal(&org.ana).unwrap();
    let (response, _) = org.storage.push_changes(&principal, request).unwrap();
    assert!(response.rejected.is_empty(), "{:?}", response.rejected);

    let all = export(&org, &org.mia, ExportKind::Orders);
    assert_eq!(all[0].iter().collect::<Vec<_>>(), orders::Orders::HEADER);
    assert_eq!(all.len(), 4, "header, two lines, one order without lines");
    let sums = order.totals();
    let rows: Vec<&csv::StringRecord> = all[1..]
        .iter()
        .filter(|r| &r[0] == order.meta.id.as_str())
        .collect();
    assert_eq!(rows.len(), 2);
    let at = |name: &str| all[0].iter().position(|h| h == name).unwrap();
    for row in &rows {
        assert_eq!(&row[at("order_net_minor")], sums.net_minor.to_string());
        assert_eq!(&row[at("order_gross_minor")], sums.gross_minor.to_string());
        assert_eq!(&row[at("customer_external_id")], "C-1");
        assert_eq!(&row[at("status")], "confirmed");
        assert_eq!(&row[at("revenue")], "true");
        assert_eq!(&row[at("owner")], "ana");
    }
    let line_nets: i64 = rows
        .iter()
        .map(|r| r[at("line_net_minor")].parse::<i64>().unwrap())
        .sum();
    assert_eq!(line_nets, sums.net_minor);
    assert_eq!(&rows[0][at("name")], "'=HYPERLINK(\"x\")");
    assert_eq!(&rows[0][at("sku")], "'-SKU-0");
    let empty = all[1..]
        .iter()
        .find(|r| &r[0] != order.meta.id.as_str())
        .unwrap();
    assert_eq!((&empty[at("currency")], &empty[at("line_id")]), ("USD", ""));
    assert_eq!(
        export(&org, &org.bo, ExportKind::Orders).len(),
        1,
        "bo: header only"
    );
    assert_eq!(
        ExportKind::from_file_name("orders.csv"),
        Some(ExportKind::Orders)
    );
}
