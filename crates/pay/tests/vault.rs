//! Saved cards in the vault, on SQLite and (when configured) PostgreSQL:
//! sealed at rest, useless without the key folder, bound to their city,
//! owner and row, and readable before, during and after a key rotation.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use civicpay_core::{Currency, TenantId, TenantSlug};
use civicpay_pay::PayError;
use civicpay_pay::vault::Vault;
use civicpay_store::pay::Merchant;
use civicpay_store::testing::{Schema, TestDb, execute_behind_the_back};
use civicpay_vault::{CardNumber, Expiry, FingerprintKey};
use std::path::PathBuf;
use std::sync::Arc;

const NUMBERS: [&str; 3] = ["4242424242424242", "5555555555554444", "378282246310005"];

struct Setup {
    db: TestDb,
    vault: Vault,
    keys: PathBuf,
    city: TenantId,
    other_city: TenantId,
}

async fn setup(db: TestDb) -> Setup {
    let store = db.pay_store();
    let mut cities = Vec::new();
    for slug in ["springfield", "lac-vert"] {
        let merchant = Merchant {
            tenant_id: TenantId::generate(),
            slug: TenantSlug::parse(slug).unwrap(),
            name: slug.into(),
            currency: Currency::Usd,
            return_origins: vec!["https://city.example".into()],
            suspended: false,
        };
        store.upsert_merchant(&merchant).await.unwrap();
        cities.push(merchant.tenant_id);
    }
    let keys = std::env::temp_dir().join(format!(
        "civicpay-vault-test-{}",
        uuid::Uuid::now_v7().simple()
    ));
    Setup {
        vault: Vault::new(store, keys.clone()),
        db,
        keys,
        other_city: cities.pop().unwrap(),
        city: cities.pop().unwrap(),
    }
}

fn expiry() -> Expiry {
    Expiry::parse("12/30", jiff::civil::date(2026, 11, 23)).unwrap()
}

fn fingerprint(card: &CardNumber) -> civicpay_vault::CardFingerprint {
    FingerprintKey::new([7; 32]).fingerprint(card)
}

async fn save(s: &Setup, owner: &str, number: &str) -> civicpay_pay::vault::SavedCard {
    let card = CardNumber::parse(number).unwrap();
    s.vault
        .save(&s.city, owner, &card, expiry(), &fingerprint(&card))
        .await
        .unwrap()
}

/// Every byte the database holds for saved cards and data keys, as text.
async fn dump(s: &Setup) -> String {
    let rows = s.db.pay_store();
    let mut all = String::new();
    for city in [&s.city, &s.other_city] {
        for key in rows.data_keys(city).await.unwrap() {
            all.push_str(&format!("{key:?}"));
        }
    }
    if let Some(dir) = s.db.sqlite_dir() {
        for entry in std::fs::read_dir(dir).unwrap() {
            all.push_str(&String::from_utf8_lossy(
                &std::fs::read(entry.unwrap().path()).unwrap(),
            ));
        }
    }
    all
}

async fn finish(s: Arc<Setup>) {
    let Ok(s) = Arc::try_unwrap(s) else {
        panic!("the test kept its setup");
    };
    let _ = std::fs::remove_dir_all(&s.keys);
    s.db.finish().await;
}

macro_rules! on_both {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let s = Arc::new(setup(TestDb::sqlite_with(Schema::Pay).await.unwrap()).await);
                ($body)(s.clone()).await;
                finish(s).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(db) = TestDb::postgres_with(Schema::Pay).await.unwrap() else {
                    eprintln!("skipped: set CIVICPAY_TEST_POSTGRES_URL");
                    return;
                };
                let s = Arc::new(setup(db).await);
                ($body)(s.clone()).await;
                finish(s).await;
            }
        }
    };
}

on_both!(a_saved_card_opens_only_for_its_owner_and_city, |s: Arc<
    Setup,
>| async move {
    let saved = save(&s, "resident-1", NUMBERS[0]).await;
    assert_eq!(
        (saved.brand.as_str(), saved.last4.as_str()),
        ("visa", "4242")
    );
    assert_eq!((saved.exp_month, saved.exp_year), (12, 2030));
    let (shown, number) = s
        .vault
        .open(&s.city, "resident-1", &saved.token)
        .await
        .unwrap();
    assert_eq!(number.expose_digits(), NUMBERS[0]);
    assert_eq!(shown, saved);
    assert!(matches!(
        s.vault.open(&s.city, "resident-2", &saved.token).await,
        Err(PayError::NotFound)
    ));
    assert!(matches!(
        s.vault
            .open(&s.other_city, "resident-1", &saved.token)
            .await,
        Err(PayError::NotFound)
    ));
    assert!(
        s.db.pay_store()
            .delete_saved_card(&s.city, "resident-1", &saved.token)
            .await
            .unwrap()
    );
    assert!(
        s.vault
            .open(&s.city, "resident-1", &saved.token)
            .await
            .is_err()
    );
});

on_both!(
    the_database_alone_yields_no_card_number,
    |s: Arc<Setup>| async move {
        let saved = save(&s, "resident-1", NUMBERS[0]).await;
        let stored =
            s.db.pay_store()
                .saved_card(&s.city, &saved.token)
                .await
                .unwrap()
                .unwrap();
        let row = format!("{stored:?}");
        assert!(!row.contains(NUMBERS[0]) && !row.contains("424242424242"));
        assert!(!dump(&s).await.contains(NUMBERS[0]));
        // The scan finds what is there: the fingerprint and last four are.
        assert!(dump(&s).await.contains(&stored.fingerprint) || s.db.sqlite_dir().is_none());

        // The same database with another key folder (a copy of the database
        // without the key files) opens nothing.
        let elsewhere = Vault::new(s.db.pay_store(), s.keys.join("not-the-keys"));
        assert!(
            elsewhere
                .open(&s.city, "resident-1", &saved.token)
                .await
                .is_err()
        );
        assert!(
            s.vault
                .open(&s.city, "resident-1", &saved.token)
                .await
                .is_ok()
        );
    }
);

