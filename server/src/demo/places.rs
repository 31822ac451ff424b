//! Where the demo's customers are: the quarters of Altona and Eppendorf, and points near a
//! place.

use super::*;

/// A neighbourhood: centre, postal code and streets.
pub(super) struct Quarter {
    pub(super) name: &'static str,
    pub(super) lat: f64,
    pub(super) lon: f64,
    pub(super) postal_code: &'static str,
    pub(super) streets: &'static [&'static str],
}

pub(super) const ALTONA: &[Quarter] = &[
    Quarter {
        name: "Ottensen",
        lat: 53.5535,
        lon: 9.9265,
        postal_code: "22765",
        streets: &[
            "Ottenser Hauptstraße",
            "Bahrenfelder Straße",
            "Friedensallee",
            "Große Rainstraße",
            "Eulenstraße",
            "Arnoldstraße",
        ],
    },
    Quarter {
        name: "Altona-Altstadt",
        lat: 53.5500,
        lon: 9.9480,
        postal_code: "22767",
        streets: &[
            "Große Bergstraße",
            "Max-Brauer-Allee",
            "Königstraße",
            "Palmaille",
            "Große Elbstraße",
            "Holstenstraße",
        ],
    },
    Quarter {
        name: "Altona-Nord",
        lat: 53.5625,
        lon: 9.9440,
        postal_code: "22769",
        streets: &[
            "Stresemannstraße",
            "Alsenstraße",
            "Harkortstraße",
            "Kieler Straße",
            "Augustenburger Straße",
        ],
    },
    Quarter {
        name: "Bahrenfeld",
        lat: 53.5650,
        lon: 9.9060,
        postal_code: "22761",
        streets: &[
            "Luruper Chaussee",
            "Schnackenburgallee",
            "Notkestraße",
            "Theodorstraße",
            "Bahrenfelder Chaussee",
        ],
    },
    Quarter {
        name: "Othmarschen",
        lat: 53.5505,
        lon: 9.8960,
        postal_code: "22763",
        streets: &[
            "Waitzstraße",
            "Elbchaussee",
            "Reventlowstraße",
            "Beselerstraße",
            "Walderseestraße",
        ],
    },
];

pub(super) const EPPENDORF: &[Quarter] = &[
    Quarter {
        name: "Eppendorf",
        lat: 53.5905,
        lon: 9.9835,
        postal_code: "20249",
        streets: &[
            "Eppendorfer Landstraße",
            "Eppendorfer Baum",
            "Martinistraße",
            "Loogeplatz",
            "Tarpenbekstraße",
            "Kümmellstraße",
        ],
    },
    Quarter {
        name: "Hoheluft-Ost",
        lat: 53.5845,
        lon: 9.9750,
        postal_code: "20251",
        streets: &[
            "Hoheluftchaussee",
            "Lehmweg",
            "Eppendorfer Weg",
            "Hegestraße",
            "Löwenstraße",
        ],
    },
    Quarter {
        name: "Eppendorf-Nord",
        lat: 53.5960,
        lon: 9.9900,
        postal_code: "20251",
        streets: &[
            "Erikastraße",
            "Schedestraße",
            "Frickestraße",
            "Curschmannstraße",
            "Schrammsweg",
        ],
    },
];

/// A point about `metres` from (lat, lon) in a random direction.
pub(super) fn offset(rng: &mut Rng, lat: f64, lon: f64, metres: f64) -> (f64, f64) {
    let angle = rng.range(0.0, std::f64::consts::TAU);
    let dlat = metres * angle.cos() / 111_320.0;
    let dlon = metres * angle.sin() / (111_320.0 * lat.to_radians().cos());
    (lat + dlat, lon + dlon)
}
