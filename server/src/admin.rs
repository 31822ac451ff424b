//! The admin commands for self-hosters: users, teams, territories, customer assignments,
//! key rotation. Each returns the line to print.

use crate::auth::{self, AuthError, PasswordParams};
use crate::config::{
    AnalyticsCommand, CustomerCommand, DeviceCommand, ImportArgs, KeyCommand, TeamCommand,
    TerritoryCommand, UserCommand,
};
use crate::csv_import::{self, ImportError, ImportLimits};
use crate::model::{Role, now_unix};
use crate::storage::{NewUser, Storage, StorageError};

mod analytics;
mod cases;
mod webhooks;
pub use cases::case;
pub use webhooks::webhook;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("no team named {0:?} (create it with `team add`)")]
    NoSuchTeam(String),
    #[error("no territory named {0:?} (create it with `territory add`)")]
    NoSuchTerritory(String),
    #[error("no user named {0:?}")]
    NoSuchUser(String),
    #[error("no device with id or actor id {0:?}")]
    NoSuchDevice(String),
    #[error("{0}")]
    Usage(&'static str),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("cannot read {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error(transparent)]
    Insights(#[from] crate::insights::InsightsError),
    #[error(transparent)]
    Escalation(#[from] Box<crate::cases::escalation::EscalationError>),
    #[error("{0:?} is not a date: expected YYYY-MM-DD")]
    Date(String),
    #[error(transparent)]
    Webhook(#[from] crate::webhooks::RegisterError),
    #[error("no webhook with id {0:?}")]
    NoSuchWebhook(String),
}

fn team_id(storage: &dyn Storage, name: &str) -> Result<String, AdminError> {
    storage
        .team_by_name(name)?
        .map(|t| t.id)
        .ok_or_else(|| AdminError::NoSuchTeam(name.to_owned()))
}

fn territory_id(storage: &dyn Storage, name: &str) -> Result<String, AdminError> {
    storage
        .territory_by_name(name)?
        .map(|t| t.id)
        .ok_or_else(|| AdminError::NoSuchTerritory(name.to_owned()))
}

pub fn user(
    storage: &dyn Storage,
    command: UserCommand,
    params: &PasswordParams,
) -> Result<String, AdminError> {
    match command {
        UserCommand::Add {
            username,
            password,
            role,
            team,
        } => {
            if username.trim().is_empty() {
                return Err(AdminError::Usage("the username must not be empty"));
            }
            if role != Role::Admin && team.is_none() {
                return Err(AdminError::Usage("reps and managers need --team"));
            }
            let team_id = team.map(|t| team_id(storage, &t)).transpose()?;
            let hash = match password.as_deref() {
                Some("") => return Err(AdminError::Usage("the password must not be empty")),
                Some(pw) => Some(auth::hash_password(params, pw)?),
                None => None,
            };
            let user = storage.create_user(NewUser {
                username: &username,
                password_hash: hash.as_deref(),
                role,
                team_id: team_id.as_deref(),
            })?;
            Ok(format!(
                "user {} created: id {} role {}",
                user.username, user.id, user.role
            ))
        }
        UserCommand::Move { username, team } => {
            let user = storage
                .user_by_username(&username)?
                .ok_or_else(|| AdminError::NoSuchUser(username.clone()))?;
            let team_id = team_id(storage, &team)?;
            storage.move_user_to_team(&user.id, &team_id)?;
            Ok(format!("user {username} moved to team {team}"))
        }
        UserCommand::Disable { username } => {
            let user = user_named(storage, &username)?;
            storage.set_user_disabled(&user.id, true, now_unix())?;
            Ok(format!(
                "user {username} disabled: login and every token refused, their devices will wipe their data at their next sync"
            ))
        }
        UserCommand::Enable { username } => {
            let user = user_named(storage, &username)?;
            storage.set_user_disabled(&user.id, false, now_unix())?;
            Ok(format!(
                "user {username} enabled: they may log in again (earlier tokens stay refused)"
            ))
        }
    }
}

fn user_named(storage: &dyn Storage, username: &str) -> Result<crate::model::User, AdminError> {
    storage
        .user_by_username(username)?
        .ok_or_else(|| AdminError::NoSuchUser(username.to_owned()))
}

pub fn device(storage: &dyn Storage, command: DeviceCommand) -> Result<String, AdminError> {
    match command {
        DeviceCommand::List { username } => {
            let user = user_named(storage, &username)?;
            let lines: Vec<String> = storage
                .device_statuses(&user.id)?
                .into_iter()
                .map(|d| {
                    let state = match d.revoked_at {
                        Some(at) => format!("revoked at {at}"),
                        None => "active".to_owned(),
                    };
                    format!(
                        "device {} actor {} registered at {} {state}",
                        d.device.id, d.device.actor_id, d.device.registered_at
                    )
                })
                .collect();
            Ok(if lines.is_empty() {
                format!("user {username} has no devices")
            } else {
                lines.join("\n")
            })
        }
        DeviceCommand::Revoke { device } => {
            let revoked = storage
                .revoke_device(&device, now_unix())?
                .ok_or_else(|| AdminError::NoSuchDevice(device.clone()))?;
            Ok(format!(
                "device {} (actor {}) revoked: its token is refused and it will wipe its data at its next sync",
                revoked.device.id, revoked.device.actor_id
            ))
        }
    }
}

pub fn team(storage: &dyn Storage, command: TeamCommand) -> Result<String, AdminError> {
    match command {
        TeamCommand::Add { name } => {
            let team = storage.create_team(&name)?;
            Ok(format!("team {} created: id {}", team.name, team.id))
        }
    }
}

pub fn territory(storage: &dyn Storage, command: TerritoryCommand) -> Result<String, AdminError> {
    match command {
        TerritoryCommand::Add { name, team } => {
            let team_id = team_id(storage, &team)?;
            let territory = storage.create_territory(&name, &team_id)?;
            Ok(format!(
                "territory {} created: id {}",
                territory.name, territory.id
            ))
        }
        TerritoryCommand::AssignUser {
            username,
            territory,
        } => {
            let user = storage
                .user_by_username(&username)?
                .ok_or_else(|| AdminError::NoSuchUser(username.clone()))?;
            let territory_id = territory_id(storage, &territory)?;
            storage.assign_user_territory(&user.id, &territory_id)?;
            Ok(format!("user {username} assigned to territory {territory}"))
        }
        TerritoryCommand::UnassignUser {
            username,
            territory,
        } => {
            let user = storage
                .user_by_username(&username)?
                .ok_or_else(|| AdminError::NoSuchUser(username.clone()))?;
            let territory_id = territory_id(storage, &territory)?;
            Ok(
                if storage.unassign_user_territory(&user.id, &territory_id)? {
                    format!("user {username} no longer works in territory {territory}")
                } else {
                    format!(
                        "user {username} did not work in territory {territory}: nothing changed"
                    )
                },
            )
        }
    }
}

pub fn customer(storage: &dyn Storage, command: CustomerCommand) -> Result<String, AdminError> {
    match command {
        CustomerCommand::Assign {
            customer_id,
            territory,
        } => {
            let territory_id = territory_id(storage, &territory)?;
            storage.assign_customer_territory(&customer_id.to_string(), &territory_id)?;
            Ok(format!(
                "customer {customer_id} assigned to territory {territory}"
            ))
        }
    }
}

pub fn key(storage: &dyn Storage, command: KeyCommand) -> Result<String, AdminError> {
    match command {
        KeyCommand::Rotate => {
            let key = auth::rotate_key(storage)?;
            Ok(format!(
                "signing key {} is now active; tokens signed by earlier keys stay valid until they expire",
                key.kid
            ))
        }
    }
}

/// Imports a CSV file, with a progress bar on a terminal; the report.
pub fn import(storage: &dyn Storage, args: ImportArgs) -> Result<String, AdminError> {
    let admin = user_named(storage, &args.admin)?;
    let file_error = |source| AdminError::File {
        path: args.file.display().to_string(),
        source,
    };
    let file = std::fs::File::open(&args.file).map_err(file_error)?;
    let len = file.metadata().map_err(file_error)?.len();
    let bar = csv_import::progress_bar(len);
    let report = csv_import::import(
        args.kind,
        storage,
        &admin,
        file,
        ImportLimits { max_rows: None },
        &mut |bytes, rows| csv_import::advance(&bar, bytes, rows),
    );
    bar.finish_and_clear();
    Ok(report?.to_string())
}

/// The last millisecond of the day `text` names (`YYYY-MM-DD`, UTC).
fn end_of_day(text: String) -> Result<fieldcrm_core::Millis, AdminError> {
    let day = crate::dates::parse_date(&text).ok_or(AdminError::Date(text))?;
    Ok((day + 1) * fieldcrm_core::DAY_MS - 1)
}

pub fn analytics(storage: &dyn Storage, command: AnalyticsCommand) -> Result<String, AdminError> {
    match command {
        AnalyticsCommand::Run {
            as_of,
            json,
            params,
            grade,
        } => {
            let as_of = match as_of {
                Some(text) => end_of_day(text)?,
                None => crate::model::now_ms(),
            };
            let (done, grades) = crate::insights::run_configured(storage, &params, &grade, as_of)?;
            if json {
                return Ok(done.report.to_string());
            }
            let input = &done.report["input"];
            let results = &done.report["results"];
            let grades = grades.map_or(String::new(), |g| {
                format!(
                    "; grades from the ABC class: {} set, {} already, {} refused",
                    g.changed, g.unchanged, g.refused
                )
            });
            Ok(format!(
                "analytics run {} done in {} ms: {} customers, {} orders used of {}, {} segments, {} cross-sell rules{grades}",
                done.run_id,
                done.elapsed_ms,
                input["customers"],
                input["orders_used"],
                input["orders"],
                results["clusters"].as_array().map_or(0, Vec::len),
                results["rules_kept"],
            ))
        }
        AnalyticsCommand::Runs { limit } => {
            let runs = storage.analytics_runs(limit)?;
            if runs.is_empty() {
                return Ok("no analytics runs yet (run `analytics run`)".into());
            }
            Ok(runs
                .iter()
                .map(|r| {
                    format!(
                        "{}\t{}\tas of {}\t{}{}",
                        r.id,
                        r.status,
                        crate::dates::iso8601(r.as_of),
                        r.currency,
                        r.error
                            .as_deref()
                            .map(|e| format!("\t{e}"))
                            .unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"))
        }
        AnalyticsCommand::Holdout {
            as_of,
            days,
            json,
            currency,
        } => analytics::holdout(storage, &currency, end_of_day(as_of)?, days, json),
        AnalyticsCommand::Import { file } => analytics::import_history(storage, &file),
        AnalyticsCommand::Report => storage
            .current_analytics_run()?
            .and_then(|run| run.report)
            .ok_or(AdminError::Usage(
                "no analytics run has succeeded yet (run `analytics run`)",
            )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::SqliteStorage;

    #[test]
    fn a_small_organisation() {
        let storage = SqliteStorage::open_in_memory().unwrap();
        let params = PasswordParams::fast_for_tests();
        team(
            &storage,
            TeamCommand::Add {
                name: "north".into(),
            },
        )
        .unwrap();
        territory(
            &storage,
            TerritoryCommand::Add {
                name: "harbour".into(),
                team: "north".into(),
            },
        )
        .unwrap();
        let add = |name: &str, role, team: Option<&str>| {
            user(
                &storage,
                UserCommand::Add {
                    username: name.into(),
                    password: Some("pw".into()),
                    role,
                    team: team.map(Into::into),
                },
                &params,
            )
        };
        add("ana", Role::Rep, Some("north")).unwrap();
        add("root", Role::Admin, None).unwrap();
        assert!(matches!(
            add("bo", Role::Rep, None),
            Err(AdminError::Usage(_))
        ));
        assert!(matches!(
            add("cy", Role::Rep, Some("south")),
            Err(AdminError::NoSuchTeam(_))
        ));
        assert!(matches!(
            add("ana", Role::Rep, Some("north")),
            Err(AdminError::Storage(StorageError::AlreadyExists("user")))
        ));
        territory(
            &storage,
            TerritoryCommand::AssignUser {
                username: "ana".into(),
                territory: "harbour".into(),
            },
        )
        .unwrap();
        let ana = storage.user_by_username("ana").unwrap().unwrap();
        assert_eq!(storage.user_territories(&ana.id).unwrap().len(), 1);
        let customer_id = uuid::Uuid::now_v7();
        customer(
            &storage,
            CustomerCommand::Assign {
                customer_id,
                territory: "harbour".into(),
            },
        )
        .unwrap();
        assert!(
            storage
                .customer_territory(&customer_id.to_string())
                .unwrap()
                .is_some()
        );
        assert!(matches!(
            customer(
                &storage,
                CustomerCommand::Assign {
                    customer_id,
                    territory: "x".into()
                }
            ),
            Err(AdminError::NoSuchTerritory(_))
        ));
        key(&storage, KeyCommand::Rotate).unwrap();
        key(&storage, KeyCommand::Rotate).unwrap();
        assert_eq!(
            storage
                .signing_keys()
                .unwrap()
                .iter()
                .filter(|k| k.active)
                .count(),
            1
        );
    }
}
