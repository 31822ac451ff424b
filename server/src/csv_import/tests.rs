use std::io::Read;

use fieldcrm_core::protocol::PullRequest;
use fieldcrm_core::{AnyRecord, Customer, Grade, Kind};

use super::*;
use crate::model::{User, now_ms};
use crate::storage::{Accounts, CsvStorage, ExportRow, NewUser, SqliteStorage};

struct Org {
    storage: SqliteStorage,
    admin: User,
    ana: User,
    bo: User,
}

/// Team north, territories harbour (rep ana) and hills (rep bo), admin root.
fn org() -> Org {
    let storage = SqliteStorage::open_in_memory().unwrap();
    let team = storage.create_team("north").unwrap();
    let harbour = storage.create_territory("harbour", &team.id).unwrap();
    let hills = storage.create_territory("hills", &team.id).unwrap();
    let user = |name: &str, role: Role| {
        storage
            .create_user(NewUser {
                username: name,
                password_hash: None,
                role,
                team_id: (role != Role::Admin).then_some(team.id.as_str()),
            })
            .unwrap()
    };
    let admin = user("root", Role::Admin);
    let ana = user("ana", Role::Rep);
    let bo = user("bo", Role::Rep);
    storage.assign_user_territory(&ana.id, &harbour.id).unwrap();
    storage.assign_user_territory(&bo.id, &hills.id).unwrap();
    Org {
        storage,
        admin,
        ana,
        bo,
    }
}

const NO_LIMIT: ImportLimits = ImportLimits { max_rows: None };

fn run(org: &Org, kind: ImportKind, csv: &[u8]) -> Result<ImportReport, ImportError> {
    import(
        kind,
        &org.storage,
        &org.admin,
        csv,
        NO_LIMIT,
        &mut |_, _| {},
    )
}

fn rows(org: &Org, user: &User, kind: Kind) -> Vec<ExportRow> {
    let principal = org.storage.principal(user).unwrap();
    org.storage
        .export_page(&principal, kind, "", 10_000)
        .unwrap()
}

fn customers(org: &Org) -> Vec<(String, Customer)> {
    rows(org, &org.admin, Kind::Customer)
        .into_iter()
        .map(|row| match row.record {
            AnyRecord::Customer(c) => (row.external_id.unwrap_or_default(), c),
            other => panic!("{other:?}"),
        })
        .collect()
}

fn customer(org: &Org, external_id: &str) -> Customer {
    customers(org)
        .into_iter()
        .find(|(id, _)| id == external_id)
        .map(|(_, c)| c)
        .unwrap_or_else(|| panic!("no customer {external_id}"))
}

/// The change log's head as the admin's pull reaches it: it moves with every change.
fn change_count(org: &Org) -> u64 {
    let principal = org.storage.principal(&org.admin).unwrap();
    let mut cursor = 0;
    loop {
        let page = org
            .storage
            .pull_changes(
                &principal,
                &PullRequest {
                    cursor,
                    limit: 1_000,
                },
                fieldcrm_core::protocol::PROTOCOL_VERSION,
            )
            .unwrap();
        cursor = page.next_cursor;
        if !page.has_more {
            return cursor;
        }
    }
}

const CUSTOMERS: &str = "\
external_id,name,territory,owner,grade,phones,city,lat,lon,visit_cadence_days
C-1,Bäckerei Nord,harbour,ana,A,+49 40 1; +49 40 2,Hamburg,53.55,9.99,14
C-2,Kiosk am Hang,hills,bo,b,,Hamburg,,,
C-3,Werft,harbour,,,,,,,30
";

#[test]
fn customers_import_through_the_push_path_with_scope_and_projection() {
    let org = org();
    let report = run(&org, ImportKind::Customers, CUSTOMERS.as_bytes()).unwrap();
    assert_eq!(
        (report.rows, report.created, report.rejected),
        (3, 3, 0),
        "{report}"
    );
    let first = customer(&org, "C-1");
    assert_eq!(first.name, "Bäckerei Nord");
    assert_eq!(first.owner.as_deref(), Some(org.ana.id.as_str()));
    assert_eq!(first.grade, Some(Grade::A));
    assert_eq!(first.phones.len(), 2);
    assert_eq!(first.meta.created_by, org.admin.id, "written as the admin");
    assert_eq!(first.visit_cadence_days, Some(14));
    assert_eq!(customer(&org, "C-2").grade, Some(Grade::B));
    // Scope columns from the territory: ana sees harbour's two, bo hills' one.
    assert_eq!(rows(&org, &org.ana, Kind::Customer).len(), 2);
    let bo_sees = rows(&org, &org.bo, Kind::Customer);
    assert_eq!(bo_sees.len(), 1);
    assert_eq!(bo_sees[0].territory.as_deref(), Some("hills"));
    // The field-work projection: the customer's place is there for overdue lists.
    let principal = org.storage.principal(&org.ana).unwrap();
    let overdue = org
        .storage
        .overdue_customers(&principal, now_ms(), 10)
        .unwrap();
    assert_eq!(overdue.len(), 2, "both of ana's customers have a cadence");
    // The import's device is revoked once it is done.
    let devices = org.storage.device_statuses(&org.admin.id).unwrap();
    assert_eq!(devices.len(), 1);
    assert!(devices[0].revoked_at.is_some());
}

