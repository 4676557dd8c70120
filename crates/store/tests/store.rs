//! Store behaviour, each test run on SQLite and (when configured) PostgreSQL.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use civicpay_core::{BillReference, BillStatus, BillTypeSlug, ExternalId, Tenant, TenantSlug};
use civicpay_store::portal::bill_import::{ImportFormat, ImportOptions, Location};
use civicpay_store::rate_limits::RateDecision;
use civicpay_store::{Store, StoreError, demo, store_test};
use std::io::Cursor;
use std::time::Duration;

mod audit;
mod pay;
mod residents;
mod staff;

async fn springfield(store: &Store) -> Tenant {
    demo::seed(store, 5).await.unwrap();
    store
        .tenant_by_slug(&TenantSlug::parse("springfield").unwrap())
        .await
        .unwrap()
        .unwrap()
}

const HEADER: &str = "external_id,bill_type,reference,verification,payer_name,postal_address,email,amount,due_date\n";

fn csv(rows: &[&str]) -> Cursor<Vec<u8>> {
    let mut s = HEADER.to_owned();
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    Cursor::new(s.into_bytes())
}

async fn import(
    store: &Store,
    tenant: &Tenant,
    source: Cursor<Vec<u8>>,
    format: ImportFormat,
    skip: bool,
) -> civicpay_store::portal::bill_import::ImportReport {
    let mut options = ImportOptions::new(format);
    options.skip_invalid = skip;
    options.batch_size = 2;
    store.import_bills(tenant, source, options).await.unwrap()
}

store_test!(
    csv_import_inserts_then_reimport_changes_nothing,
    |store: Store| async move {
        let tenant = springfield(&store).await;
        let rows = [
            "X-1,water,1111-22222,62704,Ana Diaz,1 Elm St,ana@example.org,84.20,2026-12-15",
            "X-2,parking,PK-9,ABC 123,Bo Li,2 Oak Dr,,35,2026-12-01",
            "X-3,water,1111-33333,62701,Cy Roy,3 Elm St,,\"1,200.00\",2026-12-20",
        ];
        let first = import(&store, &tenant, csv(&rows), ImportFormat::Csv, false).await;
        assert!(first.written, "{:?}", first.errors);
        assert_eq!((first.records, first.counts.inserted), (3, 3));
        let bill = store
            .bill_by_external_id(&tenant.id, &ExternalId::parse("X-3").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(bill.amount_due.minor(), 120_000);
        let stamp = bill.updated_at;

        let again = import(&store, &tenant, csv(&rows), ImportFormat::Csv, false).await;
        assert_eq!(
            (
                again.counts.inserted,
                again.counts.updated,
                again.counts.unchanged
            ),
            (0, 0, 3)
        );
        let same = store
            .bill_by_external_id(&tenant.id, &ExternalId::parse("X-3").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(same.updated_at, stamp, "an unchanged row is not touched");

        let changed = import(
            &store,
            &tenant,
            csv(&["X-3,water,1111-33333,62701,Cy Roy,3 Elm St,,1250.00,2026-12-20"]),
            ImportFormat::Csv,
            false,
        )
        .await;
        assert_eq!((changed.counts.inserted, changed.counts.updated), (0, 1));
    }
);

store_test!(
    one_bad_row_means_nothing_is_written,
    |store: Store| async move {
        let tenant = springfield(&store).await;
        let before = store.count_bills(&tenant.id).await.unwrap();
        let report = import(
            &store,
            &tenant,
            csv(&[
                "Y-1,water,1111-22222,62704,Ana Diaz,1 Elm St,,84.20,2026-12-15",
                "Y-2,water,1111-22223,62704,Ana Diaz,1 Elm St,,84.2.0,2026-12-15",
                "Y-3,sewer,1111-22224,62704,,1 Elm St,,1.00,31/12/2026",
                "Y-4,water,1111-22225,62704",
            ]),
            ImportFormat::Csv,
            false,
        )
        .await;
        assert!(!report.written);
        assert_eq!(report.invalid, 3);
        let messages: Vec<String> = report.errors.iter().map(ToString::to_string).collect();
        assert!(
            messages[0].starts_with("line 3, column amount:"),
            "{messages:?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.starts_with("line 4, column bill_type: unknown bill type \"sewer\"")),
            "{messages:?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.starts_with("line 4, column due_date:")),
            "{messages:?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m == "line 5: has 4 fields but the header has 9"),
            "{messages:?}"
        );
        assert_eq!(store.count_bills(&tenant.id).await.unwrap(), before);
    }
);

store_test!(
    skip_invalid_writes_the_good_rows,
    |store: Store| async move {
        let tenant = springfield(&store).await;
        let before = store.count_bills(&tenant.id).await.unwrap();
        let report = import(
            &store,
            &tenant,
            csv(&[
                "Z-1,water,1111-22222,62704,Ana Diaz,1 Elm St,,84.20,2026-12-15",
                "Z-2,water,1111-22223,62704,Ana Diaz,1 Elm St,,-3,2026-12-15",
                "Z-3,water,1111-22224,62704,Ana Diaz,1 Elm St,,9.99,2026-12-15",
            ]),
            ImportFormat::Csv,
            true,
        )
        .await;
        assert!(report.written);
        assert_eq!(
            (report.records, report.invalid, report.counts.inserted),
            (3, 1, 2)
        );
        assert_eq!(report.errors[0].location, Location::Line(3));
        assert_eq!(store.count_bills(&tenant.id).await.unwrap(), before + 2);
    }
);

