//! Chaum–Pedersen DLEQ proofs on BLS12-381 G1 (single and batched). Not written yet.
