//! The demo's business names, phone numbers and e-mail domains.

use super::*;

/// A line of business: how it appears in names, and its segment.
pub(super) const TRADES: &[(&str, &str)] = &[
    ("Bäckerei", "food"),
    ("Konditorei", "food"),
    ("Fleischerei", "food"),
    ("Feinkost", "food"),
    ("Fischhandel", "food"),
    ("Apotheke", "health"),
    ("Optik", "health"),
    ("Physiotherapie", "health"),
    ("Autohaus", "automotive"),
    ("Kfz-Werkstatt", "automotive"),
    ("Elektro", "craft"),
    ("Sanitär", "craft"),
    ("Malerbetrieb", "craft"),
    ("Tischlerei", "craft"),
    ("Dachdeckerei", "craft"),
    ("Friseursalon", "services"),
    ("Druckerei", "services"),
    ("Reinigung", "services"),
    ("Steuerbüro", "services"),
    ("Blumen", "retail"),
    ("Buchhandlung", "retail"),
    ("Eisenwaren", "retail"),
    ("Zweirad", "retail"),
    ("Getränkehandel", "wholesale"),
    ("Café", "hospitality"),
    ("Restaurant", "hospitality"),
    ("Hotel", "hospitality"),
];

const SURNAMES: &[&str] = &[
    "Hansen",
    "Petersen",
    "Jensen",
    "Schmidt",
    "Meyer",
    "Müller",
    "Schulz",
    "Krüger",
    "Wegner",
    "Möller",
    "Schröder",
    "Jansen",
    "Lange",
    "Brandt",
    "Vogt",
    "Lüdemann",
    "Claußen",
    "Thomsen",
    "Paulsen",
    "Köhler",
    "Behrens",
    "Hinz",
    "Ohlsen",
    "Wulf",
    "Rathje",
    "Sievers",
    "Harms",
    "Timm",
    "Böttcher",
    "Fischer",
    "Becker",
    "Hoffmann",
    "Koch",
    "Richter",
    "Wolf",
    "Neumann",
    "Zimmermann",
    "Dreyer",
];

const BRANDS: &[&str] = &[
    "Elbe",
    "Hansa",
    "Alster",
    "Nordlicht",
    "Hafen",
    "Anker",
    "Deich",
    "Fleet",
    "Möwe",
    "Leuchtturm",
];

const LEGAL_FORMS: &[&str] = &["GmbH", "KG", "GmbH & Co. KG", "e.K.", "OHG"];

/// German to ASCII for e-mail domains.
pub(super) fn ascii_slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            'ä' | 'Ä' => out.push_str("ae"),
            'ö' | 'Ö' => out.push_str("oe"),
            'ü' | 'Ü' => out.push_str("ue"),
            'ß' => out.push_str("ss"),
            'é' => out.push('e'),
            c if c.is_ascii_alphanumeric() => out.push(c.to_ascii_lowercase()),
            _ => {
                if !out.ends_with('-') && !out.is_empty() {
                    out.push('-');
                }
            }
        }
    }
    out.trim_end_matches('-').to_owned()
}

pub(super) fn business_name(rng: &mut Rng, trade: &str) -> String {
    let surname = rng.pick(SURNAMES);
    match rng.below(5) {
        0 | 1 => format!("{trade} {surname}"),
        2 => format!("{surname} {trade} {}", rng.pick(LEGAL_FORMS)),
        3 => format!("{} {trade} {}", rng.pick(BRANDS), rng.pick(LEGAL_FORMS)),
        _ => format!("{trade} {surname} & {}", rng.pick(SURNAMES)),
    }
}

pub(super) fn phone(rng: &mut Rng) -> String {
    if rng.chance(0.2) {
        format!(
            "+49 1{} {:07}",
            rng.int(51, 79),
            rng.int(1_000_000, 9_999_999)
        )
    } else {
        format!("+49 40 {:08}", rng.int(20_000_000, 99_999_999))
    }
}
