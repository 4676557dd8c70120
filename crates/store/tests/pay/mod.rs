//! The pay service's store, on SQLite and (when configured) PostgreSQL.

use civicpay_core::payment::{Channel, PaymentEvent, PaymentStatus};
use civicpay_core::{Currency, Language, Money, PaymentId, TenantId, TenantSlug};
use civicpay_store::StoreError;
use civicpay_store::pay::{
    Created, IdempotencyRequest, Merchant, NewPayment, PayStore, PaymentChange, TransitionError,
};
use civicpay_store::pay_store_test;
use civicpay_store::testing::execute_behind_pays_back;
use std::sync::Arc;

async fn merchant(store: &PayStore, slug: &str) -> Merchant {
    let merchant = Merchant {
        tenant_id: TenantId::generate(),
        slug: TenantSlug::parse(slug).unwrap(),
        name: format!("City of {slug}"),
        currency: Currency::Usd,
        return_origins: vec!["https://city.example".into()],
        suspended: false,
    };
    store.upsert_merchant(&merchant).await.unwrap();
    merchant
}

fn new_payment(merchant: &Merchant, reference: &str) -> NewPayment {
    NewPayment {
        id: PaymentId::generate(),
        tenant_id: merchant.tenant_id.clone(),
        amount: Money::from_minor(4_200, Currency::Usd),
        reference: reference.into(),
        description: "Water bill".into(),
        return_url: "https://city.example/return".into(),
        email: None,
        language: Language::En,
        metadata: serde_json::json!({"bill": "UB-1"}),
        channel: Channel::Web,
        expires_at: jiff::Timestamp::now() + jiff::SignedDuration::from_mins(90),
        allocations: vec![("WATER".into(), 3_000), ("SEWER".into(), 1_200)],
        fee: None,
        payer_name: Some("Ana Diaz".into()),
        payer_address: Some("1 Elm St, Springfield".into()),
        customer: None,
        probe: false,
    }
}

fn render(p: &civicpay_core::payment::Payment) -> (u16, String) {
    (201, format!("{{\"payment_id\":\"{}\"}}", p.id))
}

fn token() -> String {
    uuid::Uuid::now_v7().to_string()
}

pay_store_test!(
    a_payment_row_that_does_not_read_is_named_not_guessed,
    |store: PayStore| async move {
        let city = merchant(&store, "springfield").await;
        let Created::New { payment, .. } = store
            .create_payment(&new_payment(&city, "R9"), &token(), None, render)
            .await
            .unwrap()
        else {
            panic!("created");
        };
        execute_behind_pays_back(
            &store,
            &format!(
                "UPDATE payments SET status = 'paid' WHERE id = '{}'",
                payment.id
            ),
        )
        .await
        .unwrap();
        let read = store.payment(&city.tenant_id, &payment.id).await;
        let Err(StoreError::Corrupt { what, detail }) = read else {
            panic!("an unknown status is refused: {read:?}");
        };
        assert_eq!((what, detail.as_str()), ("status", "paid"));
    }
);

pay_store_test!(
    a_payment_is_created_with_its_first_event,
    |store: PayStore| async move {
        let city = merchant(&store, "springfield").await;
        let Created::New {
            payment,
            status_code,
            body,
        } = store
            .create_payment(&new_payment(&city, "R1"), &token(), None, render)
            .await
            .unwrap()
        else {
            panic!("created");
        };
        assert_eq!(status_code, 201);
        assert!(body.contains(payment.id.as_str()));
        let stored = store
            .payment(&city.tenant_id, &payment.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored, *payment);
        let events = store
            .payment_events(&city.tenant_id, &payment.id)
            .await
            .unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].to_status, "created");
    }
);

pay_store_test!(
    an_idempotency_key_replays_or_refuses,
    |store: PayStore| async move {
        let city = merchant(&store, "springfield").await;
        let idem = IdempotencyRequest {
            key: "k-1".into(),
            request_hash: "h-1".into(),
        };
        let Created::New { body, .. } = store
            .create_payment(&new_payment(&city, "R2"), &token(), Some(&idem), render)
            .await
            .unwrap()
        else {
            panic!("created");
        };
        let Created::Replayed {
            status_code,
            body: replayed,
        } = store
            .create_payment(&new_payment(&city, "R2"), &token(), Some(&idem), render)
            .await
            .unwrap()
        else {
            panic!("replayed");
        };
        assert_eq!((status_code, replayed), (201, body));
        let other = IdempotencyRequest {
            key: "k-1".into(),
            request_hash: "h-2".into(),
        };
        assert!(matches!(
            store
                .create_payment(&new_payment(&city, "R2"), &token(), Some(&other), render)
                .await
                .unwrap(),
            Created::KeyReused
        ));
        assert_eq!(
            store
                .payments_by_reference(&city.tenant_id, "R2")
                .await
                .unwrap()
                .len(),
            1
        );
        // Another city may use the same key for its own payment.
        let other_city = merchant(&store, "lac-vert").await;
        assert!(matches!(
            store
                .create_payment(
                    &new_payment(&other_city, "R2"),
                    &token(),
                    Some(&idem),
                    render
                )
                .await
                .unwrap(),
            Created::New { .. }
        ));
    }
);

