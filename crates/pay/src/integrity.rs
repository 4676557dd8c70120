//! What the card page must look like to a browser, and the check that it
//! does. The build script hashes every template, the stylesheet and the
//! translations; [`build_id`] names this build (version, commit, manifest
//! hash) and every card page says it in a header and every card attempt
//! records it. [`Manifest`] adds the exact security headers and the
//! normalised structure of the page (form action, fields, every element
//! that can load or run something), and [`compare`] lists every way an
//! observed page differs: the monitor's job (PCI DSS 4.0 req. 11.6.1).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::LazyLock;

include!(concat!(env!("OUT_DIR"), "/build_manifest.rs"));

/// The header on every card page naming the build that served it.
pub const BUILD_HEADER: &str = "civicpay-build";

/// The response headers the manifest pins exactly.
pub const PINNED_HEADERS: [&str; 8] = [
    "content-security-policy",
    "x-content-type-options",
    "referrer-policy",
    "x-frame-options",
    "permissions-policy",
    "cache-control",
    "strict-transport-security",
    BUILD_HEADER,
];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn manifest_hash() -> String {
    let mut hasher = Sha256::new();
    for (path, hash) in ASSETS {
        hasher.update(path.as_bytes());
        hasher.update([0]);
        hasher.update(hash.as_bytes());
        hasher.update([b'\n']);
    }
    hex(&hasher.finalize())
}

static BUILD_ID: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{}+{}.{}",
        env!("CARGO_PKG_VERSION"),
        GIT_COMMIT.get(..12).unwrap_or(GIT_COMMIT),
        manifest_hash().get(..16).unwrap_or_default()
    )
});

/// This build's name: version, git commit and the hash of its assets.
pub fn build_id() -> &'static str {
    &BUILD_ID
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asset {
    pub path: String,
    pub sha256: String,
}

/// The parts of a page that decide what a browser loads, runs and sends
/// where, with values that change per payment (ids, tokens) normalised away.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageStructure {
    pub form_actions: Vec<String>,
    pub fields: Vec<String>,
    /// Every `script`, `link`, `style`, `iframe`, `frame`, `object`,
    /// `embed`, `base`, `img` and `meta http-equiv`, with its attributes
    /// (and the SHA-256 of inline content). Only the stylesheet belongs.
    pub elements: Vec<String>,
}

/// What this build's card page must be, as a browser receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub build_id: String,
    pub version: String,
    pub commit: String,
    pub assets: Vec<Asset>,
    pub card_page: PageExpectation,
    /// The page as a signed-in resident with a saved card sees it (when
    /// saved cards are enabled).
    #[serde(default)]
    pub saved_card_page: Option<PageExpectation>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageExpectation {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    pub structure: PageStructure,
}

pub fn assets() -> Vec<Asset> {
    ASSETS
        .iter()
        .map(|(path, sha256)| Asset {
            path: (*path).to_owned(),
            sha256: (*sha256).to_owned(),
        })
        .collect()
}

fn normalise_ids(value: &str) -> String {
    value
        .split('/')
        .map(|part| {
            if uuid_like(part) {
                "{id}".to_owned()
            } else {
                part.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

fn describe(element: scraper::ElementRef<'_>, skip: &[&str]) -> String {
    let mut attrs: Vec<String> = element
        .value()
        .attrs()
        .filter(|(name, _)| !skip.contains(name))
        .map(|(name, value)| format!("{name}={}", normalise_ids(value)))
        .collect();
    attrs.sort();
    let mut text = element.value().name().to_owned();
    for a in attrs {
        text.push(' ');
        text.push_str(&a);
    }
    let inline: String = element.text().collect();
    if !inline.trim().is_empty() && matches!(element.value().name(), "script" | "style") {
        text.push_str(&format!(
            " sha256={}",
            hex(&Sha256::digest(inline.as_bytes()))
        ));
    }
    text
}

/// The page's structure, read the way a browser parses it (html5ever).
pub fn page_structure(html: &str) -> PageStructure {
    let document = scraper::Html::parse_document(html);
    let select = |css: &str| scraper::Selector::parse(css).ok();
    let mut structure = PageStructure::default();
    if let Some(forms) = select("form") {
        structure.form_actions = document
            .select(&forms)
            .map(|f| {
                format!(
                    "{} {}",
                    f.value().attr("method").unwrap_or("get").to_lowercase(),
                    normalise_ids(f.value().attr("action").unwrap_or(""))
                )
            })
            .collect();
    }
    if let Some(fields) = select("input, select, textarea, button") {
        structure.fields = document
            .select(&fields)
            .map(|f| describe(f, &["value", "aria-describedby", "aria-invalid", "class"]))
            .collect();
    }
    if let Some(active) = select(
        "script, link, style, iframe, frame, object, embed, base, img, meta[http-equiv], svg, math",
    ) {
        structure.elements = document.select(&active).map(|e| describe(e, &[])).collect();
    }
    structure
}

/// What the monitor saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedPage {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    pub structure: PageStructure,
}

impl ObservedPage {
    /// Keeps the pinned headers (lower-cased names) and reads the body.
    pub fn new<'a>(
        status: u16,
        headers: impl IntoIterator<Item = (&'a str, &'a str)>,
        body: &str,
    ) -> Self {
        let headers = headers
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned()))
            .filter(|(k, _)| PINNED_HEADERS.contains(&k.as_str()))
            .collect();
        ObservedPage {
            status,
            headers,
            structure: page_structure(body),
        }
    }
}

