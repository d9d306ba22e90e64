//! Veil's multi-process integration tests.
//!
//! The multi-process tests (a committee of real `veil-node` processes on loopback, a real
//! `anvil` node as the rollup) arrive with the node itself; until then this crate holds no
//! tests. The shell scripts beside it (`setup-machine.sh`, `run-tests.sh`) are the README's
//! test command.
#![deny(missing_docs)]
