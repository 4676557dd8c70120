//! Configuration, in layers: built-in defaults, then an optional TOML file,
//! then `CIVICPAY_*` environment variables (and `DATABASE_URL`), then
//! command-line flags. The defaults run a demo with nothing set.

use anyhow::Context;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    /// Where the embedded database and generated secrets live.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; default: a SQLite file in `data_dir`.
    pub database_url: Option<String>,
    pub portal_addr: SocketAddr,
    pub pay_addr: SocketAddr,
    /// Browsers reach us over HTTPS (through a proxy that terminates TLS).
    pub served_over_tls: bool,
    pub trusted_proxies: Vec<IpAddr>,
    pub lookup_limit: u32,
    pub lookup_window_secs: u64,
    /// File holding the key that signs form tokens (64 hex digits). Created
    /// on first run when absent; share it between instances.
    pub form_key_file: Option<PathBuf>,
    /// `text` or `json`.
    pub log_format: String,
    /// The pay service's own database; default: `pay.db` in `data_dir`.
    pub pay_database_url: Option<String>,
    /// Where browsers reach the pay service; default `http://{pay_addr}`.
    pub pay_public_url: Option<String>,
    /// Where browsers reach the portal; default `http://{portal_addr}`.
    pub portal_public_url: Option<String>,
    /// The acquirer; default: an embedded acquirer simulator.
    pub gateway_url: Option<String>,
    /// Seconds to wait for the acquirer (or a city's processor) before the
    /// outcome is "unknown".
    pub gateway_timeout_secs: u64,
    /// Every city's processor reached at this address instead of the real
    /// service: a `civicpay processor-fake`, for trying a city's processor
    /// settings out. Never in production.
    pub processors_url: Option<String>,
    /// Secret shared by portal and pay, from which the portal's pay API
    /// keys are derived. Created on first run.
    pub service_key_file: Option<PathBuf>,
    /// Receipts go here as `.eml` files unless `smtp_url` is set; default
    /// `outbox` in `data_dir`.
    pub mail_outbox: Option<PathBuf>,
    /// `smtp://user:pass@host:587` (STARTTLS) or `smtps://…`.
    pub smtp_url: Option<String>,
    pub mail_from: String,
    /// The Ed25519 seed that signs audit checkpoints; created on first use,
    /// default `secrets/audit-checkpoint.key` in `data_dir`. Never in the
    /// database, so a copy of the database cannot forge a checkpoint.
    pub audit_key_file: Option<PathBuf>,
    /// The key that seals staff authenticator secrets in the database;
    /// created on first use, default `secrets/staff-totp.key` in
    /// `data_dir`. Never in the database.
    pub staff_totp_key_file: Option<PathBuf>,
    /// The folder of key-encryption keys for saved cards (one subfolder per
    /// city); default `secrets/vault` in `data_dir`. Only pay reads it.
    /// Keep it out of database backups: the database alone must open no
    /// card.
    pub vault_keys_dir: Option<PathBuf>,
    /// Allows `vault_keys_dir` inside `data_dir` (not recommended).
    pub vault_keys_in_data_dir: bool,
    /// Where `civicpay audit checkpoint` appends its signed lines when no
    /// `--out` is given. Put it on storage the database's owner cannot
    /// rewrite (another host, a write-once bucket mounted here).
    pub audit_checkpoint_file: Option<PathBuf>,
    /// A witness that receives each signed checkpoint as a JSON POST.
    pub audit_checkpoint_url: Option<String>,
    /// Where the tamper monitor also posts its alarms (signed like pay's
    /// webhooks, with the secret derived for "alarms").
    pub alarm_webhook_url: Option<String>,
    /// When set, `serve` checks its own card page against this build's
    /// manifest this often (seconds); a separate `civicpay monitor` on
    /// another host is stronger, since it does not trust this process.
    pub monitor_interval_secs: Option<u64>,
    /// How often `serve` sweeps payments and refunds that wait on the
    /// acquirer (seconds).
    pub reconcile_interval_secs: u64,
    /// How long the acquirer may take before "no record" means "never
    /// arrived" (seconds).
    pub acquirer_grace_secs: u64,
    /// How long a payment or refund may stay unsettled before the city is
    /// alarmed and it is listed as needing attention (seconds).
    pub attention_after_secs: u64,
    /// How often `serve` reads the acquirer's list of the day's
    /// authorisations to void or refund any no payment accounts for
    /// (seconds).
    pub orphan_sweep_interval_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("civicpay-data"),
            database_url: None,
            portal_addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            pay_addr: SocketAddr::from(([127, 0, 0, 1], 8081)),
            served_over_tls: false,
            trusted_proxies: Vec::new(),
            lookup_limit: 20,
            lookup_window_secs: 600,
            form_key_file: None,
            log_format: "text".to_owned(),
            pay_database_url: None,
            pay_public_url: None,
            portal_public_url: None,
            gateway_url: None,
            gateway_timeout_secs: 10,
            processors_url: None,
            service_key_file: None,
            mail_outbox: None,
            smtp_url: None,
            mail_from: "civicpay <receipts@localhost>".to_owned(),
            audit_key_file: None,
            staff_totp_key_file: None,
            vault_keys_dir: None,
            vault_keys_in_data_dir: false,
            audit_checkpoint_file: None,
            audit_checkpoint_url: None,
            alarm_webhook_url: None,
            monitor_interval_secs: None,
            reconcile_interval_secs: 30,
            acquirer_grace_secs: 300,
            attention_after_secs: 3600,
            orphan_sweep_interval_secs: 600,
        }
    }
}