store_test!(csv_header_problems_are_named, |store: Store| async move {
    let tenant = springfield(&store).await;
    let source = Cursor::new(b"external_id,bill_type,ammount\nA,water,1\n".to_vec());
    let report = import(&store, &tenant, source, ImportFormat::Csv, false).await;
    assert!(!report.written);
    let message = report.errors[0].to_string();
    assert!(
        message.starts_with("line 1: missing column(s): reference"),
        "{message}"
    );
    assert!(message.contains("unknown column(s): ammount"), "{message}");
});

store_test!(
    json_import_reports_records_by_number,
    |store: Store| async move {
        let tenant = springfield(&store).await;
        let good = r#"{"external_id":"J-1","bill_type":"permits","reference":"PER-1","verification":"Diaz",
        "payer_name":"Ana Diaz","postal_address":"1 Elm St","amount":"300.00","due_date":"2027-01-10",
        "line_items":[{"description":"Plan review","amount":"250.00","gl_code":"100-3221"},
                      {"description":"Inspection","amount":"50.00"}]}"#;
        let body =
            format!("[{good}, {{\"external_id\":\"J-2\",\"amount\":12.5}}, {{\"ammount\":\"1\"}}]");
        let report = import(
            &store,
            &tenant,
            Cursor::new(body.into_bytes()),
            ImportFormat::Json,
            false,
        )
        .await;
        assert!(!report.written);
        let messages: Vec<String> = report.errors.iter().map(ToString::to_string).collect();
        assert!(
            messages[0].starts_with("record 2, field amount: must be a string"),
            "{messages:?}"
        );
        assert!(
            messages[1].starts_with("record 3: unknown field `ammount`"),
            "{messages:?}"
        );

        let report = import(
            &store,
            &tenant,
            Cursor::new(format!("[{good}]").into_bytes()),
            ImportFormat::Json,
            false,
        )
        .await;
        assert!(report.written, "{:?}", report.errors);
        let bill = store
            .bill_by_external_id(&tenant.id, &ExternalId::parse("J-1").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(bill.line_items.len(), 2);
        assert_eq!(
            bill.line_items[1].gl_code.as_str(),
            "100-3220",
            "defaults to the bill type's GL code"
        );

        let broken = import(
            &store,
            &tenant,
            Cursor::new(b"[{\"external_id\": ".to_vec()),
            ImportFormat::Json,
            false,
        )
        .await;
        assert!(!broken.written);
        assert!(
            broken.errors[0]
                .to_string()
                .starts_with("the JSON is not an array of bill records")
        );
    }
);

store_test!(
    look_up_by_reference_however_typed,
    |store: Store| async move {
        let tenant = springfield(&store).await;
        import(
            &store,
            &tenant,
            csv(&["L-1,parking,PK-2026-777777,ABC-1234,Bo Li,2 Oak Dr,,35.00,2026-12-01"]),
            ImportFormat::Csv,
            false,
        )
        .await;
        let parking = store
            .bill_type_by_slug(&tenant.id, &BillTypeSlug::parse("parking").unwrap())
            .await
            .unwrap()
            .unwrap();
        let found = store
            .bills_by_reference(
                &tenant.id,
                &parking.id,
                &BillReference::parse("pk 2026 777777").unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].status, BillStatus::Open);
        assert_eq!(found[0].reference.as_str(), "PK-2026-777777");
        assert_eq!(found[0].verification.canonical(), "ABC1234");
    }
);

