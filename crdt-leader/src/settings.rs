//! The command line and the `--config FILE.toml` file: the same settings, with the
//! command line winning over the file.

use clap::{Parser, Subcommand};
use crdt_leader::{ClientTokens, FsyncPolicy, NodeConfig, PeerConfig, TlsPaths};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The most bytes read from a `--config` file.
const CONFIG_BYTES_MAX: u64 = 1 << 20;

#[derive(Parser, Debug)]
#[command(
    name = "crdt-leader",
    version,
    about = "A durable, networked CRDT leader",
    after_help = "Every option but --config may also be set in the TOML file given to \
--config, under the option's name without dashes in front (e.g. `data-dir = \"/var/lib/crdt\"`, \
`peer = [\"2@10.0.0.2:7001\"]`); the command line wins. Relative paths in the file are \
relative to the file's directory."
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Option<Cmd>,
    /// A TOML file holding any of the settings below.
    #[arg(long)]
    config: Option<PathBuf>,
    /// This leader's id (unique in the cluster, stable across restarts).
    #[arg(long)]
    id: Option<u64>,
    /// Where the store lives.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Where to serve the HTTP API.
    #[arg(long)]
    http: Option<SocketAddr>,
    /// Where to accept peer connections.
    #[arg(long)]
    peer_listen: Option<SocketAddr>,
    /// Another leader, as ID@HOST:PORT (repeatable).
    #[arg(long = "peer")]
    peers: Vec<String>,
    /// The id of a --peer this leader pushes no writes to: a lazy link (repeatable).
    /// On a mesh, make the links outside a spanning tree lazy at both ends: writes are
    /// pushed along the tree, and lazy links carry only digests and the repairs they
    /// show are needed.
    #[arg(long = "lazy-peer")]
    lazy_peers: Vec<u64>,
    /// A file holding the cluster's shared secret.
    #[arg(long)]
    peer_secret_file: Option<PathBuf>,
    /// A file of client tokens: `<token> <read|write> <document-prefix>` per line.
    #[arg(long)]
    client_tokens: Option<PathBuf>,
    /// `always` (fsync before acknowledging; the default) or `interval:MS`
    /// (write-behind: a power loss may lose up to MS ms of acknowledged writes; a
    /// process crash loses none).
    #[arg(long)]
    fsync: Option<String>,
    /// This leader's certificate chain (PEM): TLS for HTTP and peers.
    #[arg(long)]
    tls_cert: Option<PathBuf>,
    /// This leader's private key (PEM).
    #[arg(long)]
    tls_key: Option<PathBuf>,
    /// The CA certificates (PEM) every leader's certificate chains to.
    #[arg(long)]
    tls_ca: Option<PathBuf>,
    /// Run without peer secret or client tokens (trusted networks only).
    #[arg(long)]
    insecure: bool,
    /// The largest binary frame a WebSocket client may send, in bytes (default
    /// 16 MiB + 1 KiB).
    #[arg(long)]
    ws_frame_bytes_max: Option<usize>,
    /// Frames per second read from one WebSocket connection (default 500).
    #[arg(long)]
    ws_frames_per_second_max: Option<u32>,
    /// Open WebSocket connections per node (default 1024).
    #[arg(long)]
    ws_connections_max: Option<usize>,
    /// WebSocket clients per document (default 64).
    #[arg(long)]
    ws_connections_per_doc_max: Option<usize>,
    /// A directory served read-only at /app/ (the example app: `bash scripts/wasm.sh
    /// package` assembles it in target/wasm/app).
    #[arg(long)]
    app_dir: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Cmd {
    /// Three leaders on loopback with temporary data directories.
    Demo {
        /// Write on all three, check convergence and read-your-writes, exit.
        #[arg(long)]
        smoke: bool,
        /// The example app's directory, served at /app/ by every leader (default:
        /// target/wasm/app when `bash scripts/wasm.sh package` built it).
        #[arg(long)]
        app_dir: Option<PathBuf>,
    },
}

/// The `--config` file: the same settings as the flags.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileSettings {
    id: Option<u64>,
    data_dir: Option<PathBuf>,
    http: Option<SocketAddr>,
    peer_listen: Option<SocketAddr>,
    #[serde(default)]
    peer: Vec<String>,
    #[serde(default)]
    lazy_peer: Vec<u64>,
    peer_secret_file: Option<PathBuf>,
    client_tokens: Option<PathBuf>,
    fsync: Option<String>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    tls_ca: Option<PathBuf>,
    #[serde(default)]
    insecure: bool,
    ws_frame_bytes_max: Option<usize>,
    ws_frames_per_second_max: Option<u32>,
    ws_connections_max: Option<usize>,
    ws_connections_per_doc_max: Option<usize>,
    app_dir: Option<PathBuf>,
}

