//! Prometheus text exposition (format 0.0.4) of the node's counters and histograms,
//! hand-written: a handful of atomics, no registry.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Histogram bucket bounds, in seconds.
const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// A cumulative histogram.
#[derive(Default)]
pub struct Histogram {
    counts: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, d: Duration) {
        let s = d.as_secs_f64();
        for (i, b) in BUCKETS.iter().enumerate() {
            if s <= *b {
                self.counts[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add(d.as_micros() as u64, Ordering::Relaxed);
    }

    fn render(&self, name: &str, help: &str, out: &mut String) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{b}\"}} {}",
                self.counts[i].load(Ordering::Relaxed)
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {count}");
    }
}

/// The node's metrics.
#[derive(Default)]
pub struct Metrics {
    /// Envelopes accepted (new) through the public API.
    pub submissions: AtomicU64,
    /// Envelopes received by gossip and stored.
    pub gossiped: AtomicU64,
    /// Rejections by error code (public API and member messages).
    pub rejections: Mutex<BTreeMap<&'static str, u64>>,
    /// Votes signed (each after its intent was durable).
    pub votes: AtomicU64,
    /// Proposals refused by the vote rule.
    pub vote_refusals: AtomicU64,
    /// Certificates stored.
    pub slots_certified: AtomicU64,
    /// Share messages released (each after its certificate was stored).
    pub shares_released: AtomicU64,
    /// Share messages received from other members.
    pub shares_received: AtomicU64,
    /// Plaintext batches stored.
    pub plaintext_batches: AtomicU64,
    /// Items decrypted / invalid.
    pub items_decrypted: AtomicU64,
    /// Items that failed to decrypt (kept in position, marked invalid).
    pub items_invalid: AtomicU64,
    /// Proposals made by the built-in sequencer.
    pub proposals: AtomicU64,
    /// Certificate → plaintext latency.
    pub batch_latency: Histogram,
    /// Arrival at this node → plaintext latency, per item.
    pub submit_to_plaintext: Histogram,
    /// Forwarding to an Ethereum endpoint.
    pub forward: crate::forward::ForwardMetrics,
    /// The puzzle solver and reveals.
    pub solver: SolverMetrics,
}

/// Counters of the puzzle solver and of reveals.
#[derive(Default)]
pub struct SolverMetrics {
    /// Solver jobs started (one per slot and mode; a job solves its puzzles in parallel
    /// lanes).
    pub jobs: AtomicU64,
    /// Puzzles the solver opened (each stored with its Wesolowski proof).
    pub solved: AtomicU64,
    /// Solver jobs cancelled because every puzzle in them was settled another way.
    pub cancelled: AtomicU64,
    /// Squarings done by the solver (all lanes of a job count once: they run together).
    pub squarings: AtomicU64,
    /// Puzzles in the running job (0 when idle).
    pub active_lanes: AtomicU64,
    /// Squarings done in the running job.
    pub job_done: AtomicU64,
    /// Squarings the running job needs (`T`).
    pub job_target: AtomicU64,
    /// Reveals accepted and stored.
    pub reveals: AtomicU64,
}

impl Metrics {
    /// Counts a rejection with `code`.
    pub fn reject(&self, code: &'static str) {
        if let Ok(mut m) = self.rejections.lock() {
            *m.entry(code).or_insert(0) += 1;
        }
    }

    /// The text exposition.
    pub fn render(&self, member: u32, last_certified: u64) -> String {
        let mut out = String::new();
        let member_gauge = AtomicU64::new(u64::from(member));
        let (fw, sv) = (&self.forward, &self.solver);
        let counters: [(&str, &str, &AtomicU64); 25] = [
            (
                "veil_submissions_total",
                "envelopes accepted through the API",
                &self.submissions,
            ),
            (
                "veil_gossip_envelopes_total",
                "envelopes stored from member gossip",
                &self.gossiped,
            ),
            (
                "veil_votes_total",
                "votes signed after their intent was durable",
                &self.votes,
            ),
            (
                "veil_vote_refusals_total",
                "proposals refused by the vote rule",
                &self.vote_refusals,
            ),
            (
                "veil_slots_certified_total",
                "order certificates stored",
                &self.slots_certified,
            ),
            (
                "veil_shares_released_total",
                "share messages released after a stored certificate",
                &self.shares_released,
            ),
            (
                "veil_shares_received_total",
                "share messages received from members",
                &self.shares_received,
            ),
            (
                "veil_plaintext_batches_total",
                "plaintext batches stored",
                &self.plaintext_batches,
            ),
            (
                "veil_items_decrypted_total",
                "items decrypted",
                &self.items_decrypted,
            ),
            (
                "veil_items_invalid_total",
                "items that failed to decrypt",
                &self.items_invalid,
            ),
            (
                "veil_proposals_total",
                "proposals made by the built-in sequencer",
                &self.proposals,
            ),
            ("veil_member", "this member's index", &member_gauge),
            (
                "veil_forward_accepted_total",
                "forwarded items the endpoint accepted",
                &fw.accepted,
            ),
            (
                "veil_forward_rejected_total",
                "forwarded items refused by the endpoint (recorded, not retried)",
                &fw.rejected,
            ),
            (
                "veil_forward_skipped_invalid_total",
                "invalid items never forwarded",
                &fw.skipped_invalid,
            ),
            (
                "veil_forward_transport_errors_total",
                "forwarding transport failures (retried)",
                &fw.transport_errors,
            ),
            (
                "veil_forward_cursor_slot",
                "slot the forwarder is at",
                &fw.cursor_slot,
            ),
            (
                "veil_solver_jobs_total",
                "puzzle solver jobs started",
                &sv.jobs,
            ),
            (
                "veil_solver_solved_total",
                "puzzles opened by the solver",
                &sv.solved,
            ),
            (
                "veil_solver_cancelled_total",
                "solver jobs cancelled (settled by reveal or shares)",
                &sv.cancelled,
            ),
            (
                "veil_solver_squarings_total",
                "sequential squarings done by the solver",
                &sv.squarings,
            ),
            (
                "veil_solver_active_lanes",
                "puzzles in the running solver job",
                &sv.active_lanes,
            ),
            (
                "veil_solver_job_done",
                "squarings done in the running solver job",
                &sv.job_done,
            ),
            (
                "veil_solver_job_target",
                "squarings the running solver job needs",
                &sv.job_target,
            ),
            (
                "veil_reveals_total",
                "puzzle reveals accepted and stored",
                &sv.reveals,
            ),
        ];
        for (name, help, v) in counters {
            let kind = if name.ends_with("_total") {
                "counter"
            } else {
                "gauge"
            };
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {}",
                v.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP veil_last_certified_slot last certified slot\n# TYPE veil_last_certified_slot gauge\nveil_last_certified_slot {last_certified}"
        );
        let _ = writeln!(
            out,
            "# HELP veil_rejections_total rejected requests by error code\n# TYPE veil_rejections_total counter"
        );
        if let Ok(m) = self.rejections.lock() {
            for (code, n) in m.iter() {
                let _ = writeln!(out, "veil_rejections_total{{code=\"{code}\"}} {n}");
            }
        }
        self.batch_latency.render(
            "veil_batch_latency_seconds",
            "certificate to plaintext batch",
            &mut out,
        );
        self.submit_to_plaintext.render(
            "veil_submit_to_plaintext_seconds",
            "arrival at this node to plaintext",
            &mut out,
        );
        out
    }
}
