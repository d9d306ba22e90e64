//! A Byzantine committee member played by the test: it speaks the member protocol with the
//! member's real signing key (from the harness's ceremony) and lies in everything it says.
//!
//! [`Byzantine::start`] takes over a member's port (the test kills the real process first),
//! so the honest members reach it through its recording proxy exactly as they reached the
//! real member. What it does:
//!
//! - **Votes**: every proposal it is asked to vote on is answered, in rotation, with
//!   garbage bytes in the vote field, a vote for the proposal whose signature is made with
//!   a key that is not the member's (`bad signature`), or a correctly signed vote for a
//!   *different* commitment in the same slot — and then the genuine vote for the proposal
//!   is also sent to every honest member as a `Vote` message, so the member has signed two
//!   votes for different batches in one slot (conflicting votes).
//! - **Shares**: on every certificate it receives for a batch it knows, it computes a share
//!   message for the batch with a key share of its own index but a wrong secret, signs it
//!   with the member's real key (so the message authenticates; only the shares and their
//!   proof are wrong), and sends it to every honest member through their proxies.
//!
//! Everything it injects is counted ([`Byzantine::injected`]).

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use veil_protocol::{
    Batch, Commitment, MemberMessage, ReleaseGuard, SharesMessage, SignedMessage, TxId,
    ValidationContext, Vote, VoteIntent, validate_batch,
};
use veil_threshold::{BlsPublicKey, KeyShare, SigningKey, ThresholdKey};

use crate::{CHAIN_ID, Net, http_post};

struct State {
    member: u32,
    key: SigningKey,
    bls_keys: Vec<BlsPublicKey>,
    quorum: usize,
    threshold_key: ThresholdKey,
    /// Honest members' proxy URLs, by member.
    honest: Vec<(u32, String)>,
    envelopes: Mutex<HashMap<TxId, Vec<u8>>>,
    batches: Mutex<HashMap<(u64, [u8; 32]), Batch>>,
    injected: Mutex<BTreeMap<&'static str, u64>>,
    rng: Mutex<ChaCha20Rng>,
    stop: AtomicBool,
}

impl State {
    fn count(&self, what: &'static str) {
        if let Ok(mut m) = self.injected.lock() {
            *m.entry(what).or_insert(0) += 1;
        }
    }

    fn random_bytes(&self, n: usize) -> Vec<u8> {
        let mut b = vec![0u8; n];
        if let Ok(mut r) = self.rng.lock() {
            r.fill_bytes(&mut b);
        }
        b
    }

    /// The reply to one member message.
    fn handle(&self, bytes: &[u8]) -> (u16, serde_json::Value) {
        let Ok(msg) = SignedMessage::from_bytes(bytes) else {
            return (400, serde_json::json!({ "code": "malformed" }));
        };
        let Ok(body) = msg.open(&self.bls_keys) else {
            return (401, serde_json::json!({ "code": "bad_signature" }));
        };
        match body {
            MemberMessage::Ciphertexts(encs) => {
                let mut map = self.envelopes.lock().expect("lock");
                for e in encs {
                    map.insert(veil_protocol::envelope::id_of(&e), e);
                }
                (200, serde_json::json!({ "stored": 0 }))
            }
            MemberMessage::Proposal(p) => {
                let commitment = p.batch.commitment();
                self.batches
                    .lock()
                    .expect("lock")
                    .insert((p.batch.slot, commitment.0), p.batch.clone());
                let genuine = VoteIntent {
                    slot: p.batch.slot,
                    parent: p.batch.parent,
                    commitment,
                };
                let turn: u64 = self.injected.lock().map(|m| m.values().sum()).unwrap_or(0);
                let vote_hex = match turn % 3 {
                    0 => {
                        self.count("garbage vote");
                        hex::encode(self.random_bytes(57))
                    }
                    1 => {
                        self.count("badly signed vote");
                        let mut seed = [0u8; 32];
                        seed.copy_from_slice(&self.random_bytes(32));
                        let stranger = SigningKey::generate(&mut ChaCha20Rng::from_seed(seed));
                        hex::encode(Vote::sign(&stranger, self.member, &genuine).to_bytes())
                    }
                    _ => {
                        self.count("conflicting votes");
                        let mut other = p.batch.clone();
                        other.ids.reverse();
                        if other.ids == p.batch.ids {
                            other.parent =
                                Commitment(self.random_bytes(32).try_into().expect("32"));
                        }
                        let conflicting = VoteIntent {
                            slot: p.batch.slot,
                            parent: other.parent,
                            commitment: other.commitment(),
                        };
                        // The genuine vote goes to every honest member as a message: the
                        // member has now signed two votes for different batches in one slot.
                        let v = Vote::sign(&self.key, self.member, &genuine);
                        let m = MemberMessage::Vote(v).sign(&self.key, self.member);
                        for (_, url) in &self.honest {
                            let _ = http_post(
                                &format!("{url}/internal/v1/messages"),
                                "application/octet-stream",
                                &m.to_bytes(),
                            );
                        }
                        hex::encode(Vote::sign(&self.key, self.member, &conflicting).to_bytes())
                    }
                };
                (200, serde_json::json!({ "vote": vote_hex }))
            }
            MemberMessage::Certificate(c) => {
                let batch = self
                    .batches
                    .lock()
                    .expect("lock")
                    .get(&(c.slot, c.commitment.0))
                    .cloned();
                if let Some(batch) = batch {
                    self.send_bad_shares(&c, &batch);
                }
                (200, serde_json::json!({ "status": "recorded" }))
            }
            MemberMessage::Shares(_) => (200, serde_json::json!({ "status": "stored" })),
            MemberMessage::Vote(_) => (400, serde_json::json!({ "code": "unexpected_message" })),
        }
    }

