//! CSV in and out through the real binary: the `import` command on a file (a byte order mark,
//! quoted line breaks, a rejected row; no progress bar when stderr is not a terminal; a second
//! run changes nothing), the admin's HTTP import, the imported records arriving on a rep's
//! device through sync, and the export of what each user may see.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::process::Command;

use fieldcrm_core::{Contact, Customer, Kind};
use serde_json::Value;

mod support;
use support::{BIN, Launch, OrgServer, agent, device, login};

const PASSWORD: &str = "csv test pass";

/// What a spreadsheet saves: a byte order mark, CRLF line ends, a cell with line breaks.
const CUSTOMERS: &str = "\u{feff}external_id,name,territory,owner,city,notes\r\n\
C-1,Bäckerei Nord,harbour,ana,Hamburg,\"Back door\r\nafter 10\"\r\n\
C-2,Kiosk am Hang,hills,,Hamburg,\r\n\
C-3,Nowhere Ltd,atlantis,,,\r\n\
C-4,=Werft,harbour,,,\r\n";

/// Runs `import KIND FILE --as root` on the server's database; status, stdout, stderr.
fn import_command(
    server: &OrgServer,
    kind: &str,
    file: &std::path::Path,
) -> (bool, String, String) {
    let output = Command::new(BIN)
        .arg("--db")
        .arg(&server.db)
        .args(["import", kind])
        .arg(file)
        .args(["--as", "root"])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

fn get(server: &OrgServer, token: &str, path: &str) -> (u16, String) {
    let mut response = agent()
        .get(format!("{}{path}", server.base))
        .header("authorization", &format!("Bearer {token}"))
        .call()
        .unwrap();
    (
        response.status().as_u16(),
        response.body_mut().read_to_string().unwrap(),
    )
}

fn post_csv(server: &OrgServer, token: &str, path: &str, body: &[u8]) -> (u16, Value) {
    let mut response = agent()
        .post(format!("{}{path}", server.base))
        .header("authorization", &format!("Bearer {token}"))
        .header("content-type", "text/csv")
        .send(body)
        .unwrap();
    (
        response.status().as_u16(),
        response.body_mut().read_json().unwrap(),
    )
}

#[test]
fn csv_in_through_the_command_and_the_endpoint_and_out_again() {
    let server = OrgServer::start(
        BIN,
        &[
            ("root", "admin", None),
            ("ana", "rep", Some("harbour")),
            ("bo", "rep", Some("hills")),
        ],
        PASSWORD,
        Launch::default(),
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("customers.csv");
    std::fs::write(&file, CUSTOMERS).unwrap();

    // The command, with the server running beside it.
    let (ok, stdout, stderr) = import_command(&server, "customers", &file);
    assert!(ok, "{stderr}");
    assert!(
        stdout.starts_with("customers: 4 rows: 3 created, 0 updated, 0 unchanged, 1 rejected"),
        "{stdout}"
    );
    assert!(
        stdout.contains("line 4 (C-3): no territory named \"atlantis\""),
        "the line counts the cell with a line break once: {stdout}"
    );
    assert!(
        !stderr.contains("rows") && !stderr.contains("eta"),
        "no progress bar when stderr is not a terminal: {stderr}"
    );
    let (ok, again, _) = import_command(&server, "customers", &file);
    assert!(ok);
    assert!(
        again.starts_with("customers: 4 rows: 0 created, 0 updated, 3 unchanged, 1 rejected"),
        "{again}"
    );
    // A file that is not there, or has the wrong header, fails with a message.
    let (ok, _, stderr) = import_command(&server, "customers", &dir.path().join("missing.csv"));
    assert!(!ok && stderr.contains("cannot read"), "{stderr}");
    let wrong = dir.path().join("wrong.csv");
    std::fs::write(&wrong, "id,name\n1,x\n").unwrap();
    let (ok, _, stderr) = import_command(&server, "contacts", &wrong);
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains("unknown column \"id\"")
            && stderr.contains("external_id*, customer_external_id*, name*"),
        "{stderr}"
    );

    // The endpoint, as the admin; a rep gets what an unknown route gets.
    let (root, _) = login(&server.base, "root", PASSWORD);
    let (ana_token, _) = login(&server.base, "ana", PASSWORD);
    let contacts = "external_id,customer_external_id,name,title\n\
                    P-1,C-1,Jana Nord,\"Owner,\nbaker\"\n\
                    P-2,C-9,Nobody,\n";
    let (status, report) = post_csv(
        &server,
        &ana_token,
        "/v1/admin/import/contacts",
        contacts.as_bytes(),
    );
    assert_eq!(status, 404, "{report}");
    assert_eq!(report["error"]["code"], "not_found");
    let (status, report) = post_csv(
        &server,
        &root,
        "/v1/admin/import/contacts",
        contacts.as_bytes(),
    );
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["created"], 1);
    assert_eq!(
        report["rejections"][0]["line"], 3,
        "the line break in a cell counts once"
    );

    // The records reach ana's device by sync, as any pushed record does.
    let ana = device(&server.base, "ana", PASSWORD);
    ana.sync().unwrap();
    let names: Vec<String> = ana
        .store
        .document_ids(Kind::Customer)
        .unwrap()
        .iter()
        .map(|id| ana.store.get::<Customer>(id).unwrap().unwrap().name)
        .collect();
    assert_eq!(names.len(), 2, "harbour's customers: {names:?}");
    assert!(names.contains(&"Bäckerei Nord".to_owned()));
    let contact_ids = ana.store.document_ids(Kind::Contact).unwrap();
    let jana: Contact = ana.store.get(&contact_ids[0]).unwrap().unwrap();
    assert_eq!(jana.title.as_deref(), Some("Owner,\nbaker"));

    // Out again: ana's customers, with the formula defused.
    let (status, csv) = get(&server, &ana_token, "/v1/export/customers.csv");
    assert_eq!(status, 200);
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let name = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "name")
        .unwrap();
    let mut exported: Vec<String> = reader
        .records()
        .map(|r| r.unwrap()[name].to_owned())
        .collect();
    exported.sort();
    assert_eq!(exported, ["'=Werft", "Bäckerei Nord"]);
    let (status, _) = get(&server, &ana_token, "/v1/export/opportunities.csv");
    assert_eq!(status, 200);
}

#[test]
fn the_command_draws_a_progress_bar_on_a_terminal() {
    let server = OrgServer::start(BIN, &[("root", "admin", None)], PASSWORD, Launch::default());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("customers.csv");
    let mut csv = String::from("external_id,name,territory\n");
    for i in 0..1_200 {
        csv.push_str(&format!("C-{i},Customer {i},harbour\n"));
    }
    std::fs::write(&file, csv).unwrap();
    // `script` (util-linux) runs the command on a pseudo-terminal and copies what it prints.
    let command = format!(
        "'{BIN}' --db '{}' import customers '{}' --as root",
        server.db.display(),
        file.display()
    );
    let output = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("RUST_LOG", "warn")
        .output()
        .expect("script (util-linux) runs the command on a terminal");
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{printed}");
    assert!(
        printed.contains("500 rows"),
        "the bar after the first batch (the first draw is never held back): {printed}"
    );
    assert!(printed.contains("KiB"), "{printed}");
    assert!(
        printed.contains("customers: 1200 rows: 1200 created"),
        "and the report: {printed}"
    );
}
