//! The JSON API's OpenAPI 3.1 document, generated from the code: each handler's
//! `#[utoipa::path]` (method, path, parameters, bodies, answers with their error codes, who may
//! call it) and the request and response types' derived schemas. Served at `GET /openapi.json`.
//!
//! The binary sync protocol is not in it: [`UNDESCRIBED`] lists those routes and the dashboard's
//! files with the reason, and docs/PROTOCOL.md describes them. A test checks that every route of
//! the router is described or listed there, and that every description has its route.

use std::sync::OnceLock;

use axum::response::Response;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, OpenApi as Document, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

use super::fieldwork::asset;
use crate::error::ApiError;

/// The security scheme every authenticated operation names.
pub(crate) const BEARER: &str = "bearer";

/// Routes of the router the document does not describe, and why: the binary sync protocol
/// (postcard envelopes, docs/PROTOCOL.md) and the redirect to the dashboard; and
/// [`DASHBOARD_FILES`]. The document's description lists them.
pub(crate) const UNDESCRIBED: &[(&str, &str, &str)] = &[
    ("POST", "/v1/sync/push", BINARY),
    ("POST", "/v1/sync/pull", BINARY),
    ("POST", "/v1/sync/pings", BINARY),
    ("POST", "/v1/sync/refetch", BINARY),
    ("GET", "/v1/analytics/device", BINARY),
    ("GET", "/", "a redirect to the dashboard page"),
];

const BINARY: &str = "the binary sync protocol (postcard envelopes), described in docs/PROTOCOL.md";

/// Also undescribed: the dashboard's page and its scripts and styles (its JSON configuration,
/// `/dashboard/basemap.json`, is described).
const DASHBOARD_FILES: &str =
    "GET /dashboard, /dashboard/ and /dashboard/*.js, *.css: the dashboard's page and its files";

/// Why a route of the router is not in the document, if it is not.
#[cfg(test)]
pub(crate) fn undescribed(method: &str, path: &str) -> Option<&'static str> {
    if let Some((_, _, why)) = UNDESCRIBED
        .iter()
        .find(|(m, p, _)| *m == method && *p == path)
    {
        return Some(why);
    }
    // DASHBOARD_FILES.
    let dashboard_file = path == "/dashboard"
        || path == "/dashboard/"
        || (path.starts_with("/dashboard/") && (path.ends_with(".js") || path.ends_with(".css")));
    (method == "GET" && dashboard_file).then_some("a static file of the dashboard")
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "FieldCRM server API",
        description = "The JSON API of the FieldCRM server: sign-in and devices, the admin's \
            levers, route review, team overview, coverage, exports, pipeline, targets, revenue, \
            analytics, campaigns, service cases, webhooks and the change feed, and the dashboard's configuration.\n\n\
            Every failure is answered as JSON `{\"error\": {\"code\": \"...\", \"message\": \
            \"...\"}}` (the `ApiError` schema): the code is stable, the message is for people. \
            Authenticated operations take a bearer JWT from `POST /v1/auth/login`; which roles \
            may call an operation is in its description.\n\n\
            The binary sync protocol (`/v1/sync/push`, `/v1/sync/pull`, `/v1/sync/pings`, \
            `/v1/sync/refetch`, `/v1/analytics/device`) is not described here: see \
            docs/PROTOCOL.md in the FieldCRM source tree."
    ),
    external_docs(
        url = "docs/PROTOCOL.md",
        description = "The sync protocol and the error codes (docs/PROTOCOL.md in the source tree)"
    ),
    paths(
        super::healthz,
        super::metrics,
        document,
        super::login,
        super::me,
        crate::accounts::register_device,
        crate::accounts::disable_user,
        crate::accounts::enable_user,
        crate::accounts::user_devices,
        crate::accounts::revoke_device,
        super::csv_files::import,
        super::order_history::import,
        super::csv_files::export,
        super::fieldwork::reps,
        super::fieldwork::route,
        super::fieldwork::route_export,
        super::fieldwork::team_overview,
        super::fieldwork::overdue,
        super::basemap::config,
        super::sales::pipeline,
        super::sales::forecast,
        super::sales::funnel,
        super::sales::win_rate,
        super::sales::big_deals,
        super::targets::get_targets,
        super::targets::put_target,
        super::targets::ranking,
        super::revenue::revenue,
        super::revenue::unknown_products,
        super::analytics::overview,
        super::analytics::customers,
        super::analytics::rules,
        super::analytics_panels::panels,
        super::campaigns::list,
        super::campaigns::create,
        super::campaigns::preview,
        super::campaigns::detail,
        super::campaigns::start,
        super::campaigns::targets,
        super::cases::list,
        super::webhooks::events,
        super::webhooks::create,
        super::webhooks::list,
        super::webhooks::delete,
        super::webhooks::deliveries,
        super::webhooks::replay_all,
        super::webhooks::replay_one,
    ),
    modifiers(&Shared),
    tags(
        (name = "service", description = "Health, metrics and this document"),
        (name = "auth", description = "Sign-in and the caller"),
        (name = "devices", description = "Device registration and the admin's levers over users and devices"),
        (name = "import-export", description = "CSV imports (admins) and exports"),
        (name = "fieldwork", description = "Route review, team overview and coverage"),
        (name = "sales", description = "Pipeline, targets and revenue"),
        (name = "analytics", description = "Customer analytics"),
        (name = "campaigns", description = "Campaigns (managers and admins)"),
        (name = "cases", description = "Service cases (managers and admins)"),
        (name = "webhooks", description = "Webhooks and the change feed (admins)"),
        (name = "dashboard", description = "The dashboard's configuration"),
    )
)]
pub(crate) struct ApiDoc;