/// Flags that override the other layers when given.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FlagOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub portal_addr: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pay_addr: Option<SocketAddr>,
}

/// Environment variables we read that are not configuration keys.
const OTHER_KNOWN_VARIABLES: [&str; 6] = [
    "CIVICPAY_CONFIG",
    "CIVICPAY_CHAOS_SECONDS",
    "CIVICPAY_CHAOS_KILLS",
    "CIVICPAY_LOG",
    "CIVICPAY_BROWSER_TESTS",
    "CIVICPAY_TEST_POSTGRES_URL",
];
/// Every configuration key, each also read from `CIVICPAY_<KEY>`.
const KEYS: [&str; 32] = [
    "data_dir",
    "database_url",
    "portal_addr",
    "pay_addr",
    "served_over_tls",
    "trusted_proxies",
    "lookup_limit",
    "lookup_window_secs",
    "form_key_file",
    "log_format",
    "pay_database_url",
    "pay_public_url",
    "portal_public_url",
    "gateway_url",
    "gateway_timeout_secs",
    "processors_url",
    "service_key_file",
    "mail_outbox",
    "smtp_url",
    "mail_from",
    "audit_key_file",
    "staff_totp_key_file",
    "vault_keys_dir",
    "vault_keys_in_data_dir",
    "audit_checkpoint_file",
    "audit_checkpoint_url",
    "alarm_webhook_url",
    "monitor_interval_secs",
    "reconcile_interval_secs",
    "acquirer_grace_secs",
    "attention_after_secs",
    "orphan_sweep_interval_secs",
];