store_test!(
    a_city_never_sees_another_citys_bills,
    |store: Store| async move {
        let springfield = springfield(&store).await;
        let lac_vert = store
            .tenant_by_slug(&TenantSlug::parse("lac-vert").unwrap())
            .await
            .unwrap()
            .unwrap();
        import(
            &store,
            &springfield,
            csv(&["T-1,water,5555-55555,62704,Ana Diaz,1 Elm St,,10.00,2026-12-15"]),
            ImportFormat::Csv,
            false,
        )
        .await;
        let bill = store
            .bill_by_external_id(&springfield.id, &ExternalId::parse("T-1").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert!(store.bill(&lac_vert.id, &bill.id).await.unwrap().is_none());
        assert!(
            store
                .bill_by_external_id(&lac_vert.id, &ExternalId::parse("T-1").unwrap())
                .await
                .unwrap()
                .is_none()
        );
        let water = store
            .bill_type_by_slug(&springfield.id, &BillTypeSlug::parse("water").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert!(
            store
                .bills_by_reference(&lac_vert.id, &water.id, &bill.reference)
                .await
                .unwrap()
                .is_empty()
        );
        // Importing the same external id into the other city makes a separate bill.
        let eau_row = "T-1,eau,5555-55555,K0A 1A0,Léa Roy,1 rue Principale,,10.00,2026-12-15";
        let report = import(&store, &lac_vert, csv(&[eau_row]), ImportFormat::Csv, false).await;
        assert_eq!(report.counts.inserted, 1);
        let theirs = store
            .bill_by_external_id(&lac_vert.id, &ExternalId::parse("T-1").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_ne!(theirs.id, bill.id);
        // And a bill type of one city is refused in the other's import.
        let report = import(
            &store,
            &lac_vert,
            csv(&["T-2,water,1,62704,A B,1 Elm,,1.00,2026-12-15"]),
            ImportFormat::Csv,
            false,
        )
        .await;
        assert!(
            report.errors[0]
                .to_string()
                .contains("unknown bill type \"water\"")
        );
    }
);

store_test!(
    duplicate_city_slugs_are_refused,
    |store: Store| async move {
        let tenant = springfield(&store).await;
        let copy = Tenant {
            id: civicpay_core::TenantId::generate(),
            ..tenant
        };
        assert!(matches!(
            store.create_tenant(&copy).await,
            Err(StoreError::AlreadyExists(_))
        ));
    }
);

store_test!(demo_seeding_is_repeatable, |store: Store| async move {
    let first = demo::seed(&store, 10).await.unwrap();
    let tenant = store
        .tenant_by_slug(&TenantSlug::parse("lac-vert").unwrap())
        .await
        .unwrap()
        .unwrap();
    let count = store.count_bills(&tenant.id).await.unwrap();
    assert_eq!(count, 40);
    let second = demo::seed(&store, 10).await.unwrap();
    assert_eq!(store.count_bills(&tenant.id).await.unwrap(), count);
    assert_eq!(first.samples.len(), second.samples.len());
    assert_eq!(first.samples[0].reference, second.samples[0].reference);
    assert_eq!(store.list_tenants().await.unwrap().len(), 2);
});

store_test!(
    api_keys_name_their_city_and_only_that,
    |store: Store| async move {
        let tenant = springfield(&store).await;
        let key = store
            .create_api_key(&tenant.id, "back office")
            .await
            .unwrap();
        assert_eq!(
            store.tenant_for_api_key(key.expose()).await.unwrap(),
            Some(tenant.id.clone())
        );
        assert!(!format!("{key:?}").contains(key.expose()));
        let mut wrong = key.expose().to_owned();
        wrong.pop();
        wrong.push('x');
        assert_eq!(store.tenant_for_api_key(&wrong).await.unwrap(), None);
        assert_eq!(store.tenant_for_api_key("").await.unwrap(), None);
    }
);

store_test!(
    rate_limits_count_per_bucket_and_window,
    |store: Store| async move {
        let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        let window = Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(
                store
                    .rate_limit_hit("lookup:a", 3, window, now)
                    .await
                    .unwrap(),
                RateDecision::Allowed
            );
        }
        let RateDecision::Limited { retry_after } = store
            .rate_limit_hit("lookup:a", 3, window, now)
            .await
            .unwrap()
        else {
            panic!("the fourth attempt is limited");
        };
        assert!(retry_after <= window && retry_after >= Duration::from_secs(1));
        assert_eq!(
            store
                .rate_limit_hit("lookup:b", 3, window, now)
                .await
                .unwrap(),
            RateDecision::Allowed
        );
        // Just past the window's end the attempts before still weigh in.
        let next_window = now
            .checked_add(jiff::SignedDuration::from_secs(61))
            .unwrap();
        assert!(matches!(
            store
                .rate_limit_hit("lookup:a", 3, window, next_window)
                .await
                .unwrap(),
            RateDecision::Limited { .. }
        ));
        let later = now
            .checked_add(jiff::SignedDuration::from_secs(181))
            .unwrap();
        assert_eq!(
            store
                .rate_limit_hit("lookup:a", 3, window, later)
                .await
                .unwrap(),
            RateDecision::Allowed
        );
        assert!(store.prune_rate_limits(later).await.unwrap() >= 2);
    }
);

store_test!(
    concurrent_batches_do_not_duplicate_bills,
    |store: Store| async move {
        let tenant = springfield(&store).await;
        let rows: Vec<String> = (0..40)
            .map(|i| format!("C-{i},water,7777-{i:05},62704,Ana Diaz,1 Elm St,,1.00,2026-12-15"))
            .collect();
        let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
        let body = csv(&refs);
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let store = store.clone();
            let tenant = tenant.clone();
            let body = body.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .import_bills(&tenant, body, ImportOptions::new(ImportFormat::Csv))
                    .await
                    .unwrap()
            }));
        }
        let mut inserted = 0;
        for t in tasks {
            inserted += t.await.unwrap().counts.inserted;
        }
        assert_eq!(
            inserted, 40,
            "each bill inserted exactly once across concurrent imports"
        );
    }
);

store_test!(
    a_large_batch_counts_every_row_and_the_last_line_of_a_repeated_bill_wins,
    |store: Store| async move {
        let tenant = springfield(&store).await;
        let before = store.count_bills(&tenant.id).await.unwrap();
        let row = |i: usize, amount: &str| {
            format!("B-{i},water,2222-{i:05},62704,Payer {i},{i} Elm St,,{amount},2026-12-15")
        };
        let first: Vec<String> = (0..45).map(|i| row(i, "10.00")).collect();
        // One batch for the whole file, so that it spans several statements.
        let import_all = async |rows: &[String]| {
            let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
            let mut options = ImportOptions::new(ImportFormat::Csv);
            options.batch_size = 1000;
            store
                .import_bills(&tenant, csv(&refs), options)
                .await
                .unwrap()
        };
        let report = import_all(&first).await;
        assert_eq!(report.counts.inserted, 45);

        // Rows 0–9 change, 10–44 stay, 45–59 are new, and B-3 appears
        // again at the end with a third amount.
        let mut second: Vec<String> = (0..60)
            .map(|i| row(i, if i < 10 { "20.00" } else { "10.00" }))
            .collect();
        second.push(row(3, "30.00"));
        let report = import_all(&second).await;
        assert_eq!(
            (
                report.counts.inserted,
                report.counts.updated,
                report.counts.unchanged
            ),
            (15, 11, 35)
        );
        let amount = |id: &'static str| {
            let store = store.clone();
            let tenant = tenant.id.clone();
            async move {
                store
                    .bill_by_external_id(&tenant, &ExternalId::parse(id).unwrap())
                    .await
                    .unwrap()
                    .unwrap()
                    .amount_due
                    .minor()
            }
        };
        assert_eq!(amount("B-3").await, 3000);
        assert_eq!(amount("B-4").await, 2000);
        assert_eq!(amount("B-59").await, 1000);
        assert_eq!(store.count_bills(&tenant.id).await.unwrap(), before + 60);
    }
);

