//! Threshold encryption for Veil. Not written yet.
#![deny(missing_docs)]
