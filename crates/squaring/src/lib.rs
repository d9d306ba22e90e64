//! Fixed-width Montgomery arithmetic modulo RSA moduli and Veil's sequential-squaring solver.
//!
//! (Full documentation below is being written; see the module docs.)
#![deny(missing_docs)]

mod fixed_base;
mod limbs;
mod modulus;
mod solver;
#[cfg(target_arch = "x86_64")]
mod x86;

pub use fixed_base::FixedBase;
pub use modulus::{ArithError, Element, Modulus};
pub use solver::{
    Backend, Cancelled, PROGRESS_EVERY, square_repeated, square_repeated_batch,
    square_repeated_checkpointed,
};
