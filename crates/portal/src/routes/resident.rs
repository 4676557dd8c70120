//! Resident pages: choose a city, choose what to pay, find the bill.

use crate::AppState;
use crate::account::City;
use crate::error::PortalError;
use crate::forms::CheckedForm;
use crate::page::PageContext;
use crate::pay_client::PayClient;
use crate::views::{
    BillTypeLink, BillView, BillsPage, CityPage, HomePage, Layout, LineView, Link, LookupPage,
    MessagePage, PayButton, ReceiptPage,
};
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use civicpay_core::fee::ChargedFee;
use civicpay_core::payment::{Channel, PaymentStatus};
use civicpay_core::{
    AmountRefused, Bill, BillId, BillReference, BillStatus, BillType, BillTypeSlug, DecimalStyle,
    Money, ReferenceLabel, ResidentId, Tenant, TenantSlug, VerificationValue,
};
use civicpay_pay_api::{Allocation, CreatePayment, FeeRequest, Payer, PaymentView};
use civicpay_store::portal::bill_payments::BillPayment;
use civicpay_web::Translator;
use civicpay_web::forms::Field;
use serde::Deserialize;

pub(crate) async fn health() -> &'static str {
    "ok"
}

/// Browsers ask for a favicon on every site; answering "nothing" keeps the
/// log free of 404s without serving a file.
pub(crate) async fn favicon() -> StatusCode {
    StatusCode::NO_CONTENT
}

/// A city's logo, under its digest: a new logo has a new address, so this
/// one may be cached for good. Any other name is 404.
pub(crate) async fn logo(
    State(state): State<AppState>,
    Path((slug, file)): Path<(String, String)>,
) -> Result<Response, PortalError> {
    let tenant = find_tenant(&state, &slug).await?;
    let asked = file.strip_suffix(".png").ok_or(PortalError::NotFound)?;
    match state.store.tenant_logo(&tenant.id).await? {
        Some((digest, png)) if digest.as_str() == asked => Ok((
            [
                (header::CONTENT_TYPE, "image/png"),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            png,
        )
            .into_response()),
        _ => Err(PortalError::NotFound),
    }
}

pub(crate) async fn not_found() -> PortalError {
    PortalError::NotFound
}

pub(crate) async fn method_not_allowed() -> PortalError {
    PortalError::MethodNotAllowed
}

/// The city at `slug`; none is 404.
pub(crate) async fn find_tenant(state: &AppState, slug: &str) -> Result<Tenant, PortalError> {
    let slug = TenantSlug::parse(slug).map_err(|_| PortalError::NotFound)?;
    state
        .store
        .tenant_by_slug(&slug)
        .await?
        .ok_or(PortalError::NotFound)
}

/// What a resident sees of a city whose payments the platform paused:
/// that, and whom to call. 503, so nothing caches it as the city's page.
fn paused_page(ctx: &PageContext, tenant: &Tenant) -> Response {
    let t = ctx.city_translator(tenant);
    let title = t.get("city-paused-title");
    let body = t.arg("city-paused-body", "phone", tenant.contact.phone.clone());
    let path = ctx.path();
    notice_page(
        t,
        tenant,
        path,
        StatusCode::SERVICE_UNAVAILABLE,
        title,
        body,
        None,
    )
}

/// What a resident sees of a bill type the city no longer offers online
/// (a bookmark, an old letter): that, and whom to call. 404, as the city
/// page no longer links it.
fn not_offered_page(ctx: &PageContext, tenant: &Tenant, bill_type: &BillType) -> Response {
    let t = ctx.city_translator(tenant);
    let title = bill_type.name.get(t.language()).to_owned();
    let body = t.arg(
        "bill-type-not-offered-body",
        "phone",
        tenant.contact.phone.clone(),
    );
    let back = Some(format!("/{}/", tenant.slug));
    notice_page(
        t,
        tenant,
        ctx.path(),
        StatusCode::NOT_FOUND,
        title,
        body,
        back,
    )
}

/// A city taking payments, from the `{tenant}` of the path. A city the
/// platform paused answers with its paused page instead, so no handler
/// that takes this can forget to check.
pub(crate) struct OpenCity(pub Tenant);

impl FromRequestParts<AppState> for OpenCity {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let City(tenant) = City::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        if tenant.suspended {
            let Ok(ctx) = PageContext::from_request_parts(parts, state).await;
            return Err(paused_page(&ctx, &tenant));
        }
        Ok(OpenCity(tenant))
    }
}