store_test!(
    a_bill_or_city_row_that_does_not_read_is_named_not_guessed,
    |store: Store| async move {
        let tenant = springfield(&store).await;
        let first = import(
            &store,
            &tenant,
            csv(&["X-1,water,1111-22222,62704,Ana Diaz,1 Elm St,,84.20,2026-12-15"]),
            ImportFormat::Csv,
            false,
        )
        .await;
        assert!(first.written, "{:?}", first.errors);
        let external = ExternalId::parse("X-1").unwrap();
        civicpay_store::testing::execute_behind_the_back(
            &store,
            "UPDATE bills SET due_date = 'soon' WHERE external_id = 'X-1'",
        )
        .await
        .unwrap();
        let read = store.bill_by_external_id(&tenant.id, &external).await;
        let Err(StoreError::Corrupt { what, detail }) = read else {
            panic!("a date that does not parse is refused: {read:?}");
        };
        assert_eq!(what, "due_date");
        assert!(detail.contains("soon"), "{detail}");

        civicpay_store::testing::execute_behind_the_back(
            &store,
            "UPDATE tenants SET currency = 'XYZ' WHERE slug = 'springfield'",
        )
        .await
        .unwrap();
        let read = store.tenant_by_slug(&tenant.slug).await;
        let Err(StoreError::Corrupt { what, .. }) = read else {
            panic!("an unknown currency is refused: {read:?}");
        };
        assert_eq!(what, "currency");
    }
);

const SPRINGFIELD_FILE: &str = include_str!("../../../examples/cities/springfield.toml");