impl FileSettings {
    fn read(path: &Path) -> Result<Self, String> {
        let meta =
            std::fs::metadata(path).map_err(|e| format!("--config {}: {e}", path.display()))?;
        if meta.len() > CONFIG_BYTES_MAX {
            return Err(format!(
                "--config {}: {} bytes, more than the {CONFIG_BYTES_MAX} allowed",
                path.display(),
                meta.len()
            ));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("--config {}: {e}", path.display()))?;
        let mut s: Self = toml::from_str(&text)
            .map_err(|e| format!("--config {}: {}", path.display(), e.message()))?;
        // Relative paths are relative to the file's directory.
        let base = path.parent().unwrap_or(Path::new("."));
        for p in [
            &mut s.data_dir,
            &mut s.peer_secret_file,
            &mut s.client_tokens,
            &mut s.tls_cert,
            &mut s.tls_key,
            &mut s.tls_ca,
            &mut s.app_dir,
        ]
        .into_iter()
        .flatten()
        {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        Ok(s)
    }
}

/// Refuses an `--app-dir` without the app's page in it.
pub(crate) fn check_app_dir(dir: &Path) -> Result<(), String> {
    if dir.join("index.html").is_file() {
        Ok(())
    } else {
        Err(format!(
            "--app-dir {}: no index.html there; build the example app with `bash scripts/wasm.sh package`",
            dir.display()
        ))
    }
}

fn parse_peer(s: &str) -> Result<PeerConfig, String> {
    let (id, addr) = s
        .split_once('@')
        .ok_or_else(|| format!("--peer {s:?}: expected ID@HOST:PORT"))?;
    let id = id
        .parse()
        .map_err(|_| format!("--peer {s:?}: the id is not a number"))?;
    // The host is resolved when dialling; a missing or bad port is caught here.
    match addr.rsplit_once(':') {
        Some((host, port))
            if !host.is_empty()
                && port.parse::<u16>().is_ok()
                // An IPv6 address needs its brackets: `[2001:db8::1]:7000`.
                && (!host.contains(':') || (host.starts_with('[') && host.ends_with(']'))) => {}
        _ => {
            return Err(format!(
                "--peer {s:?}: expected ID@HOST:PORT, with a port number"
            ))
        }
    }
    Ok(PeerConfig {
        id,
        addr: Some(addr.to_string()),
    })
}

impl Cli {
    /// The node's configuration: the flags over the `--config` file's settings.
    pub(crate) fn node_config(&self) -> Result<NodeConfig, String> {
        let file = match &self.config {
            Some(p) => FileSettings::read(p)?,
            None => FileSettings::default(),
        };
        let id = self.id.or(file.id).ok_or("--id is required")?;
        let dir = self
            .data_dir
            .clone()
            .or(file.data_dir)
            .ok_or("--data-dir is required")?;
        let mut config = NodeConfig::new(id, dir);
        config.http_listen = self.http.or(file.http);
        config.peer_listen = self.peer_listen.or(file.peer_listen);
        config.insecure = self.insecure || file.insecure;
        config.fsync = self
            .fsync
            .as_deref()
            .or(file.fsync.as_deref())
            .unwrap_or("always")
            .parse::<FsyncPolicy>()
            .map_err(|e| e.to_string())?;
        let peers = if self.peers.is_empty() {
            &file.peer
        } else {
            &self.peers
        };
        for p in peers {
            config.peers.push(parse_peer(p)?);
        }
        let lazy = if self.lazy_peers.is_empty() {
            &file.lazy_peer
        } else {
            &self.lazy_peers
        };
        for id in lazy {
            if !config.peers.iter().any(|p| p.id == *id) {
                return Err(format!(
                    "--lazy-peer {id}: not the id of a --peer; list it with --peer first"
                ));
            }
            config.lazy_peers.push(*id);
        }
        if let Some(f) = self
            .peer_secret_file
            .as_ref()
            .or(file.peer_secret_file.as_ref())
        {
            let secret =
                std::fs::read(f).map_err(|e| format!("--peer-secret-file {}: {e}", f.display()))?;
            let secret = secret.trim_ascii().to_vec();
            if secret.len() < 16 {
                return Err(format!(
                    "--peer-secret-file {}: the secret is shorter than 16 bytes; generate one, e.g. `head -c 32 /dev/urandom | base64`",
                    f.display()
                ));
            }
            config.peer_secret = Some(secret);
        }
        if let Some(f) = self.client_tokens.as_ref().or(file.client_tokens.as_ref()) {
            let text = std::fs::read_to_string(f)
                .map_err(|e| format!("--client-tokens {}: {e}", f.display()))?;
            config.client_tokens = Some(ClientTokens::parse(&text).map_err(|e| e.to_string())?);
        }
        let tls = TlsPaths {
            cert: self.tls_cert.clone().or(file.tls_cert),
            key: self.tls_key.clone().or(file.tls_key),
            ca: self.tls_ca.clone().or(file.tls_ca),
        };
        config.tls = tls.load().map_err(|e| e.to_string())?;
        let ws = &mut config.ws;
        ws.frame_bytes_max = self
            .ws_frame_bytes_max
            .or(file.ws_frame_bytes_max)
            .unwrap_or(ws.frame_bytes_max);
        ws.frames_per_second_max = self
            .ws_frames_per_second_max
            .or(file.ws_frames_per_second_max)
            .unwrap_or(ws.frames_per_second_max);
        ws.connections_max = self
            .ws_connections_max
            .or(file.ws_connections_max)
            .unwrap_or(ws.connections_max);
        ws.connections_per_doc_max = self
            .ws_connections_per_doc_max
            .or(file.ws_connections_per_doc_max)
            .unwrap_or(ws.connections_per_doc_max);
        config.app_dir = self.app_dir.clone().or(file.app_dir);
        if let Some(dir) = &config.app_dir {
            check_app_dir(dir)?;
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("crdt-leader").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn the_file_gives_settings_and_flags_win() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("secret"), "0123456789abcdef0123").unwrap();
        let f = dir.path().join("leader.toml");
        std::fs::write(
            &f,
            r#"
id = 3
data-dir = "data"
http = "127.0.0.1:8080"
peer = ["1@10.0.0.1:7000", "2@10.0.0.2:7000"]
peer-secret-file = "secret"
fsync = "interval:50"
ws-frames-per-second-max = 50
"#,
        )
        .unwrap();
        let c = cli(&["--config", f.to_str().unwrap()])
            .node_config()
            .unwrap();
        assert_eq!(c.id, 3);
        assert_eq!(c.data_dir, dir.path().join("data"));
        assert_eq!(c.http_listen, Some("127.0.0.1:8080".parse().unwrap()));
        assert_eq!(c.peers.len(), 2);
        assert_eq!(c.peer_secret.as_deref(), Some(&b"0123456789abcdef0123"[..]));
        assert_eq!(c.fsync, FsyncPolicy::IntervalMs(50));
        assert_eq!(c.ws.frames_per_second_max, 50);
        assert_eq!(
            c.ws.frame_bytes_max,
            crdt_leader::WsLimits::default().frame_bytes_max
        );
        let c = cli(&[
            "--config",
            f.to_str().unwrap(),
            "--id",
            "4",
            "--peer",
            "9@h:1",
            "--fsync",
            "always",
        ])
        .node_config()
        .unwrap();
        assert_eq!(c.id, 4);
        assert_eq!(c.peers.len(), 1);
        assert_eq!(c.fsync, FsyncPolicy::Always);
    }