async fn find_bill_type(
    state: &AppState,
    tenant: &Tenant,
    slug: &str,
) -> Result<BillType, PortalError> {
    let slug = BillTypeSlug::parse(slug).map_err(|_| PortalError::NotFound)?;
    state
        .store
        .bill_type_by_slug(&tenant.id, &slug)
        .await?
        .ok_or(PortalError::NotFound)
}

pub(crate) async fn home(
    State(state): State<AppState>,
    ctx: PageContext,
) -> Result<Response, PortalError> {
    let tenants = state.store.list_tenants().await?;
    let t = ctx.translator(None);
    let cities = tenants
        .iter()
        .map(|c| Link {
            href: format!("/{}/", c.slug),
            label: c.name.get(t.language()).to_owned(),
        })
        .collect();
    let title = t.get("home-title");
    Ok(HomePage {
        layout: Layout::new(t, title, None, ctx.path(), false),
        cities,
    }
    .into_response())
}

pub(crate) async fn city_redirect(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Redirect, PortalError> {
    let tenant = find_tenant(&state, &slug).await?;
    Ok(Redirect::permanent(&format!("/{}/", tenant.slug)))
}

pub(crate) async fn city(
    State(state): State<AppState>,
    OpenCity(tenant): OpenCity,
    ctx: PageContext,
) -> Result<Response, PortalError> {
    let bill_types = state.store.bill_types(&tenant.id).await?;
    let t = ctx.city_translator(&tenant);
    let links = bill_types
        .iter()
        .filter(|b| b.active)
        .map(|b| BillTypeLink {
            name: b.name.get(t.language()).to_owned(),
            href: format!("/{}/pay/{}", tenant.slug, b.slug),
        })
        .collect();
    let title = tenant.name.get(t.language()).to_owned();
    Ok(CityPage {
        layout: Layout::new(t, title, Some(&tenant), ctx.path(), false),
        bill_types: links,
        contact: tenant.contact.clone(),
    }
    .into_response())
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct LookupForm {
    #[serde(default)]
    reference: String,
    #[serde(default)]
    verification: String,
}

/// An example of each kind of reference, for the field's hint.
fn example_reference(label: ReferenceLabel) -> &'static str {
    match label {
        ReferenceLabel::AccountNumber => "1002-34567",
        ReferenceLabel::CitationNumber => "PK-2026-004512",
        ReferenceLabel::PermitNumber => "PER-26-00301",
        ReferenceLabel::LicenceNumber => "LIC-26-00300",
        ReferenceLabel::RollNumber => "4821-012-345",
        ReferenceLabel::ReferenceNumber => "REF-26-00300",
    }
}

struct LookupErrors {
    reference: Option<String>,
    verification: Option<String>,
}

fn lookup_page(
    t: Translator,
    tenant: &Tenant,
    bill_type: &BillType,
    path: &str,
    token: &str,
    form: &LookupForm,
    errors: LookupErrors,
) -> LookupPage {
    let fields = vec![
        Field::new(
            "reference",
            "text",
            t.get(&format!("reference-{}", bill_type.reference_label.code())),
        )
        .hint(t.arg(
            "reference-hint",
            "example",
            example_reference(bill_type.reference_label),
        ))
        .value(form.reference.clone())
        .maxlength(80)
        .error(errors.reference),
        Field::new(
            "verification",
            "text",
            t.get(&format!("verification-{}", bill_type.verification.code())),
        )
        .hint(t.get(&format!(
            "verification-hint-{}",
            bill_type.verification.code()
        )))
        .value(form.verification.clone())
        .maxlength(80)
        .error(errors.verification),
    ];
    let summary = civicpay_web::forms::summary(&fields);
    let title = t.get("lookup-title");
    let bill_type_name = bill_type.name.get(t.language()).to_owned();
    LookupPage {
        layout: Layout::new(t, title, Some(tenant), path, !summary.is_empty()),
        back_href: format!("/{}/", tenant.slug),
        bill_type_name,
        action: format!("/{}/pay/{}", tenant.slug, bill_type.slug),
        form_token: token.to_owned(),
        fields,
        errors: summary,
    }
}

pub(crate) async fn lookup_form(
    State(state): State<AppState>,
    OpenCity(tenant): OpenCity,
    Path((_, type_slug)): Path<(String, String)>,
    ctx: PageContext,
) -> Result<Response, PortalError> {
    let bill_type = find_bill_type(&state, &tenant, &type_slug).await?;
    if !bill_type.active {
        return Ok(not_offered_page(&ctx, &tenant, &bill_type));
    }
    let issued = state.form_tokens.issue(ctx.form_cookie());
    let t = ctx.city_translator(&tenant);
    let page = lookup_page(
        t,
        &tenant,
        &bill_type,
        ctx.path(),
        &issued.token,
        &LookupForm::default(),
        LookupErrors {
            reference: None,
            verification: None,
        },
    );
    Ok((issued, page).into_response())
}

pub(crate) async fn lookup_submit(
    State(state): State<AppState>,
    OpenCity(tenant): OpenCity,
    Path((_, type_slug)): Path<(String, String)>,
    ctx: PageContext,
    CheckedForm(form): CheckedForm<LookupForm>,
) -> Result<Response, PortalError> {
    let bill_type = find_bill_type(&state, &tenant, &type_slug).await?;
    if !bill_type.active {
        return Ok(not_offered_page(&ctx, &tenant, &bill_type));
    }
    state
        .rate_limit(
            &format!("lookup:{}", ctx.client_ip.limit_key()),
            state.config.lookup_limit,
            state.config.lookup_window,
        )
        .await?;

    let t = ctx.city_translator(&tenant);
    let issued = state.form_tokens.issue(ctx.form_cookie());
    let reference = BillReference::parse(&form.reference);
    let verification = VerificationValue::parse(bill_type.verification, &form.verification);
    let field_name = || {
        t.get(&format!("verification-{}", bill_type.verification.code()))
            .to_lowercase()
    };
    let errors = LookupErrors {
        reference: match &reference {
            Ok(_) => None,
            Err(civicpay_core::ParseError::Missing) => Some(t.get("error-reference-missing")),
            Err(_) => Some(t.get("error-reference-invalid")),
        },
        verification: match &verification {
            Ok(_) => None,
            Err(civicpay_core::ParseError::Missing) => {
                Some(t.arg("error-verification-missing", "field", field_name()))
            }
            Err(_) => Some(t.arg("error-verification-invalid", "field", field_name())),
        },
    };
    let (Ok(reference), Ok(verification)) = (reference, verification) else {
        let page = lookup_page(
            t,
            &tenant,
            &bill_type,
            ctx.path(),
            &issued.token,
            &form,
            errors,
        );
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };

    let bills: Vec<Bill> = state
        .store
        .bills_by_reference(&tenant.id, &bill_type.id, &reference)
        .await?
        .into_iter()
        .filter(|b| b.verification.matches(&verification))
        .collect();
    if bills.is_empty() {
        // One message for both fields: which one was wrong stays unsaid.
        let errors = LookupErrors {
            reference: Some(t.get("lookup-not-found")),
            verification: None,
        };
        let page = lookup_page(
            t,
            &tenant,
            &bill_type,
            ctx.path(),
            &issued.token,
            &form,
            errors,
        );
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }

    let views = bills
        .iter()
        .enumerate()
        .map(|(i, b)| bill_view(&t, &tenant, &bill_type, b, i + 1, None))
        .collect::<Result<_, _>>()?;
    let page = bills_page(t, &tenant, &bill_type, ctx.path(), &issued.token, views);
    Ok((issued, page).into_response())
}

fn bills_page(
    t: Translator,
    tenant: &Tenant,
    bill_type: &BillType,
    path: &str,
    form_token: &str,
    bills: Vec<BillView>,
) -> BillsPage {
    let title = if bills.len() > 1 {
        t.get("bills-title")
    } else {
        t.get("bill-title")
    };
    let found_message = t.count(
        "bills-found",
        "count",
        u64::try_from(bills.len()).unwrap_or(0),
    );
    let errors = bills
        .iter()
        .filter_map(|b| b.pay.as_ref()?.amount.as_ref())
        .flat_map(|f| civicpay_web::forms::summary(std::slice::from_ref(f)))
        .collect();
    BillsPage {
        back_href: format!("/{}/pay/{}", tenant.slug, bill_type.slug),
        bill_type_name: bill_type.name.get(t.language()).to_owned(),
        layout: Layout::new(t, title, Some(tenant), path, false),
        found_message,
        form_token: form_token.to_owned(),
        bills,
        errors,
    }
}

/// What the resident typed as the amount to pay, and what was wrong with it.
struct TypedAmount<'a> {
    value: &'a str,
    error: String,
}

