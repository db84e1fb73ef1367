//! TLS on: certificates this test generates (a cluster CA and one certificate per
//! leader). HTTPS serves the API, peers replicate over mutual TLS, a plain-text
//! client gets no answer, and a leader with a certificate of another CA is refused.
//! (TLS off is every other test of this crate.)

mod common;

use common::{config, eventually, t, ADMIN};
use crdt_leader::{Node, NodeConfig, PeerConfig, TlsConfig};
use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

/// A certificate authority that signs leaf certificates for 127.0.0.1.
struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

impl Ca {
    fn new(name: &str) -> Self {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let pem = params.self_signed(&key).unwrap().pem();
        Self {
            issuer: Issuer::new(params, key),
            pem,
        }
    }

    /// TLS material for one leader: its certificate (for 127.0.0.1 and localhost,
    /// server and client use), its key, and this CA.
    fn leader(&self) -> TlsConfig {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        TlsConfig {
            cert_chain_pem: cert.pem().into_bytes(),
            key_pem: key.serialize_pem().into_bytes(),
            ca_pem: self.pem.clone().into_bytes(),
        }
    }
}

/// One HTTP/1.1 request over TLS, trusting `ca_pem`; returns status and body.
async fn https(addr: &str, ca_pem: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let mut tls = connector
        .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
        .await
        .unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {ADMIN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tls.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = tls.read_to_end(&mut out).await;
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {text:?}"));
    let body = text
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    (status, body)
}

fn tls_config(id: u64, dir: &std::path::Path, tls: TlsConfig) -> NodeConfig {
    let mut c = config(id, dir);
    c.tls = Some(tls);
    c
}

#[tokio::test]
async fn https_and_mutual_tls_between_peers() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("crdt test cluster CA");
    let mut c2 = tls_config(2, dir.path(), ca.leader());
    c2.peers = vec![PeerConfig { id: 1, addr: None }];
    let n2 = t(Node::start(c2)).await.unwrap();
    let mut c1 = tls_config(1, dir.path(), ca.leader());
    c1.peers = vec![PeerConfig {
        id: 2,
        addr: Some(n2.peer_addr().unwrap().to_string()),
    }];
    let n1 = t(Node::start(c1)).await.unwrap();
    let (h1, h2) = (
        n1.http_addr().unwrap().to_string(),
        n2.http_addr().unwrap().to_string(),
    );

    // HTTPS: a write at leader 1, read at leader 2 with its token (so it crossed the
    // mutual-TLS peer link).
    let (status, body) = t(https(
        &h1,
        &ca.pem,
        "POST",
        "/v1/docs/tls/keys/hits",
        r#"{"type":"gcounter","op":"increment","by":7}"#,
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let token = v["token"].as_str().unwrap().to_string();
    let (status, body) = t(https(
        &h2,
        &ca.pem,
        "GET",
        &format!("/v1/docs/tls/keys/hits?token={token}&wait_ms=10000"),
        "",
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["value"], 7);
    let (status, _) = t(https(&h2, &ca.pem, "GET", "/healthz", "")).await;
    assert_eq!(status, 200);

    // Plain HTTP to the TLS port is answered 400, saying to use HTTPS (not TLS bytes
    // that a client reads as an HTTP/0.9 answer).
    let plain = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let r = t(plain.get(format!("http://{h1}/healthz")).send())
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::BAD_REQUEST);
    let v: serde_json::Value = serde_json::from_str(&t(r.text()).await.unwrap()).unwrap();
    assert!(v["error"].as_str().unwrap().contains("https://"), "{v}");
    // HTTPS still works after it.
    let (status, _) = t(https(&h1, &ca.pem, "GET", "/healthz", "")).await;
    assert_eq!(status, 200);

    // A leader whose certificate comes from another CA (but which holds the shared
    // secret, and dials leader 2 as id 1 would) never gets a connection: the TLS
    // handshake fails before any id is read, and leader 2 counts it.
    let rogue_ca = Ca::new("someone else's CA");
    let rogue_dir = tempfile::tempdir().unwrap();
    let mut c3 = tls_config(1, rogue_dir.path(), rogue_ca.leader());
    c3.peers = vec![PeerConfig {
        id: 2,
        addr: Some(n2.peer_addr().unwrap().to_string()),
    }];
    let rogue = t(Node::start(c3)).await.unwrap();
    eventually("leader 2 counts refused TLS handshakes", || async {
        let (status, body) = https(&h2, &ca.pem, "GET", "/metrics", "").await;
        status == 200
            && body
                .lines()
                .filter(|l| l.starts_with("crdt_leader_auth_failures_total"))
                .any(|l| l.split_whitespace().last() != Some("0"))
    })
    .await;
    let status = t(rogue.status()).await.unwrap();
    assert!(status.peers.iter().all(|p| !p.connected), "{status:?}");
    t(rogue.shutdown()).await;
    t(n1.shutdown()).await;
    t(n2.shutdown()).await;
}
