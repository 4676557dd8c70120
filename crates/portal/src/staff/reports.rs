//! The daily reconciliation: per day in the city's time zone, what the
//! ledger captured and refunded per bill type and GL code, matched payment
//! by payment against the acquirer's records, on screen and as CSV.

use super::admin::day_bounds;
use super::guard::StaffContext;
use super::views::{Chrome, Fact, ReconRow, ReconciliationPage, layout};
use crate::AppState;
use crate::error::PortalError;
use crate::page::PageContext;
use crate::pay_client::PayClient;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use civicpay_audit::Action;
use civicpay_core::export::csv_cell;
use civicpay_core::{BillType, Language, Money, Permission, Tenant};
use civicpay_pay_api::{AcquirerTotals, LedgerReport};
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
fn gl_label(city: &Tenant, types: &[BillType], gl: &str) -> String {
    let mut names: Vec<&str> = types
        .iter()
        .filter(|t| t.gl_code.as_str() == gl)
        .map(|t| t.name.get(Language::En))
        .collect();
    if city.fees.as_ref().is_some_and(|f| f.gl_code.as_str() == gl) {
        names.push("Convenience fees");
    }
    if names.is_empty() {
        "(other)".to_owned()
    } else {
        names.join(", ")
    }
}

async fn day_report(
    state: &AppState,
    city: &Tenant,
    date: jiff::civil::Date,
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
                gl_label(city, &types, &l.gl_code),
                l.gl_code.clone(),
                l.captured,
                l.refunded,
            )
        })
        .collect();
    let money = |minor: i64| Money::from_minor(minor, report.currency).format(Language::En);
    let differences = report
        .differences
        .iter()
        .map(|d| {
            let problem = d.problem.as_ref().map(|p| format!(" ({p})")).unwrap_or_default();
            format!(
                "Payment {} (reference {}): our ledger captured {} and refunded {}; the acquirer captured {} and refunded {}{problem}",
                d.payment_id,
                d.reference,
                money(d.ours.captured),
                money(d.ours.refunded),
                money(d.acquirer.captured),
                money(d.acquirer.refunded),
            )
        })
        .collect();
    Ok(Day {
        date,
        rows,
        acquirer: report.acquirer,
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
    let day = day_report(&state, city, the_day(city, &query.date)?).await?;
    let money = |minor: i64| Money::from_minor(minor, city.currency).format(Language::En);
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
        layout: layout("Daily reconciliation", Some(city), ctx.path(), false),
        chrome: Some(Chrome::new(&staff, ctx.path(), &issued.token)),
        day: Field::new("date", "date", "Day".to_owned())
            .hint(format!("Midnight to midnight, {}", city.time_zone.as_str()))
            .value(day.date.to_string()),
        date: day.date.to_string(),
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
                label: "Payments matched with the acquirer",
                value: day.acquirer.payments_checked.to_string(),
            },
            Fact {
                label: "Captured, by the acquirer's records",
                value: money(day.acquirer.captured),
            },
            Fact {
                label: "Refunded, by the acquirer's records",
                value: money(day.acquirer.refunded),
            },
        ],
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
    let day = day_report(&state, city, the_day(city, &query.date)?).await?;
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
        assert_eq!(gl_label(&city, &types, "100-3990"), "Convenience fees");
        assert_eq!(gl_label(&city, &types, "100-3110"), "Property tax");
        assert_eq!(gl_label(&city, &types, "999-0000"), "(other)");
        let absorbing = Tenant { fees: None, ..city };
        assert_eq!(gl_label(&absorbing, &types, "100-3990"), "(other)");
    }
}
