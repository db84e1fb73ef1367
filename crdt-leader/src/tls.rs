//! TLS (rustls, ring provider) for the HTTP API and the peer connections, when
//! certificate paths are configured.
//!
//! - HTTP: the leader presents its certificate; clients authenticate with bearer
//!   tokens as without TLS.
//! - Peers: both sides present their certificates and verify the other's against the
//!   configured CA (mutual TLS); the dialer also checks that the certificate names
//!   the host it dialled (a DNS name or an IP address in the subject alternative
//!   names). The HMAC challenge-response runs inside TLS as without it, so a peer
//!   needs both a certificate of the cluster's CA and the shared secret.

use crate::error::Error;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// TLS material as PEM text: this leader's certificate chain and private key, and
/// the CA certificates that sign every leader's certificate.
#[derive(Clone)]
pub struct TlsConfig {
    /// This leader's certificate, then any intermediates (PEM).
    pub cert_chain_pem: Vec<u8>,
    /// This leader's private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key_pem: Vec<u8>,
    /// The CA certificates peers' certificates must chain to (PEM).
    pub ca_pem: Vec<u8>,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig")
            .field(
                "cert_chain_pem",
                &format_args!("{} bytes", self.cert_chain_pem.len()),
            )
            .field("key_pem", &"<redacted>")
            .field("ca_pem", &format_args!("{} bytes", self.ca_pem.len()))
            .finish()
    }
}

impl TlsConfig {
    /// Reads the three PEM files.
    ///
    /// # Errors
    /// [`Error::Config`] naming the file that cannot be read.
    pub fn from_files(cert: &Path, key: &Path, ca: &Path) -> Result<Self, Error> {
        let read = |flag: &str, p: &Path| {
            std::fs::read(p).map_err(|e| Error::Config(format!("{flag} {}: {e}", p.display())))
        };
        Ok(Self {
            cert_chain_pem: read("--tls-cert", cert)?,
            key_pem: read("--tls-key", key)?,
            ca_pem: read("--tls-ca", ca)?,
        })
    }
}

/// A connection of either kind, after its TLS handshake if any.
pub(crate) trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// The ready-to-use acceptors and connector.
#[derive(Clone)]
pub(crate) struct Tls {
    /// For the HTTP API (no client certificate).
    pub(crate) http: TlsAcceptor,
    /// For incoming peer connections (client certificate of the CA required).
    pub(crate) peer_accept: TlsAcceptor,
    /// For dialling peers (presents our certificate, verifies theirs).
    pub(crate) peer_connect: TlsConnector,
}

fn bad(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Config(format!("TLS: {what}: {e}"))
}

impl Tls {
    /// Builds the configurations; errors say which PEM input is wrong.
    pub(crate) fn new(c: &TlsConfig) -> Result<Self, Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&c.cert_chain_pem)
            .collect::<Result<_, _>>()
            .map_err(|e| bad("--tls-cert is not a PEM certificate chain", e))?;
        if chain.is_empty() {
            return Err(bad("--tls-cert", "no certificate in the file"));
        }
        let key = PrivateKeyDer::from_pem_slice(&c.key_pem)
            .map_err(|e| bad("--tls-key holds no PEM private key", e))?;
        let mut roots = RootCertStore::empty();
        for ca in CertificateDer::pem_slice_iter(&c.ca_pem) {
            let ca = ca.map_err(|e| bad("--tls-ca is not a PEM certificate list", e))?;
            roots
                .add(ca)
                .map_err(|e| bad("--tls-ca holds an unusable certificate", e))?;
        }
        if roots.is_empty() {
            return Err(bad("--tls-ca", "no certificate in the file"));
        }
        let roots = Arc::new(roots);
        let server = |verifier: Option<Arc<dyn rustls::server::danger::ClientCertVerifier>>| {
            let b = ServerConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .map_err(|e| bad("protocol versions", e))?;
            let b = match verifier {
                Some(v) => b.with_client_cert_verifier(v),
                None => b.with_no_client_auth(),
            };
            b.with_single_cert(chain.clone(), key.clone_key())
                .map_err(|e| bad("--tls-cert and --tls-key do not make a usable pair", e))
        };
        let verifier = WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
            .build()
            .map_err(|e| bad("--tls-ca", e))?;
        let http = server(None)?;
        let peer_accept = server(Some(verifier))?;
        let peer_connect = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| bad("protocol versions", e))?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .map_err(|e| bad("--tls-cert and --tls-key do not make a usable pair", e))?;
        Ok(Self {
            http: TlsAcceptor::from(Arc::new(http)),
            peer_accept: TlsAcceptor::from(Arc::new(peer_accept)),
            peer_connect: TlsConnector::from(Arc::new(peer_connect)),
        })
    }
}

/// The name a dialled peer's certificate must carry: the host of `HOST:PORT` (an IP
/// address or a DNS name; brackets of an IPv6 address removed).
pub(crate) fn server_name(addr: &str) -> Result<ServerName<'static>, Error> {
    let host = match addr.rsplit_once(':') {
        Some((h, _)) => h,
        None => addr,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(host.to_string())
        .map_err(|e| bad(&format!("peer address {addr:?} has no usable host name"), e))
}