store_test!(
    a_city_file_creates_the_city_then_changes_only_what_changed,
    |store: Store| async move {
        use civicpay_audit::ChainId;
        use civicpay_core::city_file;
        use civicpay_store::audit_log::AuditFilter;
        let entries = |tenant: civicpay_core::TenantId| {
            let store = store.clone();
            async move {
                store
                    .audit_entries(
                        &ChainId::Tenant(tenant),
                        &AuditFilter {
                            limit: 100,
                            ..AuditFilter::default()
                        },
                    )
                    .await
                    .unwrap()
            }
        };
        let file = city_file::parse(SPRINGFIELD_FILE).unwrap();
        assert!(!store.city_file_changes(&file).await.unwrap().is_empty());
        let first = store.apply_city(&file, "cli").await.unwrap();
        assert!(first.created);
        let id = first.tenant.id.clone();
        let types = store.bill_types(&id).await.unwrap();
        let slugs: Vec<&str> = types.iter().map(|b| b.slug.as_str()).collect();
        assert_eq!(slugs, ["water", "parking", "permits", "property-tax"]);
        let written = entries(id.clone()).await.len();
        assert_eq!(
            written, 0,
            "a new city is the platform's entry, not the city's"
        );
        let platform = store
            .audit_entries(
                &ChainId::Platform,
                &AuditFilter {
                    limit: 10,
                    ..AuditFilter::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(platform.len(), 1);
        assert_eq!(platform[0].action, "tenant.created");
        assert_eq!(platform[0].target, "city:springfield");

        // The same file again: nothing to do, nothing written.
        let again = store.apply_city(&file, "cli").await.unwrap();
        assert!(!again.created && again.changes.is_empty());
        assert_eq!(again.tenant.id, id);
        assert_eq!(entries(id.clone()).await.len(), written);

        // A changed file: each changed field, and only it, with before and after.
        let changed = SPRINGFIELD_FILE
            .replace("America/Chicago", "America/New_York")
            .replace("\"100-3510\"", "\"100-3599\"")
            .replace(
                "[[bill_type]]\nslug = \"property-tax\"",
                "[[bill_type]]\nslug = \"dogs\"\nkind = \"business_licence\"\ngl_code = \"100-3901\"\nname = { en = \"Dog licence\" }\n\n[[bill_type]]\nslug = \"property-tax\"",
            );
        let changed = city_file::parse(&changed).unwrap();
        let preview = store.city_file_changes(&changed).await.unwrap();
        let applied = store.apply_city(&changed, "cli").await.unwrap();
        assert_eq!(applied.changes, preview);
        let shown: Vec<String> = applied.changes.iter().map(ToString::to_string).collect();
        assert!(
            shown.contains(&"~ time_zone: America/Chicago -> America/New_York".to_owned()),
            "{shown:?}"
        );
        assert!(shown.contains(&"~ bill_type.parking.gl_code: 100-3510 -> 100-3599".to_owned()));
        assert!(
            shown
                .iter()
                .any(|c| c.starts_with("+ bill_type.dogs.gl_code"))
        );
        let tenant = store.tenant(&id).await.unwrap().unwrap();
        assert_eq!(tenant.time_zone.as_str(), "America/New_York");
        let log = entries(id.clone()).await;
        assert_eq!(log.len(), written + applied.changes.len());
        assert!(
            log.iter()
                .any(|e| e.details.contains("\"before\":\"America/Chicago\"")
                    && e.details.contains("\"after\":\"America/New_York\"")),
            "{log:?}"
        );
        assert_eq!(store.bill_types(&id).await.unwrap().len(), 5);

        // A city's currency is what its bills are in: a file cannot change it.
        let canadian = city_file::parse(&SPRINGFIELD_FILE.replace("USD", "CAD")).unwrap();
        let refused = store.apply_city(&canadian, "cli").await;
        assert!(
            matches!(&refused, Err(StoreError::Refused(m)) if m.contains("currency")),
            "{refused:?}"
        );
        assert_eq!(entries(id).await.len(), written + applied.changes.len());
    }
);

store_test!(
    a_city_files_fees_are_stored_exported_and_changed_field_by_field,
    |store: Store| async move {
        use civicpay_core::city_file;
        use civicpay_core::fee::ChargedFee;
        use civicpay_core::payment::Channel;
        use civicpay_core::{Currency, Money};
        let file = city_file::parse(SPRINGFIELD_FILE).unwrap();
        let id = store.apply_city(&file, "cli").await.unwrap().tenant.id;
        let tenant = store.tenant(&id).await.unwrap().unwrap();
        let policy = tenant.fees.clone().expect("Springfield charges fees");
        assert_eq!(policy.gl_code.as_str(), "100-3990");
        assert!(!policy.refundable);
        let types = store.bill_types(&id).await.unwrap();
        let tax = types
            .iter()
            .find(|b| b.slug.as_str() == "property-tax")
            .unwrap();
        let water = types.iter().find(|b| b.slug.as_str() == "water").unwrap();
        assert!(water.fees.is_empty());
        let usd = |minor| Money::from_minor(minor, Currency::Usd);
        // Read back, the rules charge what the file says: 2.35 % with a
        // $1.00 floor on the web; $2.95 + 2.35 % by phone.
        let fee = |channel, amount| {
            ChargedFee::for_payment(Some(&policy), &tax.fees, channel, usd(amount))
                .unwrap()
                .map(|f| f.amount.minor())
        };
        assert_eq!(fee(Channel::Web, 8_420), Some(198));
        assert_eq!(fee(Channel::Web, 1_000), Some(100));
        assert_eq!(fee(Channel::Moto, 8_420), Some(295 + 198));
        assert_eq!(fee(Channel::Autopay, 8_420), None);

        // Exported and applied again, the city is the same.
        let exported = city_file::export(&tenant, &types).unwrap();
        let again = city_file::parse(&exported).unwrap();
        assert!(store.city_file_changes(&again).await.unwrap().is_empty());

        // A changed rate and a refundable policy are each a change.
        let changed = SPRINGFIELD_FILE
            .replace("refundable = false", "refundable = true")
            .replace(
                "[bill_type.fee.web]\npercent = \"2.35\"",
                "[bill_type.fee.web]\npercent = \"2.50\"",
            );
        let applied = store
            .apply_city(&city_file::parse(&changed).unwrap(), "cli")
            .await
            .unwrap();
        let shown: Vec<String> = applied.changes.iter().map(ToString::to_string).collect();
        assert_eq!(shown.len(), 2, "{shown:?}");
        assert!(
            shown.contains(
                &"~ fees: GL 100-3990, kept on refund -> GL 100-3990, given back on refund"
                    .to_owned()
            ),
            "{shown:?}"
        );
        assert!(
            shown
                .iter()
                .any(|c| c.starts_with("~ bill_type.property-tax.fee.web:")
                    && c.contains("2.35 %")
                    && c.contains("2.5 %")),
            "{shown:?}"
        );
        let tenant = store.tenant(&id).await.unwrap().unwrap();
        assert!(tenant.fees.unwrap().refundable);
    }
);

store_test!(
    a_city_files_return_origins_are_stored_and_changed,
    |store: Store| async move {
        use civicpay_core::city_file;
        let file = city_file::parse(SPRINGFIELD_FILE).unwrap();
        let id = store.apply_city(&file, "cli").await.unwrap().tenant.id;
        let origins = |tenant: civicpay_core::Tenant| {
            tenant
                .return_origins
                .iter()
                .map(|o| o.as_str().to_owned())
                .collect::<Vec<_>>()
        };
        let stored = store.tenant(&id).await.unwrap().unwrap();
        assert_eq!(origins(stored), ["https://www.springfield.example"]);
        let changed = SPRINGFIELD_FILE.replace(
            "return_origins = [\"https://www.springfield.example\"]",
            "return_origins = []",
        );
        let applied = store
            .apply_city(&city_file::parse(&changed).unwrap(), "cli")
            .await
            .unwrap();
        let shown: Vec<String> = applied.changes.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            ["~ return_origins: https://www.springfield.example -> none"]
        );
        let listed = store.list_tenants().await.unwrap();
        let springfield = listed.into_iter().find(|t| t.id == id).unwrap();
        assert!(origins(springfield).is_empty());
    }
);

store_test!(
    a_city_files_back_office_webhook_is_stored_changed_and_cleared,
    |store: Store| async move {
        use civicpay_core::city_file;
        let commented = "# back_office_webhook = \"https://erp.springfield.example/civicpay\"";
        let with =
            |line: &str| city_file::parse(&SPRINGFIELD_FILE.replace(commented, line)).unwrap();
        let first = with("back_office_webhook = \"https://erp.springfield.example/civicpay\"");
        let id = store.apply_city(&first, "cli").await.unwrap().tenant.id;
        let hook =
            |tenant: civicpay_core::Tenant| tenant.back_office.map(|u| u.as_str().to_owned());
        assert_eq!(
            hook(store.tenant(&id).await.unwrap().unwrap()).as_deref(),
            Some("https://erp.springfield.example/civicpay")
        );
        let moved = with("back_office_webhook = \"https://erp2.springfield.example/in\"");
        let applied = store.apply_city(&moved, "cli").await.unwrap();
        assert_eq!(applied.changes.len(), 1, "{:?}", applied.changes);
        assert_eq!(
            hook(store.tenant(&id).await.unwrap().unwrap()).as_deref(),
            Some("https://erp2.springfield.example/in")
        );
        store
            .apply_city(&city_file::parse(SPRINGFIELD_FILE).unwrap(), "cli")
            .await
            .unwrap();
        let listed = store.list_tenants().await.unwrap();
        assert_eq!(hook(listed.into_iter().find(|t| t.id == id).unwrap()), None);
    }
);

store_test!(
    a_city_is_suspended_and_resumed_once_each_audited_and_a_file_keeps_it,
    |store: Store| async move {
        use civicpay_audit::{Action, ChainId};
        use civicpay_core::city_file;
        use civicpay_store::audit_log::AuditFilter;
        let file = city_file::parse(SPRINGFIELD_FILE).unwrap();
        let tenant = store.apply_city(&file, "cli").await.unwrap().tenant;
        assert!(!tenant.suspended);
        let platform_actions = || {
            let store = store.clone();
            async move {
                store
                    .audit_entries(
                        &ChainId::Platform,
                        &AuditFilter {
                            limit: 100,
                            ..AuditFilter::default()
                        },
                    )
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|e| e.action)
                    .filter(|a| {
                        [Action::TenantSuspended, Action::TenantResumed]
                            .iter()
                            .any(|x| x.code() == a)
                    })
                    .collect::<Vec<_>>()
            }
        };
        assert!(
            store
                .set_tenant_suspended(&tenant, true, "ops")
                .await
                .unwrap()
        );
        assert!(
            !store
                .set_tenant_suspended(&tenant, true, "ops")
                .await
                .unwrap(),
            "already paused"
        );
        assert!(store.tenant(&tenant.id).await.unwrap().unwrap().suspended);
        // Applying the file again (with a change) does not resume the city.
        let changed = SPRINGFIELD_FILE.replace("America/Chicago", "America/Denver");
        let applied = store
            .apply_city(&city_file::parse(&changed).unwrap(), "cli")
            .await
            .unwrap();
        assert_eq!(applied.changes.len(), 1);
        assert!(applied.tenant.suspended);
        let listed = store.list_tenants().await.unwrap();
        assert!(listed.iter().find(|t| t.id == tenant.id).unwrap().suspended);
        assert!(
            store
                .set_tenant_suspended(&tenant, false, "ops")
                .await
                .unwrap()
        );
        assert!(
            !store
                .set_tenant_suspended(&tenant, false, "ops")
                .await
                .unwrap()
        );
        assert!(!store.tenant(&tenant.id).await.unwrap().unwrap().suspended);
        assert_eq!(
            platform_actions().await,
            [Action::TenantResumed.code(), Action::TenantSuspended.code()],
            "newest first, one each"
        );
    }
);

