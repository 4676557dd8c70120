//! Resident accounts and autopay as stored: single-use tokens, sessions,
//! one autopay per account, and runs that two racing runners never share.

use civicpay_audit::{Action, ChainId, NewEntry};
use civicpay_core::{BillReference, BillTypeSlug, Currency, Language, Money, Tenant, TenantSlug};
use civicpay_store::portal::autopay::{NewEnrolment, RunStatus};
use civicpay_store::portal::residents::TokenPurpose;
use civicpay_store::portal::staff::SessionStage;
use civicpay_store::{Store, StoreError, demo, store_test};
use jiff::{SignedDuration, Timestamp};
use std::collections::HashSet;
use std::time::Duration;

async fn springfield(store: &Store) -> Tenant {
    demo::seed(store, 2).await.unwrap();
    store
        .tenant_by_slug(&TenantSlug::parse("springfield").unwrap())
        .await
        .unwrap()
        .unwrap()
}

fn later(minutes: i64) -> Timestamp {
    Timestamp::now()
        .checked_add(SignedDuration::from_mins(minutes))
        .unwrap()
}

fn note(tenant: &Tenant) -> NewEntry {
    NewEntry::new(
        ChainId::Tenant(tenant.id.clone()),
        "test",
        Action::AutopayEnrolled,
        "account",
        serde_json::json!({}),
    )
}

