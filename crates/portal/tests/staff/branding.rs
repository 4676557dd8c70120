//! Branding: an administrator's accent colour (refused below AA contrast)
//! and logo (refused unless a PNG, JPEG or GIF within the limits; served
//! re-encoded), and how residents' pages carry them.

use super::*;
use civicpay_web::style::hash_source;
use std::io::Cursor;

impl Portal {
    /// Posts `file` as the form's `logo` upload, with the token of `page`.
    async fn upload_as(&self, uri: &str, page: &Page, cookie: &str, file: &[u8]) -> Page {
        self.upload_with_token(uri, &page.form_token(), page, cookie, file)
            .await
    }

    async fn upload_with_token(
        &self,
        uri: &str,
        token: &str,
        page: &Page,
        cookie: &str,
        file: &[u8],
    ) -> Page {
        let boundary = "civicpay-test-boundary-7f3a";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"form_token\"\r\n\r\n{}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"logo\"; filename=\"logo.bin\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n",
            token
        )
        .into_bytes();
        body.extend_from_slice(file);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let form_cookie = form_cookie_or_default(page);
        self.send_with_cookies(
            Request::post(uri)
                .header(
                    header::CONTENT_TYPE,
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(Body::from(body))
                .unwrap(),
            &[cookie, &form_cookie],
        )
        .await
    }
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbaImage::from_fn(width, height, |x, _| {
        image::Rgba([0x1d, (x % 200) as u8, 0xb8, 255])
    });
    let mut out = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

/// The second `<style>` of a page: the city's accent rules.
fn city_style(page: &Page) -> Option<String> {
    let rest = page.body.split("</style>").nth(1)?;
    let text = rest.split_once("<style>")?.1;
    Some(text.to_owned())
}

#[tokio::test]
async fn an_accent_colour_below_aa_contrast_is_refused_and_a_good_one_colours_the_city() {
    on_both(async |db| {
        let portal = Portal::on(db, PortalConfig::default()).await;
        let city = portal.tenant("springfield").await;
        let (_, admin) = session(&portal, Some(&city), Role::Administrator).await;
        let settings = portal.get_as("/springfield/staff/settings", &admin).await;
        assert!(
            settings
                .body
                .contains("/springfield/staff/settings/branding")
        );
        let page = portal
            .get_as("/springfield/staff/settings/branding", &admin)
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let _ = FORM_COOKIE.set(form_cookie_or_default(&page));
        let audits = async || {
            audit_log(
                &portal.store,
                &civicpay_audit::ChainId::Tenant(city.id.clone()),
                Some("setting.changed"),
            )
            .await
            .len()
        };
        let before = audits().await;
        let resident = portal.get("/springfield/").await;
        assert_eq!(city_style(&resident), None, "no accent yet");

        for (typed, why) in [
            ("#ffdd00", "against white"),
            ("#003366", "against the text colour"),
            ("blue", "not a colour"),
        ] {
            let refused = portal
                .post_as(
                    "/springfield/staff/settings/branding",
                    &page,
                    &admin,
                    &[("accent", typed)],
                )
                .await;
            assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{typed}");
            assert!(
                refused.error_summary().contains(why),
                "{typed}: {}",
                refused.error_summary()
            );
            assert!(refused.body.contains(r##"<a href="#accent">"##));
            assert!(refused.body.contains(&format!(r#"value="{typed}""#)));
        }
        assert_eq!(portal.tenant("springfield").await.branding.accent, None);
        assert_eq!(audits().await, before, "nothing refused is written");

        let saved = portal
            .post_as(
                "/springfield/staff/settings/branding",
                &page,
                &admin,
                &[("accent", "#1D70B8")],
            )
            .await;
        assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
        assert!(saved.body.contains(r##"value="#1d70b8""##));
        let entries = audit_log(
            &portal.store,
            &civicpay_audit::ChainId::Tenant(city.id.clone()),
            Some("setting.changed"),
        )
        .await;
        assert_eq!(entries.len(), before + 1);
        assert!(
            entries[0]
                .details
                .contains(r##""accent_colour":{"from":null,"to":"#1d70b8"}"##),
            "{}",
            entries[0].details
        );

        // The city's pages carry the accent in a second <style>, which the
        // CSP allows by its hash and nothing else; another city's do not.
        for path in [
            "/springfield/",
            "/springfield/pay/water",
            "/springfield/staff/settings/branding",
        ] {
            let page = if path.contains("/staff/") {
                portal.get_as(path, &admin).await
            } else {
                portal.get(path).await
            };
            let style = city_style(&page).unwrap_or_else(|| panic!("{path}: no accent"));
            assert!(style.contains("#1d70b8"), "{path}: {style}");
            let csp = page.header("content-security-policy").unwrap();
            assert!(csp.contains(&hash_source(&style)), "{path}: {csp}");
            assert!(csp.contains(civicpay_web::style::stylesheet_hash()));
        }
        let other = portal.get("/lac-vert/").await;
        assert_eq!(city_style(&other), None);
        let csp = other.header("content-security-policy").unwrap();
        assert_eq!(csp.matches("'sha256-").count(), 1, "{csp}");

        // Emptying the field goes back to civicpay's colours.
        portal
            .post_as(
                "/springfield/staff/settings/branding",
                &page,
                &admin,
                &[("accent", "")],
            )
            .await;
        assert_eq!(portal.tenant("springfield").await.branding.accent, None);
        assert_eq!(city_style(&portal.get("/springfield/").await), None);
        portal.finish().await;
    })
    .await;
}

#[tokio::test]
async fn a_logo_that_is_not_an_image_or_too_large_is_refused_and_a_good_one_is_served_re_encoded() {
    on_both(async |db| {
        let portal = Portal::on(db, PortalConfig::default()).await;
        let city = portal.tenant("springfield").await;
        let (_, admin) = session(&portal, Some(&city), Role::Administrator).await;
        let path = "/springfield/staff/settings/branding/logo";
        let page = portal
            .get_as("/springfield/staff/settings/branding", &admin)
            .await;
        let _ = FORM_COOKIE.set(form_cookie_or_default(&page));
        assert!(page.body.contains(r#"enctype="multipart/form-data""#));
        assert!(page.body.contains("No logo yet"));

        let mut too_large = png(10, 10);
        too_large.resize(1024 * 1024 + 1, 0);
        let mut svg =
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>".to_vec();
        svg.extend_from_slice(&[b' '; 64]);
        for (file, why) in [
            (svg, "is not a PNG, JPEG or GIF image"),
            (too_large, "the largest logo taken is 1024 KB"),
            (Vec::new(), "is required"),
        ] {
            let refused = portal.upload_as(path, &page, &admin, &file).await;
            assert_eq!(
                refused.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{why}: {}",
                refused.body
            );
            assert!(
                refused.error_summary().contains(why),
                "{}",
                refused.error_summary()
            );
            assert!(refused.body.contains(r##"<a href="#logo">"##));
        }
        assert_eq!(portal.tenant("springfield").await.branding.logo, None);

        // Without the form's token, nothing is read.
        let forged = portal
            .upload_with_token(path, "forged", &page, &admin, &png(10, 10))
            .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);

        let mut upload = png(960, 96);
        upload.extend_from_slice(b"trailing bytes the portal must not serve");
        let saved = portal.upload_as(path, &page, &admin, &upload).await;
        assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
        let digest = portal.tenant("springfield").await.branding.logo.unwrap();
        let href = format!("/springfield/logo/{digest}.png");
        assert!(saved.body.contains(&href), "the preview");
        let home = portal.get("/springfield/").await;
        assert!(
            home.body.contains(&format!(r#"<img src="{href}" alt="""#)),
            "{}",
            home.body
        );

        let served = portal.get(&href).await;
        assert_eq!(served.status, StatusCode::OK);
        assert_eq!(served.header("content-type"), Some("image/png"));
        assert!(
            served
                .header("cache-control")
                .unwrap()
                .contains("immutable")
        );
        assert_eq!(served.header("x-content-type-options"), Some("nosniff"));
        let decoded = image::load_from_memory(&served.bytes).unwrap();
        assert_eq!(
            (decoded.width(), decoded.height()),
            (480, 48),
            "scaled to fit, aspect kept"
        );
        assert!(!served.bytes.windows(8).any(|w| w == b"trailing"));
        assert_eq!(
            portal
                .get("/springfield/logo/0000000000000000.png")
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            portal
                .get(&href.replace("springfield", "lac-vert"))
                .await
                .status,
            StatusCode::NOT_FOUND
        );

        let entries = audit_log(
            &portal.store,
            &civicpay_audit::ChainId::Tenant(city.id.clone()),
            Some("setting.changed"),
        )
        .await;
        assert!(
            entries[0]
                .details
                .contains(&format!(r#""logo":{{"from":null,"to":"{digest}"}}"#)),
            "{}",
            entries[0].details
        );
        assert!(
            entries[0].details.contains("480 × 48 pixels"),
            "{}",
            entries[0].details
        );

        let removed = portal
            .post_as(
                "/springfield/staff/settings/branding/logo/remove",
                &page,
                &admin,
                &[],
            )
            .await;
        assert_eq!(removed.status, StatusCode::OK, "{}", removed.body);
        assert!(removed.body.contains("No logo yet"));
        assert_eq!(portal.get(&href).await.status, StatusCode::NOT_FOUND);
        assert!(!portal.get("/springfield/").await.body.contains("<img"));

        // A clerk cannot brand the city.
        let (_, clerk) = session(&portal, Some(&city), Role::Clerk).await;
        let denied = portal.upload_as(path, &page, &clerk, &png(10, 10)).await;
        assert_eq!(denied.status, StatusCode::FORBIDDEN);
        portal.finish().await;
    })
    .await;
}
