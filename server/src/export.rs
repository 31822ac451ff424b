//! A reviewed rep-day as a file: GeoJSON (a FeatureCollection), GPX 1.1 and CSV.
//!
//! The route is exported as it was reviewed: one line or track segment per segment (never a
//! straight line across a gap), visits as points with their verification.

use std::fmt::Write;

use fieldcrm_core::RouteReview;
use serde_json::{Value, json};

use crate::dates::iso8601;

/// Who and when, for file names and metadata.
#[derive(Debug, Clone)]
pub struct RepDayLabel {
    pub rep_id: String,
    pub username: String,
    pub date: String,
}

impl RepDayLabel {
    pub fn file_name(&self, extension: &str) -> String {
        let safe: String = self
            .username
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("route-{safe}-{}.{extension}", self.date)
    }
}

/// A GeoJSON FeatureCollection (RFC 7946: positions are `[lon, lat]`): a LineString per
/// segment, a Point per visit; gaps and flags as foreign members.
pub fn geojson(label: &RepDayLabel, review: &RouteReview) -> Value {
    let mut features = Vec::new();
    for (index, segment) in review.segments.iter().enumerate() {
        let coordinates: Vec<[f64; 2]> = segment.points.iter().map(|p| [p[1], p[0]]).collect();
        // A single fix is a point, not a line (a LineString needs two positions).
        let geometry = if coordinates.len() >= 2 {
            json!({"type": "LineString", "coordinates": coordinates})
        } else {
            json!({"type": "Point", "coordinates": coordinates.first()})
        };
        features.push(json!({
            "type": "Feature",
            "geometry": geometry,
            "properties": {
                "kind": "segment",
                "segment": index + 1,
                "start": iso8601(segment.start_at),
                "end": iso8601(segment.end_at),
                "distance_m": round1(segment.distance_m),
                "times": segment.times.iter().map(|t| iso8601(*t)).collect::<Vec<_>>(),
            }
        }));
    }
    for visit in &review.visits {
        features.push(json!({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [visit.lon, visit.lat]},
            "properties": {
                "kind": "visit",
                "visit_id": visit.visit_id,
                "sequence": visit.sequence,
                "planned_sequence": visit.planned_sequence,
                "customer_id": visit.customer_id,
                "customer_name": visit.customer_name,
                "check_in": iso8601(visit.check_in_at),
                "check_out": visit.check_out_at.map(iso8601),
                "dwell_min": visit.dwell_ms.map(|d| d / 60_000),
                "accuracy_m": visit.accuracy_m,
                "distance_from_customer_m": visit.distance_from_customer_m.map(round1),
                "verification": visit.verification.as_ref().map(|v| v.as_str()),
                "mock": visit.mock,
                "stale": visit.stale,
            }
        }));
    }
    json!({
        "type": "FeatureCollection",
        "properties": {
            "rep_id": label.rep_id,
            "rep": label.username,
            "date": label.date,
            "total_distance_m": round1(review.total_distance_m),
        },
        "features": features,
        "gaps": review.gaps,
        "flags": review.flags,
    })
}

fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// GPX 1.1: a waypoint per visit, a track with one segment per route segment.
pub fn gpx(label: &RepDayLabel, review: &RouteReview) -> String {
    let mut out = String::new();
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(
        "<gpx version=\"1.1\" creator=\"FieldCRM\" xmlns=\"http://www.topografix.com/GPX/1/1\">\n",
    );
    let _ = writeln!(
        out,
        "  <metadata><name>{}</name></metadata>",
        xml_escape(&format!("{} {}", label.username, label.date))
    );
    for visit in &review.visits {
        let name = visit.customer_name.as_deref().unwrap_or(&visit.customer_id);
        let verification = visit
            .verification
            .as_ref()
            .map_or("unverified", |v| v.as_str());
        let _ = writeln!(
            out,
            "  <wpt lat=\"{:.7}\" lon=\"{:.7}\"><time>{}</time><name>{}</name><desc>{}</desc><type>visit</type></wpt>",
            visit.lat,
            visit.lon,
            iso8601(visit.check_in_at),
            xml_escape(&format!("{}. {name}", visit.sequence)),
            xml_escape(&format!(
                "{verification}; dwell {} min; accuracy {:.0} m",
                visit.dwell_ms.map_or(0, |d| d / 60_000),
                visit.accuracy_m
            )),
        );
    }
    let _ = writeln!(out, "  <trk><name>{}</name>", xml_escape(&label.username));
    for segment in &review.segments {
        out.push_str("    <trkseg>\n");
        for (point, at) in segment.points.iter().zip(&segment.times) {
            let _ = writeln!(
                out,
                "      <trkpt lat=\"{:.7}\" lon=\"{:.7}\"><time>{}</time></trkpt>",
                point[0],
                point[1],
                iso8601(*at)
            );
        }
        out.push_str("    </trkseg>\n");
    }
    out.push_str("  </trk>\n</gpx>\n");
    out
}

/// A CSV cell: quoted when needed; a cell that could start a formula is defused with a
/// leading quote mark so a spreadsheet shows it as text.
fn csv_cell(text: &str) -> String {
    let defused = crate::spreadsheet::defuse(text);
    if defused.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused.into_owned()
    }
}

pub const CSV_HEADER: &str = "kind,time,lat,lon,accuracy_m,segment,visit_sequence,planned_sequence,customer,check_out,dwell_min,distance_from_customer_m,verification,mock,stale";

