//! Envelope encryption for saved cards. A card number is sealed with
//! AES-256-GCM under its city's data key; data keys are stored only wrapped
//! by the city's key-encryption key (KEK), which lives outside the database
//! (a key file by default; [`KeyEncryptionKey`] is the seam for a cloud KMS
//! or an HSM). A copy of the database alone therefore yields no card number.
//!
//! Every ciphertext is bound to where it belongs through the AEAD's
//! associated data (city and token for a card, city and version for a data
//! key), so a sealed value copied onto another row or another city does not
//! open. The crate `aes-gcm` (RustCrypto, audited by NCC Group) does the
//! cipher; nothing here is hand-rolled cryptography.

use crate::bank::BankAccountNumber;
use crate::card::CardNumber;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use std::fmt;
use std::path::{Path, PathBuf};
use thiserror::Error;
use zeroize::Zeroizing;

const NONCE: usize = 12;

#[derive(Debug, Error)]
pub enum VaultError {
    /// Wrong key, wrong row, or altered bytes: GCM's tag did not verify.
    #[error("a sealed value did not open: wrong key, or it was altered or moved")]
    Unsealed,
    #[error("key-encryption key {0} is not in the key folder")]
    UnknownKek(String),
    #[error("key folder {path}: {reason}")]
    KeyFolder { path: PathBuf, reason: String },
}

/// Random bytes from the operating system's generator.
fn random<const N: usize>() -> [u8; N] {
    rand::random()
}

fn seal(key: &[u8; 32], plain: &[u8], context: &[u8]) -> Vec<u8> {
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key));
    let nonce: [u8; NONCE] = random();
    let mut out = nonce.to_vec();
    // Encryption with a valid key and nonce cannot fail for inputs this small.
    if let Ok(sealed) = cipher.encrypt(
        Nonce::from_slice(&nonce),
        Payload {
            msg: plain,
            aad: context,
        },
    ) {
        out.extend(sealed);
    }
    out
}

fn open(key: &[u8; 32], sealed: &[u8], context: &[u8]) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    if sealed.len() < NONCE + 16 {
        return Err(VaultError::Unsealed);
    }
    let (nonce, body) = sealed.split_at(NONCE);
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key));
    cipher
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: body,
                aad: context,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| VaultError::Unsealed)
}

/// One city's data key, in memory only while in use.
pub struct DataKey(Zeroizing<[u8; 32]>);

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(…)")
    }
}

impl DataKey {
    pub fn generate() -> DataKey {
        DataKey(Zeroizing::new(random()))
    }

    /// The card number sealed for (`tenant`, `token`) only.
    pub fn seal_card(&self, card: &CardNumber, tenant: &str, token: &str) -> Vec<u8> {
        seal(
            &self.0,
            card.expose_digits().as_bytes(),
            &card_context(tenant, token),
        )
    }

    pub fn open_card(
        &self,
        sealed: &[u8],
        tenant: &str,
        token: &str,
    ) -> Result<CardNumber, VaultError> {
        let digits = open(&self.0, sealed, &card_context(tenant, token))?;
        let digits = std::str::from_utf8(&digits).map_err(|_| VaultError::Unsealed)?;
        CardNumber::parse(digits).map_err(|_| VaultError::Unsealed)
    }
}

impl DataKey {
    /// A bank account number sealed for (`tenant`, `token`) only.
    pub fn seal_bank_account(
        &self,
        account: &BankAccountNumber,
        tenant: &str,
        token: &str,
    ) -> Vec<u8> {
        seal(
            &self.0,
            account.expose_digits().as_bytes(),
            &bank_account_context(tenant, token),
        )
    }

    pub fn open_bank_account(
        &self,
        sealed: &[u8],
        tenant: &str,
        token: &str,
    ) -> Result<BankAccountNumber, VaultError> {
        let digits = open(&self.0, sealed, &bank_account_context(tenant, token))?;
        let digits = std::str::from_utf8(&digits).map_err(|_| VaultError::Unsealed)?;
        BankAccountNumber::parse(digits).map_err(|_| VaultError::Unsealed)
    }
}

fn bank_account_context(tenant: &str, token: &str) -> Vec<u8> {
    format!("civicpay bank account v1\0{tenant}\0{token}").into_bytes()
}

/// The version a secret's own key is wrapped as: no data key has it (data
/// keys count from 1), so neither can stand in for the other.
pub const SECRET_KEY_VERSION: i64 = 0;

impl DataKey {
    /// A processor secret sealed for (`tenant`, `name`) only.
    pub fn seal_secret(&self, secret: &str, tenant: &str, name: &str) -> Vec<u8> {
        seal(&self.0, secret.as_bytes(), &secret_context(tenant, name))
    }

    pub fn open_secret(
        &self,
        sealed: &[u8],
        tenant: &str,
        name: &str,
    ) -> Result<Zeroizing<String>, VaultError> {
        let bytes = open(&self.0, sealed, &secret_context(tenant, name))?;
        std::str::from_utf8(&bytes)
            .map(|s| Zeroizing::new(s.to_owned()))
            .map_err(|_| VaultError::Unsealed)
    }
}

