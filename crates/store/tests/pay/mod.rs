//! The pay service's store, on SQLite and (when configured) PostgreSQL.

use civicpay_core::payment::{Channel, PaymentEvent, PaymentStatus};
use civicpay_core::{Currency, Language, Money, PaymentId, TenantId, TenantSlug};
use civicpay_store::pay::{
    Created, IdempotencyRequest, Merchant, NewPayment, PayStore, PaymentChange, TransitionError,
};
use civicpay_store::pay_store_test;
use std::sync::Arc;

async fn merchant(store: &PayStore, slug: &str) -> Merchant {
    let merchant = Merchant {
        tenant_id: TenantId::generate(),
        slug: TenantSlug::parse(slug).unwrap(),
        name: format!("City of {slug}"),
        currency: Currency::Usd,
    };
    store.upsert_merchant(&merchant).await.unwrap();
    merchant
}

fn new_payment(merchant: &Merchant, reference: &str) -> NewPayment {
    NewPayment {
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
        payer_name: Some("Ana Diaz".into()),
        payer_address: Some("1 Elm St, Springfield".into()),
        customer: None,
    }
}

fn render(p: &civicpay_core::payment::Payment) -> (u16, String) {
    (201, format!("{{\"payment_id\":\"{}\"}}", p.id))
}

fn token() -> String {
    uuid::Uuid::now_v7().to_string()
}

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
