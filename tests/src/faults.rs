//! The fault suite's shared checks: a ledger of acknowledged envelopes, the four invariants
//! every fault test asserts ([`Net::assert_invariants`], [`Net::assert_resumes`]), the vote
//! tally, the seeded fault RNG and the per-test fault report.
//!
//! # The invariants
//!
//! After a fault has cleared, for the honest members:
//!
//! - **(a) nothing acknowledged is lost**: every envelope a member answered `200` for is
//!   eventually ordered and decrypted to its plaintext, at every running honest member.
//! - **(b) no conflicting output**: every certificate served for a slot verifies at quorum
//!   and all members' certificates for it name one commitment; every member's plaintext
//!   batch for it has the same items (ids, outcomes, openings; the share sets combined may
//!   differ, any `t` valid ones open a batch); no honest member voted for two commitments in one slot
//!   or for two children of one parent; no honest member released two different share
//!   messages for one slot; the sequencer signed one proposal per slot (unless the test
//!   itself plays an equivocating sequencer).
//! - **(c) plaintext order is certified order**: each member's plaintext batch for a slot
//!   opens exactly the certified ids in the certified order (its batch commitment equals the
//!   certificate's) and carries that certificate.
//! - **(d) the system resumes** ([`Net::assert_resumes`]): new envelopes submitted after the
//!   fault are certified and decrypted, and the formerly faulty member takes part again (it
//!   releases its shares for their slot).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use veil_protocol::{MemberMessage, Outcome, TxId, Vote};

use crate::{Net, Recorded, id_of, recorded_votes, wait_for};

/// How long the invariant checks wait for an acknowledged envelope to be decrypted.
pub const SETTLE_TIMEOUT: Duration = Duration::from_secs(60);

