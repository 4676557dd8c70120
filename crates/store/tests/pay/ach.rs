//! E-checks in pay's store: sealed accounts, entries, and files that claim
//! each entry once.

use super::merchant;
use civicpay_core::ach::{AccountKind, BankAccountStatus, EntryKind, RoutingNumber, SecCode};
use civicpay_core::{AchEntryId, BankAccountId, Currency, Money, PaymentId, TenantId};
use civicpay_store::pay::{NewAchEntry, PayStore, StoredBankAccount};
use civicpay_store::pay_store_test;
use jiff::civil::{Date, date};
use std::collections::BTreeSet;

fn account(owner: &str) -> StoredBankAccount {
    StoredBankAccount {
        id: BankAccountId::generate(),
        owner: owner.into(),
        holder_name: "Ana Diaz".into(),
        routing: RoutingNumber::parse("021000021").unwrap(),
        kind: AccountKind::Checking,
        last4: "6789".into(),
        key_version: 1,
        sealed: vec![9, 8, 7, 6],
        status: BankAccountStatus::Unvalidated,
        created_at: jiff::Timestamp::now(),
    }
}

fn debit(account: &BankAccountId, cents: i64, ready_on: Date) -> NewAchEntry {
    NewAchEntry {
        id: AchEntryId::generate(),
        payment: Some(PaymentId::generate()),
        bank_account: account.clone(),
        kind: EntryKind::Debit,
        sec: SecCode::Web,
        amount: Money::from_minor(cents, Currency::Usd),
        description: "UTILITY".into(),
        ready_on,
    }
}

async fn city_with_account(store: &PayStore, slug: &str) -> (TenantId, BankAccountId) {
    let city = merchant(store, slug).await;
    let stored = account("cus_1");
    store
        .insert_bank_account(&city.tenant_id, &stored)
        .await
        .unwrap();
    (city.tenant_id, stored.id)
}

pay_store_test!(
    a_bank_account_is_kept_sealed_and_belongs_to_its_city,
    |store: PayStore| async move {
        let (city, id) = city_with_account(&store, "springfield").await;
        let other = merchant(&store, "shelbyville").await.tenant_id;
        let read = store.bank_account(&city, &id).await.unwrap().unwrap();
        assert_eq!(read.sealed, vec![9, 8, 7, 6]);
        assert_eq!(
            (read.last4.as_str(), read.kind),
            ("6789", AccountKind::Checking)
        );
        assert_eq!(read.routing.as_str(), "021000021");
        assert!(store.bank_account(&other, &id).await.unwrap().is_none());
        assert!(
            !store
                .set_bank_account_status(&other, &id, BankAccountStatus::Disabled)
                .await
                .unwrap()
        );
        assert!(
            store
                .set_bank_account_status(&city, &id, BankAccountStatus::Disabled)
                .await
                .unwrap()
        );
        let read = store.bank_account(&city, &id).await.unwrap().unwrap();
        assert_eq!(read.status, BankAccountStatus::Disabled);
        assert!(!format!("{read:?}").contains("[9, 8, 7, 6]"));
    }
);

