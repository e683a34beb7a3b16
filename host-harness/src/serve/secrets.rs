//! Where the service's secrets come from (R32): the environment or a file,
//! never the command line (every user of the machine sees it in `ps`). A
//! generated operator token goes to a file only its owner can read, never
//! to the log.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// The operator's token, when not in a file.
pub const TOKEN_ENV: &str = "SMARTLOCK_TOKEN";
/// The host's TTLock application secret, when not in a file.
pub const TTLOCK_SECRET_ENV: &str = "SMARTLOCK_TTLOCK_CLIENT_SECRET";
/// Shortest operator token accepted.
pub const MIN_TOKEN_CHARS: usize = 16;

/// The places the secrets may be given in.
#[derive(Debug, Clone, Default)]
pub struct SecretSources {
    /// [`TOKEN_ENV`]'s value.
    pub token_env: Option<String>,
    /// `--token-file`.
    pub token_file: Option<PathBuf>,
    /// `--ttlock-client-id` (not a secret).
    pub ttlock_client_id: Option<String>,
    /// [`TTLOCK_SECRET_ENV`]'s value.
    pub ttlock_secret_env: Option<String>,
    /// `--ttlock-client-secret-file`.
    pub ttlock_secret_file: Option<PathBuf>,
}

/// How the operator's token was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenOrigin {
    Environment,
    /// Read from this file.
    File(PathBuf),
    /// Made now and written to this file.
    Generated(PathBuf),
}

impl SecretSources {
    /// The options given, with the environment's variables.
    pub fn from_env(
        token_file: Option<PathBuf>,
        ttlock_client_id: Option<String>,
        ttlock_secret_file: Option<PathBuf>,
    ) -> anyhow::Result<SecretSources> {
        let var = |name: &str| match std::env::var(name) {
            Ok(v) if v.is_empty() => Ok(None),
            Ok(v) => Ok(Some(v)),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(anyhow::anyhow!("{name} is not valid UTF-8")),
        };
        Ok(SecretSources {
            token_env: var(TOKEN_ENV)?,
            token_file,
            ttlock_client_id,
            ttlock_secret_env: var(TTLOCK_SECRET_ENV)?,
            ttlock_secret_file,
        })
    }

    /// The operator's token: from the environment, or the token file
    /// (`--token-file`, else `DB.token`), made there at first start.
    pub fn operator_token(&self, db: &Path) -> anyhow::Result<(String, TokenOrigin)> {
        if let Some(token) = &self.token_env {
            anyhow::ensure!(self.token_file.is_none(), "give the operator token once: {TOKEN_ENV} or --token-file");
            check_token(token, TOKEN_ENV)?;
            return Ok((token.clone(), TokenOrigin::Environment));
        }
        let path = self.token_file.clone().unwrap_or_else(|| {
            let mut name = db.as_os_str().to_owned();
            name.push(".token");
            PathBuf::from(name)
        });
        if path.exists() {
            let token = read_secret(&path)?;
            check_token(&token, &path.display().to_string())?;
            return Ok((token, TokenOrigin::File(path)));
        }
        let token = random_token()?;
        write_private(&path, token.as_bytes())
            .with_context(|| format!("writing the operator token to {}", path.display()))?;
        Ok((token, TokenOrigin::Generated(path)))
    }

    /// The host's TTLock application (client id, secret), if configured.
    pub fn ttlock_app(&self) -> anyhow::Result<Option<(String, String)>> {
        let secret = match (&self.ttlock_secret_env, &self.ttlock_secret_file) {
            (Some(_), Some(_)) => {
                anyhow::bail!(
                    "give the TTLock application secret once: {TTLOCK_SECRET_ENV} or --ttlock-client-secret-file"
                )
            }
            (Some(s), None) => Some(s.clone()),
            (None, Some(path)) => Some(read_secret(path)?),
            (None, None) => None,
        };
        match (&self.ttlock_client_id, secret) {
            (Some(id), Some(secret)) => Ok(Some((id.clone(), secret))),
            (None, None) => Ok(None),
            (Some(_), None) => {
                anyhow::bail!("--ttlock-client-id needs the application secret in {TTLOCK_SECRET_ENV} or --ttlock-client-secret-file")
            }
            (None, Some(_)) => anyhow::bail!("the TTLock application secret needs --ttlock-client-id"),
        }
    }
}

fn check_token(token: &str, source: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        token.len() >= MIN_TOKEN_CHARS && token.bytes().all(|b| b.is_ascii_graphic()),
        "the operator token in {source} must be at least {MIN_TOKEN_CHARS} printable ASCII characters without spaces"
    );
    Ok(())
}

/// A secret file's content without its final line break; a file others
/// can read is used, with a warning.
fn read_secret(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(file = %path.display(), "the secret file can be read by other users: chmod 600 it");
            }
        }
    }
    let secret = text.trim_end_matches(['\n', '\r']).to_string();
    anyhow::ensure!(!secret.is_empty(), "{} is empty", path.display());
    Ok(secret)
}

/// 24 random bytes, hex.
fn random_token() -> anyhow::Result<String> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no random source for the token: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Creates `path` readable and writable by its owner only, with `bytes`.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.write_all(b"\n")?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_token_is_kept_in_a_private_file_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("s.sqlite");
        let sources = SecretSources::default();
        let (token, origin) = sources.operator_token(&db).unwrap();
        let file = dir.path().join("s.sqlite.token");
        assert_eq!(origin, TokenOrigin::Generated(file.clone()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert_eq!(sources.operator_token(&db).unwrap(), (token, TokenOrigin::File(file)));
    }

    #[test]
    fn a_token_is_given_once_and_long_enough() {
        let db = Path::new("/nonexistent/s.sqlite");
        let env = SecretSources { token_env: Some("0123456789abcdef".into()), ..SecretSources::default() };
        assert_eq!(env.operator_token(db).unwrap().1, TokenOrigin::Environment);
        let short = SecretSources { token_env: Some("short".into()), ..SecretSources::default() };
        assert!(short.operator_token(db).is_err());
        let twice = SecretSources { token_file: Some("/tmp/x".into()), ..env };
        assert!(twice.operator_token(db).is_err());
    }

    #[test]
    fn the_ttlock_app_needs_its_id_and_its_secret() {
        let none = SecretSources::default();
        assert_eq!(none.ttlock_app().unwrap(), None);
        let both = SecretSources {
            ttlock_client_id: Some("app".into()),
            ttlock_secret_env: Some("s3cret".into()),
            ..SecretSources::default()
        };
        assert_eq!(both.ttlock_app().unwrap(), Some(("app".into(), "s3cret".into())));
        let id_only = SecretSources { ttlock_client_id: Some("app".into()), ..SecretSources::default() };
        assert!(id_only.ttlock_app().is_err());
    }
}
