//! A refetch on SQLite (`POST /v1/sync/refetch`: the handler is `server/src/refetch.rs`, the
//! message docs/PROTOCOL.md): the full change history of each requested document the user may
//! see now; an unknown id and a forbidden id are both listed in `missing`, alike.

use std::collections::HashSet;

use fieldcrm_core::protocol::{
    MAX_REFETCH_DOCS, PulledDoc, PulledPayload, RefetchRequest, RefetchResponse,
};
use rusqlite::OptionalExtension;

use super::known_at;
use crate::scope::{self, Principal, Scope};
use crate::storage::{Result, SqliteStorage};

/// Every requested document `principal` may see, with all its changes in log order; the
/// rest in `missing`. One read transaction: the histories are one consistent snapshot.
pub(in crate::storage) fn refetch_documents(
    storage: &SqliteStorage,
    principal: &Principal,
    request: &RefetchRequest,
    version: u8,
) -> Result<RefetchResponse> {
    let mut conn = storage.read();
    let tx = conn.transaction()?;
    let mut response = RefetchResponse {
        docs: Vec::new(),
        missing: Vec::new(),
    };
    let mut seen = HashSet::new();
    for id in request.doc_ids.iter().take(MAX_REFETCH_DOCS) {
        if !seen.insert(id.as_str()) {
            continue;
        }
        let scope: Option<(String, Scope)> = tx
            .prepare_cached(
                "SELECT kind, territory_id, owner_id, team_id, org_wide FROM documents WHERE id = ?1",
            )?
            .query_row([id], |row| {
                Ok((
                    row.get(0)?,
                    Scope {
                        territory_id: row.get(1)?,
                        owner_id: row.get(2)?,
                        team_id: row.get(3)?,
                        org_wide: row.get(4)?,
                    },
                ))
            })
            .optional()?;
        // A kind the app's protocol version predates is answered like an unknown id.
        let served = scope.is_some_and(|(kind, scope)| {
            known_at(&kind, version) && scope::visible(principal, &scope)
        });
        if !served {
            response.missing.push(id.clone());
            continue;
        }
        let changes = tx
            .prepare_cached("SELECT bytes FROM changes WHERE doc_id = ?1 ORDER BY seq")?
            .query_map([id], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        response.docs.push(PulledDoc {
            doc_id: id.clone(),
            payload: PulledPayload::Changes(changes),
        });
    }
    tx.commit()?;
    Ok(response)
}

#[cfg(test)]
mod tests {
    use fieldcrm_core::protocol::PushRequest;
    use fieldcrm_core::{Customer, Store};

    use super::*;
    use crate::model::Role;
    use crate::storage::{NewUser, Storage};

    /// A storage with territories north (rep ana) and south, one customer in each, pushed by
    /// an admin's device.
    fn organisation(dir: &tempfile::TempDir) -> (SqliteStorage, Principal, Customer, Customer) {
        let storage = SqliteStorage::open_in_memory().unwrap();
        let team = storage.create_team("team").unwrap();
        let north = storage.create_territory("north", &team.id).unwrap();
        storage.create_territory("south", &team.id).unwrap();
        let user = |name: &str, role: Role| {
            storage
                .create_user(NewUser {
                    username: name,
                    password_hash: None,
                    role,
                    team_id: Some(&team.id),
                })
                .unwrap()
        };
        let admin = user("root", Role::Admin);
        let ana = user("ana", Role::Rep);
        storage.assign_user_territory(&ana.id, &north.id).unwrap();
        let device = Store::open(dir.path().join("device.sqlite")).unwrap();
        device.set_user(&admin.id).unwrap();
        storage
            .register_device(&admin.id, &device.actor_id())
            .unwrap();
        let mut visible = Customer::new("Hafenkiosk");
        visible.territory = Some("north".into());
        let mut hidden = Customer::new("Bergcafé");
        hidden.territory = Some("south".into());
        let visible = device.create(visible).unwrap();
        let hidden = device.create(hidden).unwrap();
        let mut edited = visible.clone();
        edited.notes = "Open on Sundays.".into();
        let visible = device.update(edited).unwrap();
        let (request, _): (PushRequest, _) = device.push_request(100).unwrap().unwrap();
        let admin = storage.principal(&admin).unwrap();
        let (response, _) = storage.push_changes(&admin, request).unwrap();
        assert!(response.rejected.is_empty(), "{response:?}");
        let ana = storage.principal(&ana).unwrap();
        (storage, ana, visible, hidden)
    }

    #[test]
    fn answers_the_full_history_of_visible_documents_and_hides_the_rest_alike() {
        let dir = tempfile::tempdir().unwrap();
        let (storage, ana, visible, hidden) = organisation(&dir);
        let request = RefetchRequest {
            doc_ids: vec![
                visible.meta.id.clone(),
                hidden.meta.id.clone(),
                "0190a0b0-0000-7000-8000-00000000dead".into(),
                visible.meta.id.clone(),
            ],
        };
        let response = storage
            .refetch_documents(&ana, &request, fieldcrm_core::protocol::PROTOCOL_VERSION)
            .unwrap();
        assert_eq!(response.docs.len(), 1, "once, however often named");
        assert_eq!(response.docs[0].doc_id, visible.meta.id);
        let PulledPayload::Changes(changes) = &response.docs[0].payload else {
            panic!("a history expected");
        };
        assert_eq!(changes.len(), 2, "creation and edit");
        assert_eq!(
            response.missing,
            [
                hidden.meta.id.clone(),
                "0190a0b0-0000-7000-8000-00000000dead".to_owned()
            ],
            "forbidden and unknown answered the same way"
        );

        // The history rebuilds the document on a fresh device.
        let dir2 = tempfile::tempdir().unwrap();
        let fresh = Store::open(dir2.path().join("fresh.sqlite")).unwrap();
        let report = fresh
            .import(vec![fieldcrm_core::IncomingDoc {
                doc_id: visible.meta.id.clone(),
                payload: fieldcrm_core::IncomingPayload::History(changes.clone()),
            }])
            .unwrap();
        assert!(report.refused.is_empty());
        assert_eq!(
            fresh.get::<Customer>(&visible.meta.id).unwrap().unwrap(),
            visible
        );
    }
}