pay_store_test!(
    a_file_claims_what_is_ready_by_its_date_once_with_fresh_trace_numbers,
    |store: PayStore| async move {
        let (city, account) = city_with_account(&store, "springfield").await;
        let today = date(2026, 12, 2);
        let first = debit(&account, 12_550, today);
        let second = debit(&account, 4_000, today);
        let later = debit(&account, 700, date(2026, 12, 9));
        for e in [&first, &second, &later] {
            store.queue_ach_entry(&city, e).await.unwrap();
        }
        let (file, entries) = store
            .claim_ach_file(&city, date(2026, 12, 3), jiff::Timestamp::now())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(file.id_modifier, 'A');
        assert_eq!((file.entry_count, file.debit_total.minor()), (2, 16_550));
        let ids: Vec<_> = entries.iter().map(|e| e.entry.id.clone()).collect();
        assert_eq!(ids, vec![first.id.clone(), second.id.clone()]);
        let traces: Vec<_> = entries.iter().map(|e| e.trace_sequence).collect();
        assert_eq!(traces, vec![Some(1), Some(2)]);
        assert!(entries.iter().all(|e| e.file.as_ref() == Some(&file.id)));

        // Nothing more is ready for that date; the later entry waits.
        assert!(
            store
                .claim_ach_file(&city, date(2026, 12, 3), jiff::Timestamp::now())
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(store.waiting_ach_entries(&city).await.unwrap().len(), 1);

        // A second file the same day is B, and its traces follow on.
        store
            .queue_ach_entry(&city, &debit(&account, 900, today))
            .await
            .unwrap();
        let (b, entries) = store
            .claim_ach_file(&city, date(2026, 12, 3), jiff::Timestamp::now())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(b.id_modifier, 'B');
        assert_eq!(entries[0].trace_sequence, Some(3));
        let on_day = store.ach_files_on(&city, date(2026, 12, 3)).await.unwrap();
        assert_eq!(
            on_day.iter().map(|f| f.id_modifier).collect::<String>(),
            "AB"
        );
        let read_back = store.ach_entries_of_file(&city, &file.id).await.unwrap();
        assert_eq!(
            read_back.iter().map(|e| &e.entry).collect::<Vec<_>>(),
            [&first, &second]
        );

        // The hash is recorded once; a different text made later is caught.
        assert!(
            store
                .record_ach_file_hash(&city, &file.id, "aa11")
                .await
                .unwrap()
        );
        assert!(
            store
                .record_ach_file_hash(&city, &file.id, "aa11")
                .await
                .unwrap()
        );
        assert!(
            !store
                .record_ach_file_hash(&city, &file.id, "bb22")
                .await
                .unwrap()
        );

        // Another city sees none of it.
        let other = merchant(&store, "shelbyville").await.tenant_id;
        assert!(
            store
                .ach_files_on(&other, date(2026, 12, 3))
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            store
                .ach_entries_of_file(&other, &file.id)
                .await
                .unwrap()
                .is_empty()
        );
    }
);

pay_store_test!(
    two_file_jobs_at_once_never_put_an_entry_in_two_files,
    |store: PayStore| async move {
        let (city, account) = city_with_account(&store, "springfield").await;
        let mut queued = BTreeSet::new();
        for n in 0..40 {
            let e = debit(&account, 100 + n, date(2026, 12, 2));
            store.queue_ach_entry(&city, &e).await.unwrap();
            queued.insert(e.id);
        }
        let claim = |store: PayStore, city: TenantId| async move {
            store
                .claim_ach_file(&city, date(2026, 12, 3), jiff::Timestamp::now())
                .await
                .unwrap()
        };
        let (a, b) = tokio::join!(
            tokio::spawn(claim(store.clone(), city.clone())),
            tokio::spawn(claim(store.clone(), city.clone())),
        );
        let files: Vec<_> = [a.unwrap(), b.unwrap()].into_iter().flatten().collect();
        assert!(!files.is_empty());
        let mut seen = BTreeSet::new();
        let mut traces = BTreeSet::new();
        for (_, entries) in &files {
            for e in entries {
                assert!(seen.insert(e.entry.id.clone()), "an entry is in two files");
                assert!(
                    traces.insert(e.trace_sequence),
                    "a trace number is used twice"
                );
            }
        }
        assert_eq!(seen, queued, "every entry is in a file");
    }
);

pay_store_test!(
    an_entry_in_another_currency_or_negative_is_refused,
    |store: PayStore| async move {
        let (city, account) = city_with_account(&store, "springfield").await;
        let mut cad = debit(&account, 100, date(2026, 12, 2));
        cad.amount = Money::from_minor(100, Currency::Cad);
        assert!(store.queue_ach_entry(&city, &cad).await.is_err());
        let negative = debit(&account, -100, date(2026, 12, 2));
        assert!(store.queue_ach_entry(&city, &negative).await.is_err());
        assert!(store.waiting_ach_entries(&city).await.unwrap().is_empty());
    }
);
