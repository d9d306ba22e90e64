//! Proof of knowledge of a time-lock puzzle exponent in the RSA group. Not written yet.