/// One bill as the bill page shows it; `n` numbers its amount field
/// among the bills on the page.
fn bill_view(
    t: &Translator,
    tenant: &Tenant,
    bill_type: &BillType,
    bill: &Bill,
    n: usize,
    typed: Option<TypedAmount<'_>>,
) -> Result<BillView, PortalError> {
    let language = t.language();
    let status_class = match bill.status {
        BillStatus::Paid => "tag--paid",
        BillStatus::Cancelled => "tag--cancelled",
        BillStatus::Open | BillStatus::PartiallyPaid => "",
    };
    let balance = bill.balance();
    Ok(BillView {
        reference: bill.reference.to_string(),
        payer_name: bill.payer_name.clone(),
        due_date: t.date(bill.due_date),
        status_label: t.get(&format!("status-{}", bill.status.code())),
        status_class,
        items: bill
            .line_items
            .iter()
            .map(|i| LineView {
                description: i.description.clone(),
                amount: i.amount.format(language),
            })
            .collect(),
        total: bill.amount_due.format(language),
        paid: (bill.amount_paid.minor() > 0).then(|| bill.amount_paid.format(language)),
        balance: balance.format(language),
        pay: pay_button(t, tenant, bill_type, bill)?
            .map(|pay| pay.choosing_amount(t, bill_type, bill, n, typed)),
    })
}

