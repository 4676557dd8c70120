//! Two fictional cities with bills, for `civicpay demo` and for tests that
//! need a populated database. Deterministic: the same seed gives the same
//! bills, and seeding twice changes nothing.

use crate::{Store, StoreError};
use civicpay_core::import::{BillRecord, ImportContext};
use civicpay_core::{
    BillKind, BillType, BillTypeId, BillTypeSlug, Contact, Currency, GlCode, Language,
    LocalizedText, Tenant, TenantId, TenantSlug, TimeZoneName,
};
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

struct CitySpec {
    slug: &'static str,
    name: LocalizedText,
    currency: Currency,
    time_zone: &'static str,
    language: Language,
    contact: Contact,
    postal_codes: &'static [&'static str],
    streets: &'static [&'static str],
    locality: &'static str,
    bill_types: Vec<(&'static str, BillKind, LocalizedText, &'static str)>,
}

fn cities() -> Vec<CitySpec> {
    vec![
        CitySpec {
            slug: "springfield",
            name: LocalizedText::new("City of Springfield")
                .with(Language::Es, "Ciudad de Springfield")
                .with(Language::Fr, "Ville de Springfield"),
            currency: Currency::Usd,
            time_zone: "America/Chicago",
            language: Language::En,
            contact: Contact {
                name: "Springfield Finance Department".into(),
                postal_address: "800 E Monroe St, Springfield, IL 62701".into(),
                phone: "+1 217-555-0100".into(),
                email: "payments@springfield.example".into(),
            },
            postal_codes: &["62701", "62702", "62703", "62704", "62707"],
            streets: &[
                "Elm St",
                "Monroe St",
                "Washington Ave",
                "Lincoln Blvd",
                "Oak Ridge Dr",
            ],
            locality: "Springfield, IL",
            bill_types: vec![
                (
                    "water",
                    BillKind::Utility,
                    LocalizedText::new("Water and sewer")
                        .with(Language::Es, "Agua y alcantarillado")
                        .with(Language::Fr, "Eau et égouts"),
                    "100-4410",
                ),
                (
                    "parking",
                    BillKind::ParkingCitation,
                    LocalizedText::new("Parking citation")
                        .with(Language::Es, "Multa de estacionamiento")
                        .with(Language::Fr, "Contravention de stationnement"),
                    "100-3510",
                ),
                (
                    "permits",
                    BillKind::BuildingPermit,
                    LocalizedText::new("Building permit")
                        .with(Language::Es, "Permiso de construcción")
                        .with(Language::Fr, "Permis de construire"),
                    "100-3220",
                ),
                (
                    "property-tax",
                    BillKind::PropertyTax,
                    LocalizedText::new("Property tax")
                        .with(Language::Es, "Impuesto predial")
                        .with(Language::Fr, "Impôt foncier"),
                    "100-3110",
                ),
            ],
        },
        CitySpec {
            slug: "lac-vert",
            name: LocalizedText::new("City of Lac-Vert")
                .with(Language::Fr, "Ville de Lac-Vert")
                .with(Language::Es, "Ciudad de Lac-Vert"),
            currency: Currency::Cad,
            time_zone: "America/Toronto",
            language: Language::Fr,
            contact: Contact {
                name: "Service des finances / Finance Department".into(),
                postal_address: "1 place de l'Hôtel-de-Ville, Lac-Vert (Ontario) K0A 1A0".into(),
                phone: "+1 613-555-0142".into(),
                email: "paiements@lac-vert.example".into(),
            },
            postal_codes: &["K0A 1A0", "K0A 1B0", "K0A 2Z0", "K0A 3K0"],
            streets: &[
                "rue Principale",
                "chemin du Lac",
                "avenue des Érables",
                "rue Champlain",
            ],
            locality: "Lac-Vert (Ontario)",
            bill_types: vec![
                (
                    "eau",
                    BillKind::Utility,
                    LocalizedText::new("Water")
                        .with(Language::Fr, "Eau")
                        .with(Language::Es, "Agua"),
                    "02-413-00",
                ),
                (
                    "stationnement",
                    BillKind::ParkingCitation,
                    LocalizedText::new("Parking ticket")
                        .with(Language::Fr, "Constat de stationnement")
                        .with(Language::Es, "Multa de estacionamiento"),
                    "01-235-10",
                ),
                (
                    "licences",
                    BillKind::BusinessLicence,
                    LocalizedText::new("Business licence")
                        .with(Language::Fr, "Permis d'affaires")
                        .with(Language::Es, "Licencia comercial"),
                    "01-229-00",
                ),
                (
                    "taxes",
                    BillKind::PropertyTax,
                    LocalizedText::new("Property tax")
                        .with(Language::Fr, "Taxes foncières")
                        .with(Language::Es, "Impuesto predial"),
                    "01-211-00",
                ),
            ],
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
        let slug = TenantSlug::parse(city.slug).map_err(|e| StoreError::corrupt("demo slug", e))?;
        let tenant = match store.tenant_by_slug(&slug).await? {
            Some(existing) => existing,
            None => {
                let tenant = Tenant {
                    id: TenantId::generate(),
                    slug,
                    name: city.name.clone(),
                    currency: city.currency,
                    time_zone: TimeZoneName::parse(city.time_zone)
                        .map_err(|e| StoreError::corrupt("demo time zone", e))?,
                    default_language: city.language,
                    contact: city.contact.clone(),
                };
                store.create_tenant(&tenant).await?;
                tenant
            }
        };
        summary.tenants.push(tenant.slug.to_string());
        let mut bill_types = Vec::new();
        for (position, (type_slug, kind, name, gl)) in city.bill_types.iter().enumerate() {
            let mut bill_type = BillType {
                id: BillTypeId::generate(),
                tenant_id: tenant.id.clone(),
                slug: BillTypeSlug::parse(type_slug).map_err(|e| StoreError::corrupt("demo", e))?,
                kind: *kind,
                name: name.clone(),
                reference_label: kind.default_reference_label(),
                verification: kind.default_verification(),
                gl_code: GlCode::parse(gl).map_err(|e| StoreError::corrupt("demo", e))?,
            };
            bill_type.id = store
                .upsert_bill_type(&bill_type, i64::try_from(position).unwrap_or(0))
                .await?;
            bill_types.push(bill_type);
        }
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
