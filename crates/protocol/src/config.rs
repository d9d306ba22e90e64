//! The committee's size and fault bounds, checked at start-up.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Why a committee configuration is unsafe.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ConfigError {
    /// `quorum ≤ (n + f)/2`: two quorums might share only faulty members.
    #[error("quorum {quorum} too small for n = {n}, f = {f}: need more than {}", (n + f) / 2)]
    QuorumTooSmall {
        /// Quorum.
        quorum: u32,
        /// Committee size.
        n: u32,
        /// Tolerated faults.
        f: u32,
    },
    /// `quorum > n`: no certificate could ever form.
    #[error("quorum {quorum} exceeds committee size {n}")]
    QuorumTooLarge {
        /// Quorum.
        quorum: u32,
        /// Committee size.
        n: u32,
    },
    /// `t ≤ f`: `f` members could decrypt alone.
    #[error("threshold {t} must exceed f = {f}")]
    ThresholdTooSmall {
        /// Threshold.
        t: u32,
        /// Tolerated faults.
        f: u32,
    },
    /// `t > n`: nobody could ever decrypt.
    #[error("threshold {t} exceeds committee size {n}")]
    ThresholdTooLarge {
        /// Threshold.
        t: u32,
        /// Committee size.
        n: u32,
    },
    /// `n` is 0 or above the supported maximum.
    #[error("committee size {n} out of range 1..={max}")]
    Size {
        /// Committee size.
        n: u32,
        /// Largest supported.
        max: u32,
    },
}

/// Largest committee supported (the signer bitmap's limit).
pub const MAX_COMMITTEE: u32 = 4096;

/// Committee size `n`, tolerated faults `f`, certificate quorum and decryption threshold `t`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitteeConfig {
    /// Committee size.
    pub n: u32,
    /// Members that may be faulty (Byzantine).
    pub f: u32,
    /// Votes an order certificate needs.
    pub quorum: u32,
    /// Decryption shares a batch needs.
    pub t: u32,
}

impl Default for CommitteeConfig {
    /// `n = 4 = 3f + 1`, quorum and threshold `2f + 1 = 3`.
    fn default() -> Self {
        Self {
            n: 4,
            f: 1,
            quorum: 3,
            t: 3,
        }
    }
}

impl CommitteeConfig {
    /// The largest-`f` configuration for `n` members: `f = ⌊(n − 1)/3⌋`, quorum and
    /// threshold the smallest value above `(n + f)/2`.
    pub fn for_members(n: u32) -> Self {
        let f = n.saturating_sub(1) / 3;
        let quorum = (n + f) / 2 + 1;
        Self {
            n,
            f,
            quorum,
            t: quorum,
        }
    }

    /// Enforces `quorum > (n + f)/2` (any two quorums share an honest member),
    /// `quorum ≤ n`, and `f < t ≤ n` (no `f` members decrypt alone, `t` can be reached).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let Self { n, f, quorum, t } = *self;
        if n == 0 || n > MAX_COMMITTEE {
            return Err(ConfigError::Size {
                n,
                max: MAX_COMMITTEE,
            });
        }
        // 2·quorum > n + f, in u64 so nothing overflows.
        if 2 * u64::from(quorum) <= u64::from(n) + u64::from(f) {
            return Err(ConfigError::QuorumTooSmall { quorum, n, f });
        }
        if quorum > n {
            return Err(ConfigError::QuorumTooLarge { quorum, n });
        }
        if t <= f {
            return Err(ConfigError::ThresholdTooSmall { t, f });
        }
        if t > n {
            return Err(ConfigError::ThresholdTooLarge { t, n });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bounds_enforced() {
        CommitteeConfig::default().validate().unwrap();
        assert_eq!(CommitteeConfig::for_members(4), CommitteeConfig::default());
        for n in 1..40 {
            CommitteeConfig::for_members(n).validate().unwrap();
        }
        let c = |n, f, quorum, t| CommitteeConfig { n, f, quorum, t }.validate();
        assert!(matches!(
            c(4, 1, 2, 3),
            Err(ConfigError::QuorumTooSmall { .. })
        ));
        assert!(matches!(
            c(4, 2, 3, 3),
            Err(ConfigError::QuorumTooSmall { .. })
        ));
        assert!(matches!(
            c(4, 1, 5, 3),
            Err(ConfigError::QuorumTooLarge { .. })
        ));
        assert!(matches!(
            c(4, 1, 3, 1),
            Err(ConfigError::ThresholdTooSmall { .. })
        ));
        assert!(matches!(
            c(4, 1, 3, 5),
            Err(ConfigError::ThresholdTooLarge { .. })
        ));
        assert!(matches!(c(0, 0, 0, 0), Err(ConfigError::Size { .. })));
        // n = 7, f = 2: quorum 5, t may be 3..=7.
        c(7, 2, 5, 3).unwrap();
        assert!(c(7, 2, 4, 3).is_err());
    }
}