impl Config {
    pub fn load(file: Option<&Path>, flags: FlagOverrides) -> anyhow::Result<Config> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            anyhow::ensure!(
                file.exists(),
                "config file {} does not exist",
                file.display()
            );
            figment = figment.merge(Toml::file(file));
        }
        // Once a setting here; now in each city's file, where every
        // process reads the same list. Ignoring it would refuse returns
        // the operator meant to allow, with no word why.
        anyhow::ensure!(
            figment.find_value("return_origins").is_err(),
            "return_origins is no longer a setting: list a city's origins in its city file \
             (return_origins = [\"https://www.city.example\"]) and run `civicpay city apply`"
        );
        let config: Config = figment
            .merge(Env::raw().only(&["DATABASE_URL"]))
            .merge(Env::prefixed("CIVICPAY_").only(&KEYS))
            .merge(Serialized::globals(flags))
            .extract()
            .context("invalid configuration")?;
        Ok(config)
    }

    /// `CIVICPAY_*` variables that mean nothing to us: usually a typo that
    /// would otherwise be silently ignored.
    pub fn unknown_environment_variables() -> Vec<String> {
        std::env::vars()
            .map(|(k, _)| k)
            .filter(|k| k.starts_with("CIVICPAY_"))
            .filter(|k| !OTHER_KNOWN_VARIABLES.contains(&k.as_str()))
            .filter(|k| {
                !KEYS.contains(
                    &k.trim_start_matches("CIVICPAY_")
                        .to_ascii_lowercase()
                        .as_str(),
                )
            })
            .collect()
    }

    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("portal.db").display()
            )
        })
    }

    pub fn portal(&self) -> civicpay_portal::PortalConfig {
        let mail = civicpay_portal::Mail {
            config: match &self.smtp_url {
                Some(url) => civicpay_portal::MailConfig::Smtp { url: url.clone() },
                None => civicpay_portal::MailConfig::Outbox(
                    self.mail_outbox
                        .clone()
                        .unwrap_or_else(|| self.data_dir.join("outbox")),
                ),
            },
            from: self.mail_from.clone(),
        };
        civicpay_portal::PortalConfig {
            mail: Some(mail),
            served_over_tls: self.served_over_tls,
            trusted_proxies: self.trusted_proxies.clone(),
            lookup_limit: self.lookup_limit,
            lookup_window: std::time::Duration::from_secs(self.lookup_window_secs.max(1)),
            public_url: self.portal_public_url(),
            ..civicpay_portal::PortalConfig::default()
        }
    }

    pub fn pay_database_url(&self) -> String {
        self.pay_database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("pay.db").display()
            )
        })
    }

    pub fn pay_public_url(&self) -> String {
        self.pay_public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.pay_addr))
    }

    pub fn portal_public_url(&self) -> String {
        self.portal_public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.portal_addr))
    }

    /// Reads the form-token key, creating it (readable by us alone) on
    /// first run.
    pub fn form_key(&self) -> anyhow::Result<[u8; 32]> {
        self.secret(self.form_key_file.as_deref(), "form-token.key")
    }

    /// The pay service's own form-token key.
    pub fn pay_form_key(&self) -> anyhow::Result<[u8; 32]> {
        self.secret(None, "pay-form-token.key")
    }

    pub fn service_key(&self) -> anyhow::Result<[u8; 32]> {
        self.secret(self.service_key_file.as_deref(), "portal-pay.key")
    }

    /// The key that seals staff authenticator secrets.
    pub fn staff_totp_key(&self) -> anyhow::Result<civicpay_identity::TotpKey> {
        self.secret(self.staff_totp_key_file.as_deref(), "staff-totp.key")
            .map(civicpay_identity::TotpKey::new)
    }

    /// The seed of the key that signs audit checkpoints.
    pub fn audit_key_seed(&self) -> anyhow::Result<[u8; 32]> {
        self.secret(self.audit_key_file.as_deref(), "audit-checkpoint.key")
    }

    /// The folder of saved-card keys. By default it sits beside the data
    /// folder, not in it: a copy of the data folder (a backup, a stolen
    /// disk image) must open no card. A folder inside the data folder is
    /// refused unless `vault_keys_in_data_dir` says the operator means it.
    pub fn vault_keys_dir(&self) -> anyhow::Result<PathBuf> {
        let data = std::path::absolute(&self.data_dir)
            .with_context(|| format!("data_dir {}", self.data_dir.display()))?;
        let Some(chosen) = &self.vault_keys_dir else {
            let name = data
                .file_name()
                .map_or_else(|| "civicpay".into(), |n| n.to_string_lossy().into_owned());
            let beside = data.with_file_name(format!("{name}-vault-keys"));
            let old = data.join("secrets").join("vault");
            anyhow::ensure!(
                !old.exists() || beside.exists(),
                "saved-card keys are in {}, inside the data folder, where a copy of the data \
                 folder would carry them: move that folder to {} (or set vault_keys_dir)",
                old.display(),
                beside.display()
            );
            return Ok(beside);
        };
        let chosen = std::path::absolute(chosen)
            .with_context(|| format!("vault_keys_dir {}", chosen.display()))?;
        anyhow::ensure!(
            !chosen.starts_with(&data) || self.vault_keys_in_data_dir,
            "vault_keys_dir {} is inside data_dir {}: a copy of the data folder would open \
             saved cards. Put the keys elsewhere, or set vault_keys_in_data_dir = true if you mean it",
            chosen.display(),
            data.display()
        );
        Ok(chosen)
    }

    pub fn audit_checkpoint_file(&self) -> PathBuf {
        self.audit_checkpoint_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("audit-checkpoints.jsonl"))
    }

    fn secret(&self, configured: Option<&Path>, name: &str) -> anyhow::Result<[u8; 32]> {
        let path = configured
            .map(Path::to_path_buf)
            .unwrap_or_else(|| self.data_dir.join("secrets").join(name));
        if !path.exists() {
            create_secret_file(&path)?;
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read the key {}", path.display()))?;
        parse_hex_key(text.trim())
            .with_context(|| format!("{} must hold 64 hexadecimal digits", path.display()))
    }
}