#[test]
fn a_second_run_updates_in_place_and_an_unchanged_one_writes_nothing() {
    let org = org();
    run(&org, ImportKind::Customers, CUSTOMERS.as_bytes()).unwrap();
    let before = customers(&org);
    let changes = change_count(&org);

    let again = run(&org, ImportKind::Customers, CUSTOMERS.as_bytes()).unwrap();
    assert_eq!((again.unchanged, again.created, again.updated), (3, 0, 0));
    assert_eq!(customers(&org), before, "nothing changed");
    assert_eq!(change_count(&org), changes);
    assert_eq!(
        org.storage.device_statuses(&org.admin.id).unwrap().len(),
        1,
        "no device registered for a run with nothing to push"
    );

    let edited = CUSTOMERS
        .replace("Werft,harbour", "Werft GmbH,hills")
        .replace(",A,", ",C,");
    let updated = run(&org, ImportKind::Customers, edited.as_bytes()).unwrap();
    assert_eq!((updated.updated, updated.unchanged), (2, 1), "{updated}");
    assert_eq!(customers(&org).len(), 3, "updated, not duplicated");
    let werft = customer(&org, "C-3");
    assert_eq!(werft.name, "Werft GmbH");
    let before_werft = before.iter().find(|(id, _)| id == "C-3").unwrap();
    assert_eq!(werft.meta.id, before_werft.1.meta.id, "the same document");
    assert_eq!(customer(&org, "C-1").grade, Some(Grade::C));
    // The territory moved with the row: bo sees it now, ana no longer.
    assert_eq!(rows(&org, &org.bo, Kind::Customer).len(), 2);
    assert_eq!(rows(&org, &org.ana, Kind::Customer).len(), 1);
}

#[test]
fn rejected_rows_are_reported_with_the_line_a_spreadsheet_shows_and_the_rest_imported() {
    let org = org();
    let csv = "\
external_id,name,territory,grade,notes
C-1,Good,harbour,A,\"two
lines\"
C-2,Bad grade,harbour,Z,
,No id,harbour,,
C-3,\"Quoted, with comma\",nowhere,,
C-4,Short,harbour
C-5,Fine,hills,,\"three
line
note\"
C-6,,harbour,,
C-7,Also fine,harbour,,
";
    let report = run(&org, ImportKind::Customers, csv.as_bytes()).unwrap();
    assert_eq!(report.rows, 8);
    assert_eq!((report.created, report.rejected), (3, 5), "{report}");
    let listed: Vec<(u64, Option<&str>)> = report
        .rejections
        .iter()
        .map(|r| (r.line, r.external_id.as_deref()))
        .collect();
    assert_eq!(
        listed,
        [
            (3, Some("C-2")),
            (4, None),
            (5, Some("C-3")),
            (6, None),
            (8, Some("C-6")),
        ]
    );
    let reasons: Vec<&str> = report
        .rejections
        .iter()
        .map(|r| r.reason.as_str())
        .collect();
    assert!(reasons[0].contains("grade \"Z\""), "{reasons:?}");
    assert!(reasons[1].contains("external_id is empty"), "{reasons:?}");
    assert!(reasons[2].contains("no territory named \"nowhere\""));
    assert!(reasons[3].contains("3 cells, the header 5"));
    assert!(reasons[4].contains("name is empty"));
    assert_eq!(customer(&org, "C-1").notes, "two\nlines");
    assert_eq!(customer(&org, "C-5").notes, "three\nline\nnote");
    let text = report.to_string();
    assert!(text.contains("line 5 (C-3): no territory"), "{text}");
}

