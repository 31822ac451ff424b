//! The document against the router: every route of the real `app()` is described or listed as
//! undescribed with its reason, every description has its route, every operation answers as
//! described (status, content type, body shape) to each role, and `/openapi.json` is served.
//!
//! The router's routes are read from the router itself: its path templates from its `Debug`
//! form (axum lists them there), and the methods of each by asking it, unauthenticated, with
//! every method and checking which one it answers `405 method_not_allowed`. Each answer must
//! also carry the template it matched, so a path handled by another route (or the fallback)
//! does not count.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::{Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use serde_json::Value;
use tower::ServiceExt;
use utoipa::OpenApi;

use super::super::sales_tests::SalesApp;
use super::{ApiDoc, UNDESCRIBED, undescribed};

const METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

/// The route template a request matched, carried on the response for the probe.
#[derive(Clone)]
struct Matched(String);

async fn keep_matched_path(request: Request, next: Next) -> Response {
    let matched = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let mut response = next.run(request).await;
    if let Some(matched) = matched {
        response.extensions_mut().insert(Matched(matched));
    }
    response
}

/// The path templates the router was built with, from its `Debug` form (the fallback's own
/// catch-all left out).
fn router_templates(router: &axum::Router) -> BTreeSet<String> {
    let text = format!("{router:?}");
    let routes = text
        .split_once("fallback_router")
        .map_or(text.as_str(), |(routes, _)| routes);
    routes
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|s| s.starts_with('/') && !s.contains("__private__axum"))
        .map(str::to_owned)
        .collect()
}

/// `{name}` segments filled with a value.
fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                "x"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The (method, template) pairs the router serves, by asking it.
async fn router_operations() -> BTreeSet<(String, String)> {
    let app = SalesApp::new().await;
    let router = super::super::app(app.state.clone());
    let templates = router_templates(&router);
    assert!(
        templates.contains("/healthz") && templates.contains("/openapi.json"),
        "the router's Debug form no longer lists its paths: {templates:?}"
    );
    let router = router.layer(middleware::from_fn(keep_matched_path));
    let mut operations = BTreeSet::new();
    for template in &templates {
        for method in METHODS {
            let request = axum::http::Request::builder()
                .method(method.clone())
                .uri(concrete(template))
                .body(Body::empty())
                .unwrap();
            let response = router.clone().oneshot(request).await.unwrap();
            let matched = response.extensions().get::<Matched>().cloned();
            assert_eq!(
                matched.as_ref().map(|m| m.0.as_str()),
                Some(template.as_str()),
                "{method} {template} did not reach its own route"
            );
            let status = response.status();
            let body = axum::body::to_bytes(response.into_body(), 1 << 22)
                .await
                .unwrap();
            let not_allowed = status == StatusCode::METHOD_NOT_ALLOWED
                && serde_json::from_slice::<Value>(&body)
                    .is_ok_and(|v| v["error"]["code"] == "method_not_allowed");
            if !not_allowed {
                operations.insert((method.to_string(), template.clone()));
            }
        }
    }
    operations
}

/// The (method, path) pairs the document describes.
fn described_operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut operations = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if let Ok(method) = method.to_uppercase().parse::<Method>() {
                operations.insert((method.to_string(), path.clone()));
            }
        }
    }
    operations
}

fn document() -> Value {
    serde_json::from_str(&ApiDoc::openapi().to_json().unwrap()).unwrap()
}

