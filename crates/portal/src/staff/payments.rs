//! Bills and payments in the console: finding a bill, taking a card over
//! the phone (on pay's masked card page, never here), searching payments,
//! and refunds, with a second person's approval above the city's threshold.

use super::admin::day_bounds;
use super::guard::StaffContext;
use super::views::{
    AttentionPage, AttentionRow, BillRow, BillSearchPage, Chrome, ConsoleMessage, Fact, NoticeRow,
    OverpaidRow, PaymentListPage, PaymentPage, PaymentRow, PendingRefund, RefundApprovalsPage,
    RefundRow, form_status, layout,
};
use crate::AppState;
use crate::error::PortalError;
use crate::forms::CheckedForm;
use crate::page::PageContext;
use crate::pay_client::PayClient;
use crate::routes::crediting::card_text;
use crate::routes::resident::{StartPayment, chosen_amount, start_bill_payment};
use crate::views::Link;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use civicpay_audit::Action;
use civicpay_core::payment::{Channel, PaymentStatus};
use civicpay_core::staff::may_approve;
use civicpay_core::{
    BillId, BillReference, DecimalStyle, Money, PaymentId, Permission, RefundRequestId, Tenant,
};
use civicpay_pay_api::{AttentionList, PaymentList, PaymentView};
use civicpay_store::portal::refund_requests::{
    NewRefundRequest, RefundRequest, RefundRequestStatus,
};
use civicpay_web::Translator;
use civicpay_web::forms::{Field, set_error, summary};
use serde::Deserialize;
use serde_json::json;

fn money(minor: i64, tenant: &Tenant, t: &Translator) -> String {
    Money::from_minor(minor, tenant.currency).format(t.language())
}

fn when(at: jiff::Timestamp, tenant: &Tenant) -> String {
    at.to_zoned(tenant.time_zone.time_zone())
        .strftime("%Y-%m-%d %H:%M %Z")
        .to_string()
}

fn message(
    staff: &StaffContext,
    ctx: &PageContext,
    token: &str,
    title: &str,
    body: Vec<String>,
    link: Option<Link>,
) -> Response {
    ConsoleMessage {
        layout: layout(
            &staff.t(),
            title,
            staff.scope.tenant.as_ref(),
            ctx.path(),
            false,
        ),
        chrome: Some(Chrome::new(staff, ctx.path(), token)),
        body,
        link,
    }
    .into_response()
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct BillQuery {
    #[serde(default)]
    q: String,
}

pub(crate) async fn bill_search(
    State(state): State<AppState>,
    staff: StaffContext,
    ctx: PageContext,
    Query(query): Query<BillQuery>,
) -> Result<Response, PortalError> {
    let city = staff.scope.city()?;
    let t = staff.t();
    let style = DecimalStyle::for_language(t.language());
    let text = query.q.trim();
    let mut rows = Vec::new();
    if !text.is_empty() {
        let types = state.store.bill_types(&city.id).await?;
        let reference = BillReference::parse(text)
            .map_err(|e| PortalError::BadRequest(format!("search: {e}")))?;
        let can_take = staff.allows(Permission::TakePhonePayments) && state.config.pay.is_some();
        for bill in state.store.search_bills(&city.id, &reference, text).await? {
            let bill_type = types.iter().find(|b| b.id == bill.bill_type_id);
            rows.push(BillRow {
                bill_type: bill_type
                    .map(|b| b.name.get(t.language()).to_owned())
                    .unwrap_or_default(),
                part_amount: bill_type
                    .filter(|b| can_take && bill.takes_part_payment(b.partial.as_ref()))
                    .map(|_| bill.balance().to_plain(style)),
                payer: bill.payer_name.clone(),
                due: t.date(bill.due_date),
                balance: bill.balance().format(t.language()),
                status: t.get(&format!("status-{}", bill.status.code())),
                phone_payment: (can_take && bill.is_payable())
                    .then(|| format!("{}/bills/{}/phone-payment", staff.scope.prefix(), bill.id)),
                reference: bill.reference.to_string(),
            });
        }
    }
    let issued = state.form_tokens.issue(ctx.form_cookie());
    let page = BillSearchPage {
        layout: layout(&t, &t.get("st-tile-bills"), Some(city), ctx.path(), false),
        chrome: Some(Chrome::new(&staff, ctx.path(), &issued.token)),
        search: Field::new("q", "text", t.get("st-bills-search"))
            .value(query.q.clone())
            .maxlength(80),
        searched: !text.is_empty(),
        rows,
        form_token: issued.token.clone(),
    };
    Ok((issued, page).into_response())
}

/// A phone payment's form: the amount, where the bill's type takes part
/// payments (none: the balance).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PhonePaymentForm {
    #[serde(default)]
    amount: Option<String>,
}