store_test!(
    tokens_are_single_use_and_sessions_end_with_a_new_password,
    |store: Store| async move {
        let tenant = springfield(&store).await;
        let id = store
            .create_resident(
                &tenant.id,
                "ana@example.org",
                "hash",
                Language::Fr,
                "verify-1",
                later(60),
            )
            .await
            .unwrap();
        assert!(matches!(
            store
                .create_resident(
                    &tenant.id,
                    "ana@example.org",
                    "hash",
                    Language::En,
                    "verify-2",
                    later(60)
                )
                .await,
            Err(StoreError::AlreadyExists(_))
        ));
        assert!(
            store
                .take_resident_token(&tenant.id, TokenPurpose::ResetPassword, "verify-1")
                .await
                .unwrap()
                .is_none(),
            "a token works only for its purpose"
        );
        let (taken, _) = store
            .take_resident_token(&tenant.id, TokenPurpose::VerifyEmail, "verify-1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(taken, id);
        assert!(
            store
                .take_resident_token(&tenant.id, TokenPurpose::VerifyEmail, "verify-1")
                .await
                .unwrap()
                .is_none(),
            "and only once"
        );
        store
            .issue_resident_token(
                &tenant.id,
                &id,
                TokenPurpose::ResetPassword,
                None,
                "old",
                later(-1),
            )
            .await
            .unwrap();
        assert!(
            store
                .take_resident_token(&tenant.id, TokenPurpose::ResetPassword, "old")
                .await
                .unwrap()
                .is_none(),
            "an expired token is refused"
        );
        store
            .add_resident_sign_up(&tenant.id, &id, "hash", "verify-3", later(60))
            .await
            .unwrap();
        assert_eq!(
            store
                .confirm_resident(&tenant.id, "verify-3")
                .await
                .unwrap(),
            Some(id.clone())
        );
        store
            .create_resident_session(
                &tenant.id,
                &id,
                "half-1",
                SessionStage::SecondFactor,
                later(5),
                None,
            )
            .await
            .unwrap();
        let (_, stage) = store
            .resident_session(&tenant.id, "half-1", Duration::from_secs(600))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stage, SessionStage::SecondFactor);
        store
            .create_resident_session(
                &tenant.id,
                &id,
                "session-1",
                SessionStage::SignedIn,
                later(60),
                Some("half-1"),
            )
            .await
            .unwrap();
        let idle = Duration::from_secs(600);
        let (resident, signed) = store
            .resident_session(&tenant.id, "session-1", idle)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(signed, SessionStage::SignedIn);
        assert_eq!(resident.language, Language::Fr);
        assert!(
            store
                .resident_session(&tenant.id, "half-1", idle)
                .await
                .unwrap()
                .is_none(),
            "the half-way session is replaced by the full one"
        );
        let other = store
            .tenant_by_slug(&TenantSlug::parse("lac-vert").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert!(
            store
                .resident_session(&other.id, "session-1", idle)
                .await
                .unwrap()
                .is_none(),
            "a session belongs to its city"
        );
        store
            .set_resident_password(&tenant.id, &id, "new-hash")
            .await
            .unwrap();
        assert!(
            store
                .resident_session(&tenant.id, "session-1", idle)
                .await
                .unwrap()
                .is_none()
        );
    }
);

store_test!(
    autopay_takes_each_due_bill_once_and_racing_runners_never_share_one,
    |store: Store| async move {
        let tenant = springfield(&store).await;
        let ana = store
            .create_resident(
                &tenant.id,
                "ana@example.org",
                "h",
                Language::En,
                "t-ana",
                later(60),
            )
            .await
            .unwrap();
        let bo = store
            .create_resident(
                &tenant.id,
                "bo@example.org",
                "h",
                Language::En,
                "t-bo",
                later(60),
            )
            .await
            .unwrap();
        let water = store
            .bill_type_by_slug(&tenant.id, &BillTypeSlug::parse("water").unwrap())
            .await
            .unwrap()
            .unwrap();
        let reference = BillReference::parse("9000-00001").unwrap();
        let today = Timestamp::now()
            .to_zoned(tenant.time_zone.time_zone())
            .date();
        // Twelve bills on one account, due from eleven days ago to today,
        // and one due tomorrow.
        let mut csv = String::from(
            "external_id,bill_type,reference,verification,payer_name,postal_address,email,amount,due_date\n",
        );
        for i in 0..=12i64 {
            let due = today
                .checked_add(SignedDuration::from_hours(24 * (i - 11)))
                .unwrap();
            csv.push_str(&format!(
                "AP-{i},water,9000-00001,62704,Ana Diaz,1 Elm St,,{}.00,{due}\n",
                10 + i
            ));
        }
        let report = store
            .import_bills(
                &tenant,
                std::io::Cursor::new(csv.into_bytes()),
                civicpay_store::portal::bill_import::ImportOptions::new(
                    civicpay_store::portal::bill_import::ImportFormat::Csv,
                ),
            )
            .await
            .unwrap();
        assert!(report.written, "{:?}", report.errors);
        let start = today
            .checked_sub(SignedDuration::from_hours(24 * 30))
            .unwrap();
        let enrolment = |resident| NewEnrolment {
            resident_id: resident,
            bill_type_id: &water.id,
            reference: &reference,
            card_token: "card-token",
            card_label: "Visa •••• 4242",
            cap: Money::from_minor(50_00, Currency::Usd),
            part: None,
            start_date: start,
        };
        store
            .enrol_autopay(&tenant.id, enrolment(&ana), note(&tenant))
            .await
            .unwrap();
        assert!(
            matches!(
                store
                    .enrol_autopay(&tenant.id, enrolment(&bo), note(&tenant))
                    .await,
                Err(StoreError::AlreadyExists(_))
            ),
            "one instruction per account, whoever in the household set it"
        );
        let part = Money::from_minor(20_00, Currency::Usd);
        store
            .enrol_autopay(
                &tenant.id,
                NewEnrolment {
                    part: Some(part),
                    ..enrolment(&ana)
                },
                note(&tenant),
            )
            .await
            .expect("its owner may change it");
        let a_bill = store
            .bills_by_reference(&tenant.id, &water.id, &reference)
            .await
            .unwrap()
            .remove(0)
            .id;
        let kept = || async {
            store
                .autopay_for_bill(&tenant.id, &a_bill)
                .await
                .unwrap()
                .unwrap()
                .part
        };
        assert_eq!(kept().await, Some(part), "the part is kept");
        store
            .enrol_autopay(&tenant.id, enrolment(&ana), note(&tenant))
            .await
            .unwrap();
        assert_eq!(kept().await, None, "and back to the whole balance");

        assert_eq!(store.schedule_autopay(&tenant.id, today).await.unwrap(), 12);
        assert_eq!(
            store.schedule_autopay(&tenant.id, today).await.unwrap(),
            0,
            "a bill is taken on once"
        );

        let stale_before = Timestamp::now()
            .checked_sub(SignedDuration::from_mins(10))
            .unwrap();
        let race = |runner: &'static str| {
            let store = store.clone();
            let tenant = tenant.id.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                while let Some(run) = store
                    .claim_autopay_run(&tenant, runner, stale_before)
                    .await
                    .unwrap()
                {
                    mine.push(run.bill_id);
                    tokio::task::yield_now().await;
                }
                mine
            })
        };
        let (a, b) = tokio::join!(race("runner-a"), race("runner-b"));
        let (a, b) = (a.unwrap(), b.unwrap());
        let all: HashSet<_> = a.iter().chain(b.iter()).cloned().collect();
        assert_eq!(
            a.len() + b.len(),
            12,
            "every run claimed once: {} + {}",
            a.len(),
            b.len()
        );
        assert_eq!(all.len(), 12, "no run claimed by both runners");

        // A claim that goes stale is taken over, with its payment record.
        let first = a.first().or(b.first()).unwrap().clone();
        store
            .set_autopay_payment(&tenant.id, &first, "local-1")
            .await
            .unwrap();
        let later_cutoff = Timestamp::now()
            .checked_add(SignedDuration::from_mins(1))
            .unwrap();
        let taken_over = store
            .claim_autopay_run(&tenant.id, "runner-c", later_cutoff)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(taken_over.status, RunStatus::Claimed);
        for bill in &all {
            store
                .finish_autopay_run(&tenant.id, bill, RunStatus::Paid, "ok", note(&tenant))
                .await
                .unwrap();
        }
        assert!(
            store
                .claim_autopay_run(&tenant.id, "runner-c", later_cutoff)
                .await
                .unwrap()
                .is_none(),
            "finished runs are never claimed again"
        );
        let (run, _) = store
            .autopay_run(&tenant.id, &first)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(run.status, RunStatus::Paid);
        assert_eq!(run.bill_payment_id.as_deref(), Some("local-1"));
    }
);