/// The fault RNG: seeded from `VEIL_FAULT_SEED` if set, else from `default`; the seed is
/// printed so a failing run can be replayed.
pub fn fault_rng(test: &str, default: u64) -> (ChaCha20Rng, u64) {
    let seed = std::env::var("VEIL_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default);
    eprintln!("{test}: fault seed {seed} (set VEIL_FAULT_SEED to replay another)");
    (ChaCha20Rng::seed_from_u64(seed), seed)
}

/// Envelopes some member acknowledged (answered `200` for), with their plaintexts.
#[derive(Clone, Debug, Default)]
pub struct Acked {
    /// Plaintext of every acknowledged envelope, by id.
    pub plain: BTreeMap<TxId, Vec<u8>>,
    /// The member that acknowledged each one (the first, if several did).
    pub by: BTreeMap<TxId, u32>,
    /// The envelope encodings, by id.
    pub envelopes: BTreeMap<TxId, Vec<u8>>,
}

impl Acked {
    /// Records `txs` (envelope, plaintext) as acknowledged by member `m`.
    pub fn record(&mut self, m: u32, txs: &[(Vec<u8>, Vec<u8>)]) {
        for (e, p) in txs {
            let id = id_of(e);
            self.plain.insert(id, p.clone());
            self.envelopes.insert(id, e.clone());
            self.by.entry(id).or_insert(m);
        }
    }

    /// How many envelopes were acknowledged.
    pub fn len(&self) -> usize {
        self.plain.len()
    }

    /// Whether none were.
    pub fn is_empty(&self) -> bool {
        self.plain.is_empty()
    }
}

/// What [`Net::assert_invariants`] checked.
#[derive(Clone, Debug, Default)]
pub struct Checked {
    /// Highest certified slot seen at any member.
    pub top_slot: u64,
    /// Acknowledged envelopes found decrypted (at every honest running member).
    pub delivered: usize,
    /// Slots holding acknowledged envelopes.
    pub slots: BTreeSet<u64>,
}

/// Per `(member, slot)` and per `(member, parent)`, the commitments each member voted for,
/// excluding `except`. Panics naming the member if any voted for two commitments in one
/// slot or for two children of one parent (the vote rule's two safety clauses).
pub fn assert_no_conflicting_votes(votes: &[Vote], except: &[u32]) {
    let mut by_slot: BTreeMap<(u32, u64), BTreeSet<[u8; 32]>> = BTreeMap::new();
    let mut by_parent: BTreeMap<(u32, [u8; 32]), BTreeSet<[u8; 32]>> = BTreeMap::new();
    for v in votes.iter().filter(|v| !except.contains(&v.member)) {
        by_slot
            .entry((v.member, v.slot))
            .or_default()
            .insert(v.commitment.0);
        by_parent
            .entry((v.member, v.parent.0))
            .or_default()
            .insert(v.commitment.0);
    }
    for ((m, slot), cs) in &by_slot {
        assert_eq!(
            cs.len(),
            1,
            "member {m} voted for {} commitments in slot {slot}",
            cs.len()
        );
    }
    for ((m, _), cs) in &by_parent {
        assert_eq!(
            cs.len(),
            1,
            "member {m} voted for {} children of one parent",
            cs.len()
        );
    }
}

/// Panics if an honest member (not in `except`) sent two different share messages for one
/// slot, or the sequencer signed two proposals for one slot (unless `equivocating_sequencer`).
fn assert_no_conflicting_shares_or_proposals(
    log: &[Recorded],
    except: &[u32],
    equivocating_sequencer: bool,
) {
    let mut shares: BTreeMap<(u32, u64), BTreeSet<Vec<u8>>> = BTreeMap::new();
    let mut proposals: BTreeMap<(u32, u64), BTreeSet<[u8; 32]>> = BTreeMap::new();
    for r in log {
        match r.body() {
            Some(MemberMessage::Shares(s)) if !except.contains(&s.member) => {
                shares
                    .entry((s.member, s.slot))
                    .or_default()
                    .insert(s.to_bytes());
            }
            Some(MemberMessage::Proposal(p)) => {
                proposals
                    .entry((p.sequencer.0, p.batch.slot))
                    .or_default()
                    .insert(p.batch.commitment().0);
            }
            _ => {}
        }
    }
    for ((m, slot), set) in &shares {
        assert_eq!(
            set.len(),
            1,
            "member {m} released {} different share messages for slot {slot}",
            set.len()
        );
    }
    if !equivocating_sequencer {
        for ((seq, slot), set) in &proposals {
            assert_eq!(
                set.len(),
                1,
                "sequencer {seq} signed {} proposals for slot {slot}",
                set.len()
            );
        }
    }
}

/// Which members [`Net::assert_invariants`] holds to the invariants.
#[derive(Clone, Debug, Default)]
pub struct Honest {
    /// Members excluded from every check (Byzantine, or not running).
    pub except: Vec<u32>,
    /// The test itself played an equivocating sequencer.
    pub equivocating_sequencer: bool,
}

impl Net {
    /// The validated envelopes of `ids` (all acknowledged, in `acked`), in order.
    pub fn validate_ids(
        &self,
        ids: &[TxId],
        acked: &Acked,
    ) -> Vec<veil_protocol::ValidatedEnvelope> {
        let encs: Vec<&[u8]> = ids
            .iter()
            .map(|id| {
                acked
                    .envelopes
                    .get(id)
                    .map(Vec::as_slice)
                    .unwrap_or_else(|| panic!("{} was not acknowledged", id.to_hex()))
            })
            .collect();
        self.validate(&encs)
    }

    /// Asserts invariants (a)–(c) of the fault suite (see the module documentation) for
    /// every member not in `honest.except`; waits (bounded by [`SETTLE_TIMEOUT`] per item)
    /// for every acknowledged envelope to be decrypted at each of them.
    pub fn assert_invariants(&self, acked: &Acked, honest: &Honest) -> Checked {
        let members: Vec<u32> = (1..=self.nodes.len() as u32)
            .filter(|m| !honest.except.contains(m))
            .collect();
        // (a) every acknowledged envelope decrypted to its plaintext, at every member.
        let mut slots: BTreeMap<TxId, (u64, usize)> = BTreeMap::new();
        for &m in &members {
            let node = self.node(m);
            for id in acked.plain.keys() {
                let st = wait_for(
                    &format!(
                        "member {m} to decrypt acknowledged {} (acknowledged by member {})",
                        id.to_hex(),
                        acked.by[id]
                    ),
                    SETTLE_TIMEOUT,
                    || node.tx_status(id).filter(|s| s["status"] == "decrypted"),
                );
                let slot = st["slot"].as_u64().expect("an ordered item has a slot");
                let index = st["index"].as_u64().expect("an ordered item has an index") as usize;
                let first = *slots.entry(*id).or_insert((slot, index));
                assert_eq!(
                    first,
                    (slot, index),
                    "members disagree on the position of {}",
                    id.to_hex()
                );
            }
        }
        // (b), (c) per slot, across members.
        let top = members
            .iter()
            .map(|&m| self.node(m).last_certified_slot())
            .max()
            .unwrap_or(0);
        for slot in 1..=top {
            let mut commitment = None;
            let mut plaintext: Option<Vec<veil_protocol::PlaintextItem>> = None;
            for &m in &members {
                let node = self.node(m);
                let Some(cert) = node.certificate(slot) else {
                    continue;
                };
                cert.verify(&self.bls_keys, self.quorum)
                    .unwrap_or_else(|e| panic!("member {m}'s certificate for slot {slot}: {e}"));
                assert_eq!(cert.slot, slot);
                match commitment {
                    None => commitment = Some(cert.commitment),
                    Some(c) => assert_eq!(
                        c, cert.commitment,
                        "conflicting certificates for slot {slot} (member {m})"
                    ),
                }
                let Some(batch) = node.plaintext_batch(slot) else {
                    continue;
                };
                assert_eq!(
                    batch.batch().commitment(),
                    cert.commitment,
                    "member {m}'s plaintext of slot {slot} is not the certified order"
                );
                assert_eq!(batch.certificate.commitment, cert.commitment);
                assert_eq!(batch.slot, slot);
                // The items (ids, outcomes, openings) must agree; the share sets each member
                // combined may differ (any t valid ones open the batch).
                match &plaintext {
                    None => plaintext = Some(batch.items.clone()),
                    Some(b) => assert!(
                        *b == batch.items,
                        "members hold different plaintext batches for slot {slot} (member {m})"
                    ),
                }
                for (index, item) in batch.items.iter().enumerate() {
                    if let Some(p) = acked.plain.get(&item.id) {
                        assert_eq!(slots.get(&item.id), Some(&(slot, index)));
                        assert_eq!(
                            item.outcome,
                            Outcome::Decrypted(p.clone()),
                            "member {m}: wrong plaintext for {} in slot {slot}",
                            item.id.to_hex()
                        );
                    }
                }
            }
        }
        // Every slot holding an acknowledged item was checked above at every member.
        for &(slot, _) in slots.values() {
            for &m in &members {
                assert!(
                    self.node(m).plaintext_batch(slot).is_some(),
                    "member {m} serves no plaintext batch for slot {slot}"
                );
            }
        }
        let log = self.recorder.messages();
        let votes = recorded_votes(&log);
        for v in votes.iter().filter(|v| !honest.except.contains(&v.member)) {
            v.verify(&self.bls_keys)
                .expect("recorded votes of honest members verify");
        }
        assert_no_conflicting_votes(&votes, &honest.except);
        assert_no_conflicting_shares_or_proposals(
            &log,
            &honest.except,
            honest.equivocating_sequencer,
        );
        Checked {
            top_slot: top,
            delivered: slots.len(),
            slots: slots.values().map(|(s, _)| *s).collect(),
        }
    }

    /// Invariant (d): submits `count` new envelopes (wallet `seed`) to member `via`, records
    /// them in `acked`, waits until they are decrypted at every member not in
    /// `honest.except`, and asserts that every member of `rejoined` released its shares for
    /// their slots (it takes part in decryption again). Returns those slots.
    pub fn assert_resumes(
        &self,
        via: u32,
        seed: u64,
        count: usize,
        rejoined: &[u32],
        acked: &mut Acked,
        honest: &Honest,
    ) -> BTreeSet<u64> {
        let txs = self.wallet(seed, count);
        let bulk: Vec<Vec<u8>> = txs.iter().map(|(e, _)| e.clone()).collect();
        let r = wait_for(
            &format!("member {via} to acknowledge new submissions after the fault"),
            SETTLE_TIMEOUT,
            || {
                let r = self.node(via).submit_bulk(&bulk);
                (r.status == 200).then_some(r)
            },
        );
        assert_eq!(r.status, 200);
        acked.record(via, &txs);
        let mut slots = BTreeSet::new();
        for m in (1..=self.nodes.len() as u32).filter(|m| !honest.except.contains(m)) {
            for (e, _) in &txs {
                let id = id_of(e);
                let st = wait_for(
                    &format!("member {m} to decrypt {} after the fault", id.to_hex()),
                    SETTLE_TIMEOUT,
                    || {
                        self.node(m)
                            .tx_status(&id)
                            .filter(|s| s["status"] == "decrypted")
                    },
                );
                slots.insert(st["slot"].as_u64().expect("slot"));
            }
        }
        for &m in rejoined {
            for &slot in &slots {
                wait_for(
                    &format!("member {m} to release its shares for slot {slot} after the fault"),
                    SETTLE_TIMEOUT,
                    || self.recorder.has_shares(m, slot).then_some(()),
                );
            }
        }
        slots
    }
}

/// One fault test's report line (written when `VEIL_FAULT_REPORT=<dir>` is set).
#[derive(Debug)]
pub struct FaultReport {
    name: String,
    seed: Option<u64>,
    faults: Vec<String>,
    injected: u64,
    affected: BTreeSet<u64>,
    start: Instant,
}

impl FaultReport {
    /// Starts the clock for fault test `name`.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            seed: None,
            faults: Vec::new(),
            injected: 0,
            affected: BTreeSet::new(),
            start: Instant::now(),
        }
    }

    /// The fault seed used.
    pub fn seed(&mut self, seed: u64) {
        self.seed = Some(seed);
    }

    /// One injected fault, described.
    pub fn fault(&mut self, what: impl Into<String>) {
        self.faults_n(1, what);
    }

    /// `n` injected faults of one kind, described.
    pub fn faults_n(&mut self, n: u64, what: impl Into<String>) {
        let what = what.into();
        eprintln!("{}: injected {n} × {what}", self.name);
        self.injected += n;
        self.faults.push(format!("{n} × {what}"));
    }

    /// Slots (batches) certified while a fault was active or being recovered from.
    pub fn affected(&mut self, slots: impl IntoIterator<Item = u64>) {
        self.affected.extend(slots);
    }

    /// Writes the JSON line into `$VEIL_FAULT_REPORT/<name>.jsonl` if the variable is set.
    /// Call after the assertions passed (lost is then 0 by construction: `acked` were all
    /// found decrypted).
    pub fn finish(self, acked: &Acked, checked: &Checked) {
        self.finish_counts(acked.len(), checked.delivered, 0);
    }

    /// As [`FaultReport::finish`], for a test in which some acknowledged envelopes are
    /// durably held but not (yet) ordered, by the sequencer's choice: `delivered` were
    /// decrypted, `held` are pending at every member.
    pub fn finish_counts(self, acknowledged: usize, delivered: usize, held: usize) {
        let lost = acknowledged.saturating_sub(delivered + held);
        assert_eq!(lost, 0, "{}: {lost} acknowledged envelopes lost", self.name);
        let line = serde_json::json!({
            "fault": self.name,
            "seed": self.seed,
            "faults_injected": self.injected,
            "faults": self.faults,
            "batches_affected": self.affected.len(),
            "slots_affected": self.affected,
            "acknowledged": acknowledged,
            "delivered": delivered,
            "held": held,
            "lost": lost,
            "duration_s": (self.start.elapsed().as_secs_f64() * 10.0).round() / 10.0,
        });
        eprintln!("{}: report {line}", self.name);
        let Some(dir) = std::env::var_os("VEIL_FAULT_REPORT") else {
            return;
        };
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("report directory");
        std::fs::write(
            dir.join(format!("{}.jsonl", self.name)),
            format!("{line}\n"),
        )
        .expect("report line");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use veil_protocol::{Commitment, VoteIntent};
    use veil_threshold::SigningKey;

    fn vote(key: &SigningKey, member: u32, slot: u64, parent: u8, commitment: u8) -> Vote {
        let intent = VoteIntent {
            slot,
            parent: Commitment([parent; 32]),
            commitment: Commitment([commitment; 32]),
        };
        Vote::sign(key, member, &intent)
    }

    fn keys() -> Vec<SigningKey> {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        (0..3).map(|_| SigningKey::generate(&mut rng)).collect()
    }

    #[test]
    fn consistent_votes_pass() {
        let k = keys();
        let votes = [
            vote(&k[0], 1, 1, 0, 1),
            vote(&k[0], 1, 1, 0, 1),
            vote(&k[1], 2, 1, 0, 1),
            vote(&k[0], 1, 2, 1, 2),
        ];
        assert_no_conflicting_votes(&votes, &[]);
    }

    #[test]
    #[should_panic(expected = "member 2 voted for 2 commitments in slot 1")]
    fn two_commitments_in_one_slot_are_caught() {
        let k = keys();
        assert_no_conflicting_votes(&[vote(&k[1], 2, 1, 0, 1), vote(&k[1], 2, 1, 0, 9)], &[]);
    }

    #[test]
    #[should_panic(expected = "member 1 voted for 2 children of one parent")]
    fn two_children_of_one_parent_are_caught() {
        let k = keys();
        assert_no_conflicting_votes(&[vote(&k[0], 1, 2, 7, 1), vote(&k[0], 1, 3, 7, 2)], &[]);
    }

    #[test]
    fn an_excluded_member_is_not_held_to_it() {
        let k = keys();
        assert_no_conflicting_votes(&[vote(&k[2], 3, 1, 0, 1), vote(&k[2], 3, 1, 0, 2)], &[3]);
    }
}