store_test!(
    a_bill_types_partial_payments_are_stored_and_changed,
    |store: Store| async move {
        use civicpay_core::city_file;
        let file = city_file::parse(SPRINGFIELD_FILE).unwrap();
        let id = store.apply_city(&file, "cli").await.unwrap().tenant.id;
        let minimum = |slug: &'static str| {
            let store = store.clone();
            let id = id.clone();
            async move {
                store
                    .bill_types(&id)
                    .await
                    .unwrap()
                    .into_iter()
                    .find(|b| b.slug.as_str() == slug)
                    .unwrap()
                    .partial
                    .map(|p| p.minimum.minor())
            }
        };
        assert_eq!(minimum("property-tax").await, Some(2_500));
        assert_eq!(minimum("water").await, None);
        let changed = SPRINGFIELD_FILE.replace("minimum = \"25.00\"", "minimum = \"40.00\"");
        let applied = store
            .apply_city(&city_file::parse(&changed).unwrap(), "cli")
            .await
            .unwrap();
        let shown: Vec<String> = applied.changes.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            ["~ bill_type.property-tax.partial: minimum 25.00 -> minimum 40.00"]
        );
        assert_eq!(minimum("property-tax").await, Some(4_000));
    }
);

store_test!(
    a_citys_accent_and_logo_are_kept_with_audit_and_survive_a_file_apply,
    |store: Store| async move {
        use civicpay_audit::{Action, ChainId, NewEntry};
        use civicpay_core::{AccentColour, LogoDigest, city_file};
        let file = city_file::parse(SPRINGFIELD_FILE).unwrap();
        let tenant = store.apply_city(&file, "cli").await.unwrap().tenant;
        assert_eq!(tenant.branding, Default::default());
        let note = |what: &str| {
            NewEntry::new(
                ChainId::Tenant(tenant.id.clone()),
                "staff:admin",
                Action::SettingChanged,
                what.to_owned(),
                serde_json::json!({}),
            )
        };
        let accent = AccentColour::parse("#1d70b8").unwrap();
        store
            .set_tenant_accent(&tenant.id, Some(&accent), note("accent"))
            .await
            .unwrap();
        // Bytes that are not valid UTF-8, so a text column would garble them.
        let png: Vec<u8> = (0..=255u8)
            .chain([0x89, b'P', b'N', b'G', 0, 0xff])
            .collect();
        let digest = LogoDigest::parse("0123456789abcdef").unwrap();
        store
            .set_tenant_logo(&tenant.id, Some((&digest, &png)), note("logo"))
            .await
            .unwrap();
        let read = store.tenant(&tenant.id).await.unwrap().unwrap();
        assert_eq!(read.branding.accent, Some(accent.clone()));
        assert_eq!(read.branding.logo, Some(digest.clone()));
        assert_eq!(
            store.tenant_logo(&tenant.id).await.unwrap(),
            Some((digest.clone(), png.clone()))
        );
        // A changed file leaves the brand alone: it is the console's.
        let changed = SPRINGFIELD_FILE.replace("America/Chicago", "America/Denver");
        let applied = store
            .apply_city(&city_file::parse(&changed).unwrap(), "cli")
            .await
            .unwrap();
        assert_eq!(applied.tenant.branding, read.branding);
        let listed = store.list_tenants().await.unwrap();
        let listed = listed.iter().find(|t| t.id == tenant.id).unwrap();
        assert_eq!(listed.branding, read.branding);
        // Replacing keeps one logo; removing removes both halves.
        let other = LogoDigest::parse("fedcba9876543210").unwrap();
        store
            .set_tenant_logo(&tenant.id, Some((&other, b"second")), note("logo"))
            .await
            .unwrap();
        assert_eq!(
            store.tenant_logo(&tenant.id).await.unwrap(),
            Some((other, b"second".to_vec()))
        );
        store
            .set_tenant_logo(&tenant.id, None, note("logo"))
            .await
            .unwrap();
        store
            .set_tenant_accent(&tenant.id, None, note("accent"))
            .await
            .unwrap();
        assert_eq!(store.tenant_logo(&tenant.id).await.unwrap(), None);
        assert_eq!(
            store.tenant(&tenant.id).await.unwrap().unwrap().branding,
            Default::default()
        );
    }
);

