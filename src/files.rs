//! The data dir and other files only this program may read.

use std::path::Path;

use anyhow::Context;

/// Creates `dir` (and its parents) readable by this user only, if it does not exist.
pub fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create data dir {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Refuses a data dir that other users may enter or list (any group or world bit on a
/// path they can reach): it holds the database, the master key and the backups. A dir
/// under a parent that only its owner may traverse (say `mktemp -d`) is out of anyone
/// else's reach whatever its own mode. The message says the fix.
pub fn check_private_dir(dir: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode_of = |p: &Path| -> anyhow::Result<u32> {
            Ok(std::fs::metadata(p)
                .with_context(|| format!("cannot read data dir {}", p.display()))?
                .permissions()
                .mode()
                & 0o777)
        };
        let mode = mode_of(dir)?;
        let real = std::fs::canonicalize(dir)
            .with_context(|| format!("cannot read data dir {}", dir.display()))?;
        let above: Vec<u32> = real
            .ancestors()
            .skip(1)
            .filter_map(|a| mode_of(a).ok())
            .collect();
        if open_to_others(mode, &above) {
            anyhow::bail!(
                "data dir {} is open to other users (mode {mode:03o}); fix it with: chmod 700 {}",
                dir.display(),
                shell_quoted(dir)
            );
        }
    }
    Ok(())
}

/// A dir of `mode` under parents of `above` modes is open to others when it has a group
/// or other bit and every parent lets a group member or anyone traverse it.
fn open_to_others(mode: u32, above: &[u32]) -> bool {
    mode & 0o077 != 0 && above.iter().all(|m| m & 0o011 != 0)
}

/// `path` as one shell word, for a command a message asks the person to run.
pub fn shell_quoted(path: &Path) -> String {
    let s = path.display().to_string();
    let plain = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:@%,".contains(c));
    if plain && !s.is_empty() {
        s
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn open_to_others_needs_a_loose_mode_and_a_path_others_can_walk() {
        assert!(!open_to_others(0o700, &[0o755, 0o755]));
        assert!(open_to_others(0o755, &[0o1777, 0o755]));
        assert!(open_to_others(0o750, &[0o750, 0o755]));
        assert!(!open_to_others(0o755, &[0o700, 0o755]), "mktemp -d above");
        assert!(!open_to_others(0o755, &[0o755, 0o700, 0o755]));
        assert!(open_to_others(0o705, &[0o711]));
    }

    #[test]
    fn a_data_dir_open_to_others_is_refused_with_the_fix() {
        // Under /tmp itself: the suite's TMPDIR may be private, which would shield it.
        let dir = tempfile::tempdir_in("/tmp").unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        check_private_dir(dir.path()).unwrap();
        for mode in [0o750, 0o705, 0o755] {
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(mode)).unwrap();
            let e = check_private_dir(dir.path()).unwrap_err().to_string();
            assert!(
                e.contains(&format!("chmod 700 {}", dir.path().display())),
                "{e}"
            );
        }
    }

    #[test]
    fn a_dir_under_a_parent_only_its_owner_traverses_is_out_of_reach() {
        let outer = tempfile::tempdir().unwrap();
        std::fs::set_permissions(outer.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        let inner = outer.path().join("data");
        std::fs::create_dir(&inner).unwrap();
        std::fs::set_permissions(&inner, std::fs::Permissions::from_mode(0o755)).unwrap();
        check_private_dir(&inner).unwrap();
    }

    #[test]
    fn odd_paths_are_quoted_for_the_shell() {
        assert_eq!(shell_quoted(Path::new("/var/lib/x")), "/var/lib/x");
        assert_eq!(shell_quoted(Path::new("/tmp/a b")), "'/tmp/a b'");
        assert_eq!(shell_quoted(Path::new("/tmp/it's")), r"'/tmp/it'\''s'");
    }
}
