//! Durable state of one Veil committee node on redb (in progress).
#![deny(missing_docs)]
