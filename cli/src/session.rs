//! The session file beside the store: which server, which token, which user.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::CliError;

/// What `login` keeps for later commands. The token is a secret: the file is written readable
/// by its owner only (on Unix).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub server: String,
    pub token: String,
    pub user_id: String,
    pub username: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// `device.sqlite` → `device.session.json`, in the same folder.
pub fn path_for(store: &Path) -> PathBuf {
    let stem = store
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "fieldcrm-device".to_owned());
    store.with_file_name(format!("{stem}.session.json"))
}

impl Session {
    /// The session, or `None` when nobody has logged in with this store.
    pub fn load(path: &Path) -> Result<Option<Session>, CliError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(CliError::SessionFile {
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|err| CliError::SessionCorrupt {
                path: path.display().to_string(),
                detail: err.to_string(),
            })
    }

    /// The session, or an error telling the user to log in.
    pub fn require(path: &Path) -> Result<Session, CliError> {
        Session::load(path)?.ok_or(CliError::NotLoggedIn)
    }

    /// Forgets the session (the token is useless once the device is revoked).
    pub fn remove(path: &Path) -> Result<(), CliError> {
        match std::fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(CliError::SessionFile {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    pub fn save(&self, path: &Path) -> Result<(), CliError> {
        let io = |source| CliError::SessionFile {
            path: path.display().to_string(),
            source,
        };
        let text = serde_json::to_string_pretty(self).map_err(|err| CliError::SessionCorrupt {
            path: path.display().to_string(),
            detail: err.to_string(),
        })?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(io)?;
        std::io::Write::write_all(&mut file, text.as_bytes()).map_err(io)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_file_sits_beside_the_store() {
        assert_eq!(
            path_for(Path::new("/tmp/x/device.sqlite")),
            PathBuf::from("/tmp/x/device.session.json")
        );
        assert_eq!(
            path_for(Path::new("store")),
            PathBuf::from("store.session.json")
        );
    }

    #[test]
    fn round_trip_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.session.json");
        assert_eq!(Session::load(&path).unwrap(), None);
        assert!(matches!(
            Session::require(&path),
            Err(CliError::NotLoggedIn)
        ));
        let session = Session {
            server: "http://127.0.0.1:1".into(),
            token: "t".into(),
            user_id: "u".into(),
            username: "anna".into(),
            expires_at: 1,
        };
        session.save(&path).unwrap();
        assert_eq!(Session::load(&path).unwrap(), Some(session));
        std::fs::write(&path, "{not json").unwrap();
        assert!(matches!(
            Session::load(&path),
            Err(CliError::SessionCorrupt { .. })
        ));
    }
}