pay_store_test!(
    two_hundred_concurrent_creates_with_one_key_make_one_payment,
    |store: PayStore| async move {
        let city = Arc::new(merchant(&store, "springfield").await);
        let mut tasks = Vec::new();
        for _ in 0..200 {
            let store = store.clone();
            let city = city.clone();
            tasks.push(tokio::spawn(async move {
                let idem = IdempotencyRequest {
                    key: "same".into(),
                    request_hash: "same-body".into(),
                };
                store
                    .create_payment(&new_payment(&city, "CONC"), &token(), Some(&idem), render)
                    .await
                    .unwrap()
            }));
        }
        let mut new = 0;
        let mut bodies = std::collections::HashSet::new();
        for t in tasks {
            match t.await.unwrap() {
                Created::New { body, .. } => {
                    new += 1;
                    bodies.insert(body);
                }
                Created::Replayed { body, .. } => {
                    bodies.insert(body);
                }
                Created::KeyReused => panic!("same body, same key"),
            }
        }
        assert_eq!(new, 1);
        assert_eq!(
            bodies.len(),
            1,
            "every caller gets the one payment's response"
        );
        assert_eq!(
            store
                .payments_by_reference(&city.tenant_id, "CONC")
                .await
                .unwrap()
                .len(),
            1
        );
    }
);

pay_store_test!(
    transitions_follow_the_table_and_are_recorded,
    |store: PayStore| async move {
        let city = merchant(&store, "springfield").await;
        let Created::New { payment, .. } = store
            .create_payment(&new_payment(&city, "R3"), &token(), None, render)
            .await
            .unwrap()
        else {
            panic!()
        };
        let t = &city.tenant_id;
        store
            .transition(
                t,
                &payment.id,
                PaymentEvent::CardPageOpened,
                "card page",
                PaymentChange::default(),
            )
            .await
            .unwrap();
        let submitted = store
            .transition(
                t,
                &payment.id,
                PaymentEvent::CardSubmitted,
                "card page",
                PaymentChange {
                    card_brand: Some("visa".into()),
                    card_last4: Some("4242".into()),
                    add_attempt: true,
                    ..PaymentChange::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(
            (submitted.status, submitted.attempts),
            (PaymentStatus::Submitted, 1)
        );
        assert!(matches!(
            store
                .transition(
                    t,
                    &payment.id,
                    PaymentEvent::Expired,
                    "expiry job",
                    PaymentChange::default()
                )
                .await,
            Err(TransitionError::Illegal(_))
        ));
        store
            .transition(
                t,
                &payment.id,
                PaymentEvent::Authorised,
                "acquirer",
                PaymentChange {
                    authorisation_code: Some("123456".into()),
                    ..PaymentChange::default()
                },
            )
            .await
            .unwrap();
        let done = store
            .transition(
                t,
                &payment.id,
                PaymentEvent::Captured,
                "acquirer",
                PaymentChange {
                    captured: Some(4_200),
                    ..PaymentChange::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(done.status, PaymentStatus::Success);
        assert_eq!(done.captured.minor(), 4_200);
        assert_eq!(done.card_last4.as_deref(), Some("4242"));
        let events = store.payment_events(t, &payment.id).await.unwrap();
        let path: Vec<&str> = events.iter().map(|e| e.to_status.as_str()).collect();
        assert_eq!(
            path,
            ["created", "started", "submitted", "authorised", "success"]
        );
        assert_eq!(
            events.iter().map(|e| e.seq).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5]
        );
    }
);

pay_store_test!(
    concurrent_events_apply_one_after_the_other,
    |store: PayStore| async move {
        let city = Arc::new(merchant(&store, "springfield").await);
        let Created::New { payment, .. } = store
            .create_payment(&new_payment(&city, "R4"), &token(), None, render)
            .await
            .unwrap()
        else {
            panic!()
        };
        store
            .transition(
                &city.tenant_id,
                &payment.id,
                PaymentEvent::CardPageOpened,
                "test",
                PaymentChange::default(),
            )
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let store = store.clone();
            let city = city.clone();
            let id = payment.id.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .transition(
                        &city.tenant_id,
                        &id,
                        PaymentEvent::CardSubmitted,
                        "double click",
                        PaymentChange {
                            add_attempt: true,
                            ..PaymentChange::default()
                        },
                    )
                    .await
            }));
        }
        let mut ok = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => ok += 1,
                Err(TransitionError::Illegal(_)) => {}
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(ok, 1, "twenty double clicks submit the card once");
        let stored = store
            .payment(&city.tenant_id, &payment.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.attempts, 1);
    }
);