store_test!(
    a_credited_payment_queues_one_back_office_notice_until_it_is_taken,
    |store: Store| async move {
        use civicpay_core::city_file;
        use civicpay_core::payment::PaymentStatus;
        use civicpay_pay_api::PaymentOutcome;
        let commented = "# back_office_webhook = \"https://erp.springfield.example/civicpay\"";
        let told = SPRINGFIELD_FILE.replace(
            commented,
            "back_office_webhook = \"https://erp.springfield.example/civicpay\"",
        );
        let samples = demo::seed(&store, 1).await.unwrap().samples;
        let sample = samples
            .iter()
            .find(|s| s.tenant == "springfield" && s.bill_type == "water")
            .unwrap();
        let springfield = store
            .tenant_by_slug(&TenantSlug::parse("springfield").unwrap())
            .await
            .unwrap()
            .unwrap();
        let water = store
            .bill_type_by_slug(&springfield.id, &BillTypeSlug::parse("water").unwrap())
            .await
            .unwrap()
            .unwrap();
        let bill = store
            .bills_by_reference(
                &springfield.id,
                &water.id,
                &BillReference::parse(&sample.reference).unwrap(),
            )
            .await
            .unwrap()
            .into_iter()
            .find(|b| b.is_payable())
            .expect("a payable water bill");
        let pay = |store: Store, amount: i64, fee: i64| {
            let (tenant, bill) = (springfield.id.clone(), bill.clone());
            async move {
                let currency = bill.balance().currency();
                let local = store
                    .create_bill_payment(
                        &tenant,
                        &bill.id,
                        civicpay_core::Money::from_minor(amount, currency),
                        None,
                    )
                    .await
                    .unwrap();
                store
                    .attach_pay_payment(&tenant, &local, &format!("pay-{local}"))
                    .await
                    .unwrap();
                let outcome = PaymentOutcome {
                    status: PaymentStatus::Success,
                    captured: civicpay_core::Money::from_minor(amount + fee, currency),
                    fee: civicpay_core::Money::from_minor(fee, currency),
                    card: None,
                    email: None,
                    language: None,
                };
                for _ in 0..2 {
                    store
                        .record_pay_outcome(&tenant, &local, &outcome)
                        .await
                        .unwrap();
                }
                local
            }
        };
        pay(store.clone(), 1_000, 0).await;
        assert!(
            store
                .undelivered_back_office_notices(&springfield.id)
                .await
                .unwrap()
                .is_empty(),
            "no back office, no notice"
        );
        store
            .apply_city(&city_file::parse(&told).unwrap(), "cli")
            .await
            .unwrap();
        let local = pay(store.clone(), 1_500, 45).await;
        let waiting = store
            .undelivered_back_office_notices(&springfield.id)
            .await
            .unwrap();
        assert_eq!(
            waiting.len(),
            1,
            "one notice, though the outcome came twice"
        );
        let notice: serde_json::Value = serde_json::from_str(&waiting[0].body).unwrap();
        assert_eq!(notice["event"], "payment.credited");
        assert_eq!(notice["notice_id"], waiting[0].id.as_str());
        assert_eq!(notice["bill"]["external_id"], bill.external_id.to_string());
        assert_eq!(notice["bill"]["gl_code"], water.gl_code.as_str());
        assert_eq!(notice["payment"]["id"], format!("pay-{local}"));
        assert_eq!(notice["payment"]["amount"], "15.00");
        assert_eq!(notice["payment"]["fee"], "0.45");
        let paid = bill.amount_paid.minor() + 2_500;
        assert_eq!(
            notice["bill"]["amount_paid"],
            civicpay_core::Money::from_minor(paid, bill.amount_paid.currency()).to_decimal_string()
        );
        assert!(
            !waiting[0].body.contains(&bill.payer_name),
            "the notice names the bill, not the payer"
        );

        let now = jiff::Timestamp::now();
        let due = store
            .due_back_office_notices(&springfield.id, now, 10)
            .await
            .unwrap();
        assert_eq!(due.len(), 1);
        let lease = now + jiff::SignedDuration::from_secs(60);
        assert!(
            store
                .claim_back_office_notice(&springfield.id, &due[0], lease)
                .await
                .unwrap()
        );
        assert!(
            !store
                .claim_back_office_notice(&springfield.id, &due[0], lease)
                .await
                .unwrap(),
            "a second runner does not send it too"
        );
        let retry = now + jiff::SignedDuration::from_secs(20);
        store
            .finish_back_office_attempt(
                &springfield.id,
                &due[0].id,
                Err(("the back office answered 503".into(), retry)),
            )
            .await
            .unwrap();
        assert!(
            store
                .due_back_office_notices(&springfield.id, now, 10)
                .await
                .unwrap()
                .is_empty(),
            "not due again before its retry"
        );
        let again = store
            .due_back_office_notices(&springfield.id, retry, 10)
            .await
            .unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].attempts, 1);
        store
            .finish_back_office_attempt(&springfield.id, &again[0].id, Ok(retry))
            .await
            .unwrap();
        assert!(
            store
                .undelivered_back_office_notices(&springfield.id)
                .await
                .unwrap()
                .is_empty()
        );
    }
);

