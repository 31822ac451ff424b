//! The route map's base map for the dashboard: the tile source it is configured with
//! (`/dashboard/basemap.json`) and the vendored Leaflet that draws it (`/dashboard/vendor/`,
//! copied from npm by `scripts/vendor-dashboard`, compiled in so the server needs no network).

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::AppState;
use super::fieldwork::asset;

const LEAFLET_JS: &str = include_str!("../../dashboard/vendor/leaflet/leaflet.js");
const LEAFLET_CSS: &str = include_str!("../../dashboard/vendor/leaflet/leaflet.css");

/// `GET /dashboard/basemap.json`: what map.js draws the route on. Public like the page itself:
/// it says only what the page may load.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct BasemapConfig {
    /// `None`: no tile source, the offline grid.
    tiles: Option<TilesConfig>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct TilesConfig {
    /// Leaflet's URL template (`{z}`, `{x}`, `{y}`, `{r}`).
    url_template: String,
    /// Plain text for the map's corner.
    attribution: Option<String>,
}

/// What the dashboard's route map is drawn on.
#[utoipa::path(
    get,
    path = "/dashboard/basemap.json",
    operation_id = "dashboard_basemap",
    tag = "dashboard",
    description = "Public, like the dashboard page; the same caching headers as its files.",
    responses((status = 200, description = "The tile source, if any", body = BasemapConfig))
)]
pub(super) async fn config(State(state): State<AppState>) -> impl IntoResponse {
    let tiles = state.basemap.tiles.as_ref().map(|tiles| TilesConfig {
        url_template: tiles.as_str().to_owned(),
        attribution: state.basemap.attribution.clone(),
    });
    (
        [(header::CACHE_CONTROL, "no-cache")],
        Json(BasemapConfig { tiles }),
    )
}

pub(super) async fn leaflet_js() -> Response {
    asset("text/javascript; charset=utf-8", LEAFLET_JS)
}

pub(super) async fn leaflet_css() -> Response {
    asset("text/css; charset=utf-8", LEAFLET_CSS)
}