fn create_secret_file(path: &Path) -> anyhow::Result<()> {
    use rand::RngCore;
    use std::io::Write;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(hex.as_bytes())?;
    file.sync_all()?;
    tracing::info!(path = %path.display(), "generated a new secret key");
    Ok(())
}

fn parse_hex_key(s: &str) -> anyhow::Result<[u8; 32]> {
    anyhow::ensure!(
        s.len() == 64,
        "expected 64 hexadecimal digits, found {}",
        s.len()
    );
    let mut key = [0u8; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        let pair = s.get(i * 2..i * 2 + 2).context("short key")?;
        *byte = u8::from_str_radix(pair, 16).context("not hexadecimal")?;
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn saved_card_keys_stay_out_of_the_data_folder() {
        let root = std::env::temp_dir().join(format!("civicpay-vault-dir-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let mut config = Config {
            data_dir: root.join("civicpay-data"),
            ..Config::default()
        };
        let default = config.vault_keys_dir().unwrap();
        assert_eq!(default, root.join("civicpay-data-vault-keys"));
        assert!(!default.starts_with(&config.data_dir));

        config.vault_keys_dir = Some(root.join("civicpay-data").join("keys"));
        let refused = config.vault_keys_dir().unwrap_err().to_string();
        assert!(refused.contains("vault_keys_in_data_dir"), "{refused}");
        config.vault_keys_in_data_dir = true;
        assert!(config.vault_keys_dir().is_ok(), "the operator said so");

        // Keys left where an older civicpay put them are not silently
        // abandoned: start-up says where to move them.
        config.vault_keys_dir = None;
        std::fs::create_dir_all(root.join("civicpay-data/secrets/vault")).unwrap();
        let moved = config.vault_keys_dir().unwrap_err().to_string();
        assert!(moved.contains("move that folder to"), "{moved}");
        std::fs::create_dir_all(&default).unwrap();
        assert_eq!(config.vault_keys_dir().unwrap(), default);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn the_old_return_origins_setting_is_refused_with_where_it_went() {
        let dir = std::env::temp_dir().join(format!("civicpay-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("civicpay.toml");
        std::fs::write(
            &file,
            "[return_origins]\nspringfield = [\"https://x.example\"]\n",
        )
        .unwrap();
        let error = Config::load(Some(&file), FlagOverrides::default())
            .unwrap_err()
            .to_string();
        assert!(error.contains("city file"), "{error}");
        std::fs::write(&file, "portal_addr = \"127.0.0.1:8080\"\n").unwrap();
        assert!(Config::load(Some(&file), FlagOverrides::default()).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn every_setting_is_a_known_key() {
        let names = serde_json::to_value(Config::default()).unwrap();
        let mut fields: Vec<&str> = names
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        fields.sort_unstable();
        let mut keys = KEYS.to_vec();
        keys.sort_unstable();
        assert_eq!(
            fields, keys,
            "a setting that cannot be set from the environment, or a key that is no setting"
        );
    }

    #[test]
    fn hex_keys_round_trip_and_bad_ones_are_refused() {
        let key = parse_hex_key(&"ab".repeat(32)).unwrap();
        assert_eq!(key, [0xab; 32]);
        assert!(parse_hex_key("abc").is_err());
        assert!(parse_hex_key(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn flags_override_a_config_file() {
        let dir = std::env::temp_dir().join(format!("civicpay-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("civicpay.toml");
        std::fs::write(
            &file,
            "portal_addr = \"127.0.0.1:9000\"\nlookup_limit = 5\n",
        )
        .unwrap();
        let from_file = Config::load(Some(&file), FlagOverrides::default()).unwrap();
        assert_eq!(from_file.portal_addr.port(), 9000);
        assert_eq!(from_file.lookup_limit, 5);
        let flags = FlagOverrides {
            portal_addr: Some("127.0.0.1:9100".parse().unwrap()),
            ..FlagOverrides::default()
        };
        let overridden = Config::load(Some(&file), flags).unwrap();
        assert_eq!(overridden.portal_addr.port(), 9100);
        assert_eq!(overridden.lookup_limit, 5);
        std::fs::write(&file, "lookup_limit = \"many\"\n").unwrap();
        assert!(Config::load(Some(&file), FlagOverrides::default()).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_generated_key_is_private_and_stable() {
        let dir = std::env::temp_dir().join(format!("civicpay-key-{}", std::process::id()));
        let config = Config {
            data_dir: dir.clone(),
            ..Config::default()
        };
        let first = config.form_key().unwrap();
        assert_eq!(config.form_key().unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("secrets/form-token.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