#[test]
fn a_record_the_core_refuses_is_rejected_with_its_validation_reason() {
    let org = org();
    let csv = "external_id,name,territory,lat,lon,visit_radius_m\n\
               C-1,Far north,harbour,95,10,\n\
               C-2,Huge radius,harbour,,,500000\n\
               C-3,Only lat,harbour,53,,\n\
               C-4,Fine,harbour,53.5,10.0,200\n";
    let report = run(&org, ImportKind::Customers, csv.as_bytes()).unwrap();
    assert_eq!((report.created, report.rejected), (1, 3), "{report}");
    assert!(report.rejections[0].reason.contains("location"), "{report}");
    assert!(report.rejections[1].reason.contains("visit_radius_m"));
    assert!(report.rejections[2].reason.contains("together"));
    assert!(customers(&org).iter().all(|(id, _)| id == "C-4"));
    // Refused creations leave no external id behind: a fixed row creates the record.
    let fixed = "external_id,name,territory\nC-1,Far north,harbour\n";
    let report = run(&org, ImportKind::Customers, fixed.as_bytes()).unwrap();
    assert_eq!(report.created, 1);
}

#[test]
fn the_report_lists_at_most_a_hundred_rejections_but_counts_all() {
    let org = org();
    let mut csv = String::from("external_id,name,territory\n");
    for i in 0..250 {
        csv.push_str(&format!("C-{i},Customer {i},nowhere\n"));
    }
    csv.push_str("C-ok,Fine,harbour\n");
    let report = run(&org, ImportKind::Customers, csv.as_bytes()).unwrap();
    assert_eq!(
        (report.rows, report.rejected, report.created),
        (251, 250, 1)
    );
    assert_eq!(report.rejections.len(), MAX_LISTED_REJECTIONS);
    assert_eq!(report.unlisted_rejections, 150);
    assert_eq!(report.rejections[0].line, 2);
    assert!(report.to_string().contains("150 more rejected rows"));
}

#[test]
fn a_wrong_or_missing_header_names_the_expected_columns() {
    let org = org();
    for (csv, problem) in [
        ("external_id,name\nC-1,x\n", "missing column territory"),
        (
            "external_id,name,territory,colour\nC-1,x,harbour,red\n",
            "unknown column \"colour\"",
        ),
        (
            "external_id,name,territory,name\n",
            "column \"name\" appears twice",
        ),
        ("C-1,Bäckerei,harbour\n", "unknown column \"c-1\""),
    ] {
        let err = run(&org, ImportKind::Customers, csv.as_bytes()).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, ImportError::Header { line: 1, .. }), "{text}");
        assert!(text.contains(problem), "{text}");
        assert!(
            text.contains("external_id*, name*, territory*, owner"),
            "{text}"
        );
    }
    let empty = run(&org, ImportKind::Customers, b"").unwrap_err();
    assert!(matches!(empty, ImportError::Empty { .. }));
    assert!(empty.to_string().contains("external_id*"));
    assert!(customers(&org).is_empty());
    // Header names are compared without case and surrounding spaces.
    let report = run(
        &org,
        ImportKind::Customers,
        b" External_ID , Name ,TERRITORY\nC-1,x,harbour\n",
    )
    .unwrap();
    assert_eq!(report.created, 1);
}

