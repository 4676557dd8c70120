//! Saved cards: sealing with the city's data key, opening for a payment,
//! and key rotation. Only pay holds the key-encryption keys (one folder per
//! city under `secrets/vault/`); the portal only ever sees a token, brand,
//! last four and expiry.

use crate::PayError;
use civicpay_core::TenantId;
use civicpay_store::pay::{PayStore, SealedSecret, StoredCard, StoredDataKey};
use civicpay_vault::envelope::{
    DataKey, KekFolder, KeyEncryptionKey, SECRET_KEY_VERSION, VaultError, WrappedKey,
};
use civicpay_vault::{CardFingerprint, CardNumber, Expiry};
use std::path::PathBuf;

/// What the portal may know about a saved card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedCard {
    pub token: String,
    pub brand: String,
    pub last4: String,
    pub exp_month: i64,
    pub exp_year: i64,
}

impl From<&StoredCard> for SavedCard {
    fn from(card: &StoredCard) -> SavedCard {
        SavedCard {
            token: card.token.clone(),
            brand: card.brand.clone(),
            last4: card.last4.clone(),
            exp_month: card.exp_month,
            exp_year: card.exp_year,
        }
    }
}

/// What a rotation did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rotation {
    pub new_kek: String,
    pub new_version: i64,
    pub rewrapped_keys: usize,
    pub resealed_cards: usize,
    pub retired_versions: Vec<i64>,
    pub removed_keks: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Vault {
    store: PayStore,
    keys: PathBuf,
}

impl Vault {
    /// `keys` is the folder that holds one KEK folder per city; it must not
    /// be inside anything that is backed up with the database.
    pub fn new(store: PayStore, keys: PathBuf) -> Vault {
        Vault { store, keys }
    }

    /// The city's key folder, made (with a first KEK) if it does not exist:
    /// only where a key may have to be made, never on the read path.
    fn folder(&self, tenant: &TenantId) -> Result<KekFolder, VaultError> {
        KekFolder::open_or_create(&self.keys.join(tenant.as_str()))
    }

    fn unwrap(
        &self,
        folder: &KekFolder,
        tenant: &TenantId,
        key: &StoredDataKey,
    ) -> Result<DataKey, VaultError> {
        folder.get(&key.kek_id)?.unwrap(
            &WrappedKey {
                kek_id: key.kek_id.clone(),
                bytes: key.wrapped.clone(),
            },
            tenant.as_str(),
            key.version,
        )
    }

    /// The data key new cards are sealed under, made on first use.
    async fn current_key(&self, tenant: &TenantId) -> Result<(i64, DataKey), PayError> {
        let folder = self.folder(tenant)?;
        loop {
            if let Some(newest) = self.store.data_keys(tenant).await?.into_iter().next() {
                let key = self.unwrap(&folder, tenant, &newest)?;
                return Ok((newest.version, key));
            }
            // Two first uses at once: one insert wins, the other reads it.
            self.insert_new_key(&folder, tenant, 1).await?;
        }
    }

    async fn insert_new_key(
        &self,
        folder: &KekFolder,
        tenant: &TenantId,
        version: i64,
    ) -> Result<bool, PayError> {
        let kek = folder.current()?;
        let wrapped = kek.wrap(&DataKey::generate(), tenant.as_str(), version);
        Ok(self
            .store
            .insert_data_key(
                tenant,
                &StoredDataKey {
                    version,
                    kek_id: wrapped.kek_id,
                    wrapped: wrapped.bytes,
                },
            )
            .await?)
    }

    /// Seals and stores a card for `owner`; the security code never comes
    /// here.
    pub async fn save(
        &self,
        tenant: &TenantId,
        owner: &str,
        card: &CardNumber,
        expiry: Expiry,
        fingerprint: &CardFingerprint,
    ) -> Result<SavedCard, PayError> {
        let (version, key) = self.current_key(tenant).await?;
        let token = format!("card_{:032x}", rand::random::<u128>());
        let stored = StoredCard {
            sealed: key.seal_card(card, tenant.as_str(), &token),
            token,
            owner: owner.to_owned(),
            key_version: version,
            brand: card.brand().code().to_owned(),
            last4: card.last4().to_owned(),
            exp_month: i64::from(expiry.month()),
            exp_year: i64::from(expiry.year()),
            fingerprint: fingerprint.as_str().to_owned(),
            created_at: jiff::Timestamp::now(),
        };
        self.store.insert_saved_card(tenant, &stored).await?;
        Ok(SavedCard::from(&stored))
    }

    /// The card number of `owner`'s saved card, to charge it.
    pub async fn open(
        &self,
        tenant: &TenantId,
        owner: &str,
        token: &str,
    ) -> Result<(SavedCard, CardNumber), PayError> {
        let stored = self
            .store
            .saved_card(tenant, token)
            .await?
            .filter(|c| c.owner == owner)
            .ok_or(PayError::NotFound)?;
        let key = self
            .store
            .data_key(tenant, stored.key_version)
            .await?
            .ok_or(PayError::Internal("a saved card's data key is missing"))?;
        let folder = KekFolder::at(&self.keys.join(tenant.as_str()));
        let key = self.unwrap(&folder, tenant, &key)?;
        let number = key.open_card(&stored.sealed, tenant.as_str(), &stored.token)?;
        Ok((SavedCard::from(&stored), number))
    }

