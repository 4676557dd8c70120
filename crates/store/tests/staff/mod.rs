//! Staff accounts, sessions and refund approvals as stored.

use civicpay_audit::{Action, ChainId, ChainVerifier, NewEntry};
use civicpay_core::staff::RefundLimits;
use civicpay_core::{Language, Money, Role, StaffId, Tenant, TenantSlug};
use civicpay_store::portal::refund_requests::{NewRefundRequest, RefundRequestStatus};
use civicpay_store::portal::staff::{Enrolment, SessionStage, StaffStatus};
use civicpay_store::{Store, StoreError, demo, store_test};
use jiff::{SignedDuration, Timestamp};
use std::time::Duration;

async fn cities(store: &Store) -> (Tenant, Tenant) {
    demo::seed(store, 1).await.unwrap();
    let get = |slug: &'static str| {
        let store = store.clone();
        async move {
            store
                .tenant_by_slug(&TenantSlug::parse(slug).unwrap())
                .await
                .unwrap()
                .unwrap()
        }
    };
    (get("springfield").await, get("lac-vert").await)
}

fn note(tenant: &Tenant, action: Action) -> NewEntry {
    NewEntry::new(
        ChainId::Tenant(tenant.id.clone()),
        "test",
        action,
        "staff",
        serde_json::json!({}),
    )
}

fn later(minutes: i64) -> Timestamp {
    Timestamp::now()
        .checked_add(SignedDuration::from_mins(minutes))
        .unwrap()
}

async fn active_staff(store: &Store, tenant: &Tenant, email: &str, role: Role) -> StaffId {
    let token = format!("token-{email}");
    let id = store
        .invite_staff(
            Some(&tenant.id),
            email,
            role,
            &token,
            later(60),
            note(tenant, Action::StaffCreated),
        )
        .await
        .unwrap();
    let done = store
        .complete_enrolment(
            Some(&tenant.id),
            &id,
            &token,
            Enrolment {
                password_hash: "$argon2id$stand-in",
                totp_secret: "JBSWY3DPEHPK3PXP",
                totp_step: 10,
                recovery_code_hashes: &["r1".to_owned(), "r2".to_owned()],
            },
            note(tenant, Action::StaffEnrolled),
        )
        .await
        .unwrap();
    assert!(done);
    id
}

store_test!(
    enrolment_links_work_once_and_only_in_their_city,
    |store: Store| async move {
        let (springfield, lac_vert) = cities(&store).await;
        let id = store
            .invite_staff(
                Some(&springfield.id),
                "ana@springfield.gov",
                Role::Clerk,
                "h1",
                later(60),
                note(&springfield, Action::StaffCreated),
            )
            .await
            .unwrap();
        let again = store
            .invite_staff(
                Some(&springfield.id),
                "ana@springfield.gov",
                Role::Clerk,
                "h2",
                later(60),
                note(&springfield, Action::StaffCreated),
            )
            .await;
        assert!(matches!(again, Err(StoreError::AlreadyExists(_))));
        // The same e-mail may work for another city.
        store
            .invite_staff(
                Some(&lac_vert.id),
                "ana@springfield.gov",
                Role::Clerk,
                "h3",
                later(60),
                note(&lac_vert, Action::StaffCreated),
            )
            .await
            .unwrap();

        let now = Timestamp::now();
        assert!(
            store
                .staff_by_enrolment_token(Some(&lac_vert.id), "h1", now)
                .await
                .unwrap()
                .is_none()
        );
        let found = store
            .staff_by_enrolment_token(Some(&springfield.id), "h1", now)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (found.id.clone(), found.status),
            (id.clone(), StaffStatus::Invited)
        );
        assert!(
            store
                .staff_by_enrolment_token(Some(&springfield.id), "h1", later(120))
                .await
                .unwrap()
                .is_none(),
            "expired"
        );

        let enrol = || Enrolment {
            password_hash: "$argon2id$x",
            totp_secret: "JBSWY3DPEHPK3PXP",
            totp_step: 1,
            recovery_code_hashes: &[],
        };
        assert!(
            store
                .complete_enrolment(
                    Some(&springfield.id),
                    &id,
                    "h1",
                    enrol(),
                    note(&springfield, Action::StaffEnrolled)
                )
                .await
                .unwrap()
        );
        assert!(
            !store
                .complete_enrolment(
                    Some(&springfield.id),
                    &id,
                    "h1",
                    enrol(),
                    note(&springfield, Action::StaffEnrolled)
                )
                .await
                .unwrap()
        );
        let active = store
            .staff_by_email(Some(&springfield.id), "ana@springfield.gov")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(active.status, StaffStatus::Active);
        assert!(
            store
                .staff_by_id(Some(&lac_vert.id), &id)
                .await
                .unwrap()
                .is_none()
        );

        // Every change above is in the city's chain, which verifies.
        let chain = ChainId::Tenant(springfield.id.clone());
        let verified = store
            .verify_audit_chain(ChainVerifier::new(chain.clone(), []), &chain)
            .await
            .unwrap();
        assert_eq!(verified, Ok(2));
    }
);