impl PayButton {
    /// Where the bill may be paid in parts, asks how much (the balance
    /// unless the resident typed something else) and says that a smaller
    /// amount's fee is shown on the next page.
    fn choosing_amount(
        mut self,
        t: &Translator,
        bill_type: &BillType,
        bill: &Bill,
        n: usize,
        typed: Option<TypedAmount<'_>>,
    ) -> PayButton {
        let Some(partial) = bill_type
            .partial
            .filter(|p| bill.takes_part_payment(Some(p)))
        else {
            return self;
        };
        let language = t.language();
        let balance = bill.balance();
        let (value, error) = match typed {
            Some(typed) => (typed.value.to_owned(), Some(typed.error)),
            None => (balance.to_plain(DecimalStyle::for_language(language)), None),
        };
        let hint = t.args(
            "bill-pay-amount-hint",
            &[
                ("minimum", &partial.minimum.format(language)),
                ("balance", &balance.format(language)),
            ],
        );
        self.amount = Some(
            Field::new("amount", "text", t.get("bill-pay-amount"))
                .numbered(n)
                .value(value)
                .hint(hint)
                .error(error)
                .autocomplete("off")
                .inputmode("decimal")
                .maxlength(20),
        );
        self.label = t.get("bill-pay-continue");
        if let Some(fee) = &mut self.fee {
            fee.push(' ');
            fee.push_str(&t.get("bill-fee-partial"));
        }
        self
    }
}

