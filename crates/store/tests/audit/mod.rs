//! The audit log as stored: appends give each chain an unbroken sequence,
//! and every kind of change made behind the application's back is found.

use civicpay_audit::{Action, BreakKind, ChainId, ChainVerifier, CheckpointKey, NewEntry};
use civicpay_core::TenantId;
use civicpay_store::audit_log::AuditFilter;
use civicpay_store::testing::execute_behind_the_back;
use civicpay_store::{Backend, Store, store_test};

fn entry(chain: &ChainId, i: usize) -> NewEntry {
    NewEntry::new(
        chain.clone(),
        format!("staff:clerk{i}"),
        Action::RefundRequested,
        format!("payment:{i}"),
        serde_json::json!({"amount_minor": i * 100, "reason": "duplicate charge"}),
    )
}

async fn fill(store: &Store, chain: &ChainId, n: usize) {
    for i in 0..n {
        store.append_audit(entry(chain, i)).await.unwrap();
    }
}

async fn verify(store: &Store, chain: &ChainId) -> Result<u64, civicpay_audit::ChainBreak> {
    store
        .verify_audit_chain(ChainVerifier::new(chain.clone(), []), chain)
        .await
        .unwrap()
}

/// Lifts the append-only triggers, as an intruder with the database would.
async fn drop_guards(store: &Store) {
    let sql = match store.backend() {
        Backend::Sqlite => {
            "DROP TRIGGER audit_entries_no_update; DROP TRIGGER audit_entries_no_delete;"
        }
        Backend::Postgres => {
            "DROP TRIGGER audit_entries_no_change ON audit_entries; \
             DROP TRIGGER audit_entries_no_truncate ON audit_entries;"
        }
    };
    execute_behind_the_back(store, sql).await.unwrap();
}

fn tenant_chain() -> ChainId {
    ChainId::Tenant(TenantId::generate())
}