    #[test]
    fn lazy_peers_are_peers_from_the_flags_or_the_file() {
        let base = [
            "--id",
            "1",
            "--data-dir",
            "d",
            "--peer",
            "2@h:1",
            "--peer",
            "3@h:2",
        ];
        let with = |extra: &[&str]| {
            let args: Vec<&str> = base.iter().chain(extra).copied().collect();
            cli(&args).node_config()
        };
        assert_eq!(with(&[]).unwrap().lazy_peers, Vec::<u64>::new());
        assert_eq!(with(&["--lazy-peer", "3"]).unwrap().lazy_peers, vec![3]);
        let e = with(&["--lazy-peer", "4"]).unwrap_err();
        assert!(e.contains("--lazy-peer 4") && e.contains("--peer"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("leader.toml");
        std::fs::write(&f, "lazy-peer = [2]\n").unwrap();
        let file = f.to_str().unwrap();
        assert_eq!(with(&["--config", file]).unwrap().lazy_peers, vec![2]);
        let flags_win = with(&["--config", file, "--lazy-peer", "3"]).unwrap();
        assert_eq!(flags_win.lazy_peers, vec![3]);
    }

    #[test]
    fn a_peer_needs_an_id_a_host_and_a_port_number() {
        for ok in ["2@10.0.0.2:7001", "2@host.example:1", "3@[::1]:7000"] {
            let p = parse_peer(ok).unwrap();
            assert_eq!(p.addr.as_deref(), ok.split_once('@').map(|(_, a)| a));
        }
        for bad in [
            "2@nowhere",
            "2@2001:db8::1",
            "2@:7000",
            "2@h:",
            "2@h:port",
            "2@h:70000",
            "h:1",
        ] {
            let e = parse_peer(bad).unwrap_err();
            assert!(e.contains(bad) && e.contains("ID@HOST:PORT"), "{bad}: {e}");
        }
        assert!(parse_peer("x@h:1").unwrap_err().contains("not a number"));
    }

    #[test]
    fn a_bad_file_is_refused_with_its_name_and_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("leader.toml");
        std::fs::write(&f, "id = 1\ndata_dir = \"x\"\n").unwrap();
        let e = cli(&["--config", f.to_str().unwrap()])
            .node_config()
            .unwrap_err();
        assert!(e.contains("leader.toml") && e.contains("data_dir"), "{e}");
        std::fs::write(&f, "id = \"one\"\n").unwrap();
        let e = cli(&["--config", f.to_str().unwrap()])
            .node_config()
            .unwrap_err();
        assert!(e.contains("leader.toml"), "{e}");
        let e = cli(&["--config", "/nonexistent/leader.toml"])
            .node_config()
            .unwrap_err();
        assert!(e.contains("/nonexistent/leader.toml"), "{e}");
        let e = cli(&["--id", "1", "--data-dir", "d", "--tls-cert", "c.pem"])
            .node_config()
            .unwrap_err();
        assert!(e.contains("--tls-ca"), "{e}");
    }
}
