//! Proofs of the key ceremony's publicly verifiable dealings. Not written yet.
