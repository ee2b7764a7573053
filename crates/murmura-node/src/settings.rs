//! Settings: flags, environment (`MURMURA_*`) and an optional TOML file.

use clap::Parser;
use murmura::gossip::wire::Keyring;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// How a member is run. Every flag can also come from the environment
/// (`MURMURA_BIND`, `MURMURA_SEEDS`, …) or from the `--config` file, where
/// keys are the flag names with `_` (`http_bind = "127.0.0.1:8080"`);
/// flags and environment win over the file.
#[derive(Debug, Clone, Parser, Deserialize, PartialEq)]
#[command(
    name = "murmura-node",
    about = "A murmura store member: gossip membership, a replicated CRDT store, an HTTP API"
)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// TOML file with any of these settings.
    #[arg(long, env = "MURMURA_CONFIG")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Member name, unique in the cluster (default: the host name and port).
    #[arg(long, env = "MURMURA_NAME")]
    pub name: Option<String>,
    /// Gossip and store traffic: UDP and TCP on this address.
    #[arg(long, env = "MURMURA_BIND", default_value = "127.0.0.1:7946")]
    pub bind: SocketAddr,
    /// Address announced to other members (default: the bind address).
    #[arg(long, env = "MURMURA_ADVERTISE")]
    pub advertise: Option<SocketAddr>,
    /// Seeds to join, `host:port`, comma-separated; host names are
    /// resolved again every minute.
    #[arg(long, env = "MURMURA_SEEDS", value_delimiter = ',')]
    pub seeds: Vec<String>,
    /// The HTTP API's address. Loopback unless told otherwise.
    #[arg(long, env = "MURMURA_HTTP_BIND", default_value = "127.0.0.1:8080")]
    pub http_bind: SocketAddr,
    /// Zone of this member (replicas are spread over zones).
    #[arg(long, env = "MURMURA_ZONE")]
    pub zone: Option<String>,
    /// File with the cluster's keys, 64 hex digits a line, the first one
    /// used to seal; without it traffic is not encrypted.
    #[arg(long, env = "MURMURA_KEY_FILE")]
    pub key_file: Option<PathBuf>,
    /// Cluster label; members with another label are ignored.
    #[arg(long, env = "MURMURA_LABEL", default_value = "")]
    pub label: String,
    /// Directory for the store's journal; without it data lives in memory.
    #[arg(long, env = "MURMURA_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// fsync policy of the journal: always, batched or never.
    #[arg(long, env = "MURMURA_FSYNC", default_value = "batched")]
    pub fsync: String,
    /// Replicas per key.
    #[arg(long, env = "MURMURA_REPLICAS", default_value_t = 3)]
    pub replicas: usize,
    /// Acknowledgements per write.
    #[arg(long, env = "MURMURA_WRITE_QUORUM", default_value_t = 2)]
    pub write_quorum: usize,
    /// Replies per read.
    #[arg(long, env = "MURMURA_READ_QUORUM", default_value_t = 1)]
    pub read_quorum: usize,
    /// Largest request body the HTTP API accepts, in bytes.
    #[arg(long, env = "MURMURA_MAX_BODY", default_value_t = 64 * 1024)]
    pub max_body: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self::parse_from(["murmura-node"])
    }
}

impl Settings {
    /// Settings from the command line and environment, with `--config`'s
    /// file underneath: a value given as a flag or variable wins.
    ///
    /// # Errors
    /// A file that cannot be read or parsed.
    pub fn load() -> Result<Self, String> {
        let cli = Self::parse();
        let Some(path) = cli.config.clone() else {
            return Ok(cli);
        };
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let file: Settings =
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Self::merge(file, cli))
    }

    /// `file` overridden by every field of `cli` that differs from the default.
    pub fn merge(file: Settings, cli: Settings) -> Settings {
        let d = Settings::default();
        macro_rules! pick {
            ($($f:ident),*) => { Settings { config: cli.config.clone(), $($f: if cli.$f != d.$f { cli.$f.clone() } else { file.$f.clone() },)* } };
        }
        pick!(
            name,
            bind,
            advertise,
            seeds,
            http_bind,
            zone,
            key_file,
            label,
            data_dir,
            fsync,
            replicas,
            write_quorum,
            read_quorum,
            max_body
        )
    }
}

/// Reads a key file: one key a line as 64 hex digits; blank lines and
/// lines starting with `#` are skipped; the first key seals.
///
/// # Errors
/// An unreadable file, a line that is not 32 bytes of hex, or no key.
pub fn load_keyring(path: &Path) -> Result<Keyring, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut ring: Option<Keyring> = None;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bytes = hex::decode(line).map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| {
            format!(
                "{}:{}: a key is 32 bytes (64 hex digits)",
                path.display(),
                i + 1
            )
        })?;
        match &mut ring {
            None => ring = Some(Keyring::new(key)),
            Some(r) => r.add(key),
        }
    }
    ring.ok_or_else(|| format!("{}: no key", path.display()))
}
