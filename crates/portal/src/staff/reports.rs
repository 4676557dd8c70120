//! The daily reconciliation: per day in the city's time zone, what the
//! ledger captured and refunded per bill type and GL code, matched payment
//! by payment against the acquirer's records, on screen and as CSV.

use super::admin::day_bounds;
use super::guard::StaffContext;
use super::views::{BrandRow, Chrome, Fact, ReconRow, ReconciliationPage, layout};
use crate::AppState;
use crate::error::PortalError;
use crate::page::PageContext;
use crate::pay_client::PayClient;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use civicpay_audit::Action;
use civicpay_core::export::csv_cell;
use civicpay_core::{BillType, Money, Permission, Tenant};
use civicpay_pay_api::{AcquirerTotals, LedgerReport};
use civicpay_web::Translator;
use civicpay_web::forms::Field;
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct DayQuery {
    #[serde(default)]
    date: String,
}

struct Day {
    date: jiff::civil::Date,
    rows: Vec<(String, String, i64, i64)>,
    acquirer: AcquirerTotals,
    by_brand: Vec<civicpay_pay_api::BrandTotals>,
    differences: Vec<String>,
}

fn the_day(city: &Tenant, typed: &str) -> Result<jiff::civil::Date, PortalError> {
    if typed.trim().is_empty() {
        return Ok(jiff::Timestamp::now()
            .to_zoned(city.time_zone.time_zone())
            .date());
    }
    typed.trim().parse().map_err(|_| {
        PortalError::BadRequest(format!("date: {typed:?} is not a date like 2026-11-23"))
    })
}

/// What a GL line of the ledger is for: the bill types posting to it, and
/// the city's convenience fees when they post there.
fn gl_label(t: &Translator, city: &Tenant, types: &[BillType], gl: &str) -> String {
    let mut names: Vec<String> = types
        .iter()
        .filter(|b| b.gl_code.as_str() == gl)
        .map(|b| b.name.get(t.language()).to_owned())
        .collect();
    if city.fees.as_ref().is_some_and(|f| f.gl_code.as_str() == gl) {
        names.push(t.get("st-recon-fees"));
    }
    if names.is_empty() {
        t.get("st-recon-other")
    } else {
        names.join(", ")
    }
}

/// A card brand as people name it (the same in every language).
fn brand_name(t: &Translator, code: &str) -> String {
    match code {
        "visa" => "Visa".into(),
        "mastercard" => "Mastercard".into(),
        "amex" => "American Express".into(),
        "discover" => "Discover".into(),
        _ => t.get("st-recon-other"),
    }
}

async fn day_report(
    state: &AppState,
    city: &Tenant,
    date: jiff::civil::Date,
    t: &Translator,
) -> Result<Day, PortalError> {
    let link = state.pay_link()?;
    let (from, to) = day_bounds(city, date)?;
    let path = format!(
        "/v1/reports/ledger?{}",
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("from", &from.to_string())
            .append_pair("to", &to.to_string())
            .finish()
    );
    let report: LedgerReport = PayClient::new(link)?.get(&city.id, &path).await?;
    let types = state.store.bill_types(&city.id).await?;
    let rows = report
        .by_gl
        .iter()
        .map(|l| {
            (
                gl_label(t, city, &types, &l.gl_code),
                l.gl_code.clone(),
                l.captured,
                l.refunded,
            )
        })
        .collect();
    let money = |minor: i64| Money::from_minor(minor, report.currency).format(t.language());
    let differences = report
        .differences
        .iter()
        .map(|d| {
            let problem = d
                .problem
                .as_ref()
                .map(|p| format!(" ({p})"))
                .unwrap_or_default();
            let text = t.args(
                "st-recon-difference",
                &[
                    ("payment", &d.payment_id.to_string()),
                    ("reference", &d.reference.to_string()),
                    ("our_captured", &money(d.ours.captured)),
                    ("our_refunded", &money(d.ours.refunded)),
                    ("their_captured", &money(d.acquirer.captured)),
                    ("their_refunded", &money(d.acquirer.refunded)),
                ],
            );
            format!("{text}{problem}")
        })
        .collect();
    Ok(Day {
        date,
        rows,
        acquirer: report.acquirer,
        by_brand: report.by_brand,
        differences,
    })
}