#[test]
fn a_file_that_is_not_utf8_stops_at_the_line_naming_it() {
    let org = org();
    let mut csv =
        b"external_id,name,territory\nC-1,Nord,harbour\nC-2,\"Two\nlines\",harbour\n".to_vec();
    // Latin-1 "Bäckerei".
    csv.extend_from_slice(b"C-3,B\xe4ckerei,harbour\nC-4,After,harbour\n");
    let err = run(&org, ImportKind::Customers, &csv).unwrap_err();
    assert!(
        matches!(
            err,
            ImportError::NotUtf8 {
                line: 4,
                rows_before: 2
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("line 4 is not UTF-8"), "{err}");
    let names: Vec<String> = customers(&org).into_iter().map(|(id, _)| id).collect();
    assert_eq!(names.len(), 2, "the rows before it: {names:?}");
    let header = run(&org, ImportKind::Customers, b"external_id,n\xe4me\n").unwrap_err();
    assert!(matches!(header, ImportError::NotUtf8 { line: 1, .. }));
}

#[test]
fn a_byte_order_mark_and_crlf_line_ends_are_accepted() {
    let org = org();
    let csv = "\u{feff}external_id,name,territory\r\nC-1,Nord,harbour\r\nC-2,\"a\r\nb\",harbour\r\nC-3,,harbour\r\n,,\r\n\r\nC-4,\"Süd\",\"harbour\"\r\nC-5,,harbour";
    let report = run(&org, ImportKind::Customers, csv.as_bytes()).unwrap();
    assert_eq!(report.rows, 5, "empty rows are skipped");
    assert_eq!((report.created, report.rejected), (3, 2), "{report}");
    let lines: Vec<u64> = report.rejections.iter().map(|r| r.line).collect();
    assert_eq!(lines, [4, 8], "{report}");
    assert_eq!(customer(&org, "C-1").name, "Nord");
    assert_eq!(customer(&org, "C-2").name, "a\r\nb");
    assert_eq!(customer(&org, "C-4").name, "Süd");
    assert_eq!(customer(&org, "C-4").territory.as_deref(), Some("harbour"));
}

#[test]
fn contacts_name_their_customer_by_its_external_id() {
    let org = org();
    run(&org, ImportKind::Customers, CUSTOMERS.as_bytes()).unwrap();
    let csv = "external_id,customer_external_id,name,title,emails\n\
               P-1,C-1,Jana Nord,Owner,jana@example.com\n\
               P-2,C-404,Nobody,,\n\
               P-3,C-2,Kai Hang,,kai@example.com; k@example.com\n";
    let report = run(&org, ImportKind::Contacts, csv.as_bytes()).unwrap();
    assert_eq!((report.created, report.rejected), (2, 1), "{report}");
    assert!(report.rejections[0].reason.contains("C-404"));
    let contacts = rows(&org, &org.admin, Kind::Contact);
    assert_eq!(contacts.len(), 2);
    let jana = contacts
        .iter()
        .find(|r| r.external_id.as_deref() == Some("P-1"))
        .unwrap();
    let AnyRecord::Contact(contact) = &jana.record else {
        panic!()
    };
    assert_eq!(contact.customer_id, customer(&org, "C-1").meta.id);
    assert_eq!(jana.customer_external_id.as_deref(), Some("C-1"));
    // A contact takes its customer's scope: bo sees Kai, not Jana.
    assert_eq!(rows(&org, &org.bo, Kind::Contact).len(), 1);
    // Moving a contact to another customer is refused; the rest updates.
    let moved = "external_id,customer_external_id,name\nP-1,C-2,Jana Nord\nP-3,C-2,Kai Hang-Berg\n";
    let report = run(&org, ImportKind::Contacts, moved.as_bytes()).unwrap();
    assert_eq!((report.updated, report.rejected), (1, 1), "{report}");
    assert!(report.rejections[0].reason.contains("another customer"));
}

#[test]
fn only_an_admin_imports() {
    let org = org();
    let err = import(
        ImportKind::Customers,
        &org.storage,
        &org.ana,
        CUSTOMERS.as_bytes(),
        NO_LIMIT,
        &mut |_, _| {},
    )
    .unwrap_err();
    assert!(matches!(err, ImportError::NotAdmin(_)));
    assert!(customers(&org).is_empty());
}

#[test]
fn the_same_external_id_twice_in_a_file_updates_the_record_it_created() {
    let org = org();
    let csv = "external_id,name,territory\nC-1,First,harbour\nC-1,Second,harbour\n";
    let report = run(&org, ImportKind::Customers, csv.as_bytes()).unwrap();
    assert_eq!((report.created, report.updated), (1, 1), "{report}");
    assert_eq!(customers(&org).len(), 1);
    assert_eq!(customer(&org, "C-1").name, "Second");
}

#[test]
fn a_row_limit_stops_the_import() {
    let org = org();
    let err = import(
        ImportKind::Customers,
        &org.storage,
        &org.admin,
        CUSTOMERS.as_bytes(),
        ImportLimits { max_rows: Some(2) },
        &mut |_, _| {},
    )
    .unwrap_err();
    assert!(matches!(err, ImportError::TooManyRows { max: 2 }));
    assert_eq!(count_rows(CUSTOMERS.as_bytes()), 3);
}

/// A CSV of `rows` customers made as it is read: the import never sees the whole file.
struct Generated {
    next: usize,
    rows: usize,
    pending: Vec<u8>,
    read: std::rc::Rc<std::cell::Cell<usize>>,
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pending.len() < buf.len() && self.next <= self.rows {
            if self.next == 0 {
                self.pending
                    .extend_from_slice(b"external_id,name,territory,city\n");
            } else {
                let line = format!(
                    "C-{0},\"Customer {0}\nsecond line\",harbour,City {0}\n",
                    self.next
                );
                self.pending.extend_from_slice(line.as_bytes());
            }
            self.next += 1;
        }
        let n = buf.len().min(self.pending.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        self.read.set(self.read.get() + n);
        Ok(n)
    }
}

#[test]
fn rows_are_streamed_and_imported_in_batches() {
    let org = org();
    let rows = BATCH_ROWS * 3 + 17;
    let read = std::rc::Rc::new(std::cell::Cell::new(0));
    let input = Generated {
        next: 0,
        rows,
        pending: Vec::new(),
        read: read.clone(),
    };
    let mut calls = Vec::new();
    let report = import(
        ImportKind::Customers,
        &org.storage,
        &org.admin,
        input,
        NO_LIMIT,
        &mut |bytes, rows| calls.push((bytes, rows, read.get())),
    )
    .unwrap();
    assert_eq!(report.created, rows as u64, "{report}");
    assert_eq!(calls.len(), 4, "one call per batch and one at the end");
    let (first_bytes, first_rows, read_then) = calls[0];
    assert_eq!(first_rows, BATCH_ROWS as u64);
    assert!(
        read_then < read.get() / 2,
        "the first batch was pushed before most of the file was read ({read_then} of {})",
        read.get()
    );
    assert!(first_bytes <= read_then as u64);
    assert_eq!(calls[3].0, read.get() as u64, "the end: every byte");
    // Each batch's documents were forgotten by the import's store, and the server holds all.
    assert_eq!(
        org.storage.document_count(Kind::Customer).unwrap(),
        rows as i64
    );
}

const PRODUCTS: &str = "external_id,sku,name,category,unit,prices,tax_rate_percent,active
P-1,AB-1001,Roggenbrot,Bakery,piece,EUR 3.49; CHF 3.90,7,yes
P-2,CF-2001,Espresso Blend,Coffee,bag 1 kg,EUR 24.90,7,
P-3,CL-3001,Descaler,Cleaning,canister,EUR -2,19,yes
P-4,CL-3002,Surface Spray,Cleaning,canister,EUR 4.90,119,yes
";

fn products(org: &Org, user: &User) -> Vec<(String, fieldcrm_core::Product)> {
    rows(org, user, Kind::Product)
        .into_iter()
        .map(|row| match row.record {
            AnyRecord::Product(p) => (row.external_id.unwrap_or_default(), p),
            other => panic!("not a product: {other:?}"),
        })
        .collect()
}

#[test]
fn products_import_for_the_whole_organisation_and_bad_prices_and_rates_are_rows_refused() {
    let org = org();
    let report = run(&org, ImportKind::Products, PRODUCTS.as_bytes()).unwrap();
    assert_eq!(
        (report.rows, report.created, report.rejected),
        (4, 2, 2),
        "{report}"
    );
    let refused: Vec<(u64, &str)> = report
        .rejections
        .iter()
        .map(|r| (r.line, r.reason.as_str()))
        .collect();
    assert_eq!(refused[0].0, 4, "{refused:?}");
    assert!(refused[0].1.contains("EUR -2"), "{refused:?}");
    assert_eq!(refused[1].0, 5, "{refused:?}");
    assert!(refused[1].1.contains("tax_rate_percent"), "{refused:?}");
    // Organisation-wide: a rep of either territory sees both products.
    for user in [&org.ana, &org.bo] {
        let seen = products(&org, user);
        assert_eq!(seen.len(), 2);
    }
    let (_, bread) = products(&org, &org.admin)
        .into_iter()
        .find(|(id, _)| id == "P-1")
        .unwrap();
    assert_eq!(bread.price_in("EUR"), Some(349));
    assert_eq!(bread.price_in("CHF"), Some(390));
    assert_eq!(bread.tax_rate_bp, 700);
    assert!(bread.active);
    // A second run with a new price updates the same product.
    let cheaper = PRODUCTS.replace("EUR 3.49", "EUR 2.99");
    let again = run(&org, ImportKind::Products, cheaper.as_bytes()).unwrap();
    assert_eq!((again.updated, again.unchanged), (1, 1), "{again}");
    let (_, updated) = products(&org, &org.admin)
        .into_iter()
        .find(|(id, _)| id == "P-1")
        .unwrap();
    assert_eq!(updated.meta.id, bread.meta.id, "the same document");
    assert_eq!(updated.price_in("EUR"), Some(299));
}
