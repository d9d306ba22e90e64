//! The member-to-member client: posts signed messages to a peer's
//! `POST /internal/v1/messages` and returns the status and body (blocking; callers run it on
//! worker threads).

use std::io::Read;
use std::time::Duration;

use thiserror::Error;
use veil_protocol::SignedMessage;

/// Largest reply read from a peer.
const MAX_REPLY: u64 = 64 * 1024 * 1024;

/// Why a peer call failed at the transport level.
#[derive(Debug, Error)]
pub enum PeerError {
    /// Connection refused, reset, timed out.
    #[error("peer {url} unreachable: {reason}")]
    Unreachable {
        /// The peer.
        url: String,
        /// Transport detail.
        reason: String,
    },
}

/// A peer's reply: HTTP status and body.
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as JSON, if it is.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// An HTTP client for peers.
#[derive(Clone)]
pub struct PeerClient {
    agent: ureq::Agent,
}

impl Default for PeerClient {
    fn default() -> Self {
        Self::new()
    }
}

impl PeerClient {
    /// A client with short connect and overall timeouts.
    pub fn new() -> Self {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_millis(500))
            .timeout(Duration::from_secs(5))
            .build();
        Self { agent }
    }

    /// Posts `message` to `base_url`'s internal message endpoint.
    pub fn send(&self, base_url: &str, message: &SignedMessage) -> Result<Reply, PeerError> {
        self.post(base_url, "/internal/v1/messages", &message.to_bytes())
    }

    /// Posts raw bytes (a sealed message, a link handshake) to `path` of `base_url`.
    pub fn post(&self, base_url: &str, path: &str, bytes: &[u8]) -> Result<Reply, PeerError> {
        let url = format!("{base_url}{path}");
        let res = self
            .agent
            .post(&url)
            .set("content-type", "application/octet-stream")
            .send_bytes(bytes);
        let resp = match res {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => {
                return Err(PeerError::Unreachable {
                    url,
                    reason: e.to_string(),
                });
            }
        };
        let status = resp.status();
        let mut body = Vec::new();
        resp.into_reader()
            .take(MAX_REPLY)
            .read_to_end(&mut body)
            .map_err(|e| PeerError::Unreachable {
                url: url.clone(),
                reason: e.to_string(),
            })?;
        Ok(Reply { status, body })
    }
}