    /// Seals a processor secret under a key of its own, wrapped by the
    /// city's KEK, replacing any of that name. Nothing ever prints it back.
    pub async fn put_secret(
        &self,
        tenant: &TenantId,
        name: &str,
        secret: &str,
    ) -> Result<(), PayError> {
        let folder = self.folder(tenant)?;
        let key = DataKey::generate();
        let wrapped = folder
            .current()?
            .wrap(&key, tenant.as_str(), SECRET_KEY_VERSION);
        let sealed = SealedSecret {
            sealed: key.seal_secret(secret, tenant.as_str(), name),
            kek_id: wrapped.kek_id,
            wrapped_key: wrapped.bytes,
        };
        Ok(self
            .store
            .put_merchant_secret(tenant, name, &sealed)
            .await?)
    }

    /// A processor secret, opened for one use; `None` if never set.
    pub async fn secret(
        &self,
        tenant: &TenantId,
        name: &str,
    ) -> Result<Option<zeroize::Zeroizing<String>>, PayError> {
        let Some(stored) = self.store.merchant_secret(tenant, name).await? else {
            return Ok(None);
        };
        let folder = KekFolder::at(&self.keys.join(tenant.as_str()));
        let key = folder.get(&stored.kek_id)?.unwrap(
            &WrappedKey {
                kek_id: stored.kek_id.clone(),
                bytes: stored.wrapped_key.clone(),
            },
            tenant.as_str(),
            SECRET_KEY_VERSION,
        )?;
        Ok(Some(key.open_secret(
            &stored.sealed,
            tenant.as_str(),
            name,
        )?))
    }

    /// A new KEK for the city; every data key re-wrapped under it; a new
    /// data key for new cards; every card re-sealed under it, `batch` at a
    /// time; then old data keys and old KEKs deleted. Cards stay readable
    /// throughout: each row names its data key version, and every version
    /// stays until no card uses it. Safe to run again after an interruption.
    pub async fn rotate(
        &self,
        tenant: &TenantId,
        batch: i64,
        mut progress: impl FnMut(&Rotation),
    ) -> Result<Rotation, PayError> {
        let folder = self.folder(tenant)?;
        let mut report = Rotation {
            new_kek: folder.add()?,
            ..Rotation::default()
        };
        let kek = folder.current()?;
        for stored in self.store.data_keys(tenant).await? {
            if stored.kek_id == report.new_kek {
                continue;
            }
            let key = self.unwrap(&folder, tenant, &stored)?;
            let wrapped = kek.wrap(&key, tenant.as_str(), stored.version);
            let rewrapped = StoredDataKey {
                version: stored.version,
                kek_id: wrapped.kek_id,
                wrapped: wrapped.bytes,
            };
            if self
                .store
                .rewrap_data_key(tenant, &stored.kek_id, &rewrapped)
                .await?
            {
                report.rewrapped_keys += 1;
            }
        }
        for (name, secret) in self.store.merchant_secrets(tenant).await? {
            if secret.kek_id == report.new_kek {
                continue;
            }
            let key = folder.get(&secret.kek_id)?.unwrap(
                &WrappedKey {
                    kek_id: secret.kek_id.clone(),
                    bytes: secret.wrapped_key.clone(),
                },
                tenant.as_str(),
                SECRET_KEY_VERSION,
            )?;
            let wrapped = kek.wrap(&key, tenant.as_str(), SECRET_KEY_VERSION);
            if self
                .store
                .rewrap_merchant_secret(
                    tenant,
                    &name,
                    &secret.kek_id,
                    &wrapped.kek_id,
                    &wrapped.bytes,
                )
                .await?
            {
                report.rewrapped_keys += 1;
            }
        }
        progress(&report);

        let newest = self
            .store
            .data_keys(tenant)
            .await?
            .first()
            .map_or(0, |k| k.version);
        report.new_version = newest + 1;
        self.insert_new_key(&folder, tenant, report.new_version)
            .await?;
        let new_key = self
            .store
            .data_key(tenant, report.new_version)
            .await?
            .ok_or(PayError::Internal("the new data key is missing"))?;
        let new_key = self.unwrap(&folder, tenant, &new_key)?;
        loop {
            let cards = self
                .store
                .cards_sealed_before(tenant, report.new_version, batch.max(1))
                .await?;
            if cards.is_empty() {
                break;
            }
            let mut keys = std::collections::HashMap::new();
            for card in cards {
                let old = match keys.entry(card.key_version) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(e) => {
                        let stored = self
                            .store
                            .data_key(tenant, card.key_version)
                            .await?
                            .ok_or(PayError::Internal("a saved card's data key is missing"))?;
                        e.insert(self.unwrap(&folder, tenant, &stored)?)
                    }
                };
                let number = old.open_card(&card.sealed, tenant.as_str(), &card.token)?;
                let sealed = new_key.seal_card(&number, tenant.as_str(), &card.token);
                if self
                    .store
                    .reseal_card(
                        tenant,
                        &card.token,
                        card.key_version,
                        report.new_version,
                        &sealed,
                    )
                    .await?
                {
                    report.resealed_cards += 1;
                }
            }
            progress(&report);
        }

        for stored in self.store.data_keys(tenant).await? {
            if stored.version < report.new_version
                && self.store.retire_data_key(tenant, stored.version).await?
            {
                report.retired_versions.push(stored.version);
            }
        }
        let mut in_use: Vec<String> = self
            .store
            .data_keys(tenant)
            .await?
            .into_iter()
            .map(|k| k.kek_id)
            .collect();
        in_use.extend(
            self.store
                .merchant_secrets(tenant)
                .await?
                .into_iter()
                .map(|(_, s)| s.kek_id),
        );
        for id in folder.ids()? {
            if id != report.new_kek && !in_use.contains(&id) {
                folder.remove(&id)?;
                report.removed_keks.push(id);
            }
        }
        progress(&report);
        Ok(report)
    }
}