#[tokio::test]
async fn every_route_is_described_and_every_description_has_a_route() {
    let served = router_operations().await;
    let described = described_operations(&document());
    let undescribed_served: BTreeSet<_> = served
        .iter()
        .filter(|(method, path)| undescribed(method, path).is_some())
        .cloned()
        .collect();
    let missing: Vec<_> = served
        .difference(&described)
        .filter(|op| !undescribed_served.contains(*op))
        .collect();
    let without_route: Vec<_> = described.difference(&served).collect();
    assert!(
        missing.is_empty() && without_route.is_empty(),
        "routes without a description in the OpenAPI document (annotate the handler with \
         #[utoipa::path] and list it in ApiDoc, or list it in UNDESCRIBED with the reason): \
         {missing:?}; described in the document but not served by the router: {without_route:?}"
    );
    assert!(
        served.len() > 40,
        "the probe found only {} routes",
        served.len()
    );
    let described_and_excluded: Vec<_> = described.intersection(&undescribed_served).collect();
    assert!(
        described_and_excluded.is_empty(),
        "described and listed as undescribed: {described_and_excluded:?}"
    );
    // The exclusion list names routes that exist: a removed route leaves no stale reason.
    for (method, path, _) in UNDESCRIBED {
        assert!(
            served.contains(&(method.to_string(), path.to_string())),
            "UNDESCRIBED lists {method} {path}, which the router does not serve"
        );
    }
}

#[tokio::test]
async fn the_document_is_served_as_openapi_3_1_json_with_the_dashboards_caching() {
    let app = SalesApp::new().await;
    let response = super::super::app(app.state.clone())
        .oneshot(
            axum::http::Request::get("/openapi.json")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    // As the dashboard's files: see `fieldwork::asset`.
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 22)
        .await
        .unwrap();
    let doc: Value = serde_json::from_slice(&bytes).unwrap();
    let version = doc["openapi"].as_str().unwrap();
    assert!(version.starts_with("3.1."), "{version}");
    assert!(
        doc["info"]["description"]
            .as_str()
            .unwrap()
            .contains("docs/PROTOCOL.md")
    );
    assert_eq!(doc["externalDocs"]["url"], "docs/PROTOCOL.md");
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

/// Every error answer of every operation has the shared error body, and every operation that
/// needs a token says so and can answer 401.
#[test]
fn every_error_answer_has_the_shared_error_schema() {
    let doc = document();
    assert!(doc["components"]["schemas"]["ApiError"].is_object());
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            assert!(responses.contains_key("500"), "{method} {path}");
            for (status, response) in responses {
                if status.as_str() >= "400" {
                    assert_eq!(
                        response["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ApiError",
                        "{method} {path} {status}"
                    );
                }
            }
            if operation["security"].is_array() {
                assert!(responses.contains_key("401"), "{method} {path}");
            }
        }
    }
}

/// Only these operations are public; every other one names the bearer scheme.
#[test]
fn every_operation_but_the_public_ones_needs_a_bearer_token() {
    let doc = document();
    let mut public = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            match operation["security"].as_array() {
                Some(schemes) => assert_eq!(
                    schemes,
                    &vec![serde_json::json!({ "bearer": [] })],
                    "{method} {path}"
                ),
                None => public.push(format!("{} {path}", method.to_uppercase())),
            }
        }
    }
    public.sort();
    assert_eq!(
        public,
        [
            "GET /dashboard/basemap.json",
            "GET /healthz",
            "GET /openapi.json",
            "POST /v1/auth/login",
        ]
    );
}

/// Whether `value` has the shape `schema` describes (`$ref`, `allOf`, `oneOf`, types, enums,
/// required properties, no undescribed ones, array items); the first mismatch with where it is.
fn check_shape(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    check_part(doc, schema, value, at)?;
    if let (Value::Object(fields), Some(described)) = (value, properties(doc, schema))
        && let Some(name) = fields.keys().find(|name| !described.contains(*name))
    {
        return Err(format!("{at}: {name} is not described"));
    }
    Ok(())
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.trim_start_matches("#/components/schemas/");
            resolve(doc, &doc["components"]["schemas"][name])
        }
        None => schema,
    }
}