/// The button that starts paying a bill's balance on the web, with the
/// convenience fee stated before the resident reaches the card page.
pub(crate) fn pay_button(
    t: &Translator,
    tenant: &Tenant,
    bill_type: &BillType,
    bill: &Bill,
) -> Result<Option<PayButton>, PortalError> {
    // A type the city took off line is paid by phone, not from a button
    // that leads to its "not offered" page.
    if !bill.is_payable() || !bill_type.active {
        return Ok(None);
    }
    let language = t.language();
    let fee = bill_fee(tenant, Some(bill_type), Channel::Web, bill.balance())?;
    let charged = charged_with(bill.balance(), fee.as_ref())?;
    Ok(Some(PayButton {
        action: format!("/{}/bills/{}/pay", tenant.slug, bill.id),
        label: t.arg("bill-pay", "amount", charged.format(language)),
        fee: fee.map(|f| {
            t.args(
                "bill-fee",
                &[
                    ("fee", &f.amount.format(language)),
                    ("total", &charged.format(language)),
                ],
            )
        }),
        amount: None,
    }))
}

const PAY_STARTS_PER_ADDRESS: u32 = 30;
const PAY_STARTS_PER_BILL: u32 = 10;
const PAY_START_WINDOW: std::time::Duration = std::time::Duration::from_secs(600);

/// Starts paying a bill: asks pay for a payment and sends the browser to
/// pay's card page. Without a pay service configured, says so plainly.
pub(crate) async fn pay_bill(
    State(state): State<AppState>,
    OpenCity(tenant): OpenCity,
    Path((_, bill_id)): Path<(String, String)>,
    ctx: PageContext,
    CheckedForm(form): CheckedForm<PayBillForm>,
) -> Result<Response, PortalError> {
    let bill_id = BillId::parse(&bill_id).map_err(|_| PortalError::NotFound)?;
    // Each start asks pay for a payment: limited per address and per bill,
    // so nobody can mint payments (and card pages) for a bill in bulk.
    for (bucket, limit) in [
        (
            format!("pay-start:{}", ctx.client_ip.limit_key()),
            PAY_STARTS_PER_ADDRESS,
        ),
        (format!("pay-start-bill:{bill_id}"), PAY_STARTS_PER_BILL),
    ] {
        state.rate_limit(&bucket, limit, PAY_START_WINDOW).await?;
    }
    let bill = state
        .store
        .bill(&tenant.id, &bill_id)
        .await?
        .ok_or(PortalError::NotFound)?;
    let bill_type = state
        .store
        .bill_types(&tenant.id)
        .await?
        .into_iter()
        .find(|b| b.id == bill.bill_type_id)
        .ok_or(PortalError::NotFound)?;
    if !bill_type.active {
        return Ok(not_offered_page(&ctx, &tenant, &bill_type));
    }
    let t = ctx.city_translator(&tenant);
    let Some(link) = &state.config.pay else {
        return Ok(message_page(
            t,
            &tenant,
            ctx.path(),
            "pay-unavailable-title",
            "pay-unavailable-body",
        ));
    };
    if !bill.is_payable() {
        return Ok(message_page(
            t,
            &tenant,
            ctx.path(),
            "bill-title",
            "bill-nothing-to-pay",
        ));
    }
    let amount = match &form.amount {
        None => None,
        Some(typed) => {
            match chosen_amount(&t, &tenant, &bill_type, &bill, typed) {
                Ok(amount) => Some(amount),
                // Only a hand-made form posts an amount where the page
                // asks for none: there is no field to put the error on.
                Err(error) if !bill.takes_part_payment(bill_type.partial.as_ref()) => {
                    let title = t.get("bill-title");
                    let back = Some(format!("/{}/pay/{}", tenant.slug, bill_type.slug));
                    let status = StatusCode::UNPROCESSABLE_ENTITY;
                    return Ok(notice_page(
                        t,
                        &tenant,
                        ctx.path(),
                        status,
                        title,
                        error,
                        back,
                    ));
                }
                Err(error) => {
                    let typed = TypedAmount {
                        value: typed,
                        error,
                    };
                    let view = bill_view(&t, &tenant, &bill_type, &bill, 1, Some(typed))?;
                    let issued = state.form_tokens.issue(ctx.form_cookie());
                    let page = bills_page(
                        t,
                        &tenant,
                        &bill_type,
                        ctx.path(),
                        &issued.token,
                        vec![view],
                    );
                    return Ok((StatusCode::UNPROCESSABLE_ENTITY, issued, page).into_response());
                }
            }
        }
    };
    let return_path = |local_id: &str| format!("/{}/payments/{local_id}/return", tenant.slug);
    // A signed-in resident pays as themselves: the card page may offer to
    // save the card, and the payment joins their history.
    let resident = crate::account::session(&state, &tenant, ctx.headers())
        .await?
        .map(|(r, _)| r.id);
    let started = start_bill_payment(
        &state,
        link,
        &tenant,
        &bill,
        StartPayment {
            channel: Channel::Web,
            amount,
            language: t.language(),
            return_path: &return_path,
            started_by: None,
            resident: resident.as_ref(),
            saved_card: None,
            earlier: None,
        },
    )
    .await?;
    Ok(Redirect::to(&started.next_url()?).into_response())
}

