//! The puzzle solver: opens the time-lock puzzles of certified delay and dual items by
//! sequential squaring, off the async runtime, with a Wesolowski proof per puzzle so the
//! opening is publicly checkable ([`veil_protocol::Opening::Solution`]).
//!
//! # Scheduling
//!
//! After a slot is certified, its delay-only items are queued at once and its dual items
//! after `solver.dual_grace_ms` (the committee's shares normally open those first). One
//! dedicated thread takes jobs in slot order (delivery is in slot order, so the earliest
//! slot's puzzles matter first). Items of one batch share `T`, so a job with several
//! puzzles runs them together in SIMD lanes ([`veil_squaring::square_repeated_batch`] with
//! [`Backend::best_batch`], up to [`MAX_LANES`] per job); a job with one puzzle uses the
//! lowest-latency single-chain backend ([`Backend::best_single`]).
//!
//! # Proofs from lanes
//!
//! The Wesolowski prover needs the checkpoints `x^(2^(jκγ))` of each chain
//! ([`wesolowski::prove_from_checkpoints`]). The batched evaluation is run in segments of
//! exactly `κγ` squarings, keeping every lane's value at each boundary: the same
//! checkpoints the single-chain prover stores, at the price of re-entering the SIMD engine
//! once per segment (negligible: a segment is thousands of squarings for real `T`). Each
//! solution is encoded in the time-lock crate's frozen `PuzzleSolution` layout and decoded
//! back through its public decoder, and the batch opening verifies it like any other.
//!
//! # Cancellation, progress, crashes
//!
//! The progress callback (every segment, at most every [`PROGRESS_EVERY`] squarings) checks
//! at most every 50 ms whether any puzzle of the job is still needed — not settled by a
//! stored reveal or solution, nor by the committee's shares, nor in an opened slot — and
//! cancels the job otherwise; it also publishes the job's progress in `/metrics`
//! (`veil_solver_job_done` / `veil_solver_job_target`). Solutions are stored durably before
//! the slot is re-opened. A node restarted mid-solve re-queues every unsettled puzzle of
//! every certified, unopened slot and solves it from the start: checkpointing the lanes to
//! disk would save at most one `T` of work per crash, and the stored openings make finished
//! puzzles survive.
//!
//! [`PROGRESS_EVERY`]: veil_squaring::PROGRESS_EVERY

use std::ops::ControlFlow;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use tracing::{debug, info, info_span, warn};
use veil_protocol::{Opening, TxId};
use veil_squaring::{Backend, Cancelled, Element};
use veil_timelock::delay::{DELAY_VERSION, SOLUTION_KIND};
use veil_timelock::{DelayParams, ProverTuning, PuzzleSolution, wesolowski};

use crate::node::Node;

/// Largest number of puzzles solved together in one job (two interleaved 8-lane vectors).
pub const MAX_LANES: usize = 16;

/// One unit of solver work: puzzles of one certified slot.
#[derive(Clone, Debug)]
pub struct Job {
    /// The slot.
    pub slot: u64,
    /// (index in the batch, id) of each puzzle.
    pub items: Vec<(usize, TxId)>,
    /// Not started before this instant (the dual grace period).
    pub not_before: Instant,
}

/// The queue between the node and the solver thread.
#[derive(Default)]
pub struct SolverQueue {
    jobs: Mutex<Vec<Job>>,
    ready: Condvar,
}

impl SolverQueue {
    /// Queues a job (split into jobs of at most [`MAX_LANES`] puzzles).
    pub fn push(&self, job: Job) {
        let mut jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        for chunk in job.items.chunks(MAX_LANES) {
            jobs.push(Job {
                items: chunk.to_vec(),
                ..job.clone()
            });
        }
        self.ready.notify_all();
    }

    /// The due job of the lowest slot, waiting up to `wait` for one.
    fn take(&self, wait: Duration) -> Option<Job> {
        let mut jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let due = jobs
            .iter()
            .enumerate()
            .filter(|(_, j)| j.not_before <= now)
            .min_by_key(|(_, j)| j.slot)
            .map(|(i, _)| i);
        if let Some(i) = due {
            return Some(jobs.swap_remove(i));
        }
        let next = jobs.iter().map(|j| j.not_before).min();
        let wait = next.map_or(wait, |t| t.saturating_duration_since(now).min(wait));
        let _ = self.ready.wait_timeout(jobs, wait);
        None
    }
}

/// Runs the solver loop until the node stops.
pub fn run(node: Arc<Node>) {
    while !node.stopping.load(Ordering::Relaxed) {
        let Some(job) = node.solver_queue.take(Duration::from_millis(200)) else {
            continue;
        };
        if let Err(e) = solve_job(&node, job) {
            warn!(error = %e, "solver job failed");
        }
    }
}

