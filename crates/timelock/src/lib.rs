//! Delay mode for Veil. Not written yet.
#![deny(missing_docs)]
