//! Multi-lane SIMD squaring (work in progress).
pub(crate) fn avx2_detected() -> bool {
    false
}
pub(crate) fn avx512_detected() -> bool {
    false
}
