//! Sequential squaring `x^(2^t) mod N`: backend selection and the chunked driver.
//!
//! The driver runs a backend [`Engine`] in chunks of at most [`PROGRESS_EVERY`] squarings,
//! calling the progress callback between chunks (so cancellation latency is one chunk) and
//! reading out checkpoints at multiples of `every`. Engines keep their own representation
//! (64-bit Montgomery limbs for the scalar backends, 28- or 52-bit limbs transposed across
//! SIMD lanes for the vector ones, or one chain's 52-bit limbs spread over the lanes for the
//! IFMA single-chain kernel) and convert back to canonical [`Element`]s only when read,
//! so every backend returns bit-identical results.

use std::ops::ControlFlow;

use crate::modulus::{Element, Modulus};

/// The progress callback is called at least this often (in squarings per chain).
pub const PROGRESS_EVERY: u64 = 1 << 16;

/// The computation was cancelled by the progress callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("sequential squaring cancelled")]
pub struct Cancelled;

/// An implementation of the squaring hot loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    /// Portable Rust (u128 products); compiles and runs everywhere.
    Portable,
    /// x86-64 scalar with `MULX`/`ADCX`/`ADOX` (BMI2 + ADX), inline assembly.
    MulxAdx,
    /// x86-64 AVX2: 4 chains per 256-bit vector (8 with two interleaved vectors), 28-bit
    /// limbs.
    Avx2,
    /// x86-64 AVX-512F: 8 chains per 512-bit vector (16 with two interleaved vectors).
    Avx512,
    /// x86-64 AVX-512 IFMA (`vpmadd52luq`/`vpmadd52huq`), 52-bit limbs: 8 chains per vector
    /// (16 interleaved) for batches; for a single chain, that chain's limbs spread across
    /// the lanes (the lowest-latency backend where present).
    Avx512Ifma,
}

impl Backend {
    /// Every backend this CPU can run (runtime detection), `Portable` first.
    pub fn available() -> Vec<Backend> {
        let mut out = vec![Backend::Portable];
        for b in [
            Backend::MulxAdx,
            Backend::Avx2,
            Backend::Avx512,
            Backend::Avx512Ifma,
        ] {
            if b.is_available() {
                out.push(b);
            }
        }
        out
    }

    /// Whether this CPU can run `self`.
    pub fn is_available(self) -> bool {
        match self {
            Backend::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Backend::MulxAdx => crate::x86::mulx::detected(),
            #[cfg(target_arch = "x86_64")]
            Backend::Avx2 => crate::x86::simd::avx2_detected(),
            #[cfg(target_arch = "x86_64")]
            Backend::Avx512 => crate::x86::simd::avx512_detected(),
            #[cfg(target_arch = "x86_64")]
            Backend::Avx512Ifma => crate::x86::ifma::detected(),
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The fastest backend for one chain (lowest latency per squaring).
    pub fn best_single() -> Backend {
        if Backend::Avx512Ifma.is_available() {
            // Limbs of the one chain spread across IFMA lanes: lowest latency where present.
            Backend::Avx512Ifma
        } else if Backend::MulxAdx.is_available() {
            Backend::MulxAdx
        } else {
            Backend::Portable
        }
    }

    /// The fastest backend for many independent chains (highest throughput).
    pub fn best_batch() -> Backend {
        if Backend::Avx512Ifma.is_available() {
            Backend::Avx512Ifma
        } else if Backend::Avx512.is_available() {
            Backend::Avx512
        } else if Backend::Avx2.is_available() {
            Backend::Avx2
        } else {
            Backend::best_single()
        }
    }

    /// `self` if available, else the best available backend of the same kind: for one chain
    /// the best single-chain backend; for several, the next narrower SIMD, then the best
    /// scalar one.
    pub(crate) fn resolve(self, chains: usize) -> Backend {
        if self.is_available() {
            return self;
        }
        if chains <= 1 {
            return Backend::best_single();
        }
        match self {
            Backend::Avx512Ifma if Backend::Avx512.is_available() => Backend::Avx512,
            Backend::Avx512Ifma | Backend::Avx512 if Backend::Avx2.is_available() => Backend::Avx2,
            _ => Backend::best_single(),
        }
    }

    /// Short lowercase name (`portable`, `mulx-adx`, `avx2`, `avx512`, `avx512-ifma`) for
    /// benchmarks.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Portable => "portable",
            Backend::MulxAdx => "mulx-adx",
            Backend::Avx2 => "avx2",
            Backend::Avx512 => "avx512",
            Backend::Avx512Ifma => "avx512-ifma",
        }
    }
}

/// A backend's running state for a set of chains.
pub(crate) trait Engine {
    /// Squares every chain `k` more times.
    fn run(&mut self, k: u64);
    /// The current value of every chain, as canonical elements.
    fn read(&self) -> Vec<Element>;
}

/// Scalar engine: chains one after another, 64-bit Montgomery limbs.
struct ScalarEngine<'m> {
    m: &'m Modulus,
    mulx: bool,
    xs: Vec<Element>,
}

impl Engine for ScalarEngine<'_> {
    fn run(&mut self, k: u64) {
        for x in &mut self.xs {
            square_in_place(self.m, &mut x.limbs, k, self.mulx);
        }
    }
    fn read(&self) -> Vec<Element> {
        self.xs.clone()
    }
}

