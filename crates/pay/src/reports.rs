//! `GET /v1/reports/ledger?from=&to=`: what the ledger says was captured
//! and refunded per GL code in a window (a city's day), and every payment
//! with activity in it matched against the acquirer's own record, so the
//! city's finance staff see any difference between our books and the
//! money that actually moved.

use crate::PayState;
use crate::api::invalid;
use crate::error::PayError;
use crate::extract::ApiMerchant;
use axum::Json;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use civicpay_gateway::StatusInquiry;
use civicpay_pay_api::{
    AcquirerTotals, Amounts, BrandTotals, Difference, GlLinePage, GlTotals, LedgerReport,
};
use civicpay_store::pay::GlCursor;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub(crate) struct Window {
    from: Option<String>,
    to: Option<String>,
}

fn instant(field: &'static str, value: Option<&str>) -> Result<jiff::Timestamp, PayError> {
    value
        .ok_or_else(|| invalid(field, format!("{field} is required")))?
        .parse()
        .map_err(|_| {
            invalid(
                field,
                format!("{field} must be an RFC 3339 time like 2026-11-23T05:00:00Z"),
            )
        })
}

pub(crate) async fn ledger_report(
    State(state): State<PayState>,
    ApiMerchant(merchant): ApiMerchant,
    window: Result<Query<Window>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PayError> {
    let Query(window) = window.map_err(|e| invalid("query", e.body_text()))?;
    let from = instant("from", window.from.as_deref())?;
    let to = instant("to", window.to.as_deref())?;
    if to <= from {
        return Err(invalid("to", "to must be after from"));
    }
    let tenant = &merchant.tenant_id;
    let by_gl = state.store.ledger_between(tenant, from, to).await?;
    let mut checked = 0i64;
    let (mut acquirer_captured, mut acquirer_refunded) = (0i64, 0i64);
    let mut differences = Vec::new();
    let mut by_brand: std::collections::BTreeMap<String, (Amounts, Amounts)> =
        std::collections::BTreeMap::new();
    let connector = state.connector(tenant).await;
    for id in state
        .store
        .payments_posted_between(tenant, from, to)
        .await?
    {
        let Some(ours) = state.store.payment(tenant, &id).await? else {
            continue;
        };
        checked += 1;
        let reference = ours.acquirer_reference();
        let (captured, refunded, problem) = match connector.status(&reference).await {
            Ok(StatusInquiry::Captured {
                captured, refunded, ..
            }) => (captured, refunded, None),
            Ok(other) => (0, 0, Some(format!("the acquirer reports {other:?}"))),
            Err(e) => (0, 0, Some(format!("the acquirer could not be asked: {e}"))),
        };
        acquirer_captured += captured;
        acquirer_refunded += refunded;
        let brand = by_brand
            .entry(ours.card_brand.clone().unwrap_or_else(|| "unknown".into()))
            .or_insert((
                Amounts {
                    captured: 0,
                    refunded: 0,
                },
                Amounts {
                    captured: 0,
                    refunded: 0,
                },
            ));
        brand.0.captured += ours.captured.minor();
        brand.0.refunded += ours.refunded.minor();
        brand.1.captured += captured;
        brand.1.refunded += refunded;
        let mismatch = captured != ours.captured.minor() || refunded != ours.refunded.minor();
        if problem.is_some() || mismatch {
            differences.push(Difference {
                payment_id: id,
                reference: ours.reference,
                ours: Amounts {
                    captured: ours.captured.minor(),
                    refunded: ours.refunded.minor(),
                },
                acquirer: Amounts { captured, refunded },
                problem,
            });
        }
    }
    Ok(Json(LedgerReport {
        from,
        to,
        currency: merchant.currency,
        by_gl: by_gl
            .into_iter()
            .map(|g| GlTotals {
                gl_code: g.gl_code,
                captured: g.captured,
                refunded: g.refunded,
            })
            .collect(),
        acquirer: AcquirerTotals {
            payments_checked: checked,
            captured: acquirer_captured,
            refunded: acquirer_refunded,
        },
        by_brand: by_brand
            .into_iter()
            .map(|(brand, (ours, acquirer))| BrandTotals {
                brand,
                ours,
                acquirer,
            })
            .collect(),
        differences,
    })
    .into_response())
}

/// The most lines one page of `gl-lines` holds.
const MAX_GL_LINES: i64 = 1000;

#[derive(Debug, Deserialize)]
pub(crate) struct GlLinesQuery {
    from: Option<String>,
    to: Option<String>,
    after: Option<String>,
    limit: Option<i64>,
}

/// `GET /v1/reports/gl-lines?from=&to=&after=&limit=`: the ledger's revenue
/// lines in a window, a page at a time, for exports a city's finance
/// system imports line by line.
pub(crate) async fn gl_lines(
    State(state): State<PayState>,
    ApiMerchant(merchant): ApiMerchant,
    query: Result<Query<GlLinesQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<GlLinePage>, PayError> {
    let Query(query) = query.map_err(|e| invalid("query", e.body_text()))?;
    let from = instant("from", query.from.as_deref())?;
    let to = instant("to", query.to.as_deref())?;
    if to <= from {
        return Err(invalid("to", "to must be after from"));
    }
    let after = query
        .after
        .as_deref()
        .map(|c| {
            GlCursor::parse(c)
                .ok_or_else(|| invalid("after", "after must be the `next` of an earlier page"))
        })
        .transpose()?;
    let limit = query.limit.unwrap_or(MAX_GL_LINES);
    if !(1..=MAX_GL_LINES).contains(&limit) {
        return Err(invalid(
            "limit",
            format!("limit must be between 1 and {MAX_GL_LINES}"),
        ));
    }
    let (lines, next) = state
        .store
        .gl_lines(&merchant.tenant_id, from, to, after.as_ref(), limit)
        .await?;
    Ok(Json(GlLinePage {
        lines,
        next: next.map(|c| c.to_string()),
    }))
}
