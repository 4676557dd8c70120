//! Two fictional cities with bills, for `civicpay demo` and for tests that
//! need a populated database. Deterministic: the same seed gives the same
//! bills, and seeding twice changes nothing.

use crate::{Store, StoreError};
use civicpay_core::BillKind;
use civicpay_core::city_file;
use civicpay_core::import::{BillRecord, ImportContext};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// A bill a person can look up in the demo.
#[derive(Debug, Clone)]
pub struct DemoBill {
    pub tenant: String,
    pub bill_type: String,
    pub reference: String,
    pub verification: String,
}

#[derive(Debug, Clone, Default)]
pub struct DemoSummary {
    pub tenants: Vec<String>,
    pub bills: u64,
    pub samples: Vec<DemoBill>,
}

/// A demo city: its city file (the documented examples, applied as any
/// city's would be) and what its made-up bills are addressed with.
struct CitySpec {
    file: &'static str,
    postal_codes: &'static [&'static str],
    streets: &'static [&'static str],
    locality: &'static str,
}

fn cities() -> [CitySpec; 2] {
    [
        CitySpec {
            file: include_str!("../../../examples/cities/springfield.toml"),
            postal_codes: &["62701", "62702", "62703", "62704", "62707"],
            streets: &[
                "Elm St",
                "Monroe St",
                "Washington Ave",
                "Lincoln Blvd",
                "Oak Ridge Dr",
            ],
            locality: "Springfield, IL",
        },
        CitySpec {
            file: include_str!("../../../examples/cities/lac-vert.toml"),
            postal_codes: &["K0A 1A0", "K0A 1B0", "K0A 2Z0", "K0A 3K0"],
            streets: &[
                "rue Principale",
                "chemin du Lac",
                "avenue des Érables",
                "rue Champlain",
            ],
            locality: "Lac-Vert (Ontario)",
        },
    ]
}

const GIVEN: [&str; 12] = [
    "Maria", "James", "Aiyana", "Chen", "Sofia", "Olivier", "Fatima", "Daniel", "Léa", "Kwame",
    "Isabel", "Noah",
];
const FAMILY: [&str; 12] = [
    "Garcia",
    "Tremblay",
    "Nguyen",
    "Okafor",
    "Smith",
    "Gagnon",
    "Hernández",
    "Roy",
    "Patel",
    "Côté",
    "Johnson",
    "Kowalski",
];

fn pick<'a>(rng: &mut StdRng, items: &[&'a str]) -> &'a str {
    items
        .get(rng.random_range(0..items.len().max(1)))
        .copied()
        .unwrap_or_default()
}

/// Creates (or updates) the demo cities and `bills_per_type` bills for each
/// of their bill types.
pub async fn seed(store: &Store, bills_per_type: u32) -> Result<DemoSummary, StoreError> {
    let mut summary = DemoSummary::default();
    let mut rng = StdRng::seed_from_u64(20_261_123);
    let today = jiff::civil::date(2026, 11, 1);
    for city in cities() {
        let file = city_file::parse(city.file).map_err(|problems| {
            let listed: Vec<String> = problems.iter().map(ToString::to_string).collect();
            StoreError::corrupt("demo city file", listed.join("; "))
        })?;
        let tenant = store.apply_city(&file, "demo").await?.tenant;
        summary.tenants.push(tenant.slug.to_string());
        let bill_types = store.bill_types(&tenant.id).await?;
        let context = ImportContext::new(tenant.currency, &bill_types);
        let mut batch = Vec::new();
        for bill_type in &bill_types {
            for n in 0..bills_per_type {
                let given = pick(&mut rng, &GIVEN);
                let family = pick(&mut rng, &FAMILY);
                let postal_code = pick(&mut rng, city.postal_codes);
                let street = pick(&mut rng, city.streets);
                let house = rng.random_range(1..2400);
                let plate = format!(
                    "{}{}{}{}",
                    char::from(b'A' + rng.random_range(0..26u8)),
                    char::from(b'A' + rng.random_range(0..26u8)),
                    char::from(b'A' + rng.random_range(0..26u8)),
                    rng.random_range(1000..9999)
                );
                let (reference, verification, cents) = match bill_type.kind {
                    BillKind::Utility => (
                        format!("{:04}-{:05}", 1000 + n, rng.random_range(10_000..99_999)),
                        postal_code.to_owned(),
                        rng.random_range(2_500..35_000),
                    ),
                    BillKind::ParkingCitation => (
                        format!("PK-2026-{:06}", 4_000 + n),
                        plate,
                        [3_500, 5_000, 7_500, 15_000]
                            .get(rng.random_range(0..4usize))
                            .copied()
                            .unwrap_or(5_000),
                    ),
                    BillKind::PropertyTax => (
                        format!(
                            "{:04}-{:03}-{:03}",
                            rng.random_range(1000..9999),
                            n,
                            rng.random_range(100..999)
                        ),
                        postal_code.to_owned(),
                        rng.random_range(90_000..650_000),
                    ),
                    _ => (
                        format!(
                            "{}-26-{:05}",
                            bill_type
                                .slug
                                .as_str()
                                .get(..3)
                                .unwrap_or("REF")
                                .to_uppercase(),
                            300 + n
                        ),
                        family.to_owned(),
                        rng.random_range(7_500..120_000),
                    ),
                };
                let due = today
                    .checked_add(jiff::Span::new().days(rng.random_range(-20..60)))
                    .unwrap_or(today);
                let record = BillRecord {
                    external_id: format!("{}-{}", bill_type.slug, n + 1),
                    bill_type: bill_type.slug.to_string(),
                    reference: reference.clone(),
                    verification: verification.clone(),
                    payer_name: format!("{given} {family}"),
                    postal_address: format!("{house} {street}, {} {postal_code}", city.locality),
                    email: (n % 3 == 0)
                        .then(|| format!("{}.{}@example.org", given.to_lowercase(), n + 1)),
                    amount: format!("{}.{:02}", cents / 100, cents % 100),
                    due_date: due.to_string(),
                    ..BillRecord::default()
                };
                let valid = context
                    .validate(&record)
                    .map_err(|errors| StoreError::corrupt("demo bill", format!("{errors:?}")))?;
                if n < 2 {
                    summary.samples.push(DemoBill {
                        tenant: tenant.slug.to_string(),
                        bill_type: bill_type.slug.to_string(),
                        reference,
                        verification,
                    });
                }
                batch.push(valid);
            }
        }
        for chunk in batch.chunks(500) {
            store.upsert_bills(&tenant, chunk).await?;
        }
        summary.bills += u64::try_from(batch.len()).unwrap_or(0);
    }
    Ok(summary)
}
