//! A city's bill file, CSV or JSON: every byte sequence gets located errors
//! or valid bills, never a panic.
#![no_main]

use civicpay_core::fee::FeeSchedule;
use civicpay_core::{
    BillKind, BillType, BillTypeId, BillTypeSlug, Currency, GlCode, LocalizedText, TenantId,
};
use civicpay_store::portal::bill_import::{ImportFormat, scan};
use libfuzzer_sys::fuzz_target;

fn bill_types() -> Vec<BillType> {
    [("water", BillKind::Utility), ("parking", BillKind::ParkingCitation)]
        .into_iter()
        .filter_map(|(slug, kind)| {
            Some(BillType {
                id: BillTypeId::generate(),
                tenant_id: TenantId::generate(),
                slug: BillTypeSlug::parse(slug).ok()?,
                kind,
                name: LocalizedText::new(slug),
                reference_label: kind.default_reference_label(),
                verification: kind.default_verification(),
                gl_code: GlCode::parse("100-4410").ok()?,
                fees: FeeSchedule::default(),
                partial: None,
                active: true,
            })
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let types = bill_types();
    for format in [ImportFormat::Csv, ImportFormat::Json] {
        let mut seen = 0usize;
        let _ = scan(data, format, Currency::Usd, &types, &mut |_| {
            seen += 1;
            seen < 10_000
        });
    }
});
