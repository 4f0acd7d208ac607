//! A throwaway certificate authority and a TLS-terminating TCP proxy, for the
//! tests that reach the stores over TLS (each binary includes this file with
//! `#[path]`).
//!
//! The proxy stands in front of tansu, which has no TLS listener: the broker
//! advertises the proxy's address, so every connection librdkafka opens
//! (bootstrap and the broker of the metadata) goes through TLS.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use std::{net::SocketAddr, path::PathBuf, sync::Arc};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{
    TlsAcceptor,
    rustls::{
        self, ServerConfig,
        pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
    },
};

/// A test CA and one server certificate it issued, for `localhost` and
/// `127.0.0.1`, as PEM files in a temporary directory.
pub(crate) struct TestCa {
    dir: tempfile::TempDir,
}

impl TestCa {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "voice-gateway test CA");
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
        let mut server =
            CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
        server
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let key = KeyPair::generate().unwrap();
        let cert = server.signed_by(&key, &ca).unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
        std::fs::write(dir.path().join("server.pem"), cert.pem()).unwrap();
        std::fs::write(dir.path().join("server.key"), key.serialize_pem()).unwrap();
        Self { dir }
    }

    pub(crate) fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    pub(crate) fn cert(&self) -> PathBuf {
        self.dir.path().join("server.pem")
    }

    pub(crate) fn key(&self) -> PathBuf {
        self.dir.path().join("server.key")
    }

    fn server_config(&self) -> ServerConfig {
        let certs = CertificateDer::pem_file_iter(self.cert())
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_file(self.key()).unwrap();
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap()
    }
}

/// A TLS listener on loopback that forwards each connection's clear text to
/// `upstream`; stops when dropped.
pub(crate) struct TlsProxy {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl TlsProxy {
    /// Binds first, so the upstream can be told the address before it starts.
    pub(crate) async fn bind() -> (TcpListener, SocketAddr) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        (listener, addr)
    }

    pub(crate) fn start(listener: TcpListener, ca: &TestCa, upstream: SocketAddr) -> Self {
        let addr = listener.local_addr().unwrap();
        let acceptor = TlsAcceptor::from(Arc::new(ca.server_config()));
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A client that does not speak TLS ends here, like at a real TLS port.
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let Ok(mut up) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut up).await;
                });
            }
        });
        Self { addr, task }
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `localhost:PORT` of `addr`: the name the test certificate carries.
pub(crate) fn localhost(addr: SocketAddr) -> String {
    format!("localhost:{}", addr.port())
}

/// A Kafka consumer over TLS (trusting `ca`) reading partition 0 of `topic`
/// from the beginning.
#[allow(dead_code)] // Not every binary that includes this file reads Kafka.
pub(crate) fn kafka_consumer(
    bootstrap: &str,
    topic: &str,
    ca: &std::path::Path,
) -> rdkafka::consumer::BaseConsumer {
    let props = [
        ("security.protocol", "SSL".to_owned()),
        ("ssl.ca.location", ca.display().to_string()),
    ];
    kafka_consumer_with(bootstrap, topic, &props)
}

/// A Kafka consumer with `props` (TLS, SASL…) reading partition 0 of
/// `topic` from the beginning.
#[allow(dead_code)] // Not every binary that includes this file reads Kafka.
pub(crate) fn kafka_consumer_with(
    bootstrap: &str,
    topic: &str,
    props: &[(&str, String)],
) -> rdkafka::consumer::BaseConsumer {
    use rdkafka::{
        ClientConfig, Offset, TopicPartitionList,
        consumer::{BaseConsumer, Consumer},
    };
    let mut config = ClientConfig::new();
    for (k, v) in props {
        config.set(*k, v);
    }
    let consumer: BaseConsumer = config
        .set("bootstrap.servers", bootstrap)
        .set(
            "group.id",
            format!("vg-tls-{}", uuid::Uuid::new_v4().simple()),
        )
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&tpl).unwrap();
    consumer
}