fn secret_context(tenant: &str, name: &str) -> Vec<u8> {
    format!("civicpay processor secret v1\0{tenant}\0{name}").into_bytes()
}

fn card_context(tenant: &str, token: &str) -> Vec<u8> {
    format!("civicpay card v1\0{tenant}\0{token}").into_bytes()
}

fn data_key_context(tenant: &str, version: i64) -> Vec<u8> {
    format!("civicpay data key v1\0{tenant}\0{version}").into_bytes()
}

/// A data key as the database holds it: which KEK wrapped it, and the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKey {
    pub kek_id: String,
    pub bytes: Vec<u8>,
}

/// What wraps data keys. Implemented here by a key file; a KMS or HSM
/// implements the same two calls.
pub trait KeyEncryptionKey: Send + Sync {
    fn id(&self) -> &str;
    fn wrap(&self, key: &DataKey, tenant: &str, version: i64) -> WrappedKey;
    fn unwrap(
        &self,
        wrapped: &WrappedKey,
        tenant: &str,
        version: i64,
    ) -> Result<DataKey, VaultError>;
}

/// A 256-bit KEK read from a file.
pub struct FileKek {
    id: String,
    key: Zeroizing<[u8; 32]>,
}

impl fmt::Debug for FileKek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FileKek({})", self.id)
    }
}

impl KeyEncryptionKey for FileKek {
    fn id(&self) -> &str {
        &self.id
    }

    fn wrap(&self, key: &DataKey, tenant: &str, version: i64) -> WrappedKey {
        WrappedKey {
            kek_id: self.id.clone(),
            bytes: seal(&self.key, &key.0[..], &data_key_context(tenant, version)),
        }
    }

    fn unwrap(
        &self,
        wrapped: &WrappedKey,
        tenant: &str,
        version: i64,
    ) -> Result<DataKey, VaultError> {
        if wrapped.kek_id != self.id {
            return Err(VaultError::UnknownKek(wrapped.kek_id.clone()));
        }
        let plain = open(
            &self.key,
            &wrapped.bytes,
            &data_key_context(tenant, version),
        )?;
        let key: [u8; 32] = plain
            .as_slice()
            .try_into()
            .map_err(|_| VaultError::Unsealed)?;
        Ok(DataKey(Zeroizing::new(key)))
    }
}

/// The folder of KEK files for one city: `<id>.kek` (64 hex digits,
/// mode 0600) and `current` naming the one that wraps new data keys. Old
/// KEKs stay until a rotation has re-wrapped everything they wrapped.
#[derive(Debug)]
pub struct KekFolder {
    dir: PathBuf,
}

impl KekFolder {
    /// The folder at `dir`, touching nothing: for reading keys that exist.
    pub fn at(dir: &Path) -> KekFolder {
        KekFolder {
            dir: dir.to_owned(),
        }
    }

    /// Opens the folder, creating it (0700) and a first KEK if it is empty.
    pub fn open_or_create(dir: &Path) -> Result<KekFolder, VaultError> {
        let folder = KekFolder::at(dir);
        let failed = |e: std::io::Error| VaultError::KeyFolder {
            path: dir.to_owned(),
            reason: e.to_string(),
        };
        std::fs::create_dir_all(dir).map_err(failed)?;
        restrict(dir, 0o700).map_err(failed)?;
        if !dir.join("current").exists() {
            folder.add()?;
        }
        Ok(folder)
    }

    fn failed(&self, e: impl fmt::Display) -> VaultError {
        VaultError::KeyFolder {
            path: self.dir.clone(),
            reason: e.to_string(),
        }
    }

    /// A new KEK, made current. Returns its id.
    pub fn add(&self) -> Result<String, VaultError> {
        let key: [u8; 32] = random();
        let id = hex(&random::<8>());
        let path = self.dir.join(format!("{id}.kek"));
        write_private(&path, hex(&key).as_bytes()).map_err(|e| self.failed(e))?;
        let tmp = self.dir.join("current.tmp");
        write_private(&tmp, id.as_bytes()).map_err(|e| self.failed(e))?;
        std::fs::rename(&tmp, self.dir.join("current")).map_err(|e| self.failed(e))?;
        Ok(id)
    }

    pub fn current(&self) -> Result<FileKek, VaultError> {
        let id = std::fs::read_to_string(self.dir.join("current")).map_err(|e| self.failed(e))?;
        self.get(id.trim())
    }

