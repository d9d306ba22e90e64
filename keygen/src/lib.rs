//! Veil key ceremonies: distributed key generation and resharing for committees.
//!
//! Not built yet: the ceremony (publicly verifiable DKG, resharing, sealed shares and the
//! `keygen` CLI) is tracked as its own issue and depends on `veil-threshold`. This crate
//! exists so the workspace has its fixed layout; it exports nothing.
#![deny(missing_docs)]
