//! Citizens' personal data at rest: the handle, the contact and the phone numbers written in a
//! message are sealed together with SM4 (GB/T 32907) in GCM mode, the authenticated encryption a
//! commercial-cryptography assessment (密评) expects, bound to the message they belong to (its
//! id is the associated data, so a sealed value moved to another row does not open).
//!
//! The key comes from the settings or a file, never from the database: a copy of the database
//! alone reveals nobody. Sealed values name the key that sealed them (a short fingerprint), so
//! a rotated key can be told from a corrupted value.
//!
//! A keyed hash (HMAC-SHA256 under a key derived from the same secret) of the citizen lets intake
//! find the same citizen's open cases without decrypting anything.

use aes_gcm::{
    AesGcm,
    aead::{Aead, KeyInit, Payload, consts::U12},
};
use base64::{Engine as _, engine::general_purpose::STANDARD_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type Sm4Gcm = AesGcm<sm4::Sm4, U12>;

/// What a sealed value starts with.
const SCHEME: &str = "sm4gcm";

/// Nonce length (96 bits, GCM's standard).
const NONCE: usize = 12;

/// The personal data of one message.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Personal {
    /// The citizen's handle on the platform.
    pub handle: String,
    /// The contact the citizen gave.
    pub contact: String,
    /// Mobile numbers written in the message text.
    pub phones_in_text: Vec<String>,
}

/// Why a key or a sealed value is unusable. Never carries the data itself.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    /// The configured key is not 32 hexadecimal digits.
    #[error("the personal-data key must be 32 hexadecimal digits (128 bits)")]
    BadKey,
    /// Sealed by another key.
    #[error("the value was sealed with key {0}, which is not configured")]
    OtherKey(String),
    /// Not a sealed value, or tampered with.
    #[error("the sealed value is damaged or does not belong to this record")]
    Damaged,
    /// The random source failed.
    #[error("no random nonce: {0}")]
    Random(String),
}

