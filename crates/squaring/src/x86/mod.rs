//! x86-64 kernels, each behind runtime feature detection: scalar MULX/ADX ([`mulx`]) and
//! multi-lane AVX2 / AVX-512F ([`simd`]) and AVX-512 IFMA ([`ifma`] across chains, [`ifma_single`] across the limbs of one chain).

pub(crate) mod ifma;
pub(crate) mod ifma_single;
pub(crate) mod mulx;
pub(crate) mod simd;
