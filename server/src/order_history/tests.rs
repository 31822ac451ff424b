use fieldcrm_core::DAY_MS;

use super::*;
use crate::csv_import::{self, ImportKind};
use crate::model::{Role, User};
use crate::storage::{AnalyticsStorage, CsvStorage, NewUser, SqliteStorage};

const NO_LIMIT: ImportLimits = ImportLimits { max_rows: None };

/// Customers `k1`, `k2` and products `COF`, `FIL` imported from CSV by admin root.
fn org() -> (SqliteStorage, User) {
    let storage = SqliteStorage::open_in_memory().unwrap();
    let team = storage.create_team("north").unwrap();
    storage.create_territory("harbour", &team.id).unwrap();
    let admin = storage
        .create_user(NewUser {
            username: "root",
            password_hash: None,
            role: Role::Admin,
            team_id: None,
        })
        .unwrap();
    let records = [
        (
            ImportKind::Customers,
            "external_id,name,territory\nk1,Kiosk,harbour\nk2,Bakery,harbour\n",
        ),
        (
            ImportKind::Products,
            "external_id,sku,name\np1,COF,Coffee\np2,FIL,Filters\n",
        ),
    ];
    for (kind, csv) in records {
        let report = csv_import::import(
            kind,
            &storage,
            &admin,
            csv.as_bytes(),
            NO_LIMIT,
            &mut |_, _| {},
        )
        .unwrap();
        assert_eq!(report.created, 2, "{report}");
    }
    (storage, admin)
}

fn run(storage: &SqliteStorage, csv: &str) -> Result<HistoryReport, ImportError> {
    import(storage, csv.as_bytes(), NO_LIMIT, &mut |_, _| {})
}

const ORDERS: &str = "customer_external_id,date,amount,currency
k1,2024-01-05,10.00,EUR
k1,2024-01-05,10.00,EUR
k9,2024-01-06,10.00,EUR
k2,2024-02-30,1,EUR
k2,2024-03-01,abc,EUR

k2,2024-03-01,7.5,EUR
";

#[test]
fn an_order_file_imports_once_and_lists_its_rejected_rows() {
    let (storage, _) = org();
    let first = run(&storage, ORDERS).unwrap();
    assert_eq!(first.shape, "orders");
    assert_eq!(first.rows, 6, "{first}");
    // Two identical orders on one day are two orders (occurrences 1 and 2).
    assert_eq!((first.orders_new, first.orders_present), (3, 0), "{first}");
    assert_eq!(first.rejected, 3);
    let listed: Vec<(u64, Option<&str>)> = first
        .rejections
        .iter()
        .map(|r| (r.line, r.external_id.as_deref()))
        .collect();
    assert_eq!(listed, [(4, Some("k9")), (5, Some("k2")), (6, Some("k2"))]);
    assert!(
        first.rejections[0].reason.contains("no customer"),
        "{first}"
    );
    assert!(
        first.rejections[1].reason.contains("is not a date"),
        "{first}"
    );
    assert!(first.rejections[2].reason.contains("amount"), "{first}");

    let again = run(&storage, ORDERS).unwrap();
    assert_eq!((again.orders_new, again.orders_present), (0, 3), "{again}");
    assert!(
        again
            .to_string()
            .contains("0 orders new, 3 already present"),
        "{again}"
    );

    // The analytics read the history beside the CRM's orders: k1's two orders of one day.
    let input = storage.analytics_input().unwrap();
    assert_eq!(input.orders.len(), 3);
    let k1 = storage
        .imported_document(fieldcrm_core::Kind::Customer, "k1")
        .unwrap()
        .unwrap();
    let day = crate::dates::parse_date("2024-01-05").unwrap();
    let k1_orders: Vec<_> = input
        .orders
        .iter()
        .filter(|o| o.customer_id == k1)
        .collect();
    assert_eq!(k1_orders.len(), 2);
    assert!(
        k1_orders
            .iter()
            .all(|o| o.ordered_at == day * DAY_MS && o.net_minor == 1_000 && o.currency == "EUR")
    );
}

const LINES: &str = "customer_external_id,date,amount,currency,sku,quantity,unit_price
k1,2024-01-05,12.00,EUR,COF,2,4.50
k1,2024-01-05,12.00,EUR,FIL,1,3.00
k1,2024-01-05,12.00,EUR,TEA,1,3.00
k2,2024-01-05,4.50,EUR,COF,1,4.50
k1,2024-01-07,4.50,EUR,COF,1,4.50
";

#[test]
fn a_line_file_groups_its_lines_into_orders_and_adds_a_fixed_line_later() {
    let (storage, _) = org();
    let first = run(&storage, LINES).unwrap();
    assert_eq!(first.shape, "lines");
    assert_eq!((first.orders_new, first.lines_new), (3, 4), "{first}");
    assert_eq!(first.rejected, 1);
    assert_eq!(first.rejections[0].line, 4);
    assert!(
        first.rejections[0]
            .reason
            .contains("no product has the SKU \"TEA\"")
    );

    let input = storage.analytics_input().unwrap();
    assert_eq!(input.orders.len(), 3);
    assert_eq!(input.lines.len(), 4);
    let coffee = input.lines.iter().find(|l| l.quantity == 2).unwrap();
    assert_eq!(coffee.net_minor, 900);
    assert!(coffee.order_id.starts_with("history:"));

    // The fixed file: the order is there already, only its missing line is new.
    let fixed = LINES.replace("TEA", "FIL");
    let again = run(&storage, &fixed).unwrap();
    assert_eq!(
        (
            again.orders_new,
            again.orders_present,
            again.lines_new,
            again.lines_present
        ),
        (0, 3, 1, 4),
        "{again}"
    );
    assert_eq!(storage.analytics_input().unwrap().lines.len(), 5);
}

#[test]
fn files_that_do_not_read_stop_before_anything_is_written() {
    let (storage, _) = org();
    assert!(matches!(run(&storage, ""), Err(ImportError::Empty { .. })));
    let wrong = run(&storage, "customer,date,amount,currency\n").unwrap_err();
    assert!(
        wrong.to_string().contains("unknown column \"customer\""),
        "{wrong}"
    );
    let limited = import(
        &storage,
        ORDERS.as_bytes(),
        ImportLimits { max_rows: Some(2) },
        &mut |_, _| {},
    );
    assert!(matches!(limited, Err(ImportError::TooManyRows { max: 2 })));
    let short = run(
        &storage,
        "customer_external_id,date,amount,currency\nk1,2024-01-05\n",
    )
    .unwrap();
    assert_eq!(short.rejected, 1);
    assert!(
        short.rejections[0]
            .reason
            .contains("the row has 2 cells, the header 4")
    );
    assert!(storage.analytics_input().unwrap().orders.is_empty());
}