pay_store_test!(
    a_city_cannot_see_or_move_another_citys_payment,
    |store: PayStore| async move {
        let springfield = merchant(&store, "springfield").await;
        let lac_vert = merchant(&store, "lac-vert").await;
        let Created::New { payment, .. } = store
            .create_payment(&new_payment(&springfield, "R5"), &token(), None, render)
            .await
            .unwrap()
        else {
            panic!()
        };
        assert!(
            store
                .payment(&lac_vert.tenant_id, &payment.id)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .payment_events(&lac_vert.tenant_id, &payment.id)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(matches!(
            store
                .transition(
                    &lac_vert.tenant_id,
                    &payment.id,
                    PaymentEvent::Cancelled,
                    "attack",
                    PaymentChange::default()
                )
                .await,
            Err(TransitionError::NotFound)
        ));
        assert!(
            store
                .payment(&springfield.tenant_id, &PaymentId::generate())
                .await
                .unwrap()
                .is_none()
        );
    }
);

pay_store_test!(pay_api_keys_name_their_city, |store: PayStore| async move {
    let city = merchant(&store, "springfield").await;
    let key = store
        .create_pay_api_key(&city.tenant_id, "portal")
        .await
        .unwrap();
    assert!(key.expose().starts_with("cpay_"));
    assert_eq!(
        store.merchant_for_api_key(key.expose()).await.unwrap(),
        Some(city.clone())
    );
    assert_eq!(
        store.merchant_for_api_key("cpay_wrong").await.unwrap(),
        None
    );
    assert_eq!(
        store.merchant_for_api_key("cpk_portal-key").await.unwrap(),
        None
    );
});

pay_store_test!(
    captures_and_refunds_are_booked_and_the_books_balance,
    |store: PayStore| async move {
        let city = merchant(&store, "springfield").await;
        let t = &city.tenant_id;
        let mut ids = Vec::new();
        for reference in ["L1", "L2"] {
            let Created::New { payment, .. } = store
                .create_payment(&new_payment(&city, reference), &token(), None, render)
                .await
                .unwrap()
            else {
                panic!()
            };
            for (event, change) in [
                (PaymentEvent::CardPageOpened, PaymentChange::default()),
                (
                    PaymentEvent::CardSubmitted,
                    PaymentChange {
                        add_attempt: true,
                        ..PaymentChange::default()
                    },
                ),
                (PaymentEvent::Authorised, PaymentChange::default()),
                (
                    PaymentEvent::Captured,
                    PaymentChange {
                        captured: Some(4_200),
                        ..PaymentChange::default()
                    },
                ),
            ] {
                store
                    .transition(t, &payment.id, event, "test", change)
                    .await
                    .unwrap();
            }
            ids.push(payment.id);
        }
        let refund = store
            .reserve_refund(t, &ids[0], 1_001, None)
            .await
            .unwrap()
            .unwrap();
        store.finish_refund(t, &refund.id, true).await.unwrap();
        let failed = store
            .reserve_refund(t, &ids[1], 500, None)
            .await
            .unwrap()
            .unwrap();
        store.finish_refund(t, &failed.id, false).await.unwrap();
        assert_eq!(
            store.ledger_check(t).await.unwrap(),
            (0, 0),
            "every entry balances"
        );
        let revenue = store.revenue_by_gl(t).await.unwrap();
        // 8,400 captured split 30:12; 1,001 refunded split the same way, to the cent.
        assert_eq!(
            revenue,
            vec![
                ("SEWER".to_owned(), 2_400 - 286),
                ("WATER".to_owned(), 6_000 - 715)
            ]
        );
        let total: i64 = revenue.iter().map(|(_, r)| r).sum();
        assert_eq!(total, 8_400 - 1_001, "no cent created or lost");
        let after_failure = store.payment(t, &ids[1]).await.unwrap().unwrap();
        assert_eq!(
            after_failure.refunded.minor(),
            0,
            "a failed refund gives its reservation back"
        );
    }
);

async fn attempt_at(
    store: &PayStore,
    city: &Merchant,
    reference: &str,
    at: &str,
    build: &str,
    channel: &str,
) -> String {
    let Created::New { payment, .. } = store
        .create_payment(&new_payment(city, reference), &token(), None, render)
        .await
        .unwrap()
    else {
        panic!("created");
    };
    store
        .record_card_attempt(
            &city.tenant_id,
            &civicpay_store::pay::CardAttempt {
                payment_id: payment.id.to_string(),
                at: at.parse().unwrap(),
                build_id: build.into(),
                channel: channel.into(),
                amount: 4_200,
                currency: "USD".into(),
                language: "en".into(),
                cardholder_name: "Ana Diaz".into(),
                postal_code: "62704".into(),
                email: None,
                card_brand: Some("visa".into()),
                card_last4: Some("0002".into()),
                elements: "name,card_number,expiry,security_code,postal_code".into(),
            },
        )
        .await
        .unwrap();
    reference.to_owned()
}

pay_store_test!(
    the_incident_scope_is_exactly_the_window_build_and_city_asked_for,
    |store: PayStore| async move {
        let city = merchant(&store, "springfield").await;
        let other_city = merchant(&store, "shelbyville").await;
        let mut expected = Vec::new();
        expected.push(attempt_at(&store, &city, "IN-1", "2026-10-01T00:00:00Z", "b1", "web").await);
        expected
            .push(attempt_at(&store, &city, "IN-2", "2026-10-15T12:00:00Z", "b1", "moto").await);
        expected.push(attempt_at(&store, &city, "IN-3", "2026-11-18T23:59:59Z", "b1", "web").await);
        attempt_at(&store, &city, "BEFORE", "2026-09-30T23:59:59Z", "b1", "web").await;
        attempt_at(&store, &city, "AFTER", "2026-11-19T00:00:00Z", "b1", "web").await;
        attempt_at(
            &store,
            &city,
            "OTHER-BUILD",
            "2026-10-02T00:00:00Z",
            "b2",
            "web",
        )
        .await;
        attempt_at(
            &store,
            &other_city,
            "OTHER-CITY",
            "2026-10-02T00:00:00Z",
            "b1",
            "web",
        )
        .await;
        let scope = |filter: civicpay_store::pay::ScopeFilter| {
            let store = store.clone();
            let tenant = city.tenant_id.clone();
            async move {
                let mut seen = Vec::new();
                store
                    .incident_scope(&tenant, &filter, |a| {
                        seen.push(a.reference);
                        Ok(())
                    })
                    .await
                    .unwrap();
                seen
            }
        };
        let window = civicpay_store::pay::ScopeFilter {
            from: Some("2026-10-01T00:00:00Z".parse().unwrap()),
            to: Some("2026-11-19T00:00:00Z".parse().unwrap()),
            build_id: Some("b1".into()),
            channel: None,
        };
        assert_eq!(scope(window.clone()).await, expected);
        let phone_only = civicpay_store::pay::ScopeFilter {
            channel: Some("moto".into()),
            ..window.clone()
        };
        assert_eq!(scope(phone_only).await, ["IN-2"]);
        let by_build = civicpay_store::pay::ScopeFilter {
            build_id: Some("b2".into()),
            ..Default::default()
        };
        assert_eq!(scope(by_build).await, ["OTHER-BUILD"]);
    }
);

/// Creates a payment and moves it through `events`.
async fn payment_through(
    store: &PayStore,
    city: &Merchant,
    reference: &str,
    events: &[(PaymentEvent, PaymentChange)],
) -> PaymentId {
    let Created::New { payment, .. } = store
        .create_payment(&new_payment(city, reference), &token(), None, render)
        .await
        .unwrap()
    else {
        panic!("created");
    };
    for (event, change) in events {
        store
            .transition(&city.tenant_id, &payment.id, *event, "test", change.clone())
            .await
            .unwrap();
    }
    payment.id
}

fn submitted() -> Vec<(PaymentEvent, PaymentChange)> {
    vec![
        (PaymentEvent::CardPageOpened, PaymentChange::default()),
        (
            PaymentEvent::CardSubmitted,
            PaymentChange {
                add_attempt: true,
                ..PaymentChange::default()
            },
        ),
    ]
}

fn then(
    mut events: Vec<(PaymentEvent, PaymentChange)>,
    more: &[PaymentEvent],
) -> Vec<(PaymentEvent, PaymentChange)> {
    events.extend(more.iter().map(|e| (*e, PaymentChange::default())));
    events
}

fn captured_all() -> PaymentChange {
    PaymentChange {
        captured: Some(4_200),
        ..PaymentChange::default()
    }
}

pay_store_test!(
    every_state_that_waits_on_the_acquirer_is_swept_and_claimed_once,
    |store: PayStore| async move {
        let city = merchant(&store, "springfield").await;
        let waiting = vec![
            payment_through(&store, &city, "W-SUB", &submitted()).await,
            payment_through(
                &store,
                &city,
                "W-AUT",
                &then(submitted(), &[PaymentEvent::Authorised]),
            )
            .await,
            payment_through(
                &store,
                &city,
                "W-CAP",
                &then(
                    submitted(),
                    &[PaymentEvent::Authorised, PaymentEvent::CaptureSent],
                ),
            )
            .await,
            payment_through(
                &store,
                &city,
                "W-CAN",
                &then(
                    submitted(),
                    &[PaymentEvent::Authorised, PaymentEvent::VoidSent],
                ),
            )
            .await,
        ];
        let mut done = submitted();
        done.push((PaymentEvent::AuthorisedAndCaptured, captured_all()));
        let paid = payment_through(&store, &city, "W-OK", &done).await;
        payment_through(&store, &city, "W-NEW", &[]).await;
        let now = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(1);
        let mut listed: Vec<PaymentId> = store
            .payments_awaiting_outcome(now, now, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|w| w.payment_id)
            .collect();
        listed.sort();
        let mut expected = waiting.clone();
        expected.sort();
        assert_eq!(listed, expected, "every waiting state, and nothing else");

        // Two sweeps race for a row: one wins; the claim hides it from
        // others until it lapses or is released.
        let later = now + jiff::SignedDuration::from_secs(60);
        let first = &waiting[0];
        assert!(
            store
                .claim_payment_for_recovery(&city.tenant_id, first, now, later)
                .await
                .unwrap()
        );
        assert!(
            !store
                .claim_payment_for_recovery(&city.tenant_id, first, now, later)
                .await
                .unwrap()
        );
        assert_eq!(
            store
                .payments_awaiting_outcome(now, now, 100)
                .await
                .unwrap()
                .len(),
            3
        );
        let lapsed = later + jiff::SignedDuration::from_secs(1);
        assert!(
            store
                .claim_payment_for_recovery(&city.tenant_id, first, lapsed, lapsed)
                .await
                .unwrap(),
            "a crashed sweep's claim is taken over"
        );
        store
            .release_payment_claim(&city.tenant_id, first)
            .await
            .unwrap();
        assert_eq!(
            store
                .payments_awaiting_outcome(now, now, 100)
                .await
                .unwrap()
                .len(),
            4
        );

        // A refund whose answer was lost waits, its amount reserved.
        let refund = store
            .reserve_refund(&city.tenant_id, &paid, 1_000, None)
            .await
            .unwrap()
            .unwrap();
        let refunds = store.refunds_awaiting_outcome(now, now, 100).await.unwrap();
        assert_eq!(refunds.len(), 1);
        assert_eq!(
            (refunds[0].refund_id.clone(), refunds[0].amount.minor()),
            (refund.id.clone(), 1_000)
        );
        assert!(
            store
                .claim_refund_for_recovery(&city.tenant_id, &refund.id, now, later)
                .await
                .unwrap()
        );
        assert!(
            !store
                .claim_refund_for_recovery(&city.tenant_id, &refund.id, now, later)
                .await
                .unwrap()
        );
        assert!(
            store
                .refunds_awaiting_outcome(now, now, 100)
                .await
                .unwrap()
                .is_empty()
        );

        // Flagged once; listed for staff; settled, it leaves the list.
        assert!(
            store
                .flag_payment_for_attention(&city.tenant_id, &waiting[1], "acquirer_has_no_record")
                .await
                .unwrap()
        );
        assert!(
            !store
                .flag_payment_for_attention(&city.tenant_id, &waiting[1], "acquirer_has_no_record")
                .await
                .unwrap()
        );
        assert!(
            store
                .flag_refund_for_attention(
                    &city.tenant_id,
                    &refund.id,
                    &paid,
                    "not_settled_in_time"
                )
                .await
                .unwrap()
        );
        let attention = store.needing_attention(&city.tenant_id).await.unwrap();
        assert_eq!(attention.len(), 2);
        assert!(
            attention
                .iter()
                .any(|a| a.refund_id.as_ref() == Some(&refund.id))
        );
        let other = merchant(&store, "shelbyville").await;
        assert!(
            store
                .needing_attention(&other.tenant_id)
                .await
                .unwrap()
                .is_empty()
        );
        store
            .transition(
                &city.tenant_id,
                &waiting[1],
                PaymentEvent::Captured,
                "test",
                captured_all(),
            )
            .await
            .unwrap();
        store
            .finish_refund(&city.tenant_id, &refund.id, true)
            .await
            .unwrap();
        assert!(
            store
                .needing_attention(&city.tenant_id)
                .await
                .unwrap()
                .is_empty()
        );
    }
);

async fn drop_money_trail_guards(store: &PayStore) {
    let sql = match store.backend() {
        civicpay_store::Backend::Sqlite => {
            "DROP TRIGGER payment_events_no_update; DROP TRIGGER payment_events_no_delete;
             DROP TRIGGER ledger_postings_no_update; DROP TRIGGER ledger_postings_no_delete;"
        }
        civicpay_store::Backend::Postgres => {
            "DROP TRIGGER payment_events_no_change ON payment_events;
             DROP TRIGGER ledger_postings_no_change ON ledger_postings;"
        }
    };
    execute_behind_pays_back(store, sql).await.unwrap();
}

async fn trail(store: &PayStore, city: &Merchant) -> Result<u64, String> {
    let chain = civicpay_audit::ChainId::money(city.tenant_id.clone());
    store
        .verify_money_trail(
            civicpay_audit::ChainVerifier::new(chain, []),
            &city.tenant_id,
        )
        .await
        .unwrap()
}

/// A paid payment with a partial refund: events, postings, refund events.
async fn paid_and_refunded(store: &PayStore, city: &Merchant, reference: &str) -> PaymentId {
    let mut done = submitted();
    done.push((PaymentEvent::AuthorisedAndCaptured, captured_all()));
    let id = payment_through(store, city, reference, &done).await;
    let refund = store
        .reserve_refund(&city.tenant_id, &id, 1_500, None)
        .await
        .unwrap()
        .unwrap();
    store
        .finish_refund(&city.tenant_id, &refund.id, true)
        .await
        .unwrap();
    id
}

pay_store_test!(
    the_money_trail_finds_edited_events_and_deleted_postings,
    |store: PayStore| async move {
        let (a, b, c) = (
            merchant(&store, "edited").await,
            merchant(&store, "deleted").await,
            merchant(&store, "reordered").await,
        );
        let ia = paid_and_refunded(&store, &a, "T-A").await;
        let ib = paid_and_refunded(&store, &b, "T-B").await;
        let ic = paid_and_refunded(&store, &c, "T-C").await;
        // 4 events, 2 refund events, 3 + 3 postings.
        assert_eq!(trail(&store, &a).await, Ok(12));
        // The application itself cannot change the rows.
        for sql in [
            format!("UPDATE payment_events SET cause = 'x' WHERE payment_id = '{ia}'"),
            format!("DELETE FROM ledger_postings WHERE payment_id = '{ia}'"),
        ] {
            let err = execute_behind_pays_back(&store, &sql).await.unwrap_err();
            assert!(err.to_string().contains("append-only"), "{err}");
        }
        drop_money_trail_guards(&store).await;
        execute_behind_pays_back(
            &store,
            &format!("UPDATE ledger_postings SET amount = amount - 100 WHERE payment_id = '{ia}' AND account = 'acquirer_clearing' AND amount > 0"),
        )
        .await
        .unwrap();
        let edited = trail(&store, &a).await.unwrap_err();
        assert!(
            edited.contains("ledger_posting:") && edited.contains("differs"),
            "{edited}"
        );
        execute_behind_pays_back(
            &store,
            &format!("DELETE FROM ledger_postings WHERE payment_id = '{ib}' AND refund_id IS NOT NULL AND line = 0"),
        )
        .await
        .unwrap();
        let deleted = trail(&store, &b).await.unwrap_err();
        assert!(
            deleted.contains("ledger_posting:") && deleted.contains("gone"),
            "{deleted}"
        );
        execute_behind_pays_back(
            &store,
            &format!(
                "UPDATE payment_events SET seq = seq + 100 WHERE payment_id = '{ic}' AND seq = 2;
                 UPDATE payment_events SET seq = 2 WHERE payment_id = '{ic}' AND seq = 3;
                 UPDATE payment_events SET seq = 3 WHERE payment_id = '{ic}' AND seq = 102;"
            ),
        )
        .await
        .unwrap();
        let reordered = trail(&store, &c).await.unwrap_err();
        assert!(
            reordered.contains(&format!("payment_event:{ic}:")),
            "{reordered}"
        );
        // An edit to the trail itself breaks the chain.
        let untouched = merchant(&store, "untouched").await;
        paid_and_refunded(&store, &untouched, "T-D").await;
        assert!(trail(&store, &untouched).await.is_ok());
        let sql = match store.backend() {
            civicpay_store::Backend::Sqlite => "DROP TRIGGER audit_entries_no_update;",
            civicpay_store::Backend::Postgres => {
                "DROP TRIGGER audit_entries_no_change ON audit_entries;"
            }
        };
        execute_behind_pays_back(&store, sql).await.unwrap();
        execute_behind_pays_back(
            &store,
            &format!(
                "UPDATE audit_entries SET details = REPLACE(details, '1500', '150') WHERE chain = 'money:{}'",
                untouched.tenant_id
            ),
        )
        .await
        .unwrap();
        let chain_broken = trail(&store, &untouched).await.unwrap_err();
        assert!(chain_broken.contains("was edited"), "{chain_broken}");
    }
);

pay_store_test!(
    expired_idempotency_keys_and_velocity_windows_are_pruned,
    |store: PayStore| async move {
        let city = merchant(&store, "springfield").await;
        for key in ["old-1", "old-2"] {
            let idem = IdempotencyRequest {
                key: key.into(),
                request_hash: "h".into(),
            };
            store
                .create_payment(&new_payment(&city, key), &token(), Some(&idem), render)
                .await
                .unwrap();
        }
        let now = jiff::Timestamp::now();
        store
            .rate_limit_hit("card:abc", 5, std::time::Duration::from_secs(60), now)
            .await
            .unwrap();
        assert_eq!(
            store
                .prune_idempotency_keys(now - jiff::SignedDuration::from_hours(1))
                .await
                .unwrap(),
            0
        );
        let later = now + jiff::SignedDuration::from_hours(2);
        assert_eq!(store.prune_idempotency_keys(later).await.unwrap(), 2);
        assert!(store.prune_rate_limits(later).await.unwrap() >= 1);
        // Run twice (two instances): nothing left, nothing fails.
        assert_eq!(store.prune_idempotency_keys(later).await.unwrap(), 0);
        assert_eq!(store.prune_rate_limits(later).await.unwrap(), 0);
        // A pruned key starts afresh; the payments stay.
        let idem = IdempotencyRequest {
            key: "old-1".into(),
            request_hash: "h".into(),
        };
        assert!(matches!(
            store
                .create_payment(&new_payment(&city, "old-1"), &token(), Some(&idem), render)
                .await
                .unwrap(),
            Created::New { .. }
        ));
        assert_eq!(
            store
                .payments_by_reference(&city.tenant_id, "old-1")
                .await
                .unwrap()
                .len(),
            2
        );
    }
);

pay_store_test!(
    two_deliverers_send_a_webhook_once,
    |store: PayStore| async move {
        let city = merchant(&store, "springfield").await;
        store
            .set_webhook_endpoint(&city.tenant_id, "http://city.example/hooks", "secret")
            .await
            .unwrap();
        let mut done = submitted();
        done.push((PaymentEvent::AuthorisedAndCaptured, captured_all()));
        payment_through(&store, &city, "HOOK-1", &done).await;
        let now = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(1);
        let due = store.due_webhooks(now, 10).await.unwrap();
        assert_eq!(due.len(), 1);
        let until = now + jiff::SignedDuration::from_secs(30);
        let store = Arc::new(store);
        let racers: Vec<_> = (0..4)
            .map(|_| {
                let (store, delivery) = (store.clone(), due[0].clone());
                tokio::spawn(
                    async move { store.claim_webhook(&delivery, now, until).await.unwrap() },
                )
            })
            .collect();
        let mut won = 0;
        for racer in racers {
            won += usize::from(racer.await.unwrap());
        }
        assert_eq!(won, 1, "exactly one deliverer sends it");
        assert!(store.due_webhooks(now, 10).await.unwrap().is_empty());
        // The winner died before recording its attempt: due again later.
        let later = until + jiff::SignedDuration::from_secs(1);
        let again = store.due_webhooks(later, 10).await.unwrap();
        assert_eq!(again.len(), 1);
        assert!(
            store
                .claim_webhook(
                    &again[0],
                    later,
                    later + jiff::SignedDuration::from_secs(30)
                )
                .await
                .unwrap()
        );
        store
            .record_webhook_attempt(&again[0], Some(200), None, true)
            .await
            .unwrap();
        let much_later = later + jiff::SignedDuration::from_hours(2);
        assert!(store.due_webhooks(much_later, 10).await.unwrap().is_empty());
    }
);

pay_store_test!(
    an_idempotency_key_is_claimed_once_answered_again_and_freed_when_stale,
    |store: PayStore| async move {
        use civicpay_store::pay::Claim;
        let city = merchant(&store, "springfield").await;
        let claim = |key: &'static str, hash: &'static str| {
            let store = store.clone();
            let tenant = city.tenant_id.clone();
            async move {
                store
                    .claim_idempotency_key(&tenant, key, hash)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(claim("k1", "cancel A").await, Claim::Claimed);
        assert_eq!(claim("k1", "cancel A").await, Claim::InProgress);
        assert_eq!(claim("k1", "capture A").await, Claim::KeyReused);
        store
            .finish_idempotency_key(&city.tenant_id, "k1", 200, "{\"ok\":true}")
            .await
            .unwrap();
        assert_eq!(
            claim("k1", "cancel A").await,
            Claim::Finished {
                status_code: 200,
                body: "{\"ok\":true}".into()
            }
        );
        // A finished key is never released: its answer stands.
        store
            .release_idempotency_key(&city.tenant_id, "k1")
            .await
            .unwrap();
        assert!(matches!(
            claim("k1", "cancel A").await,
            Claim::Finished { .. }
        ));

        // A request that failed on our side lets its key go.
        assert_eq!(claim("k2", "cancel B").await, Claim::Claimed);
        store
            .release_idempotency_key(&city.tenant_id, "k2")
            .await
            .unwrap();
        assert_eq!(claim("k2", "cancel B").await, Claim::Claimed);

        // A claim whose process died is taken over once it is stale, not before.
        assert_eq!(claim("k3", "capture C").await, Claim::Claimed);
        assert_eq!(claim("k3", "capture C").await, Claim::InProgress);
        let long_ago = jiff::Timestamp::now().as_microsecond()
            - i64::try_from(civicpay_store::pay::STALE_CLAIM.as_micros()).unwrap()
            - 1_000_000;
        execute_behind_pays_back(
            &store,
            &format!("UPDATE idempotency_keys SET created_at = {long_ago} WHERE idem_key = 'k3'"),
        )
        .await
        .unwrap();
        assert_eq!(claim("k3", "capture C").await, Claim::Claimed);
        assert_eq!(claim("k3", "capture C").await, Claim::InProgress);

        // Keys are per city.
        let other = merchant(&store, "shelbyville").await;
        assert_eq!(
            store
                .claim_idempotency_key(&other.tenant_id, "k1", "something else")
                .await
                .unwrap(),
            Claim::Claimed
        );
    }
);

pay_store_test!(
    a_citys_processor_and_its_sealed_secrets_are_kept_per_city,
    |store: PayStore| async move {
        use civicpay_core::{Processor, ProcessorEnvironment};
        use civicpay_store::pay::SealedSecret;
        let city = merchant(&store, "springfield").await;
        let other = merchant(&store, "shelbyville").await;
        assert_eq!(
            store.merchant_processor(&city.tenant_id).await.unwrap(),
            None
        );
        let processor = Processor::AuthorizeNet {
            environment: ProcessorEnvironment::Sandbox,
            api_login_id: "5KP3u95bQpv".into(),
        };
        store
            .register_merchant(
                &city,
                "cpay_x",
                "https://city.example/hook",
                "s",
                Some(&processor),
            )
            .await
            .unwrap();
        assert_eq!(
            store.merchant_processor(&city.tenant_id).await.unwrap(),
            Some(processor)
        );
        assert_eq!(
            store.merchants_with_processor().await.unwrap(),
            vec![city.tenant_id.clone()]
        );
        let sealed = |kek: &str, byte: u8| SealedSecret {
            kek_id: kek.into(),
            wrapped_key: vec![byte; 40],
            sealed: vec![byte; 60],
        };
        let name = "processor.transaction_key";
        store
            .put_merchant_secret(&city.tenant_id, name, &sealed("kek-1", 1))
            .await
            .unwrap();
        store
            .put_merchant_secret(&city.tenant_id, name, &sealed("kek-1", 2))
            .await
            .unwrap();
        assert_eq!(
            store.merchant_secret(&city.tenant_id, name).await.unwrap(),
            Some(sealed("kek-1", 2)),
            "setting again replaces"
        );
        assert_eq!(
            store.merchant_secret(&other.tenant_id, name).await.unwrap(),
            None,
            "one city's secret is not another's"
        );
        assert!(
            store
                .rewrap_merchant_secret(&city.tenant_id, name, "kek-1", "kek-2", &[9; 40])
                .await
                .unwrap()
        );
        assert!(
            !store
                .rewrap_merchant_secret(&city.tenant_id, name, "kek-1", "kek-3", &[8; 40])
                .await
                .unwrap(),
            "only from the KEK it is under"
        );
        let all = store.merchant_secrets(&city.tenant_id).await.unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(
            (all[0].0.as_str(), all[0].1.kek_id.as_str()),
            (name, "kek-2")
        );
        assert_eq!(
            all[0].1.sealed,
            vec![2; 60],
            "re-wrapping leaves the sealed bytes"
        );
        store
            .register_merchant(&city, "cpay_x", "https://city.example/hook", "s", None)
            .await
            .unwrap();
        assert_eq!(
            store.merchant_processor(&city.tenant_id).await.unwrap(),
            None
        );
    }
);

mod ach;