    /// Wrong shares under a genuine authorization, signed with the member's real key.
    fn send_bad_shares(&self, c: &veil_protocol::OrderCertificate, batch: &Batch) {
        let Ok(auth) = ReleaseGuard::new(self.bls_keys.clone(), self.quorum).authorize(c, batch)
        else {
            return;
        };
        let encodings: Vec<Vec<u8>> = {
            let map = self.envelopes.lock().expect("lock");
            let Some(encs) = batch.ids.iter().map(|id| map.get(id).cloned()).collect() else {
                return;
            };
            encs
        };
        let refs: Vec<&[u8]> = encodings.iter().map(Vec::as_slice).collect();
        let ctx = ValidationContext {
            committee_key: self.threshold_key.public_key(),
            delay_params: None,
            chain_ids: &[CHAIN_ID],
            current_slot: 0,
        };
        let Ok(envs) = validate_batch(&ctx, &refs)
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
        else {
            return;
        };
        let wrong_secret = ark_bls12_381::Fr::from(u64::from_be_bytes(
            self.random_bytes(8).try_into().expect("8 bytes"),
        ));
        let wrong = KeyShare::new(self.member, wrong_secret).expect("a key share of our index");
        let mut rng = ChaCha20Rng::seed_from_u64(c.slot);
        let Ok(shares) = SharesMessage::create(&mut rng, &auth, &wrong, &envs) else {
            return;
        };
        self.count("invalid shares");
        let m = MemberMessage::Shares(shares).sign(&self.key, self.member);
        for (_, url) in &self.honest {
            let _ = http_post(
                &format!("{url}/internal/v1/messages"),
                "application/octet-stream",
                &m.to_bytes(),
            );
        }
    }
}

/// A Byzantine member serving on the member's port; stops when dropped.
pub struct Byzantine {
    state: Arc<State>,
}

impl Byzantine {
    /// Takes over member `m`'s port (its process must be dead) and starts lying; `seed`
    /// drives its garbage.
    pub fn start(net: &Net, m: u32, seed: u64) -> Byzantine {
        let addr = net
            .node(m)
            .url
            .strip_prefix("http://")
            .expect("http url")
            .to_owned();
        let listener = crate::wait_for(
            &format!("member {m}'s port to be free"),
            Duration::from_secs(10),
            || TcpListener::bind(&addr).ok(),
        );
        listener.set_nonblocking(true).expect("nonblocking");
        let state = Arc::new(State {
            member: m,
            key: net.member_keys[(m - 1) as usize].clone(),
            bls_keys: net.bls_keys.clone(),
            quorum: net.quorum,
            threshold_key: net.threshold_key.clone(),
            honest: (1..=net.nodes.len() as u32)
                .filter(|&j| j != m)
                .map(|j| (j, net.proxies[(j - 1) as usize].clone()))
                .collect(),
            envelopes: Mutex::new(HashMap::new()),
            batches: Mutex::new(HashMap::new()),
            injected: Mutex::new(BTreeMap::new()),
            rng: Mutex::new(ChaCha20Rng::seed_from_u64(seed)),
            stop: AtomicBool::new(false),
        });
        let s = state.clone();
        std::thread::spawn(move || {
            while !s.stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let s = s.clone();
                        std::thread::spawn(move || serve(&s, stream));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Byzantine { state }
    }

    /// What it injected so far, by kind.
    pub fn injected(&self) -> BTreeMap<&'static str, u64> {
        self.state
            .injected
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default()
    }

    /// Stops serving (the port is released once the listener thread notices).
    pub fn stop(&self) {
        self.state.stop.store(true, Ordering::Relaxed);
    }
}

impl Drop for Byzantine {
    fn drop(&mut self) {
        self.stop();
    }
}

fn serve(state: &State, stream: TcpStream) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let Ok(clone) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(clone);
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h == "\r\n" || h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':')
            && k.trim().eq_ignore_ascii_case("content-length")
        {
            len = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; len.min(64 << 20)];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let (status, reply) = if path == "/internal/v1/messages" {
        state.handle(&body)
    } else {
        (404, serde_json::json!({ "code": "not_found" }))
    };
    let out = reply.to_string();
    let head = format!(
        "HTTP/1.1 {status} X\r\ncontent-length: {}\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n",
        out.len()
    );
    let mut stream = stream;
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(out.as_bytes());
    let _ = stream.flush();
}