store_test!(
    failures_lock_and_codes_are_good_once,
    |store: Store| async move {
        let (springfield, _) = cities(&store).await;
        let id = active_staff(&store, &springfield, "bo@springfield.gov", Role::Supervisor).await;
        let lockout = civicpay_lockout;
        for expected in 1..=5 {
            let n = store
                .record_failed_sign_in(
                    Some(&springfield.id),
                    &id,
                    lockout,
                    note(&springfield, Action::SignInFailed),
                )
                .await
                .unwrap();
            assert_eq!(n, expected);
        }
        let locked = store
            .staff_by_id(Some(&springfield.id), &id)
            .await
            .unwrap()
            .unwrap();
        assert!(locked.locked_until > Timestamp::now());
        store.clear_failed_sign_ins(&id).await.unwrap();
        let cleared = store
            .staff_by_id(Some(&springfield.id), &id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(cleared.failed_sign_ins, 0);

        assert!(
            !store.accept_totp_step(&id, 10).await.unwrap(),
            "enrolment's step is spent"
        );
        assert!(store.accept_totp_step(&id, 11).await.unwrap());
        assert!(!store.accept_totp_step(&id, 11).await.unwrap(), "replay");

        assert_eq!(store.unused_recovery_codes(&id).await.unwrap(), 2);
        assert!(store.use_recovery_code(&id, "r1").await.unwrap());
        assert!(!store.use_recovery_code(&id, "r1").await.unwrap());
        assert!(!store.use_recovery_code(&id, "nope").await.unwrap());
        assert_eq!(store.unused_recovery_codes(&id).await.unwrap(), 1);
    }
);

fn civicpay_lockout(failures: u32) -> Option<Duration> {
    (failures >= 5).then_some(Duration::from_secs(60))
}

store_test!(
    sessions_expire_rotate_and_end_everywhere,
    |store: Store| async move {
        let (springfield, _) = cities(&store).await;
        let id = active_staff(&store, &springfield, "cy@springfield.gov", Role::Finance).await;
        let idle = Duration::from_secs(900);
        store
            .create_staff_session("half", &id, SessionStage::SecondFactor, later(5))
            .await
            .unwrap();
        let half = store.staff_session("half", idle).await.unwrap().unwrap();
        assert_eq!(half.stage, SessionStage::SecondFactor);
        store
            .promote_staff_session(
                "half",
                "full",
                &id,
                later(480),
                note(&springfield, Action::SignInSucceeded),
            )
            .await
            .unwrap();
        assert!(
            store.staff_session("half", idle).await.unwrap().is_none(),
            "old token is dead"
        );
        let full = store.staff_session("full", idle).await.unwrap().unwrap();
        assert_eq!(
            (full.stage, full.staff.role),
            (SessionStage::SignedIn, Role::Finance)
        );

        // Idle too long: gone, and gone for good.
        assert!(
            store
                .staff_session("full", Duration::ZERO)
                .await
                .unwrap()
                .is_none()
        );
        assert!(store.staff_session("full", idle).await.unwrap().is_none());
        // Past the absolute limit.
        store
            .create_staff_session("old", &id, SessionStage::SignedIn, Timestamp::now())
            .await
            .unwrap();
        assert!(store.staff_session("old", idle).await.unwrap().is_none());

        store
            .create_staff_session("phone", &id, SessionStage::SignedIn, later(60))
            .await
            .unwrap();
        store
            .create_staff_session("desk", &id, SessionStage::SignedIn, later(60))
            .await
            .unwrap();
        let ended = store
            .end_all_staff_sessions(&id, note(&springfield, Action::SignedOutEverywhere))
            .await
            .unwrap();
        assert_eq!(ended, 2);
        assert!(store.staff_session("desk", idle).await.unwrap().is_none());

        // Disabling an account ends its sessions too.
        store
            .create_staff_session("desk2", &id, SessionStage::SignedIn, later(60))
            .await
            .unwrap();
        assert!(
            store
                .update_staff(
                    Some(&springfield.id),
                    &id,
                    Role::Finance,
                    StaffStatus::Disabled,
                    note(&springfield, Action::StaffDisabled)
                )
                .await
                .unwrap()
        );
        assert!(store.staff_session("desk2", idle).await.unwrap().is_none());
    }
);

store_test!(
    a_refund_needs_someone_else_to_approve,
    |store: Store| async move {
        let (springfield, lac_vert) = cities(&store).await;
        let asker = active_staff(
            &store,
            &springfield,
            "dee@springfield.gov",
            Role::Supervisor,
        )
        .await;
        let approver = active_staff(
            &store,
            &springfield,
            "eve@springfield.gov",
            Role::Supervisor,
        )
        .await;
        let (id, status) = store
            .create_refund_request(
                &springfield.id,
                NewRefundRequest {
                    pay_payment_id: "pay-1",
                    amount: Money::from_minor(25_000, springfield.currency),
                    reason: "charged twice",
                    requested_by: &asker,
                    refunded_before: Money::from_minor(0, springfield.currency),
                    day_began: Timestamp::now()
                        .checked_sub(SignedDuration::from_hours(1))
                        .unwrap(),
                },
                |_, _| note(&springfield, Action::RefundRequested),
            )
            .await
            .unwrap();
        assert_eq!(status, RefundRequestStatus::Pending, "over the threshold");
        assert_eq!(
            store
                .refund_requests(&springfield.id, None)
                .await
                .unwrap()
                .len(),
            1
        );
        assert!(
            store
                .refund_requests(&lac_vert.id, None)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            store
                .refund_request(&lac_vert.id, &id)
                .await
                .unwrap()
                .is_none()
        );

        assert!(
            !store
                .decide_refund_request(
                    &springfield.id,
                    &id,
                    &asker,
                    true,
                    note(&springfield, Action::RefundApproved)
                )
                .await
                .unwrap(),
            "self-approval"
        );
        assert!(
            !store
                .decide_refund_request(
                    &lac_vert.id,
                    &id,
                    &approver,
                    true,
                    note(&lac_vert, Action::RefundApproved)
                )
                .await
                .unwrap(),
            "other city"
        );
        assert!(
            store
                .decide_refund_request(
                    &springfield.id,
                    &id,
                    &approver,
                    true,
                    note(&springfield, Action::RefundApproved)
                )
                .await
                .unwrap()
        );
        assert!(
            !store
                .decide_refund_request(
                    &springfield.id,
                    &id,
                    &approver,
                    false,
                    note(&springfield, Action::RefundRejected)
                )
                .await
                .unwrap(),
            "decided once"
        );
        store
            .finish_refund_request(
                &springfield.id,
                &id,
                Ok("refund-9"),
                note(&springfield, Action::RefundIssued),
            )
            .await
            .unwrap();
        let done = store
            .refund_request(&springfield.id, &id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(done.status, RefundRequestStatus::Issued);
        assert_eq!(done.decided_by, Some(approver));
        assert_eq!(done.pay_refund_id.as_deref(), Some("refund-9"));
        assert!(
            store
                .refund_requests(&springfield.id, None)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            store
                .refund_requests(&springfield.id, Some("pay-1"))
                .await
                .unwrap()
                .len(),
            1
        );

        let limits = store.refund_limits(&springfield.id).await.unwrap();
        assert_eq!(limits.threshold, 10_000);
        assert_eq!(limits.per_staff_daily, None);
        let changed = RefundLimits {
            threshold: 500,
            per_staff_daily: Some(1_500),
        };
        store
            .set_refund_limits(
                &springfield.id,
                changed,
                note(&springfield, Action::SettingChanged),
            )
            .await
            .unwrap();
        assert_eq!(store.refund_limits(&springfield.id).await.unwrap(), changed);
        assert_eq!(
            store.refund_limits(&lac_vert.id).await.unwrap().threshold,
            10_000
        );
    }
);

store_test!(
    a_refund_split_into_parts_or_across_payments_still_needs_a_second_person,
    |store: Store| async move {
        let (springfield, _) = cities(&store).await;
        let clerk = active_staff(
            &store,
            &springfield,
            "fay@springfield.gov",
            Role::Supervisor,
        )
        .await;
        store
            .set_refund_limits(
                &springfield.id,
                RefundLimits {
                    threshold: 10_000,
                    per_staff_daily: Some(25_000),
                },
                note(&springfield, Action::SettingChanged),
            )
            .await
            .unwrap();
        let usd = |minor| Money::from_minor(minor, springfield.currency);
        let day_began = Timestamp::now()
            .checked_sub(SignedDuration::from_hours(1))
            .unwrap();
        let ask = |payment: &'static str, amount: i64, refunded_before: i64| {
            let (store, springfield, clerk) = (&store, &springfield, &clerk);
            async move {
                store
                    .create_refund_request(
                        &springfield.id,
                        NewRefundRequest {
                            pay_payment_id: payment,
                            amount: usd(amount),
                            reason: "split",
                            requested_by: clerk,
                            refunded_before: usd(refunded_before),
                            day_began,
                        },
                        |_, _| note(springfield, Action::RefundRequested),
                    )
                    .await
                    .unwrap()
                    .1
            }
        };
        assert_eq!(ask("pay-a", 6_000, 0).await, RefundRequestStatus::Approved);
        assert_eq!(
            ask("pay-a", 6_000, 0).await,
            RefundRequestStatus::Pending,
            "the second part brings the payment's refunds over the threshold"
        );
        assert_eq!(
            ask("pay-b", 3_000, 8_000).await,
            RefundRequestStatus::Pending,
            "what pay already refunded counts"
        );
        assert_eq!(ask("pay-c", 9_000, 0).await, RefundRequestStatus::Approved);
        assert_eq!(ask("pay-d", 9_000, 0).await, RefundRequestStatus::Approved);
        assert_eq!(
            ask("pay-e", 2_000, 0).await,
            RefundRequestStatus::Pending,
            "6,000 + 9,000 + 9,000 put through alone today; 2,000 more is over 25,000"
        );
    }
);

store_test!(
    authenticator_secrets_left_in_clear_are_found_and_sealed_once,
    |store: Store| async move {
        let (springfield, lac_vert) = cities(&store).await;
        let id = active_staff(&store, &springfield, "gil@springfield.gov", Role::Clerk).await;
        let clear = store
            .staff_with_clear_totp(Some(&springfield.id))
            .await
            .unwrap();
        assert_eq!(clear, [(id.clone(), "JBSWY3DPEHPK3PXP".to_owned())]);
        assert!(
            store
                .staff_with_clear_totp(Some(&lac_vert.id))
                .await
                .unwrap()
                .is_empty(),
            "one city's staff only"
        );
        assert!(
            !store
                .seal_staff_totp(Some(&lac_vert.id), &id, "JBSWY3DPEHPK3PXP", "sealed1:x")
                .await
                .unwrap(),
            "not from another city"
        );
        assert!(
            store
                .seal_staff_totp(Some(&springfield.id), &id, "JBSWY3DPEHPK3PXP", "sealed1:x")
                .await
                .unwrap()
        );
        assert!(
            !store
                .seal_staff_totp(Some(&springfield.id), &id, "JBSWY3DPEHPK3PXP", "sealed1:y")
                .await
                .unwrap(),
            "a secret changed since it was read is left alone"
        );
        assert!(
            store
                .staff_with_clear_totp(Some(&springfield.id))
                .await
                .unwrap()
                .is_empty()
        );
    }
);

store_test!(
    a_staff_members_console_language_is_remembered_in_their_city_only,
    |store: Store| async move {
        let (springfield, lac_vert) = cities(&store).await;
        let id = active_staff(&store, &springfield, "clerk@springfield.test", Role::Clerk).await;
        let read = |scope| {
            let (store, id) = (store.clone(), id.clone());
            async move { store.staff_by_id(Some(scope), &id).await.unwrap() }
        };
        assert_eq!(read(&springfield.id).await.unwrap().language, None);
        store
            .set_staff_language(Some(&lac_vert.id), &id, Language::Fr)
            .await
            .unwrap();
        assert_eq!(
            read(&springfield.id).await.unwrap().language,
            None,
            "another city's console cannot set it"
        );
        store
            .set_staff_language(Some(&springfield.id), &id, Language::Es)
            .await
            .unwrap();
        assert_eq!(
            read(&springfield.id).await.unwrap().language,
            Some(Language::Es)
        );
    }
);