on_both!(
    a_sealed_number_moved_to_another_row_does_not_open,
    |s: Arc<Setup>| async move {
        let first = save(&s, "resident-1", NUMBERS[0]).await;
        let second = save(&s, "resident-1", NUMBERS[1]).await;
        let store = &s.db.store;
        execute_behind_the_back(
            store,
            &format!(
                "UPDATE vault_cards SET sealed = (SELECT sealed FROM vault_cards WHERE token = '{}') WHERE token = '{}'",
                first.token, second.token
            ),
        )
        .await
        .unwrap();
        assert!(matches!(
            s.vault.open(&s.city, "resident-1", &second.token).await,
            Err(PayError::Vault(_))
        ));
        assert!(
            s.vault
                .open(&s.city, "resident-1", &first.token)
                .await
                .is_ok()
        );
    }
);

on_both!(cards_stay_readable_during_and_after_rotation, |s: Arc<
    Setup,
>| async move {
    let mut saved = Vec::new();
    for i in 0..30 {
        saved.push((save(&s, "resident-1", NUMBERS[i % 3]).await, NUMBERS[i % 3]));
    }
    let old_kek = std::fs::read_to_string(s.keys.join(s.city.as_str()).join("current")).unwrap();

    // A reader keeps opening every card while the rotation runs.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (saved, done, s) = (saved.clone(), done.clone(), s.clone());
        tokio::spawn(async move {
            let mut reads = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) || reads == 0 {
                for (card, number) in &saved {
                    let (_, opened) = s
                        .vault
                        .open(&s.city, "resident-1", &card.token)
                        .await
                        .unwrap();
                    assert_eq!(opened.expose_digits(), *number);
                    reads += 1;
                }
            }
            reads
        })
    };
    let mut batches = 0;
    let rotation = s.vault.rotate(&s.city, 7, |_| batches += 1).await.unwrap();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(reader.await.unwrap() >= 30);
    assert_eq!(rotation.rewrapped_keys, 1);
    assert_eq!(rotation.new_version, 2);
    assert_eq!(rotation.resealed_cards, 30);
    assert_eq!(rotation.retired_versions, vec![1]);
    assert_eq!(rotation.removed_keks, vec![old_kek.trim().to_owned()]);
    assert!(
        batches >= 5,
        "30 cards in batches of 7: {batches} progress reports"
    );
    assert!(
        !s.keys
            .join(s.city.as_str())
            .join(format!("{}.kek", old_kek.trim()))
            .exists()
    );
    let keys = s.db.pay_store().data_keys(&s.city).await.unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].kek_id, rotation.new_kek);

    for (card, number) in &saved {
        let (_, opened) = s
            .vault
            .open(&s.city, "resident-1", &card.token)
            .await
            .unwrap();
        assert_eq!(opened.expose_digits(), *number);
    }
    // A card saved after the rotation uses the new key, and a second
    // rotation works the same way.
    let late = save(&s, "resident-1", NUMBERS[1]).await;
    let again = s.vault.rotate(&s.city, 100, |_| ()).await.unwrap();
    assert_eq!((again.new_version, again.resealed_cards), (3, 31));
    let (_, opened) = s
        .vault
        .open(&s.city, "resident-1", &late.token)
        .await
        .unwrap();
    assert_eq!(opened.expose_digits(), NUMBERS[1]);
});

on_both!(
    a_processor_secret_is_sealed_bound_to_its_city_and_survives_rotation,
    |s: Arc<Setup>| async move {
        let name = "processor.transaction_key";
        let secret = "Tk9x7QzSecretValue42";
        assert_eq!(s.vault.secret(&s.city, name).await.unwrap(), None);
        s.vault.put_secret(&s.city, name, secret).await.unwrap();
        assert_eq!(
            s.vault
                .secret(&s.city, name)
                .await
                .unwrap()
                .as_deref()
                .map(String::as_str),
            Some(secret)
        );
        let stored =
            s.db.pay_store()
                .merchant_secret(&s.city, name)
                .await
                .unwrap()
                .unwrap();
        assert!(
            !String::from_utf8_lossy(&stored.sealed).contains(secret)
                && !format!("{stored:?}").contains(secret),
            "sealed, not stored in clear"
        );
        // Another city's row with this city's sealed bytes does not open.
        s.db.pay_store()
            .put_merchant_secret(&s.other_city, name, &stored)
            .await
            .unwrap();
        assert!(s.vault.secret(&s.other_city, name).await.is_err());

        let rotation = s.vault.rotate(&s.city, 10, |_| {}).await.unwrap();
        assert!(
            !rotation.removed_keks.is_empty() || rotation.rewrapped_keys > 0,
            "{rotation:?}"
        );
        let after =
            s.db.pay_store()
                .merchant_secret(&s.city, name)
                .await
                .unwrap()
                .unwrap();
        assert_eq!(
            after.kek_id, rotation.new_kek,
            "re-wrapped under the new KEK"
        );
        assert_eq!(
            s.vault
                .secret(&s.city, name)
                .await
                .unwrap()
                .as_deref()
                .map(String::as_str),
            Some(secret),
            "still opens after the old KEK is gone"
        );
        s.vault.put_secret(&s.city, name, "NewKey").await.unwrap();
        assert_eq!(
            s.vault
                .secret(&s.city, name)
                .await
                .unwrap()
                .as_deref()
                .map(String::as_str),
            Some("NewKey"),
            "set again replaces it"
        );
    }
);