store_test!(
    chains_are_kept_apart_and_verify,
    |store: Store| async move {
        let (a, b) = (tenant_chain(), tenant_chain());
        fill(&store, &a, 5).await;
        fill(&store, &b, 3).await;
        fill(&store, &ChainId::Platform, 2).await;
        assert_eq!(verify(&store, &a).await, Ok(5));
        assert_eq!(verify(&store, &b).await, Ok(3));
        assert_eq!(verify(&store, &ChainId::Platform).await, Ok(2));
        let chains = store.audit_chains().await.unwrap();
        assert_eq!(chains.len(), 3);

        let page = store
            .audit_entries(
                &b,
                &AuditFilter {
                    limit: 10,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(
            page.iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![3, 2, 1]
        );
        assert!(page.iter().all(|e| e.chain == b));
        let filtered = store
            .audit_entries(
                &a,
                &AuditFilter {
                    actor: Some("staff:clerk2".into()),
                    limit: 10,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(filtered.len(), 1);
        let older = store
            .audit_entries(
                &a,
                &AuditFilter {
                    before_seq: Some(3),
                    limit: 1,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(older.first().map(|e| e.seq), Some(2));
    }
);

store_test!(
    concurrent_appends_keep_one_unbroken_sequence,
    |store: Store| async move {
        let chain = tenant_chain();
        let mut tasks = Vec::new();
        for i in 0..16 {
            let (store, chain) = (store.clone(), chain.clone());
            tasks.push(tokio::spawn(async move {
                store.append_audit(entry(&chain, i)).await.unwrap()
            }));
        }
        let mut seqs = Vec::new();
        for t in tasks {
            seqs.push(t.await.unwrap().seq);
        }
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=16).collect::<Vec<u64>>());
        assert_eq!(verify(&store, &chain).await, Ok(16));
    }
);

store_test!(
    the_database_refuses_changes_to_entries,
    |store: Store| async move {
        let chain = tenant_chain();
        fill(&store, &chain, 2).await;
        for sql in [
            format!("UPDATE audit_entries SET target = 'x' WHERE chain = '{chain}'"),
            format!("DELETE FROM audit_entries WHERE chain = '{chain}'"),
        ] {
            let err = execute_behind_the_back(&store, &sql).await.unwrap_err();
            assert!(err.to_string().contains("append-only"), "{err}");
        }
        assert_eq!(verify(&store, &chain).await, Ok(2));
    }
);

store_test!(an_edit_is_found, |store: Store| async move {
    let chain = tenant_chain();
    fill(&store, &chain, 6).await;
    drop_guards(&store).await;
    execute_behind_the_back(
        &store,
        &format!(
            "UPDATE audit_entries SET details = REPLACE(details, 'duplicate', 'goodwill') \
             WHERE chain = '{chain}' AND seq = 4"
        ),
    )
    .await
    .unwrap();
    let broken = verify(&store, &chain).await.unwrap_err();
    assert_eq!((broken.seq, broken.kind), (4, BreakKind::Edited));
});

store_test!(a_deletion_is_found, |store: Store| async move {
    let chain = tenant_chain();
    fill(&store, &chain, 6).await;
    drop_guards(&store).await;
    execute_behind_the_back(
        &store,
        &format!("DELETE FROM audit_entries WHERE chain = '{chain}' AND seq = 2"),
    )
    .await
    .unwrap();
    let broken = verify(&store, &chain).await.unwrap_err();
    assert_eq!(
        (broken.seq, broken.kind),
        (3, BreakKind::Missing { expected: 2 })
    );
});

store_test!(a_reordering_is_found, |store: Store| async move {
    let chain = tenant_chain();
    fill(&store, &chain, 6).await;
    drop_guards(&store).await;
    // Swap entries 2 and 5 by their numbers, the way a reorder shows in SQL.
    execute_behind_the_back(
        &store,
        &format!(
            "UPDATE audit_entries SET seq = -2 WHERE chain = '{chain}' AND seq = 2; \
             UPDATE audit_entries SET seq = 2 WHERE chain = '{chain}' AND seq = 5; \
             UPDATE audit_entries SET seq = 5 WHERE chain = '{chain}' AND seq = -2;"
        ),
    )
    .await
    .unwrap();
    let broken = verify(&store, &chain).await.unwrap_err();
    assert_eq!((broken.seq, broken.kind), (2, BreakKind::Edited));
});

store_test!(
    a_truncation_is_found_by_the_head_or_a_checkpoint,
    |store: Store| async move {
        let chain = tenant_chain();
        fill(&store, &chain, 6).await;
        let key = CheckpointKey::from_seed(&[3; 32]);
        let (seq, hash) = store.audit_head(&chain).await.unwrap().unwrap();
        let checkpoint = key.sign(&chain, seq, hash, jiff::Timestamp::now());

        drop_guards(&store).await;
        execute_behind_the_back(
            &store,
            &format!("DELETE FROM audit_entries WHERE chain = '{chain}' AND seq > 4"),
        )
        .await
        .unwrap();
        let broken = verify(&store, &chain).await.unwrap_err();
        assert_eq!(
            (broken.seq, broken.kind),
            (
                6,
                BreakKind::Truncated {
                    last: 4,
                    witness: "chain head"
                }
            )
        );

        // A careful intruder rewinds the head too; the outside copy still knows.
        execute_behind_the_back(
            &store,
            &format!(
                "UPDATE audit_heads SET seq = 4, hash = \
             (SELECT hash FROM audit_entries WHERE chain = '{chain}' AND seq = 4) \
             WHERE chain = '{chain}'"
            ),
        )
        .await
        .unwrap();
        assert_eq!(verify(&store, &chain).await, Ok(4));
        let vouched = checkpoint.verify(&key.verifying_key()).unwrap();
        let verifier = ChainVerifier::new(chain.clone(), [(vouched.1, vouched.2)]);
        let broken = store
            .verify_audit_chain(verifier, &chain)
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(
            (broken.seq, broken.kind),
            (
                6,
                BreakKind::Truncated {
                    last: 4,
                    witness: "signed checkpoint"
                }
            )
        );
    }
);
