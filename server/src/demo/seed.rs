//! Seeding: the organisation through the admin path, the records through each rep's device
//! store and the real push path.

use super::*;

/// Creates the organisation and pushes the records through each rep's device store.
pub fn seed(
    storage: &dyn Storage,
    params: &PasswordParams,
    now: Millis,
) -> Result<DemoSummary, DemoError> {
    let team = storage.create_team(DEMO_TEAM)?;
    let mut territory_ids = Vec::new();
    for (name, _) in CUSTOMERS {
        territory_ids.push((name, storage.create_territory(name, &team.id)?.id));
    }
    let hash = auth::hash_password(params, DEMO_PASSWORD)?;
    let mut users = Vec::new();
    for demo in DEMO_USERS.iter().filter(|u| u.role != Role::Admin) {
        let user = storage.create_user(NewUser {
            username: demo.username,
            password_hash: Some(&hash),
            role: demo.role,
            team_id: Some(&team.id),
        })?;
        if let Some(territory) = demo.territory
            && let Some((_, id)) = territory_ids.iter().find(|(name, _)| *name == territory)
        {
            storage.assign_user_territory(&user.id, id)?;
        }
        users.push(user);
    }
    let rep_ids: Vec<String> = users
        .iter()
        .filter(|u| u.role == Role::Rep)
        .map(|u| u.id.clone())
        .collect();
    let rep_ids: [String; REPS] = match rep_ids.try_into() {
        Ok(ids) => ids,
        Err(_) => return Err(DemoError::Incomplete),
    };
    let plan = plan(&rep_ids, now);
    let mut summary = DemoSummary {
        customers: plan.customers.len(),
        visits: plan.visits.len(),
        opportunities: plan.opportunities.len(),
        pings: 0,
        changes: 0,
    };
    for (rep, user) in users.iter().filter(|u| u.role == Role::Rep).enumerate() {
        let store = Store::open(":memory:")?;
        store.set_user(&user.id)?;
        storage.register_device(&user.id, &store.actor_id())?;
        let principal = storage.principal(user)?;
        write_all(&store, plan.customers.iter(), rep)?;
        summary.changes += push(storage, &store, &principal)?;
        write_all(&store, plan.visits.iter(), rep)?;
        write_all(&store, plan.opportunities.iter(), rep)?;
        summary.changes += push(storage, &store, &principal)?;
        for (_, pings) in plan.pings.iter().filter(|(owner, _)| *owner == rep) {
            for (index, batch) in pings.chunks(1_000).enumerate() {
                let upload = PingUpload {
                    batch_id: format!("demo-{}-{index}", user.id),
                    pings: batch.to_vec(),
                };
                storage.store_pings(&user.id, &upload, now)?;
                summary.pings += batch.len();
            }
        }
    }
    storage.create_user(NewUser {
        username: DEMO_USERS[DEMO_USERS.len() - 1].username,
        password_hash: Some(&hash),
        role: Role::Admin,
        team_id: None,
    })?;
    Ok(summary)
}

fn write_all<'a, R: Record + Clone + 'a>(
    store: &Store,
    records: impl Iterator<Item = &'a (usize, R)>,
    rep: usize,
) -> Result<(), DemoError> {
    for (_, record) in records.filter(|(owner, _)| *owner == rep) {
        store.create(record.clone())?;
    }
    Ok(())
}

/// Pushes everything the store has queued, as a device would (in pushes within the protocol's
/// limits), and checks all of it was taken.
fn push(storage: &dyn Storage, store: &Store, principal: &Principal) -> Result<usize, DemoError> {
    let mut pushed = 0;
    while let Some((request, hashes)) = store.push_request(u32::MAX)? {
        let count = hashes.len();
        let (response, _) = storage.push_changes(principal, request)?;
        if let Some(rejection) = response.rejected.into_iter().next() {
            return Err(DemoError::Rejected {
                doc_id: rejection.doc_id,
                code: rejection.code.as_str().to_owned(),
                reason: rejection.reason,
            });
        }
        let acknowledged = store.acknowledge(&response.acknowledged)?;
        if acknowledged != count {
            return Err(DemoError::Unacknowledged(count - acknowledged));
        }
        pushed += count;
    }
    Ok(pushed)
}
