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
    // Everyone but the completion mark, who is created when everything else is in place.
    for demo in DEMO_USERS.iter().filter(|u| u.username != COMPLETION_MARK) {
        users.push(create_demo_user(
            storage,
            demo,
            &hash,
            &team.id,
            &territory_ids,
        )?);
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
        products: plan.products.len(),
        orders: plan.orders.len(),
        pings: 0,
        changes: 0,
    };
    // The catalog is the admin's to write.
    let admin = users
        .iter()
        .find(|u| u.role == Role::Admin)
        .ok_or(DemoError::Incomplete)?;
    let store = device(storage, admin)?;
    for product in &plan.products {
        store.create(product.clone())?;
    }
    summary.changes += push(storage, &store, &storage.principal(admin)?)?;
    for (rep, user) in users.iter().filter(|u| u.role == Role::Rep).enumerate() {
        let store = device(storage, user)?;
        let principal = storage.principal(user)?;
        write_all(&store, plan.customers.iter(), rep)?;
        summary.changes += push(storage, &store, &principal)?;
        write_all(&store, plan.visits.iter(), rep)?;
        for (_, deal) in plan.opportunities.iter().filter(|(owner, _)| *owner == rep) {
            replay_deal(&store, deal)?;
        }
        for (_, order) in plan.orders.iter().filter(|(owner, _)| *owner == rep) {
            replay_order(&store, order)?;
        }
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
    if let Some(last) = DEMO_USERS.iter().find(|u| u.username == COMPLETION_MARK) {
        create_demo_user(storage, last, &hash, &team.id, &territory_ids)?;
    }
    Ok(summary)
}

fn create_demo_user(
    storage: &dyn Storage,
    demo: &DemoUser,
    password_hash: &str,
    team_id: &str,
    territory_ids: &[(&str, String)],
) -> Result<crate::model::User, DemoError> {
    let user = storage.create_user(NewUser {
        username: demo.username,
        password_hash: Some(password_hash),
        role: demo.role,
        team_id: (demo.role != Role::Admin).then_some(team_id),
    })?;
    if let Some(territory) = demo.territory
        && let Some((_, id)) = territory_ids.iter().find(|(name, _)| *name == territory)
    {
        storage.assign_user_territory(&user.id, id)?;
    }
    Ok(user)
}

/// A temporary device store signed in as `user`, its actor registered as their device.
fn device(storage: &dyn Storage, user: &crate::model::User) -> Result<Store, DemoError> {
    let store = Store::open(":memory:")?;
    store.set_user(&user.id)?;
    storage.register_device(&user.id, &store.actor_id())?;
    Ok(store)
}

/// Writes a deal as its rep did: created at its first stage at that time, then moved through
/// each later stage of its history at the time it reached it (the store appends the history).
fn replay_deal(store: &Store, deal: &Opportunity) -> Result<(), DemoError> {
    let Some((first, moves)) = deal.stage_history.split_first() else {
        store.create(deal.clone())?;
        return Ok(());
    };
    let at = first.at;
    store.set_clock(move || at);
    let mut opening = deal.clone();
    opening.stage = first.stage.clone();
    opening.probability = Some(fieldcrm_core::default_probability(&first.stage));
    opening.lost_reason = None;
    opening.stage_history = Vec::new();
    let mut current = store.create(opening)?;
    for change in moves {
        let at = change.at;
        store.set_clock(move || at);
        current.stage = change.stage.clone();
        current.probability = Some(fieldcrm_core::default_probability(&change.stage));
        current.lost_reason = (change.stage == Stage::Lost)
            .then(|| deal.lost_reason.clone())
            .flatten();
        current = store.update(current)?;
    }
    store.set_clock(fieldcrm_core::now_ms);
    Ok(())
}

/// Writes an order as its rep did: a draft when it was taken, then each later status of its
/// history at its time.
fn replay_order(store: &Store, order: &Order) -> Result<(), DemoError> {
    let Some((first, moves)) = order.status_history.split_first() else {
        store.create(order.clone())?;
        return Ok(());
    };
    let at = first.at;
    store.set_clock(move || at);
    let mut opening = order.clone();
    opening.status = first.status.clone();
    opening.status_history = Vec::new();
    let id = store.create(opening)?.meta.id;
    for change in moves {
        let at = change.at;
        store.set_clock(move || at);
        store.set_order_status(&id, change.status.clone())?;
    }
    store.set_clock(fieldcrm_core::now_ms);
    Ok(())
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