/// Solves the still-needed puzzles of `job`, stores their proven solutions, and re-opens
/// the slot.
pub fn solve_job(node: &Arc<Node>, job: Job) -> Result<(), crate::node::NodeError> {
    let Some(params) = node.keys.delay_params.as_ref() else {
        return Ok(());
    };
    let slot = job.slot;
    let items: Vec<(usize, TxId)> = job
        .items
        .into_iter()
        .filter(|(i, id)| node.puzzle_needed(slot, *i, id))
        .collect();
    if items.is_empty() {
        return Ok(());
    }
    let ids: Vec<TxId> = items.iter().map(|(_, id)| *id).collect();
    let Some(envs) = node.envelopes_for_ids(&ids)? else {
        return Ok(());
    };
    let puzzles: Vec<Element> = envs
        .iter()
        .filter_map(|e| match e.body() {
            veil_protocol::ValidatedBody::Delay { ciphertext, .. } => {
                Some(ciphertext.puzzle().element().clone())
            }
            veil_protocol::ValidatedBody::Dual { ciphertext, .. } => {
                Some(ciphertext.puzzle().element().clone())
            }
            veil_protocol::ValidatedBody::Threshold(_) => None,
        })
        .collect();
    if puzzles.len() != items.len() {
        warn!(slot, "solver job names a non-puzzle item; skipped");
        return Ok(());
    }
    let _span = info_span!("solve", slot, lanes = items.len()).entered();
    let m = &node.metrics.solver;
    m.jobs.fetch_add(1, Ordering::Relaxed);
    m.active_lanes.store(items.len() as u64, Ordering::Relaxed);
    m.job_target.store(params.squarings(), Ordering::Relaxed);
    m.job_done.store(0, Ordering::Relaxed);
    info!(squarings = params.squarings(), "solving puzzles");
    let started = Instant::now();
    let mut last_check = Instant::now();
    let mut last_done = 0u64;
    let mut progress = |done: u64| {
        m.squarings
            .fetch_add(done.saturating_sub(last_done), Ordering::Relaxed);
        last_done = last_done.max(done);
        m.job_done.store(done, Ordering::Relaxed);
        if node.stopping.load(Ordering::Relaxed) {
            return ControlFlow::Break(());
        }
        if last_check.elapsed() >= Duration::from_millis(50) {
            last_check = Instant::now();
            if !items.iter().any(|(i, id)| node.puzzle_needed(slot, *i, id)) {
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    };
    let solved = solve_puzzles(params, &puzzles, &mut progress);
    m.active_lanes.store(0, Ordering::Relaxed);
    let solutions = match solved {
        Ok(s) => s,
        Err(Cancelled) => {
            m.cancelled.fetch_add(1, Ordering::Relaxed);
            info!("solver job cancelled: its puzzles were settled another way");
            return Ok(());
        }
    };
    for ((_, id), bytes) in items.iter().zip(solutions) {
        let _tx = info_span!("tx", id = %id).entered();
        if node.storage.record_opening(id, &Opening::Solution(bytes))? {
            m.solved.fetch_add(1, Ordering::Relaxed);
            info!(elapsed = ?started.elapsed(), "puzzle solved; solution stored");
        } else {
            debug!("puzzle already settled");
        }
    }
    node.puzzles_settled(slot);
    Ok(())
}

/// Solves `puzzles` (all under `params`) and returns each one's `PuzzleSolution` encoding.
pub fn solve_puzzles(
    params: &DelayParams,
    puzzles: &[Element],
    progress: &mut dyn FnMut(u64) -> ControlFlow<()>,
) -> Result<Vec<Vec<u8>>, Cancelled> {
    if let [x] = puzzles {
        let s = PuzzleSolution::solve(params, x, Backend::best_single(), progress)?;
        return Ok(vec![s.to_bytes(params)]);
    }
    let group = params.group();
    let m = group.modulus();
    let t = params.squarings();
    let tuning = ProverTuning::for_squarings(t);
    let every = tuning.checkpoint_every().max(1);
    let mut lanes: Vec<Element> = puzzles.to_vec();
    let mut checkpoints: Vec<Vec<Element>> = puzzles.iter().map(|x| vec![x.clone()]).collect();
    let mut done = 0u64;
    while done < t {
        let len = every.min(t - done);
        let offset = done;
        lanes = veil_squaring::square_repeated_batch(
            m,
            &lanes,
            len,
            Backend::best_batch(),
            &mut |d| progress(offset + d),
        )?;
        done += len;
        if done.is_multiple_of(every) {
            for (c, y) in checkpoints.iter_mut().zip(&lanes) {
                c.push(y.clone());
            }
        }
        if progress(done).is_break() {
            return Err(Cancelled);
        }
    }
    let mut out = Vec::with_capacity(puzzles.len());
    for ((x, y), cps) in puzzles.iter().zip(&lanes).zip(&checkpoints) {
        let proof = wesolowski::prove_from_checkpoints(group, x, y, t, tuning, cps);
        // The frozen `PuzzleSolution` layout: kind ‖ version ‖ params id ‖ puzzle ‖ output ‖ π.
        let mut bytes = vec![SOLUTION_KIND, DELAY_VERSION];
        bytes.extend_from_slice(params.id());
        bytes.extend_from_slice(&group.encode(x));
        bytes.extend_from_slice(&group.encode(y));
        bytes.extend_from_slice(&proof.to_bytes(group));
        // Round-trip through the public decoder so a layout change fails here, loudly.
        match PuzzleSolution::from_bytes(params, &bytes) {
            Ok(s) => out.push(s.to_bytes(params)),
            Err(e) => {
                warn!(error = %e, "batched solution does not decode; solving this one alone");
                let s = PuzzleSolution::solve(params, x, Backend::best_single(), progress)?;
                out.push(s.to_bytes(params));
            }
        }
    }
    Ok(out)
}