/// CSV: one row per ping (with its segment number) and per visit, in time order.
pub fn csv(review: &RouteReview) -> String {
    let mut rows: Vec<(i64, String)> = Vec::new();
    for (index, segment) in review.segments.iter().enumerate() {
        for (point, at) in segment.points.iter().zip(&segment.times) {
            rows.push((
                *at,
                format!(
                    "ping,{},{:.7},{:.7},,{},,,,,,,,,",
                    iso8601(*at),
                    point[0],
                    point[1],
                    index + 1
                ),
            ));
        }
    }
    for visit in &review.visits {
        let customer = visit.customer_name.as_deref().unwrap_or(&visit.customer_id);
        rows.push((
            visit.check_in_at,
            format!(
                "visit,{},{:.7},{:.7},{:.0},,{},{},{},{},{},{},{},{},{}",
                iso8601(visit.check_in_at),
                visit.lat,
                visit.lon,
                visit.accuracy_m,
                visit.sequence,
                visit
                    .planned_sequence
                    .map(|p| p.to_string())
                    .unwrap_or_default(),
                csv_cell(customer),
                visit.check_out_at.map(iso8601).unwrap_or_default(),
                visit
                    .dwell_ms
                    .map(|d| (d / 60_000).to_string())
                    .unwrap_or_default(),
                visit
                    .distance_from_customer_m
                    .map(|d| format!("{d:.0}"))
                    .unwrap_or_default(),
                visit
                    .verification
                    .as_ref()
                    .map(|v| v.as_str())
                    .unwrap_or_default(),
                visit.mock,
                visit.stale
            ),
        ));
    }
    rows.sort_by_key(|(at, _)| *at);
    let mut out = String::with_capacity(rows.len() * 64 + CSV_HEADER.len() + 2);
    out.push_str(CSV_HEADER);
    out.push_str("\r\n");
    for (_, row) in rows {
        out.push_str(&row);
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldcrm_core::route::{Fix, VisitFacts, review_route};
    use fieldcrm_core::{GpsStamp, LatLon, Verification, VisitStatus};

    const T0: i64 = 1_790_000_000_000;

    fn review() -> RouteReview {
        let fixes: Vec<Fix> = (0..5)
            .chain(40..43)
            .map(|m| Fix {
                at: T0 + m * 60_000,
                lat: 53.55 + m as f64 * 0.0002,
                lon: 9.93,
                accuracy_m: 8.0,
                mock: false,
            })
            .collect();
        let stamp = GpsStamp {
            at: T0 + 10 * 60_000,
            lat: 53.551,
            lon: 9.93,
            accuracy_m: 12.0,
            fix_at: T0 + 10 * 60_000,
            mock: false,
        };
        let visit = VisitFacts {
            visit_id: "v1".into(),
            customer_id: "c1".into(),
            customer_name: Some("=HYPERLINK(\"x\"), \"Bäckerei\" <&>".into()),
            customer_location: Some(LatLon::new(53.551, 9.9301)),
            planned_start: Some(T0),
            status: VisitStatus::Done,
            check_out: Some(GpsStamp {
                at: T0 + 30 * 60_000,
                ..stamp.clone()
            }),
            check_in: Some(stamp),
            verification: Some(Verification::Verified),
            pin_moved_m: None,
        };
        review_route(fixes, &[visit])
    }

    fn label() -> RepDayLabel {
        RepDayLabel {
            rep_id: "r1".into(),
            username: "anna".into(),
            date: "2026-09-21".into(),
        }
    }

    #[test]
    fn geojson_has_a_line_per_segment_in_lon_lat_order_and_a_point_per_visit() {
        let value = geojson(&label(), &review());
        assert_eq!(value["type"], "FeatureCollection");
        let features = value["features"].as_array().unwrap();
        let lines: Vec<&Value> = features
            .iter()
            .filter(|f| f["geometry"]["type"] == "LineString")
            .collect();
        assert_eq!(lines.len(), 2, "the 35-minute gap splits the route");
        assert_eq!(lines[0]["geometry"]["coordinates"][0][0], 9.93);
        let visit = features
            .iter()
            .find(|f| f["properties"]["kind"] == "visit")
            .unwrap();
        assert_eq!(visit["properties"]["verification"], "verified");
        assert_eq!(visit["properties"]["dwell_min"], 20);
    }

    #[test]
    fn gpx_escapes_text_and_splits_track_segments() {
        let text = gpx(&label(), &review());
        assert!(text.starts_with("<?xml"));
        assert_eq!(text.matches("<trkseg>").count(), 2);
        assert_eq!(text.matches("<trkpt ").count(), 8);
        assert!(text.contains("&lt;&amp;&gt;"));
        assert!(!text.contains("<&>"));
        assert!(text.contains("<time>2026-09-21T"));
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let text = csv(&review());
        let mut lines = text.split("\r\n");
        assert_eq!(lines.next(), Some(CSV_HEADER));
        let rows: Vec<&str> = text.lines().skip(1).collect();
        assert_eq!(rows.len(), 9, "8 pings and a visit");
        let visit = rows.iter().find(|r| r.starts_with("visit,")).unwrap();
        assert!(
            visit.contains("\"'=HYPERLINK(\"\"x\"\"), \"\"Bäckerei\"\" <&>\""),
            "{visit}"
        );
        assert_eq!(csv_cell("-12.5"), "-12.5", "numbers stay numbers");
    }

    #[test]
    fn csv_defuses_formulas_behind_white_space_and_in_full_width() {
        for text in [
            "=1+2",
            " =1+2",
            "\u{3000}=1+2",
            "\u{a0}\u{200b}+1",
            "\u{1}@SUM(A1)",
            "\t=1",
            "\r=1",
            "\n-1+x",
            "\u{FF1D}1+2",
            " \u{FF0B}1",
            "\u{FF0D}1+A1",
            "\u{FF20}SUM(A1)",
        ] {
            let cell = csv_cell(text);
            let unquoted = cell.strip_prefix('"').unwrap_or(&cell);
            assert!(unquoted.starts_with('\''), "{text:?} became {cell:?}");
        }
        for text in [
            "Bäckerei = gut",
            "Kiosk",
            "",
            " ",
            "-12.5",
            " 3",
            "a=1",
            "12-3",
        ] {
            assert_eq!(csv_cell(text), text, "{text:?} is left alone");
        }
    }
}