pub(crate) async fn start_phone_payment(
    State(state): State<AppState>,
    staff: StaffContext,
    ctx: PageContext,
    Path((_, bill_id)): Path<(String, String)>,
    CheckedForm(form): CheckedForm<PhonePaymentForm>,
) -> Result<Response, PortalError> {
    let city = staff.scope.city()?;
    let link = state.pay_link()?;
    let bill_id = BillId::parse(&bill_id).map_err(|_| PortalError::NotFound)?;
    let bill = state
        .store
        .bill(&city.id, &bill_id)
        .await?
        .ok_or(PortalError::NotFound)?;
    if !bill.is_payable() {
        return Err(PortalError::BadRequest(
            "this bill has nothing left to pay".into(),
        ));
    }
    let amount = match form.amount.as_deref() {
        Some(typed) => {
            let bill_type = state
                .store
                .bill_types(&city.id)
                .await?
                .into_iter()
                .find(|t| t.id == bill.bill_type_id)
                .ok_or(PortalError::NotFound)?;
            let t = staff.t();
            match chosen_amount(&t, city, &bill_type, &bill, typed) {
                Ok(chosen) => Some(chosen),
                Err(why) => {
                    let issued = state.form_tokens.issue(ctx.form_cookie());
                    let page = message(
                        &staff,
                        &ctx,
                        &issued.token,
                        &t.get("st-phone-amount-refused-title"),
                        vec![t.args(
                            "st-phone-amount-refused",
                            &[("reference", bill.reference.as_str()), ("why", &why)],
                        )],
                        Some(Link {
                            href: format!("{}/bills?q={}", staff.scope.prefix(), bill.reference),
                            label: t.get("st-back-to-bill"),
                        }),
                    );
                    return Ok((StatusCode::UNPROCESSABLE_ENTITY, issued, page).into_response());
                }
            }
        }
        None => None,
    };
    let prefix = staff.scope.prefix();
    let return_path = |local: &str| format!("{prefix}/phone-payments/{local}/return");
    let actor = staff.actor();
    let next_url = start_bill_payment(
        &state,
        link,
        city,
        &bill,
        StartPayment {
            channel: Channel::Moto,
            amount,
            language: staff.t().language(),
            return_path: &return_path,
            started_by: Some(&actor),
            resident: None,
            saved_card: None,
            earlier: None,
        },
    )
    .await?
    .next_url()?;
    state
        .store
        .append_audit(staff.note(
            Action::PhonePaymentStarted,
            format!("bill:{}", bill.reference),
            json!({ "bill_id": bill.id.as_str(), "amount": amount.unwrap_or_else(|| bill.balance()).minor() }),
        ))
        .await?;
    Ok(Redirect::to(&next_url).into_response())
}