pub(crate) async fn reconciliation(
    State(state): State<AppState>,
    staff: StaffContext,
    ctx: PageContext,
    Query(query): Query<DayQuery>,
) -> Result<Response, PortalError> {
    let city = staff.scope.city()?;
    let t = staff.t();
    let day = day_report(&state, city, the_day(city, &query.date)?, &t).await?;
    let money = |minor: i64| Money::from_minor(minor, city.currency).format(t.language());
    let (captured, refunded) = day
        .rows
        .iter()
        .fold((0, 0), |(c, r), row| (c + row.2, r + row.3));
    state
        .store
        .append_audit(staff.note(
            Action::ReportViewed,
            "reconciliation",
            json!({ "date": day.date.to_string() }),
        ))
        .await?;
    let issued = state.form_tokens.issue(ctx.form_cookie());
    let page = ReconciliationPage {
        layout: layout(
            &t,
            &t.get("st-tile-reconciliation"),
            Some(city),
            ctx.path(),
            false,
        ),
        chrome: Some(Chrome::new(&staff, ctx.path(), &issued.token)),
        day: Field::new("date", "date", t.get("st-recon-day"))
            .hint(t.arg("st-recon-day-hint", "zone", city.time_zone.as_str()))
            .value(day.date.to_string()),
        date: t.date(day.date),
        rows: day
            .rows
            .iter()
            .map(|(bill_type, gl, c, r)| ReconRow {
                bill_type: bill_type.clone(),
                gl_code: gl.clone(),
                captures: money(*c),
                refunds: money(*r),
                net: money(c - r),
            })
            .collect(),
        total_captures: money(captured),
        total_refunds: money(refunded),
        total_net: money(captured - refunded),
        acquirer: vec![
            Fact {
                label: t.get("st-recon-matched"),
                value: day.acquirer.payments_checked.to_string(),
            },
            Fact {
                label: t.get("st-recon-their-captured"),
                value: money(day.acquirer.captured),
            },
            Fact {
                label: t.get("st-recon-their-refunded"),
                value: money(day.acquirer.refunded),
            },
        ],
        brands: day
            .by_brand
            .iter()
            .map(|b| BrandRow {
                brand: brand_name(&t, &b.brand),
                our_captured: money(b.ours.captured),
                our_refunded: money(b.ours.refunded),
                their_captured: money(b.acquirer.captured),
                their_refunded: money(b.acquirer.refunded),
            })
            .collect(),
        differences: day.differences,
        csv_href: staff.allows(Permission::ExportData).then(|| {
            format!(
                "{}/reports/reconciliation.csv?date={}",
                staff.scope.prefix(),
                day.date
            )
        }),
    };
    Ok((issued, page).into_response())
}

pub(crate) async fn reconciliation_csv(
    State(state): State<AppState>,
    staff: StaffContext,
    Query(query): Query<DayQuery>,
) -> Result<Response, PortalError> {
    let city = staff.scope.city()?;
    let day = day_report(&state, city, the_day(city, &query.date)?, &staff.t()).await?;
    let decimal = |minor: i64| Money::from_minor(minor, city.currency).to_decimal_string();
    let mut csv = String::from("date,time_zone,currency,bill_type,gl_code,captured,refunded,net\n");
    for (bill_type, gl, c, r) in &day.rows {
        csv.push_str(&format!(
            "{},{},{},{},{},{},{},{}\n",
            day.date,
            city.time_zone.as_str(),
            city.currency.code(),
            csv_cell(bill_type),
            csv_cell(gl),
            decimal(*c),
            decimal(*r),
            decimal(c - r)
        ));
    }
    for d in &day.differences {
        csv.push_str(&format!(
            "{},{},{},DIFFERENCE,,,,{}\n",
            day.date,
            city.time_zone.as_str(),
            city.currency.code(),
            csv_cell(d)
        ));
    }
    state
        .store
        .append_audit(staff.note(
            Action::ExportDownloaded,
            "reconciliation.csv",
            json!({ "date": day.date.to_string(), "rows": day.rows.len(), "differences": day.differences.len() }),
        ))
        .await?;
    let mut response = csv.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{}-reconciliation-{}.csv\"",
        city.slug, day.date
    )) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use civicpay_core::Language;
    use civicpay_core::{TenantId, city_file};

    #[test]
    fn the_fee_gl_line_is_named_apart_from_the_bill_types() {
        let file =
            city_file::parse(include_str!("../../../../examples/cities/springfield.toml")).unwrap();
        let city = file.tenant(TenantId::generate());
        let types: Vec<BillType> = file
            .bill_types
            .iter()
            .map(|b| b.bill_type(&city.id))
            .collect();
        let t = Translator::new(Language::En);
        assert_eq!(gl_label(&t, &city, &types, "100-3990"), "Convenience fees");
        assert_eq!(gl_label(&t, &city, &types, "100-3110"), "Property tax");
        assert_eq!(gl_label(&t, &city, &types, "999-0000"), "(other)");
        let fr = Translator::new(Language::Fr);
        assert_eq!(gl_label(&fr, &city, &types, "100-3110"), "Impôt foncier");
        let absorbing = Tenant { fees: None, ..city };
        assert_eq!(gl_label(&t, &absorbing, &types, "100-3990"), "(other)");
    }
}