    pub fn get(&self, id: &str) -> Result<FileKek, VaultError> {
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(VaultError::UnknownKek(id.to_owned()));
        }
        let text = Zeroizing::new(
            std::fs::read_to_string(self.dir.join(format!("{id}.kek")))
                .map_err(|_| VaultError::UnknownKek(id.to_owned()))?,
        );
        let key = unhex32(text.trim())
            .ok_or_else(|| self.failed(format!("{id}.kek is not 64 hex digits")))?;
        Ok(FileKek {
            id: id.to_owned(),
            key,
        })
    }

    /// Every KEK id in the folder.
    pub fn ids(&self) -> Result<Vec<String>, VaultError> {
        let mut ids = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(|e| self.failed(e))? {
            let name = entry.map_err(|e| self.failed(e))?.file_name();
            if let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".kek")) {
                ids.push(id.to_owned());
            }
        }
        ids.sort();
        Ok(ids)
    }

    /// Deletes a KEK that nothing is wrapped under any more (never the
    /// current one).
    pub fn remove(&self, id: &str) -> Result<(), VaultError> {
        if self.current()?.id == id {
            return Err(self.failed("the current key-encryption key is never removed"));
        }
        let key = self.get(id)?;
        drop(key);
        std::fs::remove_file(self.dir.join(format!("{id}.kek"))).map_err(|e| self.failed(e))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex32(text: &str) -> Option<Zeroizing<[u8; 32]>> {
    if text.len() != 64 {
        return None;
    }
    let mut key = Zeroizing::new([0u8; 32]);
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(key)
}

#[cfg(unix)]
fn restrict(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn restrict(_: &Path, _: u32) -> std::io::Result<()> {
    Ok(())
}

/// Creates `path` readable by its owner only, before any byte is written.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn card() -> CardNumber {
        CardNumber::parse("4242 4242 4242 4242").unwrap()
    }

    #[test]
    fn a_card_opens_only_for_its_own_city_and_token() {
        let key = DataKey::generate();
        let sealed = key.seal_card(&card(), "city-a", "tok-1");
        assert!(!sealed.windows(4).any(|w| w == b"4242"));
        assert_eq!(
            key.open_card(&sealed, "city-a", "tok-1").unwrap().last4(),
            "4242"
        );
        assert!(key.open_card(&sealed, "city-b", "tok-1").is_err());
        assert!(key.open_card(&sealed, "city-a", "tok-2").is_err());
        assert!(
            DataKey::generate()
                .open_card(&sealed, "city-a", "tok-1")
                .is_err()
        );
        let mut altered = sealed.clone();
        if let Some(last) = altered.last_mut() {
            *last ^= 1;
        }
        assert!(key.open_card(&altered, "city-a", "tok-1").is_err());
        assert!(key.open_card(&sealed[..10], "city-a", "tok-1").is_err());
        // Two seals of one card differ (fresh nonce each time).
        assert_ne!(sealed, key.seal_card(&card(), "city-a", "tok-1"));
    }

    #[test]
    fn a_bank_account_opens_only_for_its_own_city_and_token_and_never_as_a_card() {
        let key = DataKey::generate();
        let account = BankAccountNumber::parse("000123456789").unwrap();
        let sealed = key.seal_bank_account(&account, "city-a", "bank_1");
        assert!(!sealed.windows(6).any(|w| w == b"123456"));
        assert_eq!(
            key.open_bank_account(&sealed, "city-a", "bank_1").unwrap(),
            account
        );
        assert!(key.open_bank_account(&sealed, "city-b", "bank_1").is_err());
        assert!(key.open_bank_account(&sealed, "city-a", "bank_2").is_err());
        // The contexts differ: a sealed account is not a sealed card or secret.
        assert!(key.open_card(&sealed, "city-a", "bank_1").is_err());
        assert!(key.open_secret(&sealed, "city-a", "bank_1").is_err());
    }

    #[test]
    fn a_data_key_unwraps_only_with_its_kek_city_and_version() {
        let dir = std::env::temp_dir().join(format!("civicpay-kek-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let folder = KekFolder::open_or_create(&dir).unwrap();
        let kek = folder.current().unwrap();
        let key = DataKey::generate();
        let wrapped = kek.wrap(&key, "city-a", 1);
        let again = kek.unwrap(&wrapped, "city-a", 1).unwrap();
        let sealed = key.seal_card(&card(), "city-a", "t");
        assert_eq!(
            again.open_card(&sealed, "city-a", "t").unwrap().last4(),
            "4242"
        );
        assert!(kek.unwrap(&wrapped, "city-b", 1).is_err());
        assert!(kek.unwrap(&wrapped, "city-a", 2).is_err());

        let second = folder.add().unwrap();
        assert_eq!(folder.current().unwrap().id(), second);
        assert!(matches!(
            folder.current().unwrap().unwrap(&wrapped, "city-a", 1),
            Err(VaultError::UnknownKek(_))
        ));
        assert_eq!(folder.ids().unwrap().len(), 2);
        assert!(folder.remove(&second).is_err(), "the current KEK stays");
        folder.remove(kek.id()).unwrap();
        assert!(folder.get(kek.id()).is_err());
        assert!(folder.get("../etc/passwd").is_err());

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let file = dir.join(format!("{second}.kek"));
            let mode = std::fs::metadata(file).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "KEK file readable by others: {mode:o}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