pub(crate) async fn phone_payment_return(
    State(state): State<AppState>,
    staff: StaffContext,
    ctx: PageContext,
    Path((_, local)): Path<(String, String)>,
) -> Result<Response, PortalError> {
    let city = staff.scope.city()?;
    let link = state.config.pay.as_ref().ok_or(PortalError::NotFound)?;
    let record = state
        .store
        .bill_payment(&city.id, &local)
        .await?
        .ok_or(PortalError::NotFound)?;
    let pay_id = record.pay_payment_id.clone().ok_or(PortalError::NotFound)?;
    let payment = PayClient::new(link)?.payment(&city.id, &pay_id).await?;
    let outcome = payment.outcome();
    crate::routes::crediting::credit(&state, city, &local, &outcome).await?;
    state
        .store
        .append_audit(staff.note(
            Action::PhonePaymentFinished,
            format!("payment:{pay_id}"),
            json!({ "status": outcome.status, "captured": outcome.captured.minor() }),
        ))
        .await?;
    let issued = state.form_tokens.issue(ctx.form_cookie());
    let t = staff.t();
    let (title, body) = if outcome.status == PaymentStatus::Success {
        (
            "st-phone-taken",
            vec![t.args(
                "st-phone-taken-body",
                &[
                    ("amount", &outcome.captured.format(t.language())),
                    (
                        "card",
                        &outcome.card.as_ref().map(card_text).unwrap_or_default(),
                    ),
                ],
            )],
        )
    } else if waits_on_acquirer(outcome.status.code()) {
        (
            "st-phone-confirming",
            vec![
                t.get("st-phone-confirming-body"),
                t.get("st-phone-confirming-attention"),
            ],
        )
    } else {
        (
            "st-phone-not-completed",
            vec![t.arg(
                "st-phone-not-completed-body",
                "status",
                status_name(&t, outcome.status.code()),
            )],
        )
    };
    let page = message(
        &staff,
        &ctx,
        &issued.token,
        &t.get(title),
        body,
        Some(Link {
            href: format!("{}/payments/{pay_id}", staff.scope.prefix()),
            label: t.get("st-see-payment"),
        }),
    );
    Ok((issued, page).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct PaymentQuery {
    #[serde(default)]
    pub(crate) from: String,
    #[serde(default)]
    pub(crate) to: String,
    #[serde(default)]
    pub(crate) reference: String,
    #[serde(default)]
    pub(crate) status: String,
    #[serde(default)]
    pub(crate) channel: String,
    #[serde(default)]
    pub(crate) amount: String,
    #[serde(default)]
    pub(crate) last4: String,
}

/// When a search's first day starts and its last day ends, each if given.
pub(crate) type Days = (Option<jiff::Timestamp>, Option<jiff::Timestamp>);

impl PaymentQuery {
    /// The search's [`Days`] in the city's time; a problem is named by its
    /// field's id.
    pub(crate) fn days(
        &self,
        city: &Tenant,
        t: &Translator,
    ) -> Result<Days, (&'static str, String)> {
        let day = |id: &'static str, field: &str, value: &str| {
            let value = value.trim();
            if value.is_empty() {
                return Ok(None);
            }
            let date: jiff::civil::Date = value.parse().map_err(|_| {
                (
                    id,
                    t.args(
                        "st-date-wrong",
                        &[("field", &t.get(field)), ("typed", &format!("{value:?}"))],
                    ),
                )
            })?;
            day_bounds(city, date)
                .map(Some)
                .map_err(|e| (id, e.to_string()))
        };
        let from = day("from", "st-date-from", &self.from)?.map(|(start, _)| start);
        let to = day("to", "st-date-to", &self.to)?.map(|(_, end)| end);
        Ok((from, to))
    }
}

/// The status filter's choices, with the catalogue keys of their names.
const STATUSES: [(&str, &str); 8] = [
    ("", "st-filter-any-status"),
    ("success", "st-filter-succeeded"),
    ("failed", "st-filter-failed"),
    ("created", "st-filter-not-started"),
    ("submitted", "st-filter-in-progress"),
    ("cancelled", "st-filter-cancelled"),
    ("expired", "st-filter-expired"),
    ("error", "st-filter-error"),
];
/// The channel filter's choices, with the catalogue keys of their names.
const CHANNELS: [(&str, &str); 4] = [
    ("", "st-filter-any-channel"),
    ("web", "st-channel-web"),
    ("moto", "st-channel-moto"),
    ("autopay", "st-channel-autopay"),
];

/// How the console names pay's channel codes.
fn channel_name(t: &Translator, code: &str) -> String {
    t.get(match code {
        "moto" => "st-channel-moto",
        "autopay" => "st-channel-autopay",
        _ => "st-channel-web",
    })
}

/// The console's payment filters, as typed, with what is wrong with one.
fn payment_filters(t: &Translator, q: &PaymentQuery, error: Option<(&str, String)>) -> Vec<Field> {
    let options = |list: &[(&str, &str)]| {
        list.iter()
            .map(|(value, key)| ((*value).to_owned(), t.get(key)))
            .collect::<Vec<_>>()
    };
    let mut fields = vec![
        Field::new("from", "date", t.get("st-date-from")).value(q.from.clone()),
        Field::new("to", "date", t.get("st-date-to")).value(q.to.clone()),
        Field::new("reference", "text", t.get("st-col-reference"))
            .value(q.reference.clone())
            .maxlength(80),
        Field::new("status", "select", t.get("st-col-status"))
            .options(options(&STATUSES))
            .value(q.status.clone()),
        Field::new("channel", "select", t.get("st-col-channel"))
            .options(options(&CHANNELS))
            .value(q.channel.clone()),
        Field::new("amount", "text", t.get("st-col-amount"))
            .value(q.amount.clone())
            .maxlength(20)
            .inputmode("decimal"),
        Field::new("last4", "text", t.get("st-filter-last4"))
            .value(q.last4.clone())
            .maxlength(4)
            .inputmode("numeric"),
    ];
    if let Some((id, message)) = error {
        set_error(&mut fields, id, message);
    }
    fields
}

/// The pay API's list query for the console's filters, or which filter is
/// wrong and why.
fn list_query(
    t: &Translator,
    city: &Tenant,
    q: &PaymentQuery,
) -> Result<String, (&'static str, String)> {
    let mut url = url::form_urlencoded::Serializer::new(String::new());
    url.append_pair("per_page", "200");
    let (from, to) = q.days(city, t)?;
    if let Some(start) = from {
        url.append_pair("from", &start.to_string());
    }
    if let Some(end) = to {
        url.append_pair("to", &end.to_string());
    }
    if !q.reference.trim().is_empty() {
        url.append_pair("reference", q.reference.trim());
    }
    if STATUSES
        .iter()
        .any(|(v, _)| !v.is_empty() && *v == q.status)
    {
        url.append_pair("status", &q.status);
    }
    if CHANNELS
        .iter()
        .any(|(v, _)| !v.is_empty() && *v == q.channel)
    {
        url.append_pair("channel", &q.channel);
    }
    if !q.amount.trim().is_empty() {
        let style = DecimalStyle::for_language(t.language());
        let amount = Money::parse(&q.amount, city.currency, style).map_err(|_| {
            (
                "amount",
                t.args(
                    "st-filter-amount-wrong",
                    &[
                        ("typed", &format!("{:?}", q.amount)),
                        (
                            "example",
                            &Money::from_minor(8_420, city.currency).to_plain(style),
                        ),
                    ],
                ),
            )
        })?;
        url.append_pair("amount", &amount.minor().to_string());
    }
    let last4 = q.last4.trim();
    if !last4.is_empty() {
        if last4.len() != 4 || !last4.bytes().all(|b| b.is_ascii_digit()) {
            return Err(("last4", t.get("st-filter-last4-wrong")));
        }
        url.append_pair("card_last4", last4);
    }
    Ok(format!("/v1/payments?{}", url.finish()))
}

pub(crate) async fn payment_list(
    State(state): State<AppState>,
    staff: StaffContext,
    ctx: PageContext,
    Query(query): Query<PaymentQuery>,
) -> Result<Response, PortalError> {
    let city = staff.scope.city()?;
    let link = state.pay_link()?;
    let t = staff.t();
    let (rows, error) = match list_query(&t, city, &query) {
        Err(wrong) => (Vec::new(), Some(wrong)),
        Ok(path) => {
            let listed: PaymentList = PayClient::new(link)?.get(&city.id, &path).await?;
            let rows = listed
                .results
                .iter()
                .map(|p| payment_row(&t, &staff, city, p))
                .collect();
            (rows, None)
        }
    };
    let filters = payment_filters(&t, &query, error);
    let errors = summary(&filters);
    let issued = state.form_tokens.issue(ctx.form_cookie());
    let status = form_status(!errors.is_empty());
    let csv_href = (staff.allows(Permission::ExportData) && errors.is_empty()).then(|| {
        let mut url = url::form_urlencoded::Serializer::new(String::new());
        url.append_pair("from", &query.from)
            .append_pair("to", &query.to)
            .append_pair("reference", &query.reference)
            .append_pair("channel", &query.channel);
        format!("{}/payments.csv?{}", staff.scope.prefix(), url.finish())
    });
    let page = PaymentListPage {
        layout: layout(
            &t,
            &t.get("st-nav-payments"),
            Some(city),
            ctx.path(),
            !errors.is_empty(),
        ),
        chrome: Some(Chrome::new(&staff, ctx.path(), &issued.token)),
        filters,
        errors,
        rows,
        csv_href,
    };
    Ok((status, issued, page).into_response())
}

fn payment_row(t: &Translator, staff: &StaffContext, city: &Tenant, p: &PaymentView) -> PaymentRow {
    PaymentRow {
        href: format!("{}/payments/{}", staff.scope.prefix(), p.payment_id),
        created: when(p.created_at, city),
        reference: p.reference.clone(),
        amount: p.money.amount().format(t.language()),
        status: status_name(t, p.state.status.code()),
        channel: channel_name(t, p.channel.code()),
        card: p.card.as_ref().map(card_text).unwrap_or_default(),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RefundForm {
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reason: String,
}

struct RefundErrors {
    amount: Option<String>,
    reason: Option<String>,
}

/// What is left to refund: what may be refunded (captured, less a fee the
/// city keeps), less refunded, less requests that are waiting or on their
/// way.
fn refundable(captured: Money, refunded: Money, requests: &[RefundRequest]) -> i64 {
    let in_flight: i64 = requests
        .iter()
        .filter(|r| {
            matches!(
                r.status,
                RefundRequestStatus::Pending | RefundRequestStatus::Approved
            )
        })
        .map(|r| r.amount.minor())
        .sum();
    captured.minor() - refunded.minor() - in_flight
}

/// A payment as pay knows it, with the refund requests made for it here.
async fn payment_with_requests(
    state: &AppState,
    city: &Tenant,
    payment_id: &PaymentId,
) -> Result<(PaymentView, Vec<RefundRequest>), PortalError> {
    let payment = PayClient::new(state.pay_link()?)?
        .payment(&city.id, payment_id.as_str())
        .await
        .map_err(|_| PortalError::NotFound)?;
    let requests = state
        .store
        .refund_requests(&city.id, Some(payment_id.as_str()))
        .await?;
    Ok((payment, requests))
}

async fn payment_page(
    state: &AppState,
    staff: &StaffContext,
    ctx: &PageContext,
    payment_id: &PaymentId,
    form: Option<(&RefundForm, RefundErrors)>,
) -> Result<Response, PortalError> {
    let city = staff.scope.city()?;
    let (payment, requests) = payment_with_requests(state, city, payment_id).await?;
    let team = state.store.list_staff(Some(&city.id)).await?;
    let who = |id: &civicpay_core::StaffId| {
        team.iter()
            .find(|m| &m.id == id)
            .map_or_else(String::new, |m| m.email.clone())
    };
    let left = refundable(
        payment.money.refundable(),
        payment.money.refunded(),
        &requests,
    );
    let limits = state.store.refund_limits(&city.id).await?;
    let t = staff.t();
    let language = t.language();
    let fact = |key: &str, value: String| Fact {
        label: t.get(key),
        value,
    };
    let facts = vec![
        fact("st-col-reference", payment.reference.clone()),
        fact("st-payment-description", payment.description.clone()),
        fact("st-col-amount", payment.money.amount().format(language)),
        fact(
            "st-col-status",
            status_name(&t, payment.state.status.code()),
        ),
        fact("st-col-channel", channel_name(&t, payment.channel.code())),
        fact(
            "st-col-card",
            payment.card.as_ref().map(card_text).unwrap_or_default(),
        ),
        fact("st-col-captured", payment.money.captured().format(language)),
        fact("st-col-refunded", payment.money.refunded().format(language)),
        fact("st-col-created", when(payment.created_at, city)),
        fact("st-payment-id", payment_id.to_string()),
    ];
    let refunds = requests
        .iter()
        .map(|r| RefundRow {
            requested: when(r.requested_at, city),
            amount: r.amount.format(language),
            reason: r.reason.clone(),
            status: match (&r.failure, r.status) {
                (Some(why), _) => t.arg("st-refund-failed", "why", why),
                (None, s) => t.get(&format!("st-refund-status-{}", s.code())),
            },
            by: who(&r.requested_by),
        })
        .collect();
    let (typed, errors) = match form {
        Some((f, e)) => ((f.amount.clone(), f.reason.clone()), e),
        None => (
            (String::new(), String::new()),
            RefundErrors {
                amount: None,
                reason: None,
            },
        ),
    };
    let refund_fields = vec![
        Field::new("amount", "text", t.get("st-refund-amount"))
            .value(typed.0)
            .inputmode("decimal")
            .maxlength(20)
            .error(errors.amount),
        Field::new("reason", "text", t.get("st-col-reason"))
            .value(typed.1)
            .maxlength(200)
            .error(errors.reason),
    ];
    let summary = summary(&refund_fields);
    let issued = state.form_tokens.issue(ctx.form_cookie());
    let status = form_status(!summary.is_empty());
    let page = PaymentPage {
        layout: layout(
            &t,
            &t.arg("st-payment-title", "reference", &payment.reference),
            Some(city),
            ctx.path(),
            !summary.is_empty(),
        ),
        chrome: Some(Chrome::new(staff, ctx.path(), &issued.token)),
        facts,
        refunds,
        refund_action: (staff.allows(Permission::RequestRefunds) && left > 0)
            .then(|| format!("{}/payments/{payment_id}/refund", staff.scope.prefix())),
        refund_limits: t.args(
            "st-refund-limits",
            &[
                ("refundable", &money(left, city, &t)),
                ("threshold", &money(limits.threshold, city, &t)),
            ],
        ),
        form_token: issued.token.clone(),
        refund_fields,
        errors: summary,
    };
    Ok((status, issued, page).into_response())
}

pub(crate) async fn payment_detail(
    State(state): State<AppState>,
    staff: StaffContext,
    ctx: PageContext,
    Path((_, payment)): Path<(String, String)>,
) -> Result<Response, PortalError> {
    let payment = PaymentId::parse(&payment).map_err(|_| PortalError::NotFound)?;
    payment_page(&state, &staff, &ctx, &payment, None).await
}

/// Sends an approved request to pay and records the answer.
async fn issue_refund(
    state: &AppState,
    staff: &StaffContext,
    city: &Tenant,
    request: &RefundRequestId,
) -> Result<(), PortalError> {
    let link = state.pay_link()?;
    let record = state
        .store
        .refund_request(&city.id, request)
        .await?
        .ok_or(PortalError::NotFound)?;
    let answer = PayClient::new(link)?
        .refund(
            &city.id,
            &record.pay_payment_id,
            request.as_str(),
            record.amount,
        )
        .await;
    let outcome = match &answer {
        // "submitted": sent, answer lost; pay keeps the amount reserved and
        // settles it with the acquirer. Not a failure to be retried.
        Ok(refund) if ["success", "submitted"].contains(&refund.status.as_str()) => {
            Ok(refund.refund_id.to_string())
        }
        Ok(refund) => Err(format!("the acquirer answered {}", refund.status)),
        Err(e) => Err(e.to_string()),
    };
    state
        .store
        .finish_refund_request(
            &city.id,
            request,
            outcome.as_deref().map_err(String::as_str),
            staff.note(
                Action::RefundIssued,
                format!("payment:{}", record.pay_payment_id),
                json!({ "request": request.as_str(), "amount": record.amount.minor(), "outcome": outcome.as_ref().map_or_else(|e| e.clone(), |_| "success".to_owned()) }),
            ),
        )
        .await?;
    Ok(())
}

pub(crate) async fn request_refund(
    State(state): State<AppState>,
    staff: StaffContext,
    ctx: PageContext,
    Path((_, payment)): Path<(String, String)>,
    CheckedForm(form): CheckedForm<RefundForm>,
) -> Result<Response, PortalError> {
    let city = staff.scope.city()?;
    let payment_id = PaymentId::parse(&payment).map_err(|_| PortalError::NotFound)?;
    let (payment, requests) = payment_with_requests(&state, city, &payment_id).await?;
    let left = refundable(
        payment.money.refundable(),
        payment.money.refunded(),
        &requests,
    );
    let t = staff.t();
    let style = DecimalStyle::for_language(t.language());
    let amount = Money::parse(&form.amount, city.currency, style);
    let errors = RefundErrors {
        amount: match &amount {
            Ok(m) if m.minor() > 0 && m.minor() <= left => None,
            Ok(_) => Some(t.args(
                "st-refund-amount-range",
                &[
                    ("least", &money(1, city, &t)),
                    ("most", &money(left, city, &t)),
                ],
            )),
            Err(_) => Some(t.arg(
                "st-refund-amount-wrong",
                "example",
                Money::from_minor(2_000, city.currency).to_plain(style),
            )),
        },
        reason: match form.reason.trim().chars().count() {
            0 => Some(t.get("st-refund-reason-missing")),
            n if n > 200 => Some(t.get("st-refund-reason-long")),
            _ => None,
        },
    };
    let Ok(amount) = amount
        .ok()
        .filter(|_| errors.amount.is_none() && errors.reason.is_none())
        .ok_or(())
    else {
        return payment_page(&state, &staff, &ctx, &payment_id, Some((&form, errors))).await;
    };
    let day_began = jiff::Timestamp::now()
        .to_zoned(city.time_zone.time_zone())
        .start_of_day()
        .map_err(|_| PortalError::Internal("clock out of range"))?
        .timestamp();
    let reason = form.reason.trim();
    let (request, status) = state
        .store
        .create_refund_request(
            &city.id,
            NewRefundRequest {
                pay_payment_id: payment_id.as_str(),
                amount,
                reason,
                requested_by: &staff.staff.id,
                refunded_before: payment.money.refunded(),
                day_began,
            },
            |id, waits| {
                staff.note(
                    Action::RefundRequested,
                    format!("payment:{payment_id}"),
                    json!({ "request": id.as_str(), "amount": amount.minor(), "reason": reason, "needs_approval": waits }),
                )
            },
        )
        .await?;
    let waits = status == RefundRequestStatus::Pending;
    if !waits {
        issue_refund(&state, &staff, city, &request).await?;
    }
    Ok(Redirect::to(&format!("{}/payments/{payment_id}", staff.scope.prefix())).into_response())
}

/// Whether a pay status code waits on the acquirer's answer.
fn waits_on_acquirer(code: &str) -> bool {
    matches!(
        code,
        "submitted" | "authorised" | "capture_requested" | "cancel_requested"
    )
}

/// How the console names pay's status codes: every state that waits on
/// the acquirer is "being confirmed", which invites nobody to take the
/// money again.
fn status_name(t: &Translator, code: &str) -> String {
    if waits_on_acquirer(code) {
        t.get("st-payment-being-confirmed")
    } else {
        t.get(&format!("st-payment-status-{}", code.replace('_', "-")))
    }
}

/// Why reconciliation flagged a row, in words.
fn attention_reason(t: &Translator, code: &str) -> String {
    t.get(match code {
        "acquirer_has_no_record" => "st-attention-no-record",
        "amount_mismatch" => "st-attention-amount-mismatch",
        "contradiction" => "st-attention-contradiction",
        "not_settled_in_time" => "st-attention-not-in-time",
        _ => "st-attention-unsettled",
    })
}

/// `/{city}/staff/attention`: what reconciliation could not settle.
pub(crate) async fn needing_attention(
    State(state): State<AppState>,
    staff: StaffContext,
    ctx: PageContext,
) -> Result<Response, PortalError> {
    let city = staff.scope.city()?;
    let prefix = staff.scope.prefix();
    let t = staff.t();
    let listed: AttentionList = PayClient::new(state.pay_link()?)?
        .get(&city.id, "/v1/alerts/attention")
        .await?;
    let rows = listed
        .results
        .iter()
        .map(|a| AttentionRow {
            payment_href: format!("{prefix}/payments/{}", a.payment_id),
            what: if a.refund_id.is_none() {
                t.arg("st-attention-payment", "status", status_name(&t, &a.status))
            } else {
                t.get("st-attention-refund")
            },
            amount: a.amount().format(t.language()),
            reason: attention_reason(&t, &a.reason),
            since: when(a.since, city),
        })
        .collect();
    let types = state.store.bill_types(&city.id).await?;
    let overpaid = state
        .store
        .overpaid_bills(&city.id)
        .await?
        .into_iter()
        .filter_map(|bill| {
            let over = bill.overpaid()?;
            Some(OverpaidRow {
                href: format!("{prefix}/payments?reference={}", bill.reference),
                reference: bill.reference.to_string(),
                bill_type: types
                    .iter()
                    .find(|b| b.id == bill.bill_type_id)
                    .map(|b| b.name.get(t.language()).to_owned())
                    .unwrap_or_default(),
                amount_due: bill.amount_due.format(t.language()),
                amount_paid: bill.amount_paid.format(t.language()),
                over: over.format(t.language()),
            })
        })
        .collect();
    let notices = match &city.back_office {
        None => None,
        Some(_) => Some(
            state
                .store
                .undelivered_back_office_notices(&city.id)
                .await?
                .into_iter()
                .map(|n| NoticeRow {
                    created: when(n.created_at, city),
                    event: n.event,
                    attempts: n.attempts,
                    last_error: n.last_error.unwrap_or_default(),
                    next_attempt: when(n.next_attempt_at, city),
                })
                .collect(),
        ),
    };
    let issued = state.form_tokens.issue(ctx.form_cookie());
    let page = AttentionPage {
        layout: layout(
            &t,
            &t.get("st-attention-title"),
            Some(city),
            ctx.path(),
            false,
        ),
        chrome: Some(Chrome::new(&staff, ctx.path(), &issued.token)),
        rows,
        overpaid,
        notices,
    };
    Ok((issued, page).into_response())
}

pub(crate) async fn pending_refunds(
    State(state): State<AppState>,
    staff: StaffContext,
    ctx: PageContext,
) -> Result<Response, PortalError> {
    let city = staff.scope.city()?;
    let team = state.store.list_staff(Some(&city.id)).await?;
    let prefix = staff.scope.prefix();
    let t = staff.t();
    let pending = state
        .store
        .refund_requests(&city.id, None)
        .await?
        .into_iter()
        .map(|r| PendingRefund {
            which: t.args(
                "st-approvals-which",
                &[
                    ("amount", &r.amount.format(t.language())),
                    ("requested", &when(r.requested_at, city)),
                ],
            ),
            payment_href: format!("{prefix}/payments/{}", r.pay_payment_id),
            requested: when(r.requested_at, city),
            amount: r.amount.format(t.language()),
            reason: r.reason.clone(),
            by: team
                .iter()
                .find(|m| m.id == r.requested_by)
                .map_or_else(String::new, |m| m.email.clone()),
            action: format!("{prefix}/refunds/{}/decision", r.id),
            own: r.requested_by == staff.staff.id,
        })
        .collect();
    let issued = state.form_tokens.issue(ctx.form_cookie());
    let page = RefundApprovalsPage {
        layout: layout(&t, &t.get("st-nav-refunds"), Some(city), ctx.path(), false),
        chrome: Some(Chrome::new(&staff, ctx.path(), &issued.token)),
        pending,
        form_token: issued.token.clone(),
    };
    Ok((issued, page).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct DecisionForm {
    #[serde(default)]
    decision: String,
}

pub(crate) async fn decide_refund(
    State(state): State<AppState>,
    staff: StaffContext,
    ctx: PageContext,
    Path((_, request)): Path<(String, String)>,
    CheckedForm(form): CheckedForm<DecisionForm>,
) -> Result<Response, PortalError> {
    let city = staff.scope.city()?;
    let approve = match form.decision.as_str() {
        "approve" => true,
        "reject" => false,
        other => {
            return Err(PortalError::BadRequest(format!(
                "decision {other:?}: use approve or reject"
            )));
        }
    };
    let id = RefundRequestId::parse(&request).map_err(|_| PortalError::NotFound)?;
    let record = state
        .store
        .refund_request(&city.id, &id)
        .await?
        .ok_or(PortalError::NotFound)?;
    let issued = state.form_tokens.issue(ctx.form_cookie());
    let t = staff.t();
    let back = Some(Link {
        href: format!("{}/refunds", staff.scope.prefix()),
        label: t.get("st-back-to-approvals"),
    });
    if let Err(refusal) = may_approve(
        staff.staff.id.clone(),
        staff.staff.role,
        &record.requested_by,
        record.status == RefundRequestStatus::Pending,
    ) {
        let why = match refusal {
            civicpay_core::staff::ApprovalRefusal::OwnRequest => "st-decide-own",
            civicpay_core::staff::ApprovalRefusal::NotASupervisor => "st-decide-not-supervisor",
            civicpay_core::staff::ApprovalRefusal::AlreadyDecided => "st-decide-already",
        };
        let page = message(
            &staff,
            &ctx,
            &issued.token,
            &t.get("st-decide-not-decided"),
            vec![t.get(why)],
            back,
        );
        return Ok((StatusCode::FORBIDDEN, issued, page).into_response());
    }
    let action = if approve {
        Action::RefundApproved
    } else {
        Action::RefundRejected
    };
    let decided = state
        .store
        .decide_refund_request(
            &city.id,
            &id,
            &staff.staff.id,
            approve,
            staff.note(action, format!("payment:{}", record.pay_payment_id), json!({ "request": id.as_str(), "amount": record.amount.minor(), "requested_by": record.requested_by.as_str() })),
        )
        .await?;
    if !decided {
        let page = message(
            &staff,
            &ctx,
            &issued.token,
            &t.get("st-decide-not-decided"),
            vec![t.get("st-decide-someone-else")],
            back,
        );
        return Ok((StatusCode::CONFLICT, issued, page).into_response());
    }
    if approve {
        issue_refund(&state, &staff, city, &id).await?;
    }
    Ok(Redirect::to(&format!("{}/refunds", staff.scope.prefix())).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use civicpay_core::Language;

    /// A refund whose answer was lost stays reserved at pay (its amount is
    /// in `refunded_amount`) even when the console recorded the request as
    /// failed: the console offers nothing more to refund until it settles.
    #[test]
    fn an_unknown_refund_leaves_nothing_more_to_refund() {
        let usd = |minor| Money::from_minor(minor, civicpay_core::Currency::Usd);
        let request = |status| RefundRequest {
            id: RefundRequestId::generate(),
            pay_payment_id: "p".into(),
            amount: usd(1_000),
            reason: "r".into(),
            status,
            requested_by: civicpay_core::StaffId::generate(),
            requested_at: jiff::Timestamp::now(),
            decided_by: None,
            pay_refund_id: None,
            failure: Some("pay did not answer".into()),
        };
        assert_eq!(
            refundable(
                usd(1_000),
                usd(1_000),
                &[request(RefundRequestStatus::Failed)]
            ),
            0
        );
        assert_eq!(
            refundable(
                usd(1_000),
                usd(0),
                &[request(RefundRequestStatus::Approved)]
            ),
            0,
            "approved and on its way to pay"
        );
        assert_eq!(
            refundable(usd(1_000), usd(0), &[request(RefundRequestStatus::Failed)]),
            1_000,
            "refused outright: nothing reserved"
        );
    }

    #[test]
    fn every_channel_pay_reports_has_its_own_name() {
        let t = Translator::new(Language::En);
        assert_eq!(channel_name(&t, "web"), "online");
        assert_eq!(channel_name(&t, "moto"), "phone");
        assert_eq!(channel_name(&t, "autopay"), "autopay");
        for (code, _) in CHANNELS.iter().skip(1) {
            assert!(
                civicpay_core::payment::Channel::parse(code).is_some(),
                "{code}"
            );
        }
    }

    /// Staff must never read a payment whose outcome is unknown as one to
    /// take again.
    #[test]
    fn every_state_that_waits_on_the_acquirer_reads_being_confirmed() {
        use civicpay_core::payment::{PaymentStatus, Waiting};
        let t = Translator::new(Language::En);
        for status in PaymentStatus::ALL {
            let name = status_name(&t, status.code());
            assert_eq!(
                name == "being confirmed",
                Waiting::of_payment(status).is_some(),
                "{status:?} reads {name:?}"
            );
            for language in Language::ALL {
                let named = status_name(&Translator::new(language), status.code());
                assert!(
                    !named.contains(civicpay_web::i18n::MISSING_MARK),
                    "{status:?} has no name in {language:?}"
                );
            }
        }
        assert_eq!(status_name(&t, "success"), "succeeded");
    }
}