/// `x ← x^(2^k)` on Montgomery limbs with the scalar kernels (monomorphised for 16, 32
/// and 48 limbs).
pub(crate) fn square_in_place(m: &Modulus, x: &mut [u64], k: u64, mulx: bool) {
    #[cfg(target_arch = "x86_64")]
    if mulx && crate::x86::mulx::detected() {
        crate::x86::mulx::square_repeat(x, &m.n, m.n0, k);
        return;
    }
    let _ = mulx;
    use crate::limbs::{sqr_repeat_dyn, sqr_repeat_fixed};
    macro_rules! fixed {
        ($l:literal) => {{
            // The lengths were just matched, so the conversions cannot fail.
            let xa: &mut [u64; $l] = x.try_into().expect("length matched");
            let na: &[u64; $l] = m.n.as_slice().try_into().expect("length matched");
            sqr_repeat_fixed::<$l>(xa, na, m.n0, k)
        }};
    }
    match x.len() {
        16 => fixed!(16),
        32 => fixed!(32),
        48 => fixed!(48),
        _ => sqr_repeat_dyn(x, &m.n, m.n0, k),
    }
}

fn engine<'m>(m: &'m Modulus, xs: &[Element], backend: Backend) -> Box<dyn Engine + 'm> {
    for x in xs {
        assert_eq!(x.limbs.len(), m.limbs(), "element of a different modulus");
    }
    match backend.resolve(xs.len()) {
        #[cfg(target_arch = "x86_64")]
        Backend::Avx512Ifma if xs.len() == 1 => {
            match crate::x86::ifma_single::IfmaSingleEngine::new(m, &xs[0]) {
                Some(e) => Box::new(e),
                None => Box::new(ScalarEngine {
                    m,
                    mulx: true,
                    xs: xs.to_vec(),
                }),
            }
        }
        #[cfg(target_arch = "x86_64")]
        b @ (Backend::Avx2 | Backend::Avx512 | Backend::Avx512Ifma) => {
            use crate::x86::simd::Kind;
            let kind = match b {
                Backend::Avx2 => Kind::Avx2,
                Backend::Avx512 => Kind::Avx512F,
                _ => Kind::Ifma,
            };
            match crate::x86::simd::engine(m, xs, kind) {
                Some(e) => e,
                // Modulus too large for the 28-bit lane radix: scalar.
                None => Box::new(ScalarEngine {
                    m,
                    mulx: true,
                    xs: xs.to_vec(),
                }),
            }
        }
        b => Box::new(ScalarEngine {
            m,
            mulx: b == Backend::MulxAdx,
            xs: xs.to_vec(),
        }),
    }
}

/// Runs `engine` for `t` squarings, reporting progress and collecting checkpoints every
/// `every` squarings (if given).
fn drive(
    engine: &mut dyn Engine,
    t: u64,
    every: Option<u64>,
    progress: &mut dyn FnMut(u64) -> ControlFlow<()>,
) -> Result<Vec<Vec<Element>>, Cancelled> {
    let mut checkpoints = Vec::new();
    if every.is_some() {
        checkpoints.push(engine.read());
    }
    let mut done = 0u64;
    while done < t {
        let mut next = done.saturating_add(PROGRESS_EVERY).min(t);
        if let Some(e) = every {
            let next_cp = (done / e + 1).saturating_mul(e);
            next = next.min(next_cp);
        }
        engine.run(next - done);
        done = next;
        if let Some(e) = every
            && done.is_multiple_of(e)
        {
            checkpoints.push(engine.read());
        }
        if (done.is_multiple_of(PROGRESS_EVERY) || done == t) && progress(done).is_break() {
            return Err(Cancelled);
        }
    }
    Ok(checkpoints)
}

/// `x^(2^t) mod N`: `t` sequential squarings.
///
/// `progress(done)` is called after every [`PROGRESS_EVERY`] squarings and once at the end;
/// returning `ControlFlow::Break(())` cancels with `Err(Cancelled)`. A backend this CPU
/// lacks falls back to the best available one of the same kind; all backends return the
/// same value.
pub fn square_repeated(
    m: &Modulus,
    x: &Element,
    t: u64,
    backend: Backend,
    progress: &mut dyn FnMut(u64) -> ControlFlow<()>,
) -> Result<Element, Cancelled> {
    let mut e = engine(m, std::slice::from_ref(x), backend);
    drive(e.as_mut(), t, None, progress)?;
    let mut out = e.read();
    Ok(out.swap_remove(0))
}

/// Like [`square_repeated`], also returning the checkpoints `x^(2^(k·every))` for
/// `k = 0..=t/every` (for the Wesolowski prover). `every == 0` returns only `k = 0`
/// (the input itself).
pub fn square_repeated_checkpointed(
    m: &Modulus,
    x: &Element,
    t: u64,
    every: u64,
    backend: Backend,
    progress: &mut dyn FnMut(u64) -> ControlFlow<()>,
) -> Result<(Element, Vec<Element>), Cancelled> {
    let mut e = engine(m, std::slice::from_ref(x), backend);
    let every_opt = if every == 0 { None } else { Some(every) };
    let cps = drive(e.as_mut(), t, every_opt, progress)?;
    let checkpoints = if every == 0 {
        vec![x.clone()]
    } else {
        cps.into_iter().map(|mut v| v.swap_remove(0)).collect()
    };
    let mut out = e.read();
    Ok((out.swap_remove(0), checkpoints))
}

/// `x^(2^t) mod N` for many independent `x` at once (SIMD lanes on the vector backends);
/// the same results, in the same order, as [`square_repeated`] on each.
pub fn square_repeated_batch(
    m: &Modulus,
    xs: &[Element],
    t: u64,
    backend: Backend,
    progress: &mut dyn FnMut(u64) -> ControlFlow<()>,
) -> Result<Vec<Element>, Cancelled> {
    if xs.is_empty() {
        return Ok(Vec::new());
    }
    let mut e = engine(m, xs, backend);
    drive(e.as_mut(), t, None, progress)?;
    Ok(e.read())
}
