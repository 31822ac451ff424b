//! The demo's customers: German business names, addresses and coordinates inside their
//! territory, grades, segments and visit cadences.

use super::*;

/// 300 customers in the two territories, owned by their territory's reps in turn.
pub(super) fn customers(
    rng: &mut Rng,
    rep_ids: &[String; REPS],
    now: Millis,
) -> Vec<(usize, Customer)> {
    let mut names = BTreeSet::new();
    let mut customers = Vec::new();
    for (territory, count) in CUSTOMERS {
        let (quarters, reps): (&[Quarter], &[usize]) = if territory == "altona" {
            (ALTONA, &[0, 1])
        } else {
            (EPPENDORF, &[2])
        };
        for i in 0..count {
            let rep = reps[i % reps.len()];
            let &(trade, segment) = rng.pick(TRADES);
            let mut name = business_name(rng, trade);
            while !names.insert(name.clone()) {
                name = business_name(rng, trade);
            }
            let quarter = rng.pick(quarters);
            let lat = quarter.lat + rng.range(-0.004, 0.004);
            let lon = quarter.lon + rng.range(-0.007, 0.007);
            let mut customer = Customer::new(name.clone());
            customer.meta.id = rng.id(now);
            customer.grade = Some(match rng.below(20) {
                0..=2 => Grade::A,
                3..=9 => Grade::B,
                _ => Grade::C,
            });
            customer.segments.insert(segment.to_owned());
            if customer.grade == Some(Grade::A) {
                customer.segments.insert("key-account".to_owned());
            }
            customer.phones.insert(phone(rng));
            if rng.chance(0.6) {
                customer
                    .emails
                    .insert(format!("info@{}.de", ascii_slug(&name)));
            }
            customer.address = Address {
                line: Some(format!("{} {}", rng.pick(quarter.streets), rng.int(1, 180))),
                city: Some("Hamburg".to_owned()),
                region: Some(quarter.name.to_owned()),
                postal_code: Some(quarter.postal_code.to_owned()),
                country: Some("DE".to_owned()),
            };
            customer.location = Some(GeoLocation {
                lat,
                lon,
                source: LocationSource::Geocoded,
                at: now,
            });
            customer.visit_radius_m = *rng.pick(&[100, 150, 150, 200]);
            customer.visit_cadence_days = Some(match customer.grade {
                Some(Grade::A) => 14,
                Some(Grade::B) => 30,
                _ => 60,
            });
            customer.owner = Some(rep_ids[rep].clone());
            customer.territory = Some(territory.to_owned());
            customers.push((rep, customer));
        }
    }
    customers
}