fn list_differences(what: &str, expected: &[String], observed: &[String], out: &mut Vec<String>) {
    for e in expected.iter().filter(|e| !observed.contains(e)) {
        out.push(format!("{what} missing: expected {e}"));
    }
    for o in observed.iter().filter(|o| !expected.contains(o)) {
        out.push(format!("{what} added: {o}"));
    }
}

/// Every difference between the page a browser received and the manifest,
/// in words a security officer can act on; empty when the page is exactly
/// what the build should send.
pub fn compare(manifest: &Manifest, observed: &ObservedPage) -> Vec<String> {
    compare_page(manifest, &manifest.card_page, observed)
}

/// As [`compare`], for the page a resident with a saved card sees.
pub fn compare_saved_card(manifest: &Manifest, observed: &ObservedPage) -> Vec<String> {
    match &manifest.saved_card_page {
        Some(expected) => compare_page(manifest, expected, observed),
        None => vec!["the manifest has no saved-card page to compare with".to_owned()],
    }
}

fn compare_page(
    manifest: &Manifest,
    expected: &PageExpectation,
    observed: &ObservedPage,
) -> Vec<String> {
    let mut out = Vec::new();
    if observed.status != expected.status {
        out.push(format!(
            "status: expected {}, got {}",
            expected.status, observed.status
        ));
    }
    for name in PINNED_HEADERS {
        match (expected.headers.get(name), observed.headers.get(name)) {
            (Some(e), Some(o)) if e != o => {
                out.push(format!("header {name}: expected {e:?}, got {o:?}"))
            }
            (Some(e), None) => out.push(format!("header {name}: missing (expected {e:?})")),
            (None, Some(o)) => out.push(format!("header {name}: unexpected {o:?}")),
            _ => {}
        }
    }
    list_differences(
        "form",
        &expected.structure.form_actions,
        &observed.structure.form_actions,
        &mut out,
    );
    list_differences(
        "field",
        &expected.structure.fields,
        &observed.structure.fields,
        &mut out,
    );
    list_differences(
        "element",
        &expected.structure.elements,
        &observed.structure.elements,
        &mut out,
    );
    // The inline stylesheet must be byte for byte a stylesheet this build ships.
    for element in observed
        .structure
        .elements
        .iter()
        .filter(|e| e.starts_with("style"))
    {
        let known = manifest.assets.iter().any(|a| {
            a.path.ends_with(".css") && element.ends_with(&format!("sha256={}", a.sha256))
        });
        if !known {
            out.push(format!(
                "element {element}: its content matches no asset of build {}",
                manifest.build_id
            ));
        }
    }
    out
}