/// The bill page's pay form: the amount only where the bill type takes
/// part payments; without it, the whole balance.
#[derive(Deserialize)]
pub(crate) struct PayBillForm {
    #[serde(default)]
    amount: Option<String>,
}

/// Reads the amount a resident chose to pay, in their language's decimal
/// style, and checks it against the bill; the error says what to change.
pub(crate) fn chosen_amount(
    t: &Translator,
    tenant: &Tenant,
    bill_type: &BillType,
    bill: &Bill,
    typed: &str,
) -> Result<Money, String> {
    let language = t.language();
    let style = DecimalStyle::for_language(language);
    let chosen = Money::parse(typed, tenant.currency, style).map_err(|e| match e {
        civicpay_core::ParseError::Missing => t.get("bill-amount-missing"),
        _ => t.arg(
            "bill-amount-invalid",
            "example",
            Money::from_minor(2_550, tenant.currency).to_plain(style),
        ),
    })?;
    bill.check_amount(bill_type.partial.as_ref(), chosen)
        .map_err(|refused| match refused {
            AmountRefused::NotPositive => t.get("bill-amount-not-positive"),
            AmountRefused::MoreThanBalance { balance } => {
                t.arg("bill-amount-too-much", "balance", balance.format(language))
            }
            AmountRefused::LessThanMinimum { minimum } => t.arg(
                "bill-amount-too-little",
                "minimum",
                minimum.format(language),
            ),
            AmountRefused::WholeBalanceOnly { balance } => t.arg(
                "bill-amount-whole-only",
                "balance",
                balance.format(language),
            ),
        })
}

/// How a bill payment is being started, beyond the bill itself.
pub(crate) struct StartPayment<'a> {
    pub channel: Channel,
    /// What to pay of the bill now; `None` is its balance.
    pub amount: Option<Money>,
    pub language: civicpay_core::Language,
    /// Makes the portal path pay sends the browser back to, from the
    /// local id.
    pub return_path: &'a (dyn Fn(&str) -> String + Sync),
    pub started_by: Option<&'a str>,
    /// The signed-in resident paying: pay offers to save the card for
    /// them, and the payment shows in their history.
    pub resident: Option<&'a ResidentId>,
    /// With channel autopay: the resident's saved card, charged at once.
    pub saved_card: Option<&'a str>,
    /// The payment record an earlier attempt made (an autopay run taken
    /// over): pay sees the same idempotency key and amount, and charges once.
    pub earlier: Option<&'a BillPayment>,
}

