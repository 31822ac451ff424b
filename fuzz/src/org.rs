//! The fixed organisation of the server targets, seeded once per process in an in-memory
//! `SqliteStorage`: one team, territories `north` and `south`; the rep anna (the fuzzed
//! writer, in `north`, one registered device) and the rep clara (in `south`, whose documents
//! anna may not see). Documents are made on real device stores and pushed, as the app does.
//! The valid changes of the seeding, plus changes anna made but did not push, form the pool
//! that structure-aware inputs mutate.

use fieldcrm_core::protocol::{DocChanges, PushRequest};
use fieldcrm_core::{
    Customer, GeoLocation, GpsStamp, Kind, LocationSource, Store, Task, Visit, VisitStatus,
};
use fieldcrm_server::model::Role;
use fieldcrm_server::scope::Principal;
use fieldcrm_server::storage::NewUser;
use fieldcrm_server::{SqliteStorage, Storage};

/// A fixed clock (2026-09-21), so ping validation does not depend on when the fuzzer runs.
pub const NOW_MS: i64 = 1_790_000_000_000;

#[derive(Debug)]
pub struct Org {
    pub storage: SqliteStorage,
    /// The writer of every fuzzed push and ping batch.
    pub anna: Principal,
    /// Documents of the pool: anna's, then clara's (hidden from anna).
    pub docs: Vec<(String, Kind)>,
    /// Every valid change of the pool: pushed during seeding, or made afterwards and pending.
    pub changes: Vec<Vec<u8>>,
}

/// Seeds the organisation. Panics on failure: a seeding that fails is a broken harness, not a
/// finding.
pub fn seed() -> Org {
    let dir = std::env::temp_dir().join(format!("fieldcrm-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let storage = SqliteStorage::open_in_memory().expect("storage");
    let team = storage.create_team("team").expect("team");
    let north = storage.create_territory("north", &team.id).expect("north");
    let south = storage.create_territory("south", &team.id).expect("south");
    let rep = |name: &str, territory: &str| {
        let user = storage
            .create_user(NewUser {
                username: name,
                password_hash: None,
                role: Role::Rep,
                team_id: Some(&team.id),
            })
            .expect("user");
        storage
            .assign_user_territory(&user.id, territory)
            .expect("assign");
        let device = Store::open(dir.join(format!("{name}.sqlite"))).expect("device store");
        device.set_user(&user.id).expect("set user");
        storage
            .register_device(&user.id, &device.actor_id())
            .expect("register");
        (storage.principal(&user).expect("principal"), device)
    };
    let (anna, anna_device) = rep("anna", &north.id);
    let (clara, clara_device) = rep("clara", &south.id);
    let mut org = Org {
        storage,
        anna,
        docs: Vec::new(),
        changes: Vec::new(),
    };

    let customer = |name: &str, territory: &str, lat: f64| {
        let mut c = Customer::new(name);
        c.territory = Some(territory.to_owned());
        c.location = Some(GeoLocation {
            lat,
            lon: 13.4,
            source: LocationSource::Manual,
            at: NOW_MS - 86_400_000,
        });
        c
    };
    let mut customers = Vec::new();
    for (i, name) in ["Kiosk Nord", "Bäckerei Ost", "Café Mitte"]
        .iter()
        .enumerate()
    {
        customers.push(
            anna_device
                .create(customer(name, &north.id, 52.5 + i as f64 * 0.01))
                .expect("customer"),
        );
    }
    let planned = anna_device
        .create(Visit::new(&customers[0].meta.id, &org.anna.user_id))
        .expect("visit");
    let mut done = anna_device
        .create(Visit::new(&customers[1].meta.id, &org.anna.user_id))
        .expect("visit");
    let stamp = GpsStamp {
        at: NOW_MS - 3_600_000,
        lat: 52.51,
        lon: 13.4,
        accuracy_m: 8.0,
        fix_at: NOW_MS - 3_600_000,
        mock: false,
    };
    done.status = VisitStatus::InProgress;
    done.check_in = Some(stamp.clone());
    let mut done = anna_device.update(done).expect("check in");
    done.status = VisitStatus::Done;
    done.check_out = Some(GpsStamp {
        at: NOW_MS - 1_800_000,
        ..stamp
    });
    anna_device.update(done).expect("check out");
    let mut task = Task::new("Call back");
    task.linked_id = Some(customers[2].meta.id.clone());
    anna_device.create(task).expect("task");
    clara_device
        .create(customer("Kiosk Süd", &south.id, 48.1))
        .expect("customer");
    let anna = org.anna.clone();
    push_and_keep(&mut org, &anna_device, &anna);
    push_and_keep(&mut org, &clara_device, &clara);

    // Valid changes the server has not seen: the pool then holds new work as well as retries.
    let mut renamed = customers[0].clone();
    renamed.name = "Kiosk Nord (neu)".to_owned();
    anna_device.update(renamed).expect("rename");
    let mut started = planned;
    started.status = VisitStatus::InProgress;
    started.check_in = Some(GpsStamp {
        at: NOW_MS - 600_000,
        lat: 52.5,
        lon: 13.4,
        accuracy_m: 5.0,
        fix_at: NOW_MS - 600_000,
        mock: false,
    });
    anna_device.update(started).expect("start visit");
    if let Some((request, _)) = anna_device.push_request(1_000).expect("pending") {
        org.changes
            .extend(request.docs.into_iter().flat_map(|d| d.changes));
    }
    drop((anna_device, clara_device));
    let _ = std::fs::remove_dir_all(&dir);
    org
}

/// Pushes what `device` has pending as `principal` and adds its documents and changes to the
/// pool.
fn push_and_keep(org: &mut Org, device: &Store, principal: &Principal) {
    let Some((request, _)) = device.push_request(1_000).expect("pending") else {
        return;
    };
    for DocChanges {
        doc_id,
        kind,
        changes,
    } in &request.docs
    {
        org.docs.push((doc_id.clone(), *kind));
        org.changes.extend(changes.iter().cloned());
    }
    let (response, _) = org
        .storage
        .push_changes(principal, PushRequest { docs: request.docs })
        .expect("seed push");
    assert!(response.rejected.is_empty(), "seed refused: {response:?}");
    device
        .acknowledge(&response.acknowledged)
        .expect("acknowledge");
}
