//! Proofs of possession of BLS signing keys. Not written yet.
