//! x86-64 kernels, each behind runtime feature detection: scalar MULX/ADX ([`mulx`]) and
//! multi-lane AVX2 / AVX-512F ([`simd`]) and AVX-512 IFMA ([`ifma`]).

pub(crate) mod ifma;
pub(crate) mod mulx;
pub(crate) mod simd;
