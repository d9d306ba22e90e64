//! Ethereum transactions as Veil payloads: EIP-1559 transfers signed with `alloy`, and the
//! label that binds their ciphertext.
//!
//! The payload a wallet encrypts is the transaction's EIP-2718 encoding (`0x02 ‖
//! rlp(...)`, EIP-1559), exactly the bytes `eth_sendRawTransaction` takes, so the committee's
//! forwarder can hand the decrypted plaintext to the rollup's JSON-RPC endpoint unchanged.
//!
//! The label ([`label_for`]) carries what the rollup may see before decryption:
//!
//! | label field | value |
//! | --- | --- |
//! | `chain_id` | the transaction's EIP-155 chain id (so the ciphertext is useless on another chain, and a mismatch is refused before encryption) |
//! | `sender` | the signer's 20-byte address, left-padded with zeros |
//! | `slots` | the range the wallet chooses |
//! | `max_fee` | `gas_limit × max_fee_per_gas`: the most the transaction can spend on gas |
//! | `extra` | empty |
//!
//! The sender is recovered from the signature ([`decode_signed`]), never taken from the
//! caller, so a label cannot name someone other than the signer.

use alloy::consensus::transaction::SignerRecoverable;
use alloy::consensus::{SignableTransaction, Transaction, TxEip1559, TxEnvelope};
use alloy::eips::eip2718::{Decodable2718, Encodable2718};
use alloy::primitives::{Address, B256, Bytes, TxKind, U256};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use veil_threshold::{Label, SlotRange};

use crate::error::ClientError;

/// An EIP-1559 value transfer to sign.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transfer {
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// The sender's nonce.
    pub nonce: u64,
    /// Recipient.
    pub to: Address,
    /// Amount in wei.
    pub value: U256,
    /// Gas limit (21,000 for a plain transfer).
    pub gas_limit: u64,
    /// Most paid per gas, in wei.
    pub max_fee_per_gas: u128,
    /// Priority fee per gas, in wei.
    pub max_priority_fee_per_gas: u128,
}

impl Transfer {
    /// A plain transfer (gas limit 21,000) with the given fees.
    pub fn new(chain_id: u64, nonce: u64, to: Address, value: U256, max_fee_per_gas: u128) -> Self {
        Self {
            chain_id,
            nonce,
            to,
            value,
            gas_limit: 21_000,
            max_fee_per_gas,
            max_priority_fee_per_gas: max_fee_per_gas.min(1_000_000_000),
        }
    }
}

/// A signed Ethereum transaction, decoded and with its signer recovered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedTx {
    /// The EIP-2718 encoding (what `eth_sendRawTransaction` takes).
    pub raw: Vec<u8>,
    /// The transaction hash.
    pub hash: B256,
    /// The recovered signer.
    pub from: Address,
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// The nonce.
    pub nonce: u64,
    /// `gas_limit × max_fee_per_gas`.
    pub max_gas_cost: u128,
}

/// Signs `transfer` with `key`.
pub fn sign_transfer(key: &PrivateKeySigner, transfer: &Transfer) -> Result<SignedTx, ClientError> {
    let tx = TxEip1559 {
        chain_id: transfer.chain_id,
        nonce: transfer.nonce,
        gas_limit: transfer.gas_limit,
        max_fee_per_gas: transfer.max_fee_per_gas,
        max_priority_fee_per_gas: transfer.max_priority_fee_per_gas,
        to: TxKind::Call(transfer.to),
        value: transfer.value,
        access_list: Default::default(),
        input: Bytes::new(),
    };
    let signature = key
        .sign_hash_sync(&tx.signature_hash())
        .map_err(|e| ClientError::Eth(e.to_string()))?;
    let envelope = TxEnvelope::from(tx.into_signed(signature));
    decode_signed(&envelope.encoded_2718())
}

/// Decodes an EIP-2718 signed transaction and recovers its signer. Refuses trailing bytes,
/// transactions without a chain id (pre-EIP-155) and signatures that recover no key.
pub fn decode_signed(raw: &[u8]) -> Result<SignedTx, ClientError> {
    let mut rest = raw;
    let envelope =
        TxEnvelope::decode_2718(&mut rest).map_err(|e| ClientError::Eth(e.to_string()))?;
    if !rest.is_empty() {
        return Err(ClientError::Eth(format!(
            "{} trailing bytes after the transaction",
            rest.len()
        )));
    }
    let chain_id = envelope
        .chain_id()
        .ok_or_else(|| ClientError::Eth("transaction has no chain id (pre-EIP-155)".into()))?;
    let from = envelope
        .recover_signer()
        .map_err(|e| ClientError::Eth(e.to_string()))?;
    let max_gas_cost = u128::from(envelope.gas_limit()).saturating_mul(envelope.max_fee_per_gas());
    Ok(SignedTx {
        raw: raw.to_vec(),
        hash: *envelope.tx_hash(),
        from,
        chain_id,
        nonce: envelope.nonce(),
        max_gas_cost,
    })
}

/// The label of `tx` for `slots`. See the module documentation.
pub fn label_for(tx: &SignedTx, slots: SlotRange) -> Result<Label, ClientError> {
    let mut sender = [0u8; 32];
    sender[12..].copy_from_slice(tx.from.as_slice());
    Ok(Label::new(
        tx.chain_id,
        sender,
        slots,
        tx.max_gas_cost,
        Vec::new(),
    )?)
}

/// Parses a 32-byte hex private key (with or without `0x`).
pub fn signer_from_hex(key: &str) -> Result<PrivateKeySigner, ClientError> {
    key.trim()
        .trim_start_matches("0x")
        .parse::<PrivateKeySigner>()
        .map_err(|_| ClientError::Eth("private key is not 32 bytes of hex".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Anvil's first default account (a published test key, not a secret).
    const KEY: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

    #[test]
    fn signed_transfer_round_trips_and_recovers_the_signer() {
        let key = signer_from_hex(KEY).unwrap();
        let to = Address::repeat_byte(0x11);
        let t = Transfer::new(31_337, 7, to, U256::from(1_000u64), 2_000_000_000);
        let tx = sign_transfer(&key, &t).unwrap();
        assert_eq!(tx.from, key.address());
        assert_eq!(tx.chain_id, 31_337);
        assert_eq!(tx.nonce, 7);
        assert_eq!(tx.max_gas_cost, 21_000 * 2_000_000_000);
        assert_eq!(tx.raw[0], 0x02, "EIP-1559 type byte");
        assert_eq!(decode_signed(&tx.raw).unwrap(), tx);
        let label = label_for(&tx, SlotRange::new(1, 9).unwrap()).unwrap();
        assert_eq!(&label.sender[12..], key.address().as_slice());
        assert_eq!(label.sender[..12], [0u8; 12]);
        assert_eq!(label.chain_id, 31_337);
    }

    #[test]
    fn garbage_and_trailing_bytes_are_refused() {
        assert!(matches!(
            decode_signed(b"not a tx"),
            Err(ClientError::Eth(_))
        ));
        let key = signer_from_hex(KEY).unwrap();
        let t = Transfer::new(1, 0, Address::ZERO, U256::from(1u64), 1);
        let mut raw = sign_transfer(&key, &t).unwrap().raw;
        raw.push(0);
        assert!(matches!(decode_signed(&raw), Err(ClientError::Eth(_))));
        assert!(signer_from_hex("zz").is_err());
    }
}
