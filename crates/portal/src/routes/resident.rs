//! Resident pages: choose a city, choose what to pay, find the bill.

use crate::AppState;
use crate::error::PortalError;
use crate::page::PageContext;
use crate::views::{
    BillTypeLink, BillView, BillsPage, CityPage, FieldView, HomePage, Layout, LineView, Link,
    LookupPage, MessagePage, PayButton, SummaryError,
};
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use civicpay_core::{
    Bill, BillId, BillReference, BillStatus, BillType, BillTypeSlug, ReferenceLabel, Tenant,
    TenantSlug, VerificationValue,
};
use civicpay_store::rate_limits::RateDecision;
use civicpay_web::Translator;
use civicpay_web::form_token::IssuedToken;
use serde::Deserialize;

pub(crate) async fn health() -> &'static str {
    "ok"
}

/// Browsers ask for a favicon on every site; answering "nothing" keeps the
/// log free of 404s without serving a file.
pub(crate) async fn favicon() -> StatusCode {
    StatusCode::NO_CONTENT
}

pub(crate) async fn not_found() -> PortalError {
    PortalError::NotFound
}

pub(crate) async fn method_not_allowed() -> PortalError {
    PortalError::MethodNotAllowed
}

async fn find_tenant(state: &AppState, slug: &str) -> Result<Tenant, PortalError> {
    let slug = TenantSlug::parse(slug).map_err(|_| PortalError::NotFound)?;
    state
        .store
        .tenant_by_slug(&slug)
        .await?
        .ok_or(PortalError::NotFound)
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

/// Adds the form cookie to a page that carries a form, for a new visitor.
fn with_form_cookie(mut response: Response, issued: &IssuedToken) -> Response {
    if let Some(cookie) = &issued.set_cookie
        && let Ok(value) = HeaderValue::from_str(cookie)
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// A posted form, if it could be read and carries this browser's token.
fn checked_form<T>(
    state: &AppState,
    ctx: &PageContext,
    form: Result<Form<T>, FormRejection>,
    token: impl Fn(&T) -> Option<&str>,
) -> Result<T, PortalError> {
    let Form(form) = form.map_err(|e| PortalError::BadRequest(e.body_text()))?;
    if state.form_tokens.verify(ctx.form_cookie(), token(&form)) {
        Ok(form)
    } else {
        Err(PortalError::FormExpired)
    }
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
    Path(slug): Path<String>,
    ctx: PageContext,
) -> Result<Response, PortalError> {
    let tenant = find_tenant(&state, &slug).await?;
    let bill_types = state.store.bill_types(&tenant.id).await?;
    let t = ctx.translator(Some(tenant.default_language));
    let links = bill_types
        .iter()
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
    form_token: Option<String>,
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
    let verification_label = t.get(&format!("verification-{}", bill_type.verification.code()));
    let mut summary = Vec::new();
    if let Some(message) = &errors.reference {
        summary.push(SummaryError {
            href: "#reference",
            message: message.clone(),
        });
    }
    if let Some(message) = &errors.verification {
        summary.push(SummaryError {
            href: "#verification",
            message: message.clone(),
        });
    }
    let reference = FieldView {
        label: t.get(&format!("reference-{}", bill_type.reference_label.code())),
        hint: t.arg(
            "reference-hint",
            "example",
            example_reference(bill_type.reference_label),
        ),
        value: form.reference.clone(),
        error: errors.reference,
    };
    let verification = FieldView {
        hint: t.get(&format!(
            "verification-hint-{}",
            bill_type.verification.code()
        )),
        label: verification_label,
        value: form.verification.clone(),
        error: errors.verification,
    };
    let title = t.get("lookup-title");
    let bill_type_name = bill_type.name.get(t.language()).to_owned();
    LookupPage {
        layout: Layout::new(t, title, Some(tenant), path, !summary.is_empty()),
        back_href: format!("/{}/", tenant.slug),
        bill_type_name,
        action: format!("/{}/pay/{}", tenant.slug, bill_type.slug),
        form_token: token.to_owned(),
        reference,
        verification,
        errors: summary,
    }
}

pub(crate) async fn lookup_form(
    State(state): State<AppState>,
    Path((tenant_slug, type_slug)): Path<(String, String)>,
    ctx: PageContext,
) -> Result<Response, PortalError> {
    let tenant = find_tenant(&state, &tenant_slug).await?;
    let bill_type = find_bill_type(&state, &tenant, &type_slug).await?;
    let issued = state.form_tokens.issue(ctx.form_cookie());
    let t = ctx.translator(Some(tenant.default_language));
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
    Ok(with_form_cookie(page.into_response(), &issued))
}

pub(crate) async fn lookup_submit(
    State(state): State<AppState>,
    Path((tenant_slug, type_slug)): Path<(String, String)>,
    ctx: PageContext,
    form: Result<Form<LookupForm>, FormRejection>,
) -> Result<Response, PortalError> {
    let tenant = find_tenant(&state, &tenant_slug).await?;
    let bill_type = find_bill_type(&state, &tenant, &type_slug).await?;
    let form = checked_form(&state, &ctx, form, |f: &LookupForm| f.form_token.as_deref())?;
    let decision = state
        .store
        .rate_limit_hit(
            &format!("lookup:{}", ctx.client_ip),
            state.config.lookup_limit,
            state.config.lookup_window,
            jiff::Timestamp::now(),
        )
        .await?;
    if let RateDecision::Limited { retry_after } = decision {
        return Err(PortalError::RateLimited { retry_after });
    }

    let t = ctx.translator(Some(tenant.default_language));
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

    let views = bills.iter().map(|b| bill_view(&t, &tenant, b)).collect();
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
    let bill_type_name = bill_type.name.get(t.language()).to_owned();
    let page = BillsPage {
        layout: Layout::new(t, title, Some(&tenant), ctx.path(), false),
        back_href: format!("/{}/pay/{}", tenant.slug, bill_type.slug),
        bill_type_name,
        found_message,
        form_token: issued.token.clone(),
        bills: views,
    };
    Ok(with_form_cookie(page.into_response(), &issued))
}

fn bill_view(t: &Translator, tenant: &Tenant, bill: &Bill) -> BillView {
    let language = t.language();
    let status_class = match bill.status {
        BillStatus::Paid => "tag--paid",
        BillStatus::Cancelled => "tag--cancelled",
        BillStatus::Open | BillStatus::PartiallyPaid => "",
    };
    let balance = bill.balance();
    BillView {
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
        pay: bill.is_payable().then(|| PayButton {
            action: format!("/{}/bills/{}/pay", tenant.slug, bill.id),
            label: t.arg("bill-pay", "amount", balance.format(language)),
        }),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct PayForm {
    #[serde(default)]
    form_token: Option<String>,
}

/// Starts paying a bill. Until the pay service exists this says so plainly.
pub(crate) async fn pay_bill(
    State(state): State<AppState>,
    Path((tenant_slug, bill_id)): Path<(String, String)>,
    ctx: PageContext,
    form: Result<Form<PayForm>, FormRejection>,
) -> Result<Response, PortalError> {
    let tenant = find_tenant(&state, &tenant_slug).await?;
    checked_form(&state, &ctx, form, |f: &PayForm| f.form_token.as_deref())?;
    let bill_id = BillId::parse(&bill_id).map_err(|_| PortalError::NotFound)?;
    state
        .store
        .bill(&tenant.id, &bill_id)
        .await?
        .ok_or(PortalError::NotFound)?;
    let t = ctx.translator(Some(tenant.default_language));
    let title = t.get("pay-unavailable-title");
    let body = t.get("pay-unavailable-body");
    let back = t.get("back");
    Ok(MessagePage {
        layout: Layout::new(t, title, Some(&tenant), ctx.path(), false),
        body,
        link: Some(Link {
            href: format!("/{}/", tenant.slug),
            label: back,
        }),
    }
    .into_response())
}