/// The most TLS handshakes of HTTP clients in progress at once.
const HTTP_HANDSHAKES_MAX: usize = 256;
/// How long an HTTP client may take to finish its TLS handshake.
const HTTP_HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// An HTTPS listener for axum: accepts TCP, runs each TLS handshake in its own task
/// (a slow client holds up nobody; at most [`HTTP_HANDSHAKES_MAX`] at once, each
/// bounded in time), and hands over the finished ones.
pub(crate) struct TlsListener {
    ready: tokio::sync::mpsc::Receiver<(tokio_rustls::server::TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Starts accepting on `listener` until `shutdown`.
    pub(crate) fn new(
        listener: TcpListener,
        acceptor: TlsAcceptor,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> std::io::Result<Self> {
        let local = listener.local_addr()?;
        let (tx, ready) = tokio::sync::mpsc::channel(64);
        let limit = Arc::new(tokio::sync::Semaphore::new(HTTP_HANDSHAKES_MAX));
        tokio::spawn(async move {
            loop {
                let (stream, addr) = tokio::select! {
                    a = listener.accept() => match a {
                        Ok(a) => a,
                        Err(_) => {
                            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                            continue;
                        }
                    },
                    _ = shutdown.changed() => return,
                };
                let Ok(permit) = limit.clone().try_acquire_owned() else {
                    continue; // dropped: too many handshakes in progress
                };
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    let hs = tokio::time::timeout(HTTP_HANDSHAKE_TIMEOUT, async {
                        if plain_http(&stream).await {
                            answer_plain_http(stream).await;
                            return None;
                        }
                        acceptor.accept(stream).await.ok()
                    });
                    if let Ok(Some(tls)) = hs.await {
                        drop(permit);
                        let _ = tx.send((tls, addr)).await;
                    }
                });
            }
        });
        Ok(Self { ready, local })
    }
}

/// Whether a connection to the HTTPS port starts like a plain HTTP request (an ASCII
/// letter: a method's name) rather than a TLS handshake (record type 22).
async fn plain_http(stream: &TcpStream) -> bool {
    let mut first = [0u8; 1];
    matches!(stream.peek(&mut first).await, Ok(1) if first[0].is_ascii_uppercase())
}

/// Answers a plain HTTP request on the HTTPS port with a `400` that says so (as a JSON
/// error, like every other), instead of TLS bytes a client reads as garbage.
async fn answer_plain_http(mut stream: TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // The request's head is read first (at most 8 KiB, for at most a second): closing
    // a socket with unread bytes sends a reset, and some clients then drop the answer.
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    let wait = std::time::Duration::from_secs(1);
    while head.len() < 8 * 1024 && !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match tokio::time::timeout(wait, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => head.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    let body =
        r#"{"error":"this port serves HTTPS (the leader runs with --tls-cert): use https://"}"#;
    let answer = format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(answer.as_bytes()).await;
    let _ = stream.shutdown().await;
    // Whatever else the client sends (a body) is read and dropped until it closes.
    while let Ok(Ok(n)) = tokio::time::timeout(wait, stream.read(&mut buf)).await {
        if n == 0 {
            break;
        }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(c) => c,
            // Shut down: axum's graceful shutdown ends the server.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local)
    }
}

/// The three paths, as given on the command line or in the config file.
#[derive(Debug, Clone, Default)]
pub struct TlsPaths {
    /// `--tls-cert`.
    pub cert: Option<PathBuf>,
    /// `--tls-key`.
    pub key: Option<PathBuf>,
    /// `--tls-ca`.
    pub ca: Option<PathBuf>,
}

impl TlsPaths {
    /// `None` without TLS; the files' contents when all three are given.
    ///
    /// # Errors
    /// [`Error::Config`] when only some are given, or a file cannot be read.
    pub fn load(&self) -> Result<Option<TlsConfig>, Error> {
        match (&self.cert, &self.key, &self.ca) {
            (None, None, None) => Ok(None),
            (Some(c), Some(k), Some(a)) => TlsConfig::from_files(c, k, a).map(Some),
            _ => Err(Error::Config(
                "TLS needs all of --tls-cert, --tls-key and --tls-ca (or none of them)".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_names_come_from_the_dialled_host() {
        assert!(matches!(
            server_name("127.0.0.1:7000").unwrap(),
            ServerName::IpAddress(_)
        ));
        assert!(matches!(
            server_name("[::1]:7000").unwrap(),
            ServerName::IpAddress(_)
        ));
        assert!(matches!(
            server_name("leader-2.example:7000").unwrap(),
            ServerName::DnsName(_)
        ));
        assert!(server_name("bad host:1").is_err());
    }

    #[test]
    fn garbage_pem_is_refused_with_the_flag_named() {
        let c = TlsConfig {
            cert_chain_pem: b"not pem".to_vec(),
            key_pem: b"not pem".to_vec(),
            ca_pem: b"not pem".to_vec(),
        };
        let e = Tls::new(&c).err().unwrap().to_string();
        assert!(e.contains("--tls-cert"), "{e}");
    }

    #[test]
    fn some_paths_without_the_others_are_refused() {
        let p = TlsPaths {
            cert: Some("c.pem".into()),
            ..TlsPaths::default()
        };
        let e = p.load().unwrap_err().to_string();
        assert!(e.contains("--tls-cert, --tls-key and --tls-ca"), "{e}");
        assert!(TlsPaths::default().load().unwrap().is_none());
    }
}