/// What pay made of a new payment, and the portal's record of it.
pub(crate) struct Started {
    pub local_id: String,
    pub payment: PaymentView,
}

impl Started {
    /// The card page's one-time link.
    pub fn next_url(&self) -> Result<String, PortalError> {
        self.payment
            .links
            .next_url
            .as_ref()
            .map(|link| link.href.clone())
            .ok_or(PortalError::PayUnavailable)
    }
}

/// The convenience fee for paying `amount` of a bill of `bill_type` by
/// `channel`, if the city charges one.
pub(crate) fn bill_fee(
    tenant: &Tenant,
    bill_type: Option<&BillType>,
    channel: Channel,
    amount: Money,
) -> Result<Option<ChargedFee>, PortalError> {
    let Some(bill_type) = bill_type else {
        return Ok(None);
    };
    ChargedFee::for_payment(tenant.fees.as_ref(), &bill_type.fees, channel, amount)
        .map_err(|_| PortalError::Internal("the fee rule does not fit the bill's currency"))
}

/// What the card is charged: the amount and the fee.
pub(crate) fn charged_with(amount: Money, fee: Option<&ChargedFee>) -> Result<Money, PortalError> {
    match fee {
        Some(fee) => amount
            .checked_add(fee.amount)
            .map_err(|_| PortalError::Internal("the fee does not fit the amount")),
        None => Ok(amount),
    }
}

/// Records a payment for a bill here (unless `start.earlier` is one
/// already made) and asks pay for it.
pub(crate) async fn start_bill_payment(
    state: &AppState,
    link: &crate::PayLink,
    tenant: &Tenant,
    bill: &Bill,
    start: StartPayment<'_>,
) -> Result<Started, PortalError> {
    let language = start.language;
    let bill_type = state
        .store
        .bill_types(&tenant.id)
        .await?
        .into_iter()
        .find(|b| b.id == bill.bill_type_id);
    let bill_type_name = bill_type
        .as_ref()
        .map(|b| b.name.get(language).to_owned())
        .unwrap_or_default();
    let amount = match start.earlier {
        Some(earlier) => earlier.amount,
        None => start.amount.unwrap_or_else(|| bill.balance()),
    };
    let fee = bill_fee(tenant, bill_type.as_ref(), start.channel, amount)?;
    let charged = charged_with(amount, fee.as_ref())?;
    let local_id = match start.earlier {
        Some(earlier) => earlier.id.clone(),
        None => {
            state
                .store
                .create_bill_payment(&tenant.id, &bill.id, amount, start.resident)
                .await?
        }
    };
    let body = CreatePayment {
        amount: charged.minor(),
        currency: amount.currency().code().to_owned(),
        reference: bill.reference.to_string(),
        description: format!("{bill_type_name} {}", bill.reference),
        return_url: format!(
            "{}{}",
            link.portal_public_url.trim_end_matches('/'),
            (start.return_path)(&local_id)
        ),
        email: bill.email.clone(),
        language: Some(language.code().to_owned()),
        metadata: Some(serde_json::json!({
            "bill_id": bill.id.as_str(),
            "bill_payment_id": local_id,
            "started_by": start.started_by,
        })),
        channel: Some(start.channel.code().to_owned()),
        payer: Some(Payer {
            name: Some(bill.payer_name.clone()),
            postal_address: Some(bill.postal_address.clone()),
        }),
        customer: start.resident.map(|r| r.as_str().to_owned()),
        saved_card: start.saved_card.map(str::to_owned),
        allocations: Some(
            bill.line_items
                .iter()
                .map(|i| Allocation {
                    gl_code: i.gl_code.as_str().to_owned(),
                    amount: i.amount.minor(),
                })
                .collect(),
        ),
        fee: fee.map(|f| FeeRequest {
            amount: f.amount.minor(),
            gl_code: f.gl_code.as_str().to_owned(),
            refundable: f.refundable,
        }),
    };
    let created = PayClient::new(link)?
        .create_payment(&tenant.id, &local_id, &body)
        .await?;
    state
        .store
        .attach_pay_payment(&tenant.id, &local_id, created.payment_id.as_str())
        .await?;
    Ok(Started {
        local_id,
        payment: created,
    })
}

