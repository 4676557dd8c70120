//! A payment search as the city's finance system imports it: one CSV row
//! per GL line (each payment's part for a bill's GL code, its fee, and each
//! refund line), streamed a page of pay's ledger at a time, so a year of
//! payments is written in the memory of one page.

use super::guard::StaffContext;
use super::payments::PaymentQuery;
use crate::error::PortalError;
use crate::pay_client::PayClient;
use crate::{AppState, PayLink};
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use civicpay_audit::Action;
use civicpay_core::export::csv_cell;
use civicpay_core::{Money, Tenant};
use civicpay_pay_api::{GlLine, GlLinePage};
use civicpay_web::Translator;
use serde_json::json;

const HEADER: &str =
    "posted_at,payment_id,refund_id,kind,gl_code,amount,currency,reference,channel\n";

/// The window of ledger time a search's dates cover (the city's days),
/// as pay's query; no dates: everything.
fn window(city: &Tenant, query: &PaymentQuery, t: &Translator) -> Result<String, PortalError> {
    let (from, to) = query
        .days(city, t)
        .map_err(|(_, problem)| PortalError::BadRequest(problem))?;
    let from = from.unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let to = to.unwrap_or_else(|| jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24));
    if to <= from {
        return Err(PortalError::BadRequest(t.get("st-date-order")));
    }
    let mut url = url::form_urlencoded::Serializer::new(String::new());
    url.append_pair("from", &from.to_string())
        .append_pair("to", &to.to_string());
    Ok(url.finish())
}

/// What of the search applies to a GL line: its reference and channel (a
/// line has no status, amount or card of its own).
struct LineFilter {
    reference: Option<String>,
    channel: Option<String>,
}

impl LineFilter {
    fn new(query: &PaymentQuery) -> LineFilter {
        let given = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        LineFilter {
            reference: given(&query.reference),
            channel: given(&query.channel),
        }
    }

    fn keeps(&self, line: &GlLine) -> bool {
        self.reference.as_ref().is_none_or(|r| *r == line.reference)
            && self
                .channel
                .as_ref()
                .is_none_or(|c| c == line.channel.code())
    }
}

fn rows(city: &Tenant, lines: &[GlLine], filter: &LineFilter) -> Bytes {
    let tz = city.time_zone.time_zone();
    let mut out = String::new();
    for line in lines.iter().filter(|l| filter.keeps(l)) {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{}\n",
            line.posted_at
                .to_zoned(tz.clone())
                .strftime("%Y-%m-%dT%H:%M:%S%:z"),
            line.payment_id,
            line.refund_id.as_deref().map(csv_cell).unwrap_or_default(),
            line.kind.code(),
            csv_cell(&line.gl_code),
            Money::from_minor(line.amount, line.currency).to_decimal_string(),
            line.currency.code(),
            csv_cell(&line.reference),
            line.channel.code(),
        ));
    }
    Bytes::from(out)
}

async fn page(
    link: &PayLink,
    city: &Tenant,
    window: &str,
    after: Option<&str>,
) -> Result<GlLinePage, PortalError> {
    let mut path = format!("/v1/reports/gl-lines?{window}");
    if let Some(after) = after {
        path.push_str("&after=");
        path.push_str(&url::form_urlencoded::byte_serialize(after.as_bytes()).collect::<String>());
    }
    PayClient::new(link)?.get(&city.id, &path).await
}

pub(crate) async fn payments_csv(
    State(state): State<AppState>,
    staff: StaffContext,
    Query(query): Query<PaymentQuery>,
) -> Result<Response, PortalError> {
    let city = staff.scope.city()?.clone();
    let link = state.pay_link()?.clone();
    let window = window(&city, &query, &staff.t())?;
    let filter = LineFilter::new(&query);
    // The first page before the answer begins, so pay being away is an
    // error page, not an empty file.
    let first = page(&link, &city, &window, None).await?;
    state
        .store
        .append_audit(staff.note(
            Action::ExportDownloaded,
            "payments.csv",
            json!({ "from": query.from, "to": query.to, "reference": query.reference, "channel": query.channel }),
        ))
        .await?;
    let head = Bytes::from_static(HEADER.as_bytes());
    let start = (Some(first), None::<String>);
    let body = futures_util::stream::try_unfold(
        (start, link, city.clone(), window, filter),
        |((next_page, after), link, city, window, filter)| async move {
            let page = match (next_page, after) {
                (Some(page), _) => page,
                (None, Some(after)) => page(&link, &city, &window, Some(&after)).await?,
                (None, None) => return Ok::<_, PortalError>(None),
            };
            let chunk = rows(&city, &page.lines, &filter);
            Ok(Some((
                chunk,
                ((None, page.next), link, city, window, filter),
            )))
        },
    );
    let body = futures_util::StreamExt::chain(
        futures_util::stream::once(async { Ok::<_, PortalError>(head) }),
        body,
    );
    let mut response = Body::from_stream(body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{}-gl-lines.csv\"",
        city.slug
    )) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}
