//! Fixed-width Montgomery arithmetic and the sequential-squaring solver. Not written yet.
#![deny(missing_docs)]
