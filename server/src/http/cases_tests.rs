//! `GET /v1/cases` and the team overview's case figures over HTTP, on the sales tests'
//! organisation (north: ana, bo, manager mia; south: cy, manager sam; admin root): each
//! manager sees their team's cases only, the filters narrow the list, a rep gets what an
//! unknown route gets, and a user the caller does not see is answered like an unknown one.

use axum::http::StatusCode;
use serde_json::Value;

use fieldcrm_core::{Case, CaseStatus, CaseSurvey, Customer, Severity, SurveyEntrant};

use super::sales_tests::SalesApp;
use crate::cases::escalation::escalate_overdue;
use crate::model::now_ms;

const HOUR: i64 = 3_600_000;

/// ana's cases in harbour: an overdue one assigned to her (escalated by a run), an open one
/// due later, a resolved one with a survey; and cy's overdue case in quay.
fn cases(app: &SalesApp) -> (Vec<String>, String) {
    let ana = app.user("ana");
    let device = app.device("ana");
    let mut customer = Customer::new("Kiosk am Hafen");
    customer.territory = Some("harbour".into());
    let customer = device.create(customer).unwrap();
    let case = |subject: &str, due_at: i64| {
        let mut c = Case::new(&customer.meta.id, subject);
        c.severity = Severity::High;
        c.due_at = Some(due_at);
        device.create(c).unwrap()
    };
    // Opened two days ago: past a high case's 24 hours.
    let opened = now_ms() - 48 * HOUR;
    device.set_clock(move || opened);
    let mut late = case("Crushed crate", opened + 24 * HOUR);
    late.assignee = Some(ana.id.clone());
    let late = device.update(late).unwrap();
    device.set_clock(now_ms);
    let later = case("Wrong invoice", now_ms() + 100 * HOUR);
    let mut done = case("Missing rolls", now_ms() + 100 * HOUR);
    done.change_status(CaseStatus::Resolved, Some("Delivered".into()));
    let mut done = device.update(done).unwrap();
    done.survey = Some(CaseSurvey {
        score: 4,
        comment: Some("Quick".into()),
        entered_by: SurveyEntrant::Customer,
        at: 0,
        by: String::new(),
    });
    let done = device.update(done).unwrap();
    app.push("ana", &device);
    let cy_device = app.device("cy");
    let mut quay = Customer::new("Fischhalle");
    quay.territory = Some("quay".into());
    let quay = cy_device.create(quay).unwrap();
    let mut theirs = Case::new(&quay.meta.id, "Cold chain broken");
    theirs.due_at = Some(now_ms() - HOUR);
    let theirs = cy_device.create(theirs).unwrap();
    app.push("cy", &cy_device);
    (
        vec![late.meta.id, later.meta.id, done.meta.id],
        theirs.meta.id,
    )
}

fn ids(page: &Value) -> Vec<String> {
    let mut ids: Vec<String> = page["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

#[tokio::test]
async fn managers_see_their_teams_cases_and_filters_narrow_them() {
    let app = SalesApp::new().await;
    let (north, south) = cases(&app);
    escalate_overdue(app.storage.as_ref(), "root", now_ms()).unwrap();
    let (status, page) = app.get("/v1/cases", "mia").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(ids(&page), sorted(north.clone()));
    let (_, page) = app.get("/v1/cases", "sam").await;
    assert_eq!(ids(&page), vec![south.clone()]);
    let (_, page) = app.get("/v1/cases", "root").await;
    assert_eq!(page["cases"].as_array().unwrap().len(), 4);

    let (_, open) = app.get("/v1/cases?open=true", "mia").await;
    assert_eq!(ids(&open), sorted(north[..2].to_vec()));
    let (_, overdue) = app.get("/v1/cases?overdue=true", "mia").await;
    assert_eq!(ids(&overdue), vec![north[0].clone()]);
    assert_eq!(overdue["cases"][0]["overdue"], true);
    let (_, escalated) = app.get("/v1/cases?escalated=true", "mia").await;
    assert_eq!(ids(&escalated), vec![north[0].clone()]);
    assert!(escalated["cases"][0]["escalated_at"].is_i64());
    let ana = app.user("ana").id;
    let (_, assigned) = app.get(&format!("/v1/cases?assignee={ana}"), "mia").await;
    assert_eq!(ids(&assigned), vec![north[0].clone()]);
    let (_, resolved) = app.get("/v1/cases?limit=500", "mia").await;
    let row = resolved["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == north[2].as_str())
        .unwrap()
        .clone();
    assert_eq!(row["status"], "resolved");
    assert_eq!(row["satisfaction"], 4);
    assert!(row["resolution_ms"].is_i64());

    let (_, first) = app.get("/v1/cases?limit=1", "mia").await;
    let next = first["next_after"].as_str().unwrap().to_owned();
    let (_, rest) = app
        .get(&format!("/v1/cases?limit=500&after={next}"), "mia")
        .await;
    assert_eq!(rest["cases"].as_array().unwrap().len(), 2);
    assert_eq!(rest["next_after"], Value::Null);
}

#[tokio::test]
async fn a_rep_gets_an_unknown_route_and_another_teams_user_an_empty_list() {
    let app = SalesApp::new().await;
    let (_, _) = cases(&app);
    let unknown = app.get("/v1/no-such-route", "ana").await;
    assert_eq!(unknown.0, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/v1/cases", "ana").await, unknown);
    assert_eq!(app.get("/v1/cases?overdue=true", "cy").await, unknown);
    let cy = app.user("cy").id;
    let theirs = app.get(&format!("/v1/cases?assignee={cy}"), "mia").await;
    let nobody = app.get("/v1/cases?assignee=no-such-user", "mia").await;
    assert_eq!(theirs, nobody);
    assert_eq!(ids(&theirs.1), Vec::<String>::new());
    for bad in [
        "/v1/cases?limit=0",
        "/v1/cases?limit=501",
        "/v1/cases?open=maybe",
    ] {
        let (status, body) = app.get(bad, "mia").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "bad_request", "{bad}");
    }
}

#[tokio::test]
async fn the_team_overview_counts_the_teams_cases() {
    let app = SalesApp::new().await;
    let _ = cases(&app);
    let day = fieldcrm_core::dates::format_date(now_ms().div_euclid(fieldcrm_core::DAY_MS));
    let path = format!("/v1/team/overview?from={day}&to={day}");
    let (status, overview) = app.get(&path, "mia").await;
    assert_eq!(status, StatusCode::OK, "{overview}");
    let cases = &overview["cases"];
    assert_eq!(cases["open"], 2);
    assert_eq!(cases["overdue"], 1);
    assert_eq!(cases["average_satisfaction"], 4.0);
    assert!(cases["median_resolution_ms"].is_i64());
    let (_, south) = app.get(&path, "sam").await;
    assert_eq!(south["cases"]["open"], 1);
    assert_eq!(south["cases"]["average_satisfaction"], Value::Null);
}