/// Seals and opens personal data. Cheap to clone.
#[derive(Clone)]
pub struct Vault {
    cipher: Sm4Gcm,
    hash_key: [u8; 32],
    key_id: String,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key never reaches a log line.
        f.debug_struct("Vault")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl Vault {
    /// A vault of the 128-bit key written as 32 hexadecimal digits (surrounding whitespace,
    /// such as a file's final newline, is ignored).
    pub fn from_hex(hex: &str) -> Result<Vault, VaultError> {
        let hex = hex.trim();
        if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(VaultError::BadKey);
        }
        let mut key = [0u8; 16];
        for (i, byte) in key.iter_mut().enumerate() {
            *byte =
                u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| VaultError::BadKey)?;
        }
        let cipher = Sm4Gcm::new_from_slice(&key).map_err(|_| VaultError::BadKey)?;
        let hash_key: [u8; 32] = Sha256::new()
            .chain_update(b"govmedia routing citizen key\0")
            .chain_update(key)
            .finalize()
            .into();
        let fingerprint = Sha256::new()
            .chain_update(b"govmedia routing key id\0")
            .chain_update(key)
            .finalize();
        let key_id = fingerprint[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Vault {
            cipher,
            hash_key,
            key_id,
        })
    }

    /// A fresh random key as 32 hexadecimal digits (for `govmedia dev` and operators).
    pub fn generate_hex() -> Result<String, VaultError> {
        let mut key = [0u8; 16];
        getrandom::fill(&mut key).map_err(|error| VaultError::Random(error.to_string()))?;
        Ok(key.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// The key's fingerprint, as sealed values name it.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// `personal` sealed for the record `owner`: `sm4gcm:{key id}:{base64(nonce ‖ ciphertext ‖
    /// tag)}`.
    pub fn seal(&self, owner: &str, personal: &Personal) -> Result<String, VaultError> {
        let plain = serde_json::to_vec(personal).map_err(|_| VaultError::Damaged)?;
        let mut nonce = [0u8; NONCE];
        getrandom::fill(&mut nonce).map_err(|error| VaultError::Random(error.to_string()))?;
        let sealed = self
            .cipher
            .encrypt(
                &nonce.into(),
                Payload {
                    msg: &plain,
                    aad: owner.as_bytes(),
                },
            )
            .map_err(|_| VaultError::Damaged)?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        Ok(format!(
            "{SCHEME}:{}:{}",
            self.key_id,
            STANDARD_NO_PAD.encode(bytes)
        ))
    }

    /// The personal data sealed for `owner`.
    pub fn open(&self, owner: &str, sealed: &str) -> Result<Personal, VaultError> {
        let mut parts = sealed.splitn(3, ':');
        let (Some(SCHEME), Some(key_id), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(VaultError::Damaged);
        };
        if key_id != self.key_id {
            return Err(VaultError::OtherKey(key_id.to_owned()));
        }
        let bytes = STANDARD_NO_PAD
            .decode(body)
            .map_err(|_| VaultError::Damaged)?;
        if bytes.len() < NONCE {
            return Err(VaultError::Damaged);
        }
        let (nonce, sealed) = bytes.split_at(NONCE);
        let nonce: [u8; NONCE] = nonce.try_into().map_err(|_| VaultError::Damaged)?;
        let plain = self
            .cipher
            .decrypt(
                &nonce.into(),
                Payload {
                    msg: sealed,
                    aad: owner.as_bytes(),
                },
            )
            .map_err(|_| VaultError::Damaged)?;
        serde_json::from_slice(&plain).map_err(|_| VaultError::Damaged)
    }

    /// The keyed hash that stands for one citizen of one account: equal for equal handles (or,
    /// without a handle, equal contacts), revealing neither.
    pub fn citizen_key(&self, account: &str, handle: &str, contact: &str) -> String {
        let who = if handle.trim().is_empty() {
            format!("contact\0{}", contact.trim())
        } else {
            format!("handle\0{}", handle.trim())
        };
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.hash_key).expect("HMAC takes any key");
        mac.update(account.as_bytes());
        mac.update(b"\0");
        mac.update(who.as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "00112233445566778899aabbccddeeff";

    fn personal() -> Personal {
        Personal {
            handle: "张三".into(),
            contact: "13812345678".into(),
            phones_in_text: vec!["13900001111".into()],
        }
    }

    #[test]
    fn sealed_data_opens_only_for_its_record_and_key_and_shows_nothing_in_clear() {
        let vault = Vault::from_hex(KEY).expect("key");
        let sealed = vault.seal("m1", &personal()).expect("seal");
        assert!(sealed.starts_with(&format!("sm4gcm:{}:", vault.key_id())));
        assert!(!sealed.contains("13812345678") && !sealed.contains("张三"));
        assert_eq!(vault.open("m1", &sealed), Ok(personal()));
        // Two seals of the same data differ (a fresh nonce each).
        assert_ne!(sealed, vault.seal("m1", &personal()).expect("seal"));
        assert_eq!(vault.open("m2", &sealed), Err(VaultError::Damaged));
        let other = Vault::from_hex("ffeeddccbbaa99887766554433221100").expect("key");
        assert!(matches!(
            other.open("m1", &sealed),
            Err(VaultError::OtherKey(_))
        ));
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(vault.open("m1", &tampered), Err(VaultError::Damaged));
    }

    #[test]
    fn sm4_itself_matches_the_standard_test_vector() {
        // GB/T 32907-2016, appendix A.1: one block under the key 0123456789abcdeffedcba9876543210.
        use sm4::cipher::{BlockCipherEncrypt, KeyInit as _};
        let key = [
            0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54,
            0x32, 0x10,
        ];
        let cipher = sm4::Sm4::new(&key.into());
        let mut block = key.into();
        cipher.encrypt_block(&mut block);
        assert_eq!(
            block.as_slice(),
            [
                0x68, 0x1e, 0xdf, 0x34, 0xd2, 0x06, 0x96, 0x5e, 0x86, 0xb3, 0xe9, 0x4f, 0x53, 0x6e,
                0x42, 0x46
            ]
        );
    }

    #[test]
    fn keys_must_be_128_bits_and_citizens_hash_alike_only_on_one_account() {
        assert_eq!(Vault::from_hex("0011").err(), Some(VaultError::BadKey));
        assert_eq!(
            Vault::from_hex("zz112233445566778899aabbccddeeff").err(),
            Some(VaultError::BadKey)
        );
        let vault = Vault::from_hex(&format!("{KEY}\n")).expect("a file's newline is fine");
        let a = vault.citizen_key("acc", "张三", "");
        assert_eq!(a, vault.citizen_key("acc", " 张三 ", "13812345678"));
        assert_ne!(a, vault.citizen_key("other", "张三", ""));
        assert_ne!(a, vault.citizen_key("acc", "", "张三"));
        assert_eq!(Vault::generate_hex().expect("key").len(), 32);
    }
}
