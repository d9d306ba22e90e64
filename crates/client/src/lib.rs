//! Veil's wallet client: verify a committee, encrypt transactions (threshold, delay or dual
//! mode), submit them and follow them to their certified position.
//!
//! # Flow
//!
//! | step | what the client does | checked against |
//! | --- | --- | --- |
//! | trust | load `committee.json` and the delay parameters | keygen's checks (proofs of possession, key consistency) plus a pinned transcript hash or transcript; the parameters' Wesolowski proof ([`committee`]) |
//! | encrypt | build the [`veil_threshold::Label`] and the envelope in the chosen [`Mode`] | the service's [`ChainPolicy`]; for Ethereum payloads the signed transaction's chain id ([`encrypt`], [`eth`]) |
//! | submit | `POST /v1/transactions` | the receipt is a committee member's signature over the envelope id |
//! | follow | receipt → `(slot, index)` → the opened batch | the order certificate at quorum, the ids rebuilding the certified commitment, the id at the index, the plaintext equal to what was encrypted ([`verify`]) |
//!
//! # Security argument, briefly
//!
//! Privacy before commitment rests on the committee key being the real one: the client
//! refuses a `committee.json` whose proofs or pinned transcript do not verify, so it never
//! encrypts to a key a single party controls. Order binding rests on certificates: the
//! client accepts a position only inside a batch whose ids rebuild a commitment that a
//! quorum signed, so a node cannot claim a position the committee did not certify, and the
//! plaintext comparison means a node cannot claim the transaction opened to anything else.
//! Label binding (chain id, sender, slots, fee) is checked before encryption, so a wallet
//! does not produce a ciphertext for a chain the service does not serve.
//!
//! # What this crate does not link
//!
//! No GMP: delay and dual encryption use veil-squaring's pure-Rust fixed-base
//! exponentiation (`veil-timelock` without its `gmp` feature), so the crate can later
//! target wasm. Check with `cargo tree -p veil-client -e normal | grep -i -E "rug|gmp"`
//! (empty). Deviation: committee verification reuses `veil-keygen`, which brings its own
//! HTTP stack (axum, tokio, ureq) for the ceremony; a wasm build will need keygen's
//! committee checks split into a crate of their own.
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//! use veil_client::{BlockingClient, ChainPolicy, ClientOptions, Encryptor, Mode, TrustedCommittee, Trust};
//! use veil_threshold::{Label, SlotRange};
//!
//! let json = std::fs::read("committee.json").unwrap();
//! let committee = TrustedCommittee::load(&json, &Trust::default()).unwrap();
//! let policy = ChainPolicy::single(31_337);
//! let encryptor = Encryptor::new(committee.clone(), None, policy.clone());
//! let label = Label::new(31_337, [7; 32], SlotRange::new(0, 1_000).unwrap(), 0, vec![]).unwrap();
//! let tx = encryptor.encrypt(Mode::Threshold, label, b"signed tx bytes", &mut rand_core::OsRng).unwrap();
//!
//! let client = BlockingClient::new("http://127.0.0.1:7101", committee, policy, ClientOptions::default()).unwrap();
//! let (submitted, fin) = client.submit_and_follow(&tx, Duration::from_secs(30)).unwrap();
//! println!("{} is item {} of slot {}", submitted.id, fin.index, fin.slot);
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod client;
pub mod committee;
pub mod encrypt;
pub mod error;
pub mod eth;
pub mod rollup;
pub mod verify;

pub use client::{BlockingClient, ClientOptions, Submitted, VeilClient};
pub use committee::{ChainPolicy, Trust, TrustedCommittee, load_delay_params};
pub use encrypt::{EncryptedTx, Encryptor, Mode};
pub use error::ClientError;
pub use rollup::{parse_sub_batch, verify_sub_batch};
pub use verify::{Finality, TxStatus};
