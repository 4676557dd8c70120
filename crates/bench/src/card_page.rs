//! The card page as pay serves it, in-process: server time per request
//! (hdrhistogram), bytes on the wire and JavaScript bytes; the limit beside
//! it is the same router answering its bare `/healthz`.

use crate::report::line;
use axum::body::Body;
use axum::http::{Request, header};
use civicpay_core::{Currency, TenantId, TenantSlug};
use civicpay_pay::{PayConfig, PayState, app};
use civicpay_store::pay::Merchant;
use civicpay_store::testing::{Schema, TestDb};
use hdrhistogram::Histogram;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower::ServiceExt;

async fn body_of(response: axum::response::Response) -> anyhow::Result<(usize, String)> {
    let headers: usize = response
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await?;
    Ok((
        headers + bytes.len(),
        String::from_utf8_lossy(&bytes).into_owned(),
    ))
}

/// Every byte of every script element, tags included.
fn javascript_bytes(html: &str) -> usize {
    html.split("<script")
        .skip(1)
        .map(|rest| {
            rest.find("</script>")
                .map_or(rest.len(), |end| end + "</script>".len())
                + "<script".len()
        })
        .sum()
}

pub async fn run(requests: u64) -> anyhow::Result<()> {
    let db = TestDb::sqlite_with(Schema::Pay).await?;
    let store = db.pay_store();
    let merchant = Merchant {
        tenant_id: TenantId::generate(),
        slug: TenantSlug::parse("springfield")?,
        name: "City of Springfield".into(),
        currency: Currency::Usd,
        return_origins: vec!["https://city.example".into()],
        suspended: false,
    };
    store.upsert_merchant(&merchant).await?;
    let key = store
        .create_pay_api_key(&merchant.tenant_id, "bench")
        .await?
        .expose()
        .to_owned();
    let connector =
        civicpay_gateway::SimulatorConnector::new("http://127.0.0.1:9", Duration::from_secs(1))?;
    let config = PayConfig {
        public_url: "http://pay.bench".into(),
        ..PayConfig::default()
    };
    let router = app(PayState::new(store, Arc::new(connector), config, [9; 32]));
    let mut page_time = Histogram::<u64>::new(3)?;
    let mut bare_time = Histogram::<u64>::new(3)?;
    let (mut bytes, mut js_bytes) = (0usize, 0usize);
    for i in 0..requests {
        let body = serde_json::json!({"amount": 4200, "currency": "USD", "reference": format!("B-{i}"), "description": "Water bill", "return_url": "https://city.example/return"});
        let created = router
            .clone()
            .oneshot(
                Request::post("/v1/payments")
                    .header(header::AUTHORIZATION, format!("Bearer {key}"))
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(body.to_string()))?,
            )
            .await?;
        let (_, created) = body_of(created).await?;
        let created: serde_json::Value = serde_json::from_str(&created)?;
        let next = created
            .pointer("/_links/next_url/href")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .replace("http://pay.bench", "");
        let started = router
            .clone()
            .oneshot(Request::get(&next).body(Body::empty())?)
            .await?;
        let location = started
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let cookie = started
            .headers()
            .get(header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|c| c.split(';').next())
            .unwrap_or_default()
            .to_owned();
        let clock = Instant::now();
        let page = router
            .clone()
            .oneshot(
                Request::get(&location)
                    .header(header::COOKIE, &cookie)
                    .body(Body::empty())?,
            )
            .await?;
        let (size, html) = body_of(page).await?;
        page_time.record(u64::try_from(clock.elapsed().as_micros()).unwrap_or(u64::MAX))?;
        bytes = size;
        js_bytes = javascript_bytes(&html);
        let clock = Instant::now();
        let bare = router
            .clone()
            .oneshot(Request::get("/healthz").body(Body::empty())?)
            .await?;
        let _ = body_of(bare).await?;
        bare_time.record(u64::try_from(clock.elapsed().as_micros()).unwrap_or(u64::MAX))?;
    }
    let p50 = page_time.value_at_quantile(0.5);
    line(
        "card page server time p50 / p99 (µs)",
        format!("{p50} / {}", page_time.value_at_quantile(0.99)),
        format!(
            "{} / {} (bare route)",
            bare_time.value_at_quantile(0.5),
            bare_time.value_at_quantile(0.99)
        ),
        Some(bare_time.value_at_quantile(0.5) as f64 / p50.max(1) as f64),
    );
    line(
        "card page bytes (headers + body)",
        bytes.to_string(),
        "20480 (target)".into(),
        None,
    );
    line(
        "card page JavaScript bytes",
        js_bytes.to_string(),
        "0 (target)".into(),
        None,
    );
    db.finish().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_planted_script_is_counted() {
        assert_eq!(
            javascript_bytes("<html><body><p>no script</p></body></html>"),
            0
        );
        let planted = "<script>steal()</script>";
        assert_eq!(
            javascript_bytes(&format!("<head>{planted}</head>")),
            planted.len()
        );
    }
}