/// The property names an object schema describes (through `allOf`), `None` when it leaves
/// them open or is not an object schema.
fn properties(doc: &Value, schema: &Value) -> Option<BTreeSet<String>> {
    let schema = resolve(doc, schema);
    if let Some(all) = schema["allOf"].as_array() {
        let mut names = BTreeSet::new();
        for part in all {
            names.extend(properties(doc, part)?);
        }
        return Some(names);
    }
    schema["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
}

fn check_part(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let schema = resolve(doc, schema);
    if let Some(all) = schema["allOf"].as_array() {
        return all
            .iter()
            .try_for_each(|part| check_part(doc, part, value, at));
    }
    if let Some(one) = schema["oneOf"].as_array() {
        return match one
            .iter()
            .any(|part| check_shape(doc, part, value, at).is_ok())
        {
            true => Ok(()),
            false => Err(format!("{at}: {value} is none of {schema}")),
        };
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let type_of = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let fits = types.is_empty()
        || types.contains(&type_of)
        || (type_of == "integer" && types.contains(&"number"));
    if !fits {
        return Err(format!("{at}: {value} is not {types:?}"));
    }
    if let Some(values) = schema["enum"].as_array()
        && !values.contains(value)
    {
        return Err(format!("{at}: {value} is not one of {values:?}"));
    }
    if let Value::Object(fields) = value {
        for name in schema["required"].as_array().into_iter().flatten() {
            let name = name.as_str().unwrap_or_default();
            if !fields.contains_key(name) {
                return Err(format!("{at}: the required {name} is missing"));
            }
        }
        for (name, field) in fields {
            let described = &schema["properties"][name];
            if !described.is_null() {
                check_shape(doc, described, field, &format!("{at}.{name}"))?;
            }
        }
    }
    if let Value::Array(items) = value
        && schema["items"].is_object()
    {
        for (i, item) in items.iter().enumerate() {
            check_shape(doc, &schema["items"], item, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

/// A value for a path or query parameter, from the test organisation.
fn sample(app: &SalesApp, name: &str) -> Option<String> {
    Some(match name {
        "rep_id" => app.user("ana").id,
        // The admin's levers act on cy, whom no call here signs in as.
        "user_id" => app.user("cy").id,
        "date" | "from" => "2026-11-01".into(),
        "to" => "2026-11-30".into(),
        "metric" => "visits".into(),
        "file" => "customers.csv".into(),
        "kind" => "customers".into(),
        "id" | "device" => "unknown".into(),
        "seq" => "1".into(),
        _ => return None,
    })
}

/// A request body for each operation that takes one: JSON bodies are also checked against
/// their documented schema.
fn sample_body(app: &SalesApp, method: &str, path: &str) -> Option<(&'static str, String)> {
    let json = |value: Value| Some(("application/json", value.to_string()));
    match (method, path) {
        ("post", "/v1/auth/login") => json(serde_json::json!({
            "username": "ana",
            "password": super::super::sales_tests::PASSWORD,
        })),
        ("post", "/v1/devices") => {
            json(serde_json::json!({"actor_id": "00112233445566778899aabbccddeeff"}))
        }
        ("put", "/v1/targets") => json(serde_json::json!({
            "rep_id": app.user("ana").id,
            "period": "2026-11",
            "metric": "visits",
            "value": 20,
        })),
        ("post", "/v1/campaigns") => json(serde_json::json!({
            "name": "Winter",
            "filter": {"territories": ["harbour"]},
            "first_day": "2026-12-01",
            "last_day": "2026-12-31",
            "cost_minor": 10_000,
            "currency": "EUR",
            "action": "task",
            "script": "Offer the winter range",
            "control_pct": 10,
        })),
        ("post", "/v1/campaigns/preview") => json(serde_json::json!({"filter": {}})),
        ("post", "/v1/webhooks") => json(serde_json::json!({
            "url": "https://hooks.example.org/fieldcrm",
            "secret": "a-secret-of-at-least-24-characters",
        })),
        ("post", "/v1/admin/import/{kind}") => Some((
            "text/csv",
            "external_id,name,territory\nx-1,Corner shop,harbour\n".into(),
        )),
        ("post", "/v1/admin/import/order-history") => Some((
            "text/csv",
            "customer_external_id,date,amount,currency\nx-1,2026-01-05,10.00,EUR\n".into(),
        )),
        _ => None,
    }
}

const METHOD_NAMES: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Every operation the document describes, called by a rep, a manager and an admin (with its
/// parameters and a body filled in): the status is one the document lists, the content type
/// one it names, a JSON answer has the shape of its schema, and a JSON body that some caller
/// got accepted has the shape of the documented request body.
#[tokio::test]
async fn every_operation_answers_as_the_document_describes() {
    let app = SalesApp::new().await;
    let doc = document();
    let mut checked = 0;
    for (template, item) in doc["paths"].as_object().unwrap() {
        for method in METHOD_NAMES {
            let Some(operation) = item.get(method) else {
                continue;
            };
            let mut path = template.clone();
            let mut query = Vec::new();
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let name = parameter["name"].as_str().unwrap();
                let value = sample(&app, name);
                match (parameter["in"].as_str(), value) {
                    (Some("path"), Some(value)) => {
                        path = path.replace(&format!("{{{name}}}"), &value)
                    }
                    (Some("query"), Some(value)) if parameter["required"] == true => {
                        query.push(format!("{name}={value}"))
                    }
                    (_, None) if parameter["required"] == true => {
                        panic!("{method} {template}: add a sample value of {name}")
                    }
                    _ => {}
                }
            }
            if !query.is_empty() {
                path = format!("{path}?{}", query.join("&"));
            }
            let body = sample_body(&app, method, template);
            let request_body = &operation["requestBody"];
            assert_eq!(
                body.is_some(),
                request_body.is_object(),
                "{method} {template}: a sample body for each documented request body"
            );
            let mut accepted = false;
            for user in ["ana", "mia", "root"] {
                let mut request = axum::http::Request::builder()
                    .method(method.to_uppercase().as_str())
                    .uri(&path)
                    .header(
                        header::AUTHORIZATION,
                        format!("Bearer {}", app.token(user).await),
                    );
                if let Some((kind, _)) = &body {
                    request = request.header(header::CONTENT_TYPE, *kind);
                }
                let content = body
                    .as_ref()
                    .map(|(_, text)| text.clone())
                    .unwrap_or_default();
                let response = super::super::app(app.state.clone())
                    .oneshot(request.body(Body::from(content)).unwrap())
                    .await
                    .unwrap();
                let status = response.status();
                accepted |= status.is_success();
                let kind = response
                    .headers()
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let bytes = axum::body::to_bytes(response.into_body(), 1 << 24)
                    .await
                    .unwrap();
                let call = format!("{} {path} as {user} ({status})", method.to_uppercase());
                let described = &operation["responses"][status.as_str()];
                assert!(
                    described.is_object(),
                    "{call}: the status is not in the document"
                );
                let content = described["content"].as_object().unwrap();
                let media = content
                    .get(&kind)
                    .or_else(|| content.get(kind.split(';').next().unwrap_or_default()));
                let Some(media) = media else {
                    panic!("{call}: {kind} is not among {:?}", content.keys());
                };
                if kind.starts_with("application/json") {
                    let value: Value = serde_json::from_slice(&bytes).unwrap();
                    if let Err(mismatch) = check_shape(&doc, &media["schema"], &value, "body") {
                        panic!("{call}: {mismatch}");
                    }
                }
                checked += 1;
            }
            if let Some(("application/json", text)) = &body {
                assert!(
                    accepted,
                    "{method} {template}: no caller got the sample accepted"
                );
                let schema = &request_body["content"]["application/json"]["schema"];
                let value: Value = serde_json::from_str(text).unwrap();
                if let Err(mismatch) = check_shape(&doc, schema, &value, "request") {
                    panic!("{method} {template}: {mismatch}");
                }
            }
        }
    }
    assert!(checked >= 100, "only {checked} calls were checked");
}

/// Client generators name their functions after operation ids: each is unique.
#[test]
fn operation_ids_are_unique() {
    let doc = document();
    let mut seen = BTreeSet::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for operation in item.as_object().unwrap().values() {
            let id = operation["operationId"].as_str().unwrap();
            assert!(seen.insert(id.to_owned()), "operationId {id} is used twice");
        }
    }
}
