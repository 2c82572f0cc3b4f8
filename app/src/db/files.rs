//! The data directory and the SQLite files are this user's alone: they hold
//! password hashes, emails, the keyring and the audit log. The directory is
//! created 0700 and the database file 0600 before SQLite opens it (SQLite
//! gives its `-wal` and `-shm` files the database's mode); an existing
//! install with looser modes is tightened at start-up, and the log says so.

use std::{io, path::Path};

/// Owner only: read, write, enter.
const DIR_MODE: u32 = 0o700;
/// Owner only: read, write.
const FILE_MODE: u32 = 0o600;

/// Creates `dir` (and its parents) when missing, itself with mode 0700, and
/// tightens it to 0700 when it exists with group or other access.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    if !dir.exists() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, DIR_MODE);
        builder.create(dir)?;
    }
    tighten(dir, DIR_MODE)
}

/// Creates the SQLite database file at `path` with mode 0600 when missing,
/// and tightens it and its `-wal`, `-shm` and `-journal` files to 0600 when
/// they exist with group or other access.
pub fn private_database(path: &Path) -> io::Result<()> {
    if !path.exists() {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
        match options.open(path) {
            Ok(_) => {}
            // Another instance made it between the check and the open.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    tighten(path, FILE_MODE)?;
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        let side = Path::new(&side);
        if side.exists() {
            tighten(side, FILE_MODE)?;
        }
    }
    Ok(())
}

/// Drops group and other permissions from `path` when it has any.
#[cfg(unix)]
fn tighten(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let current = std::fs::metadata(path)?.permissions().mode() & 0o777;
    if current & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
        tracing::warn!(
            path = %path.display(),
            was = format!("{current:o}"),
            now = format!("{mode:o}"),
            "tightened the mode of a data file: it was readable by other users"
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn tighten(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn new_files_are_private_and_old_ones_are_tightened() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        let db = dir.join("preqstation.sqlite");
        private_database(&db).unwrap();
        assert_eq!(mode(&db), 0o600);

        // An install from before: 0755 directory, 0644 files.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
        let wal = dir.join("preqstation.sqlite-wal");
        std::fs::write(&wal, b"").unwrap();
        std::fs::set_permissions(&wal, std::fs::Permissions::from_mode(0o644)).unwrap();
        private_dir(&dir).unwrap();
        private_database(&db).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&db), 0o600);
        assert_eq!(mode(&wal), 0o600);
    }
}