fn message_page(
    t: Translator,
    tenant: &Tenant,
    path: &str,
    title_key: &str,
    body_key: &str,
) -> Response {
    let (title, body) = (t.get(title_key), t.get(body_key));
    notice_page(
        t,
        tenant,
        path,
        StatusCode::OK,
        title,
        body,
        Some(format!("/{}/", tenant.slug)),
    )
}

/// A page that says one thing about the city, with its status, and a
/// "start again" link to `back` if given.
fn notice_page(
    t: Translator,
    tenant: &Tenant,
    path: &str,
    status: StatusCode,
    title: String,
    body: String,
    back: Option<String>,
) -> Response {
    let label = t.get("start-again");
    let page = MessagePage {
        layout: Layout::new(t, title, Some(tenant), path, false),
        body,
        link: back.map(|href| Link { href, label }),
    };
    (status, page).into_response()
}

/// Where pay sends the resident back. The outcome is asked of pay, server
/// to server; the redirect itself proves nothing.
pub(crate) async fn payment_return(
    State(state): State<AppState>,
    Path((tenant_slug, local_id)): Path<(String, String)>,
    ctx: PageContext,
) -> Result<Response, PortalError> {
    let tenant = find_tenant(&state, &tenant_slug).await?;
    let link = state.config.pay.as_ref().ok_or(PortalError::NotFound)?;
    let record = state
        .store
        .bill_payment(&tenant.id, &local_id)
        .await?
        .ok_or(PortalError::NotFound)?;
    let pay_id = record.pay_payment_id.clone().ok_or(PortalError::NotFound)?;
    let payment = PayClient::new(link)?.payment(&tenant.id, &pay_id).await?;
    let outcome = payment.outcome();
    super::crediting::credit(&state, &tenant, &local_id, &outcome).await?;
    let t = ctx.city_translator(&tenant);
    let finished = payment.state.finished;
    if outcome.status != PaymentStatus::Success {
        let (title, body) = if finished {
            ("payment-not-completed-title", "payment-not-completed-body")
        } else {
            ("payment-pending-title", "payment-pending-body")
        };
        return Ok(message_page(t, &tenant, ctx.path(), title, body));
    }
    let bill = state
        .store
        .bill(&tenant.id, &record.bill_id)
        .await?
        .ok_or(PortalError::NotFound)?;
    let language = t.language();
    let credited_at = state
        .store
        .bill_payment(&tenant.id, &local_id)
        .await?
        .and_then(|r| r.applied_at)
        .unwrap_or(record.updated_at);
    let paid_at = credited_at.to_zoned(tenant.time_zone.time_zone());
    let contact = t.args(
        "receipt-contact",
        &[
            ("name", &tenant.contact.name),
            ("phone", &tenant.contact.phone),
            ("email", &tenant.contact.email),
        ],
    );
    let page = ReceiptPage {
        bill_reference: bill.reference.to_string(),
        amount: outcome.captured.format(language),
        fee: t.fee_breakdown(outcome.captured, outcome.fee),
        card: outcome.card.as_ref().map(super::crediting::card_text),
        paid_at: format!(
            "{} {}",
            t.date(paid_at.date()),
            paid_at.strftime("%H:%M %Z")
        ),
        payment_id: pay_id,
        balance: bill.balance().format(language),
        contact,
        back_href: format!("/{}/", tenant.slug),
        layout: Layout::new(
            t.clone(),
            t.get("receipt-title"),
            Some(&tenant),
            ctx.path(),
            false,
        ),
    };
    Ok(page.into_response())
}
