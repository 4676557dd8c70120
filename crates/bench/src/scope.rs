//! Incident scope over a year of card attempts for three cities, seven
//! weeks of one city's asked for: the real query and people-merging, beside
//! the limit of reading the same rows' timestamps alone.

use crate::report::{line, rate};
use civicpay_core::incident::{PeopleIndex, ScopeAttempt};
use civicpay_core::{Currency, TenantId, TenantSlug};
use civicpay_store::Backend;
use civicpay_store::pay::{Merchant, ScopeFilter};
use civicpay_store::testing::{Schema, TestDb, execute_behind_the_back};
use std::time::Instant;

const YEAR_US: i64 = 365 * 24 * 3600 * 1_000_000;
const START_US: i64 = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z

/// Rows are generated inside the database (a recursive CTE on SQLite,
/// generate_series on PostgreSQL) from a fixed formula, so every run sees
/// the same data.
fn generate_sql(backend: Backend, attempts: u64, tenants: &[String; 3]) -> String {
    let step = YEAR_US / i64::try_from(attempts.max(1)).unwrap_or(1);
    let series = match backend {
        Backend::Sqlite => format!(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {}) ",
            attempts - 1
        ),
        Backend::Postgres => format!(
            "WITH n(i) AS (SELECT generate_series(0::bigint, {})) ",
            attempts - 1
        ),
    };
    let pad = |width: usize| match backend {
        Backend::Sqlite => format!("printf('%0{width}d', i)"),
        Backend::Postgres => format!("lpad(i::text, {width}, '0')"),
    };
    let tenant = format!(
        "CASE i % 3 WHEN 0 THEN '{}' WHEN 1 THEN '{}' ELSE '{}' END",
        tenants[0], tenants[1], tenants[2]
    );
    format!(
        "{series}INSERT INTO payments (id, tenant_id, status, amount, currency, reference, description, return_url, email, language, metadata, channel, expires_at, created_at, updated_at, payer_name, payer_address)
         SELECT 'p' || {p10}, {tenant}, 'success', 1000 + i % 90000, 'USD', 'PK-' || {p10}, 'Parking', 'https://city.example/return', NULL, 'en', '{{}}', 'web', {START_US} + i * {step}, {START_US} + i * {step}, {START_US} + i * {step}, 'Resident ' || (i % 1000000), (i % 5000) || ' Elm St' FROM n;
         {series}INSERT INTO card_attempts (id, tenant_id, payment_id, at, build_id, channel, amount, currency, language, cardholder_name, postal_code, email, card_brand, card_last4, elements)
         SELECT 'a' || {p10}, {tenant}, 'p' || {p10}, {START_US} + i * {step}, 'b' || (i % 4), CASE WHEN i % 10 = 0 THEN 'moto' ELSE 'web' END, 1000 + i % 90000, 'USD', 'en', 'Resident ' || (i % 1000000), '6270' || (i % 10), CASE WHEN i % 3 = 0 THEN NULL ELSE 'r' || (i % 1000000) || '@example.org' END, 'visa', {p4}, 'name,card_number,expiry,security_code,postal_code' FROM n;",
        p10 = pad(10),
        p4 = match backend { Backend::Sqlite => "printf('%04d', i % 10000)".to_owned(), Backend::Postgres => "lpad((i % 10000)::text, 4, '0')".to_owned() },
    )
}

async fn one(db: TestDb, attempts: u64, name: &str) -> anyhow::Result<()> {
    let store = db.pay_store();
    let mut tenants = Vec::new();
    for slug in ["springfield", "shelbyville", "capital-city"] {
        let m = Merchant {
            tenant_id: TenantId::generate(),
            slug: TenantSlug::parse(slug)?,
            name: slug.into(),
            currency: Currency::Usd,
            return_origins: vec!["https://city.example".into()],
            suspended: false,
        };
        store.upsert_merchant(&m).await?;
        tenants.push(m.tenant_id.as_str().to_owned());
    }
    let tenants: [String; 3] = tenants
        .try_into()
        .map_err(|_| anyhow::anyhow!("three cities"))?;
    let clock = Instant::now();
    execute_behind_the_back(
        &db.store,
        &generate_sql(db.store.backend(), attempts, &tenants),
    )
    .await?;
    println!(
        "  ({name}: generated {attempts} payments and attempts in {:.1} s)",
        clock.elapsed().as_secs_f64()
    );
    let tenant = TenantId::parse(&tenants[0])?;
    let from = jiff::Timestamp::from_microsecond(START_US + YEAR_US / 2)?;
    let to = from + jiff::SignedDuration::from_hours(7 * 7 * 24);
    let filter = ScopeFilter {
        from: Some(from),
        to: Some(to),
        build_id: None,
        channel: None,
    };

    let clock = Instant::now();
    let mut index = PeopleIndex::default();
    let rows = store
        .incident_scope(&tenant, &filter, |a| {
            index.add(ScopeAttempt {
                name: a.payer_name.unwrap_or_default(),
                postal_address: a.payer_address.unwrap_or_default(),
                email: a.attempt.email,
                language: a.attempt.language,
                channel: a.attempt.channel,
                card: a.attempt.card_last4,
                at: a.attempt.at,
                elements: Vec::new(),
            });
            Ok(())
        })
        .await?;
    let (_, summary) = index.finish();
    let scope = clock.elapsed();

    // The same query with nothing done per row: what reading costs.
    let clock = Instant::now();
    store.incident_scope(&tenant, &filter, |_| Ok(())).await?;
    println!(
        "  ({name}: the scope query alone, rows read and decoded: {:.2} s)",
        clock.elapsed().as_secs_f64()
    );

    let clock = Instant::now();
    let bare = store.count_card_attempts_between(&tenant, from, to).await?;
    let limit = clock.elapsed();
    line(
        &format!("incident scope, 7 weeks of {attempts} attempts, {name} (s)"),
        format!(
            "{:.2} ({rows} rows, {} people)",
            scope.as_secs_f64(),
            summary.people
        ),
        format!("{:.2} (read {bare} timestamps)", limit.as_secs_f64()),
        Some(limit.as_secs_f64() / scope.as_secs_f64().max(1e-9)),
    );
    println!("  ({:.0} attempts/s through the scope)", rate(rows, scope));
    db.finish().await;
    Ok(())
}

/// SQLite always; PostgreSQL too when `CIVICPAY_TEST_POSTGRES_URL` names a
/// server (a fresh database is made and dropped).
pub async fn run(attempts: u64) -> anyhow::Result<()> {
    one(TestDb::sqlite_with(Schema::Pay).await?, attempts, "SQLite").await?;
    match TestDb::postgres_with(Schema::Pay).await? {
        Some(db) => one(db, attempts, "PostgreSQL").await?,
        None => println!(
            "  (PostgreSQL skipped: set {})",
            civicpay_store::testing::POSTGRES_URL_VAR
        ),
    }
    Ok(())
}
