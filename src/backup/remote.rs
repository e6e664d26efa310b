//! Off-site copies through rclone, which already speaks Google Drive, Dropbox and S3;
//! its own config file (`rclone config`) holds the remote's credentials, not ours.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};

/// Waits before the second and third attempts.
const RETRY_DELAYS: [Duration; 2] = [Duration::from_secs(2), Duration::from_secs(8)];

/// Accepts a named rclone remote (`gdrive:omie-backups`, `s3:bucket/dir`) or an absolute
/// local path (a mounted disk). Refused: on-the-fly remotes (`:s3,secret=…:`), which
/// would put credentials in our database, pages and process list (they belong in
/// rclone's config file), and anything rclone could read as a flag.
pub fn validate(remote: &str) -> Result<(), &'static str> {
    if remote.chars().any(char::is_control) {
        return Err("the destination has control characters");
    }
    if remote.starts_with('/') {
        return Ok(());
    }
    let name = remote.split_once(':').map(|(n, _)| n).unwrap_or("");
    let name_ok = !name.is_empty()
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ' '));
    if name_ok {
        Ok(())
    } else {
        Err(
            "use the name of a remote made with rclone config and a folder, such as gdrive:omie-backups",
        )
    }
}

/// `remote` joined with a file name: `gdrive:omie-backups` + `f` → `gdrive:omie-backups/f`.
pub fn target(remote: &str, name: &str) -> String {
    if remote.ends_with(':') || remote.ends_with('/') {
        format!("{remote}{name}")
    } else {
        format!("{remote}/{name}")
    }
}

/// Copies the backup file and its `.sha256` to the remote, retrying twice.
pub fn copy(path: &Path, remote: &str) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .context("backup file name")?;
    let sum = format!("{}.sha256", path.display());
    let mut last = None;
    for attempt in 0..=RETRY_DELAYS.len() {
        if attempt > 0 {
            std::thread::sleep(RETRY_DELAYS[attempt - 1]);
        }
        let r = rclone(&["copyto", &path.display().to_string(), &target(remote, name)])
            .and_then(|()| rclone(&["copyto", &sum, &target(remote, &format!("{name}.sha256"))]));
        match r {
            Ok(()) => return Ok(()),
            Err(e) => {
                tracing::warn!(attempt = attempt + 1, error = %e, "off-site copy failed");
                last = Some(e);
            }
        }
    }
    Err(last.unwrap_or_else(|| anyhow::anyhow!("off-site copy failed")))
}

/// Removes a pruned backup (and its `.sha256`) from the remote.
pub fn delete(remote: &str, name: &str) -> anyhow::Result<()> {
    rclone(&["deletefile", &target(remote, name)])?;
    let _ = rclone(&["deletefile", &target(remote, &format!("{name}.sha256"))]);
    Ok(())
}

/// How long "Testar destino" waits for rclone before giving up.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(45);

/// "Testar destino": writes a tiny file to the remote and deletes it, within
/// [`PROBE_TIMEOUT`]. `Err` holds rclone's own words (the page folds them away).
pub fn probe(remote: &str, scratch_dir: &Path) -> anyhow::Result<()> {
    validate(remote).map_err(|e| anyhow::anyhow!("{e}"))?;
    let name = format!("otm-teste-{}.txt", crate::crypto::new_token());
    let local = scratch_dir.join(&name);
    std::fs::write(
        &local,
        b"Omie Tenant Manager: teste do destino dos backups\n",
    )
    .context("write the test file")?;
    let deadline = std::time::Instant::now() + PROBE_TIMEOUT;
    let r = rclone_until(
        &[
            "copyto",
            &local.display().to_string(),
            &target(remote, &name),
        ],
        deadline,
    )
    .and_then(|()| rclone_until(&["deletefile", &target(remote, &name)], deadline));
    let _ = std::fs::remove_file(&local);
    r
}

/// `rclone` with the same flags as [`rclone`], killed at `deadline`.
fn rclone_until(args: &[&str], deadline: std::time::Instant) -> anyhow::Result<()> {
    let (command, operands) = args.split_first().context("rclone command")?;
    let mut child = Command::new("rclone")
        .arg(command)
        .args([
            "--retries",
            "1",
            "--low-level-retries",
            "1",
            "--contimeout",
            "10s",
            "--timeout",
            "30s",
            "--log-level",
            "ERROR",
        ])
        .arg("--")
        .args(operands)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                anyhow::anyhow!("rclone is not installed (apt install rclone)")
            }
            _ => anyhow::anyhow!("cannot run rclone: {e}"),
        })?;
    // stderr is read on its own thread, so a chatty rclone never blocks on a full pipe.
    let mut err_pipe = child.stderr.take().context("rclone stderr")?;
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut err_pipe, &mut s);
        s
    });
    let status = loop {
        if let Some(st) = child.try_wait().context("wait for rclone")? {
            break st;
        }
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "rclone {command} timed out after {} seconds",
                PROBE_TIMEOUT.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stderr = reader.join().unwrap_or_default();
    if status.success() {
        return Ok(());
    }
    let line = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no message");
    let line: String = line.chars().take(300).collect();
    bail!("rclone {command} failed: {}", line.trim())
}

fn rclone(args: &[&str]) -> anyhow::Result<()> {
    let (command, operands) = args.split_first().context("rclone command")?;
    let out = Command::new("rclone")
        .arg(command)
        .args([
            "--retries",
            "1",
            "--low-level-retries",
            "2",
            "--contimeout",
            "10s",
            "--timeout",
            "5m",
            "--log-level",
            "ERROR",
        ])
        // Operands after "--": a file or remote name is never read as a flag.
        .arg("--")
        .args(operands)
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                anyhow::anyhow!("rclone is not installed (apt install rclone)")
            }
            _ => anyhow::anyhow!("cannot run rclone: {e}"),
        })?;
    if out.status.success() {
        return Ok(());
    }
    // rclone's last line says what went wrong; it never prints the remote's secrets.
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no message");
    let line: String = line.chars().take(300).collect();
    bail!("rclone {} failed: {}", args[0], line.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_named_remotes_and_paths_refuses_inline_credentials_and_flags() {
        for ok in [
            "gdrive:omie-backups",
            "dropbox:",
            "s3:bucket/dir",
            "/mnt/backup-disk",
        ] {
            assert!(validate(ok).is_ok(), "{ok}");
        }
        for bad in [
            ":s3,access_key_id=AKIA,secret_access_key=x:bucket",
            "s3,secret_access_key=x:bucket",
            "--config=/etc/passwd",
            "-x:y",
            "no-colon",
            "gdrive:a\nb",
        ] {
            assert!(validate(bad).is_err(), "{bad}");
        }
        assert_eq!(target("gdrive:omie", "f"), "gdrive:omie/f");
        assert_eq!(target("dropbox:", "f"), "dropbox:f");
    }
}