store_test!(
    a_recovery_code_signs_in_once_and_goes_with_two_step_sign_in,
    |store: Store| async move {
        let tenant = springfield(&store).await;
        let other = store
            .tenant_by_slug(&TenantSlug::parse("lac-vert").unwrap())
            .await
            .unwrap()
            .unwrap();
        let id = store
            .create_resident(
                &tenant.id,
                "rui@example.org",
                "hash",
                Language::Es,
                "verify-rc",
                later(60),
            )
            .await
            .unwrap();
        let codes: Vec<String> = (0..3).map(|i| format!("hash-{i}")).collect();
        store
            .set_resident_totp(&tenant.id, &id, Some(("SECRET", 7)), &codes, None)
            .await
            .unwrap();
        let resident = store.resident(&tenant.id, &id).await.unwrap().unwrap();
        assert_eq!(resident.totp_secret.as_deref(), Some("SECRET"));
        assert_eq!(resident.totp_last_step, 7);
        assert_eq!(
            store
                .resident_recovery_codes_left(&tenant.id, &id)
                .await
                .unwrap(),
            3
        );
        let spend = |tenant_id: civicpay_core::TenantId, hash: &'static str| {
            let (store, id) = (store.clone(), id.clone());
            async move {
                store
                    .use_resident_recovery_code(&tenant_id, &id, hash)
                    .await
                    .unwrap()
            }
        };
        assert!(!spend(other.id.clone(), "hash-0").await, "another city's");
        assert!(!spend(tenant.id.clone(), "hash-9").await, "not one of them");
        assert!(spend(tenant.id.clone(), "hash-0").await);
        assert!(!spend(tenant.id.clone(), "hash-0").await, "once only");
        assert_eq!(
            store
                .resident_recovery_codes_left(&tenant.id, &id)
                .await
                .unwrap(),
            2
        );
        // Turned off, the codes go with it.
        store
            .set_resident_totp(&tenant.id, &id, None, &codes, None)
            .await
            .unwrap();
        assert!(!spend(tenant.id.clone(), "hash-1").await);
        let resident = store.resident(&tenant.id, &id).await.unwrap().unwrap();
        assert!(resident.totp_secret.is_none());
        // E-mails sent to the address are listed newest first, whatever
        // case it was written in, and go when the account goes.
        for (subject, delivered) in [("Confirm", true), ("Two-step", false)] {
            store
                .note_mail_sent(&tenant.id, "Rui@Example.org", subject, delivered)
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let sent = store
            .mail_sent_to(&tenant.id, "rui@example.org", 10)
            .await
            .unwrap();
        assert_eq!(
            sent.iter()
                .map(|m| (m.subject.as_str(), m.delivered))
                .collect::<Vec<_>>(),
            [("Two-step", false), ("Confirm", true)]
        );
        assert!(
            store
                .mail_sent_to(&other.id, "rui@example.org", 10)
                .await
                .unwrap()
                .is_empty(),
            "another city sees none"
        );
        // And a deleted account keeps none.
        store
            .set_resident_totp(&tenant.id, &id, Some(("SECRET", 8)), &codes, None)
            .await
            .unwrap();
        store
            .delete_resident(&tenant.id, &id, note(&tenant))
            .await
            .unwrap();
        assert_eq!(
            store
                .resident_recovery_codes_left(&tenant.id, &id)
                .await
                .unwrap(),
            0
        );
        assert!(
            store
                .mail_sent_to(&tenant.id, "rui@example.org", 10)
                .await
                .unwrap()
                .is_empty()
        );
    }
);