/// What every operation shares, added once here rather than on each handler: the bearer
/// scheme, the `ApiError` body of every error answer, the authentication failures of every
/// authenticated operation, `internal`, and the values of the import and export path names.
struct Shared;

impl Modify for Shared {
    fn modify(&self, doc: &mut Document) {
        let mut not_described = String::from("\n\nRoutes not described here:");
        for (method, path, why) in UNDESCRIBED {
            not_described.push_str(&format!("\n- {method} {path}: {why}"));
        }
        not_described.push_str(&format!("\n- {DASHBOARD_FILES}"));
        doc.info
            .description
            .get_or_insert_with(String::new)
            .push_str(&not_described);

        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "The token of `POST /v1/auth/login` (or of the configured identity \
                         provider)",
                    ))
                    .build(),
            ),
        );
        let mut schemas = vec![(
            crate::error::Body::name().into_owned(),
            crate::error::Body::schema(),
        )];
        crate::error::Body::schemas(&mut schemas);
        components.schemas.extend(schemas);

        // Core's `Millis` (unix milliseconds) is an alias of i64, so its fields refer to a schema
        // named `i64`: say what it holds.
        if let Some(millis) = components.schemas.get_mut("i64") {
            *millis = utoipa::openapi::ObjectBuilder::new()
                .schema_type(utoipa::openapi::schema::Type::Integer)
                .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                    utoipa::openapi::KnownFormat::Int64,
                )))
                .description(Some("Unix milliseconds (UTC)"))
                .into();
        }

        let error = || Content::new(Some(Ref::from_schema_name("ApiError")));
        for (path, item) in doc.paths.paths.iter_mut() {
            for operation in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                let responses = &mut operation.responses.responses;
                if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
                    responses.entry("401".into()).or_insert_with(|| {
                        ResponseBuilder::new()
                            .description(
                                "`unauthorized` (no token), `token_expired`, `invalid_token`, \
                                 or `device_revoked` (the device must delete its local data)",
                            )
                            .into()
                    });
                }
                responses.entry("500".into()).or_insert_with(|| {
                    ResponseBuilder::new()
                        .description("`internal`: the detail is logged, never sent")
                        .into()
                });
                for (status, response) in responses.iter_mut() {
                    if status.as_str() >= "400"
                        && let utoipa::openapi::RefOr::T(response) = response
                        && response.content.is_empty()
                    {
                        response
                            .content
                            .insert("application/json".into(), error().into());
                    }
                }
                let names: Option<Vec<&str>> = match path.as_str() {
                    "/v1/admin/import/{kind}" => Some(
                        crate::csv_import::ImportKind::ALL
                            .iter()
                            .map(|k| k.name())
                            .collect(),
                    ),
                    "/v1/export/{file}" => Some(
                        crate::csv_export::ExportKind::ALL
                            .iter()
                            .map(|k| k.file_name())
                            .collect(),
                    ),
                    _ => None,
                };
                if let Some(names) = names {
                    for parameter in operation.parameters.iter_mut().flatten() {
                        if let utoipa::openapi::RefOr::T(parameter) = parameter {
                            parameter.schema = Some(
                                utoipa::openapi::ObjectBuilder::new()
                                    .schema_type(utoipa::openapi::schema::Type::String)
                                    .enum_values(Some(names.clone()))
                                    .into(),
                            );
                        }
                    }
                }
            }
        }
    }
}

/// The document as served, rendered once.
static DOCUMENT: OnceLock<String> = OnceLock::new();

fn rendered() -> Result<&'static str, ApiError> {
    if let Some(text) = DOCUMENT.get() {
        return Ok(text);
    }
    let text = ApiDoc::openapi().to_json().map_err(ApiError::internal)?;
    Ok(DOCUMENT.get_or_init(|| text))
}

/// This document: the reference of the JSON API.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi_document",
    tag = "service",
    description = "Public, with the same caching headers as the dashboard's files.",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object))
)]
pub(super) async fn document() -> Result<Response, ApiError> {
    Ok(asset("application/json", rendered()?))
}

#[cfg(test)]
#[path = "openapi_tests.rs"]
mod tests;
