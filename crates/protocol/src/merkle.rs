//! Merkle tree over the ordered ids of a batch, with inclusion proofs.
//!
//! The tree is RFC 6962's (Certificate Transparency, §2.1): for `n > 1` leaves the left
//! subtree holds the largest power of two `k < n` leaves; a leaf hashes as
//! `H(MERKLE_LEAF ‖ id)` and an interior node as `H(MERKLE_NODE ‖ left ‖ right)`, so a leaf
//! can never be passed off as a node (second-preimage defence). Instead of RFC 6962's
//! one-byte prefixes the two hashes use Veil's registered tags; the empty tree's root is
//! `H(MERKLE_EMPTY)`. Leaves are the ids **in batch order**, so the root commits to the
//! order, and a later per-rollup sub-batch proof can reuse the same leaves.

use serde::{Deserialize, Serialize};
use thiserror::Error;
use veil_domain::protocol as tags;

use crate::codec::tagged_hash;
use crate::envelope::TxId;

/// Why an inclusion proof was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum MerkleError {
    /// The index is not below the leaf count.
    #[error("leaf index {index} out of range for {leaves} leaves")]
    IndexOutOfRange {
        /// Index given.
        index: u64,
        /// Leaf count.
        leaves: u64,
    },
    /// The path has the wrong length or does not lead to the root.
    #[error("inclusion proof does not verify")]
    Invalid,
}

fn leaf_hash(id: &TxId) -> [u8; 32] {
    tagged_hash(tags::MERKLE_LEAF, &[&id.0])
}

fn node_hash(l: &[u8; 32], r: &[u8; 32]) -> [u8; 32] {
    tagged_hash(tags::MERKLE_NODE, &[l, r])
}

/// Largest power of two strictly below `n` (`n ≥ 2`).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// The root over already-hashed leaves (RFC 6962 §2.1 shape), shared with the rollup
/// index, whose leaves carry their own tags.
pub(crate) fn subtree_root(leaves: &[[u8; 32]]) -> [u8; 32] {
    match leaves.len() {
        0 => tagged_hash(tags::MERKLE_EMPTY, &[]),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&subtree_root(&leaves[..k]), &subtree_root(&leaves[k..]))
        }
    }
}

/// The root over `ids` in order.
pub fn merkle_root(ids: &[TxId]) -> [u8; 32] {
    let leaves: Vec<[u8; 32]> = ids.iter().map(leaf_hash).collect();
    subtree_root(&leaves)
}

/// Proof that an id sits at `index` in a list of `leaves` ids with a given root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    /// Position of the id (0-based).
    pub index: u64,
    /// Number of ids in the list.
    pub leaves: u64,
    /// Sibling hashes from the leaf up to the root (RFC 6962 §2.1.1 audit path).
    pub path: Vec<TxId>,
}

/// The audit path of leaf `m` (RFC 6962 §2.1.1), leaf to root.
pub(crate) fn audit_path(leaves: &[[u8; 32]], m: usize, out: &mut Vec<[u8; 32]>) {
    let n = leaves.len();
    if n <= 1 {
        return;
    }
    let k = split(n);
    if m < k {
        audit_path(&leaves[..k], m, out);
        out.push(subtree_root(&leaves[k..]));
    } else {
        audit_path(&leaves[k..], m - k, out);
        out.push(subtree_root(&leaves[..k]));
    }
}

impl InclusionProof {
    /// Proves that `ids[index]` is in the tree over `ids`.
    pub fn new(ids: &[TxId], index: usize) -> Result<Self, MerkleError> {
        if index >= ids.len() {
            return Err(MerkleError::IndexOutOfRange {
                index: index as u64,
                leaves: ids.len() as u64,
            });
        }
        let leaves: Vec<[u8; 32]> = ids.iter().map(leaf_hash).collect();
        let mut path = Vec::new();
        audit_path(&leaves, index, &mut path);
        Ok(Self {
            index: index as u64,
            leaves: ids.len() as u64,
            path: path.into_iter().map(TxId).collect(),
        })
    }

    /// Checks that `id` sits at `self.index` under `root` (RFC 9162 §2.1.3.2).
    pub fn verify(&self, id: &TxId, root: &[u8; 32]) -> Result<(), MerkleError> {
        if self.index >= self.leaves {
            return Err(MerkleError::IndexOutOfRange {
                index: self.index,
                leaves: self.leaves,
            });
        }
        let path: Vec<[u8; 32]> = self.path.iter().map(|p| p.0).collect();
        if root_from_path(&leaf_hash(id), self.index, self.leaves, &path).as_ref() == Some(root) {
            Ok(())
        } else {
            Err(MerkleError::Invalid)
        }
    }
}

/// The root that `leaf` (already hashed) at `index` of `leaves` leads to along its audit
/// path (RFC 9162 §2.1.3.2), or `None` if the path has the wrong length for that position.
pub(crate) fn root_from_path(
    leaf: &[u8; 32],
    index: u64,
    leaves: u64,
    path: &[[u8; 32]],
) -> Option<[u8; 32]> {
    if index >= leaves {
        return None;
    }
    let (mut f_n, mut s_n) = (index, leaves - 1);
    let mut r = *leaf;
    for p in path {
        if s_n == 0 {
            return None;
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = node_hash(p, &r);
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    (s_n == 0).then_some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<TxId> {
        (0..n).map(|i| TxId([i as u8; 32])).collect()
    }

    #[test]
    fn every_leaf_proves_for_every_size() {
        for n in 1..=17 {
            let ids = ids(n);
            let root = merkle_root(&ids);
            for i in 0..n {
                let p = InclusionProof::new(&ids, i).unwrap();
                p.verify(&ids[i], &root).unwrap();
                // Wrong id, wrong position, wrong root all fail.
                assert!(p.verify(&TxId([0xee; 32]), &root).is_err());
                if n > 1 {
                    let mut q = p.clone();
                    q.index = ((i + 1) % n) as u64;
                    assert!(q.verify(&ids[i], &root).is_err());
                }
                assert!(p.verify(&ids[i], &[0; 32]).is_err());
            }
        }
    }

    #[test]
    fn root_commits_to_order_and_count() {
        let a = ids(5);
        let mut b = a.clone();
        b.swap(1, 2);
        assert_ne!(merkle_root(&a), merkle_root(&b));
        assert_ne!(merkle_root(&a), merkle_root(&a[..4]));
        assert_ne!(merkle_root(&[]), merkle_root(&a[..1]));
        // A single leaf's root is its leaf hash, not the raw id.
        assert_ne!(merkle_root(&a[..1]), a[0].0);
        // Known structure: three leaves = node(node(l0, l1), l2).
        let l: Vec<[u8; 32]> = a[..3].iter().map(leaf_hash).collect();
        assert_eq!(
            merkle_root(&a[..3]),
            node_hash(&node_hash(&l[0], &l[1]), &l[2])
        );
    }
}
