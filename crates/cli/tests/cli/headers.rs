//! Security headers on every route of both services, over HTTP and as
//! served behind TLS: one table of what must be there, checked against the
//! portal's and pay's route tables (and a few paths outside them).

use reqwest::header::HeaderMap;

/// What every response of either service carries.
const EVERY_RESPONSE: [(&str, &str); 7] = [
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
    ("cache-control", "no-store"),
    ("permissions-policy", "camera=()"),
];

/// Directives every policy has; `'unsafe-inline'` and scripts never.
const POLICY: [&str; 4] = [
    "default-src 'none'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
];

const HSTS: &str = "max-age=63072000; includeSubDomains";

/// Every rule `headers` breaks, for a response served `over_tls`.
fn broken(headers: &HeaderMap, over_tls: bool, report_uri: Option<&str>) -> Vec<String> {
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let mut broken = Vec::new();
    for (name, wanted) in EVERY_RESPONSE {
        if !value(name).is_some_and(|v| v.contains(wanted)) {
            broken.push(format!("{name}: {:?}, wanted {wanted}", value(name)));
        }
    }
    let policy = value("content-security-policy").unwrap_or_default();
    for directive in POLICY.iter().copied().chain(report_uri) {
        if !policy.contains(directive) {
            broken.push(format!(
                "content-security-policy lacks {directive}: {policy:?}"
            ));
        }
    }
    if policy.contains("unsafe") || policy.contains("script-src") {
        broken.push(format!("content-security-policy allows scripts: {policy}"));
    }
    match (over_tls, value("strict-transport-security")) {
        (true, Some(HSTS)) | (false, None) => {}
        (tls, hsts) => broken.push(format!("served over TLS {tls}, HSTS {hsts:?}")),
    }
    broken
}

fn concrete(path: &str) -> String {
    path.split('/')
        .map(|part| match part {
            "{tenant}" => "springfield",
            p if p.starts_with('{') => "00000000-0000-0000-0000-000000000000",
            p => p,
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn portal_paths() -> Vec<String> {
    let mut paths: Vec<String> = [
        "/",
        "/healthz",
        "/favicon.ico",
        "/springfield",
        "/springfield/",
        "/springfield/pay/water",
        "/springfield/bills/{bill}/pay",
        "/springfield/payments/{payment}/return",
        "/api/v1/bills",
        "/api/v1/pay-webhooks/springfield",
        "/springfield/account",
        "/springfield/account/sign-up",
        "/springfield/account/verify/{token}",
        "/springfield/account/sign-in",
        "/springfield/account/reset",
        "/springfield/account/reset/{token}",
        "/springfield/account/confirm-email/{token}",
        "/springfield/account/second-factor",
        "/springfield/account/goodbye",
        "/no/such/page",
    ]
    .into_iter()
    .map(concrete)
    .collect();
    paths.extend(
        civicpay_portal::account::ROUTES
            .iter()
            .map(|p| concrete(&format!("/springfield/account{p}"))),
    );
    for (prefix, routes) in [
        ("/springfield/staff", &civicpay_portal::staff::ROUTES[..]),
        ("/staff", &civicpay_portal::staff::PLATFORM_ROUTES[..]),
    ] {
        for page in ["/sign-in", "/second-factor", "/enrol/{token}", "/sign-out"] {
            paths.push(concrete(&format!("{prefix}{page}")));
        }
        paths.extend(
            routes
                .iter()
                .map(|r| concrete(&format!("{prefix}{}", r.path))),
        );
    }
    paths
}

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
    });
    format!("http://{addr}")
}

async fn check_every_route(over_tls: bool) -> Vec<String> {
    let db = civicpay_store::testing::TestDb::sqlite().await.unwrap();
    civicpay_store::demo::seed(&db.store, 1).await.unwrap();
    let portal = civicpay_portal::app(civicpay_portal::AppState::new(
        db.store.clone(),
        civicpay_portal::PortalConfig {
            served_over_tls: over_tls,
            ..civicpay_portal::PortalConfig::default()
        },
        [1; 32],
    ));
    let connector = civicpay_gateway::SimulatorConnector::new(
        "http://127.0.0.1:9",
        std::time::Duration::from_secs(1),
    )
    .unwrap();
    let pay = civicpay_pay::app(civicpay_pay::PayState::new(
        db.pay_store(),
        std::sync::Arc::new(connector),
        civicpay_pay::PayConfig {
            served_over_tls: over_tls,
            ..civicpay_pay::PayConfig::default()
        },
        [2; 32],
    ));
    let services = [
        ("portal", serve(portal).await, portal_paths(), None),
        (
            "pay",
            serve(pay).await,
            civicpay_pay::paths()
                .map(concrete)
                .chain(["/no/such/page".to_owned()])
                .collect(),
            Some("report-uri /csp-reports"),
        ),
    ];
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut failures = Vec::new();
    let mut checked = 0;
    for (service, base, paths, report_uri) in services {
        for path in paths {
            for method in [reqwest::Method::GET, reqwest::Method::POST] {
                let response = client
                    .request(method.clone(), format!("{base}{path}"))
                    .send()
                    .await
                    .unwrap();
                checked += 1;
                for rule in broken(response.headers(), over_tls, report_uri) {
                    failures.push(format!(
                        "{service} {method} {path} ({}): {rule}",
                        response.status()
                    ));
                }
            }
        }
    }
    assert!(checked > 100, "only {checked} responses checked");
    db.finish().await;
    failures
}

#[test]
fn every_route_of_both_services_sends_the_security_headers() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for over_tls in [false, true] {
        let failures = runtime.block_on(check_every_route(over_tls));
        assert!(
            failures.is_empty(),
            "over TLS {over_tls}:\n{}",
            failures.join("\n")
        );
    }
}

/// The checker itself finds a response with nothing, and one with a single
/// header missing or a script allowed.
#[test]
fn the_header_check_finds_what_is_missing() {
    let empty = HeaderMap::new();
    assert_eq!(
        broken(&empty, true, None).len(),
        EVERY_RESPONSE.len() + POLICY.len() + 1
    );
    let mut good = HeaderMap::new();
    for (name, value) in EVERY_RESPONSE {
        good.insert(name, value.parse().unwrap());
    }
    good.insert(
        "content-security-policy",
        POLICY.join("; ").parse().unwrap(),
    );
    assert!(broken(&good, false, None).is_empty());
    assert_eq!(broken(&good, true, None).len(), 1, "HSTS missing over TLS");
    let mut scripted = good.clone();
    scripted.insert(
        "content-security-policy",
        format!("{}; script-src 'unsafe-inline'", POLICY.join("; "))
            .parse()
            .unwrap(),
    );
    assert_eq!(broken(&scripted, false, None).len(), 1);
    let mut no_frame = good;
    no_frame.remove("x-frame-options");
    assert_eq!(broken(&no_frame, false, None).len(), 1);
}