/// This build's manifest, read off its own card page: a probe served
/// in-process with the deployment's configuration (`state`), for a city
/// pay knows.
pub async fn manifest(
    state: crate::PayState,
    tenant: &civicpay_core::TenantId,
) -> Result<Manifest, crate::PayError> {
    let merchant = state
        .store
        .merchant(tenant)
        .await?
        .ok_or(crate::PayError::NotFound)?;
    let observed = open_probe(&state, &merchant, crate::probes::ProbeShape::default()).await?;
    let saved_card_page = match state.vault {
        None => None,
        Some(_) => {
            let shape = crate::probes::ProbeShape {
                saved_card: Some(true),
                ..crate::probes::ProbeShape::default()
            };
            let saved = open_probe(&state, &merchant, shape).await?;
            Some(PageExpectation {
                status: saved.status,
                headers: saved.headers,
                structure: saved.structure,
            })
        }
    };
    Ok(Manifest {
        build_id: build_id().to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        commit: GIT_COMMIT.to_owned(),
        assets: assets(),
        card_page: PageExpectation {
            status: observed.status,
            headers: observed.headers,
            structure: observed.structure,
        },
        saved_card_page,
    })
}

/// A probe of `shape`, opened in-process as a payer's browser opens a
/// payment: the one-time link, then the page it leads to with its cookie.
async fn open_probe(
    state: &crate::PayState,
    merchant: &civicpay_store::pay::Merchant,
    shape: crate::probes::ProbeShape,
) -> Result<ObservedPage, crate::PayError> {
    use tower::ServiceExt;
    let (_, link) = crate::probes::create(state, merchant, shape).await?;
    let app = crate::app(state.clone());
    let request = axum::http::Request::get(link)
        .body(axum::body::Body::empty())
        .map_err(|_| crate::PayError::Internal("cannot build the probe request"))?;
    let opened = app
        .clone()
        .oneshot(request)
        .await
        .map_err(|_| crate::PayError::Internal("the probe request failed"))?;
    let (page, cookie) = {
        let header = |name| {
            opened
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        (
            header(axum::http::header::LOCATION),
            header(axum::http::header::SET_COOKIE),
        )
    };
    drop(opened);
    let (Some(page), Some(cookie)) = (page, cookie) else {
        return Err(crate::PayError::Internal(
            "the probe link did not open a card page",
        ));
    };
    let cookie = cookie.split(';').next().unwrap_or_default().to_owned();
    let request = axum::http::Request::get(page)
        .header(axum::http::header::COOKIE, cookie)
        .body(axum::body::Body::empty())
        .map_err(|_| crate::PayError::Internal("cannot build the probe request"))?;
    let response = app
        .oneshot(request)
        .await
        .map_err(|_| crate::PayError::Internal("the probe request failed"))?;
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .map_err(|_| crate::PayError::Internal("cannot read the probe page"))?;
    Ok(ObservedPage::new(
        parts.status.as_u16(),
        parts
            .headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?))),
        &String::from_utf8_lossy(&body),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_id_names_version_commit_and_assets() {
        let id = build_id();
        assert!(id.starts_with(env!("CARGO_PKG_VERSION")), "{id}");
        assert!(assets().iter().any(|a| a.path == "pay/templates/card.html"));
        assert!(assets().iter().any(|a| a.path == "web/assets/site.css"));
        assert!(assets().iter().all(|a| a.sha256.len() == 64));
    }

    #[test]
    fn structure_ignores_per_payment_values_but_not_scripts() {
        let page = |action: &str, extra: &str| {
            format!(
                "<html><head><style>p{{}}</style>{extra}</head><body><form method=\"post\" action=\"{action}\">\
                 <input type=\"hidden\" name=\"form_token\" value=\"abc\"><input name=\"card_number\" autocomplete=\"cc-number\"></form></body></html>"
            )
        };
        let a = page_structure(&page(
            "/card/0194a1a2-0000-7000-8000-000000000001/0194a1a2-0000-7000-8000-000000000002",
            "",
        ));
        let b = page_structure(&page(
            "/card/0194a1a2-0000-7000-8000-00000000000a/0194a1a2-0000-7000-8000-00000000000b",
            "",
        ));
        assert_eq!(a, b);
        assert_eq!(a.form_actions, vec!["post /card/{id}/{id}".to_owned()]);
        let skimmed = page_structure(&page(
            "/card/x",
            "<script src=\"https://evil.example/s.js\"></script>",
        ));
        assert_ne!(a.elements, skimmed.elements);
        assert!(skimmed.elements.iter().any(|e| e.contains("evil.example")));
    }
}
