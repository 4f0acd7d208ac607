//! An HTTP/2 client connection: TLS with ALPN `h2` for `https://`, prior
//! knowledge over plain TCP for `http://` (the loopback fakes).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use h2::client::SendRequest;
use tokio::net::TcpStream;

/// The parts of a base URL a request needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `https` or `http`.
    pub scheme: String,
    /// `host` or `host:port` as it goes in `:authority` (and is signed as `host`).
    pub authority: String,
    host: String,
    port: u16,
}

impl Target {
    /// Parses `http(s)://host[:port]`.
    pub fn parse(url: &str) -> Result<Self, String> {
        let u = reqwest::Url::parse(url).map_err(|e| format!("{url:?}: {e}"))?;
        let scheme = u.scheme().to_owned();
        if scheme != "http" && scheme != "https" {
            return Err(format!("{url:?} is not an http(s):// URL"));
        }
        let host = u.host_str().ok_or_else(|| format!("{url:?} has no host"))?;
        let port = u.port_or_known_default().unwrap_or(443);
        let authority = match u.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_owned(),
        };
        Ok(Self {
            scheme,
            authority,
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port,
        })
    }
}

/// Connects and completes the HTTP/2 handshake; the connection runs in its
/// own task until every handle is dropped.
pub async fn connect(
    target: &Target,
    timeout: Duration,
    ca_file: Option<&std::path::Path>,
) -> Result<SendRequest<Bytes>, String> {
    let connecting = async {
        let tcp = TcpStream::connect((target.host.as_str(), target.port))
            .await
            .map_err(|e| format!("connecting to {}: {e}", target.authority))?;
        let _ = tcp.set_nodelay(true);
        if target.scheme == "http" {
            return handshake(tcp).await;
        }
        let mut tls = crate::adapter::tls::verifying_client(ca_file).map_err(|e| e.to_string())?;
        tls.alpn_protocols = vec![b"h2".to_vec()];
        let name = rustls::pki_types::ServerName::try_from(target.host.clone())
            .map_err(|e| format!("{}: {e}", target.host))?;
        let stream = tokio_rustls::TlsConnector::from(Arc::new(tls))
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS to {}: {e}", target.authority))?;
        handshake(stream).await
    };
    tokio::time::timeout(timeout, connecting)
        .await
        .map_err(|_| format!("no connection to {} within {timeout:?}", target.authority))?
}

async fn handshake<T>(io: T) -> Result<SendRequest<Bytes>, String>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (send, connection) = h2::client::handshake(io)
        .await
        .map_err(|e| format!("HTTP/2 handshake: {e}"))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "aws http/2 connection ended");
        }
    });
    Ok(send)
}