store_test!(
    a_bill_paid_twice_over_is_listed_for_a_refund,
    |store: Store| async move {
        use civicpay_core::payment::PaymentStatus;
        use civicpay_pay_api::PaymentOutcome;
        let samples = demo::seed(&store, 1).await.unwrap().samples;
        let springfield = store
            .tenant_by_slug(&TenantSlug::parse("springfield").unwrap())
            .await
            .unwrap()
            .unwrap();
        let mut bills = Vec::new();
        for slug in ["water", "parking"] {
            let sample = samples
                .iter()
                .find(|s| s.tenant == "springfield" && s.bill_type == slug)
                .unwrap();
            let kind = store
                .bill_type_by_slug(&springfield.id, &BillTypeSlug::parse(slug).unwrap())
                .await
                .unwrap()
                .unwrap();
            let bill = store
                .bills_by_reference(
                    &springfield.id,
                    &kind.id,
                    &BillReference::parse(&sample.reference).unwrap(),
                )
                .await
                .unwrap()
                .into_iter()
                .find(|b| b.is_payable())
                .unwrap();
            bills.push(bill);
        }
        // Two tabs pay the water bill's whole balance; the parking bill is
        // paid once.
        for (bill, times) in [(&bills[0], 2), (&bills[1], 1)] {
            for _ in 0..times {
                let local = store
                    .create_bill_payment(&springfield.id, &bill.id, bill.balance(), None)
                    .await
                    .unwrap();
                store
                    .record_pay_outcome(
                        &springfield.id,
                        &local,
                        &PaymentOutcome {
                            status: PaymentStatus::Success,
                            captured: bill.balance(),
                            fee: civicpay_core::Money::zero(bill.balance().currency()),
                            card: None,
                            email: None,
                            language: None,
                        },
                    )
                    .await
                    .unwrap();
            }
        }
        let listed = store.overpaid_bills(&springfield.id).await.unwrap();
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert_eq!(listed[0].id, bills[0].id);
        assert_eq!(listed[0].overpaid(), Some(bills[0].balance()));
        let lac_vert = store
            .tenant_by_slug(&TenantSlug::parse("lac-vert").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert!(store.overpaid_bills(&lac_vert.id).await.unwrap().is_empty());
    }
);

store_test!(
    a_city_files_processor_is_stored_changed_and_taken_away,
    |store: Store| async move {
        use civicpay_core::{Processor, city_file};
        let with = |table: &str| format!("{SPRINGFIELD_FILE}\n[processor]\n{table}\n");
        let file = city_file::parse(&with(
            "kind = \"authorize_net\"\nenvironment = \"sandbox\"\napi_login_id = \"5KP3u95bQpv\"",
        ))
        .unwrap();
        let id = store.apply_city(&file, "cli").await.unwrap().tenant.id;
        let stored = store.tenant(&id).await.unwrap().unwrap();
        assert!(matches!(
            &stored.processor,
            Some(Processor::AuthorizeNet { api_login_id, .. }) if api_login_id == "5KP3u95bQpv"
        ));
        let production = city_file::parse(&with(
            "kind = \"authorize_net\"\nenvironment = \"production\"\napi_login_id = \"5KP3u95bQpv\"",
        ))
        .unwrap();
        let applied = store.apply_city(&production, "cli").await.unwrap();
        let shown: Vec<String> = applied.changes.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "~ processor: authorize_net sandbox api_login_id=5KP3u95bQpv -> authorize_net production api_login_id=5KP3u95bQpv"
            ]
        );
        let plain = city_file::parse(SPRINGFIELD_FILE).unwrap();
        store.apply_city(&plain, "cli").await.unwrap();
        assert_eq!(store.tenant(&id).await.unwrap().unwrap().processor, None);
    }
);
