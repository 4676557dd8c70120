//! A city administrator's bill type pages: checked like the city file,
//! saved with one audit entry per changed field, and a type taken off line
//! leaves residents' pages but not staff's.

use super::*;

#[tokio::test]
async fn an_administrator_edits_a_bill_type_and_takes_one_off_line() {
    on_both(async |db| {
        let portal = Portal::on(db, PortalConfig::default()).await;
        let city = portal.tenant("springfield").await;
        let (_, admin) = session(&portal, Some(&city), Role::Administrator).await;
        let settings = portal.get_as("/springfield/staff/settings", &admin).await;
        assert!(
            settings
                .body
                .contains("/springfield/staff/settings/bill-types")
        );
        let list = portal
            .get_as("/springfield/staff/settings/bill-types", &admin)
            .await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.body);
        let types = portal.store.bill_types(&city.id).await.unwrap();
        for b in &types {
            assert!(
                list.body.contains(&format!(
                    "/springfield/staff/settings/bill-types/{}",
                    b.slug
                )),
                "{}",
                b.slug
            );
        }
        let permits = types
            .iter()
            .find(|b| b.slug.as_str() == "permits")
            .unwrap()
            .clone();
        let path = "/springfield/staff/settings/bill-types/permits";
        let page = portal.get_as(path, &admin).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(
            page.body
                .contains(&format!(r#"value="{}""#, permits.gl_code))
        );
        assert!(
            page.body
                .contains(r#"id="active" name="active" value="yes" checked"#),
            "{}",
            page.body
        );
        let _ = FORM_COOKIE.set(form_cookie_or_default(&page));
        let chain = civicpay_audit::ChainId::Tenant(city.id.clone());
        let audits = async || audit_log(&portal.store, &chain, Some("bill_type.changed")).await;
        let before = audits().await.len();

        let refused = portal
            .post_as(
                path,
                &page,
                &admin,
                &[
                    ("name_en", " "),
                    ("name_fr", "Permis de construire"),
                    ("reference_label", "permit_number"),
                    ("verification", "no_such_kind"),
                    ("gl_code", ""),
                    ("partial", "yes"),
                    ("partial_minimum", "abc"),
                    ("active", "yes"),
                ],
            )
            .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            refused.body
        );
        for id in ["name_en", "verification", "gl_code", "partial_minimum"] {
            assert!(
                refused
                    .error_summary()
                    .contains(&format!(r##"<a href="#{id}">"##)),
                "{id}: {}",
                refused.error_summary()
            );
        }
        assert!(
            refused.error_summary().contains("GL code: is required"),
            "{}",
            refused.error_summary()
        );
        assert!(
            refused.body.contains(r#"value="abc""#),
            "what was typed is kept"
        );
        assert_eq!(portal.store.bill_types(&city.id).await.unwrap(), types);
        assert_eq!(audits().await.len(), before, "nothing refused is written");

        let fields = [
            ("name_en", "Building permit"),
            ("name_fr", "Permis de bâtir"),
            ("name_es", ""),
            ("reference_label", "permit_number"),
            ("verification", permits.verification.code()),
            ("gl_code", "100-3221"),
            ("partial", "yes"),
            ("partial_minimum", "50.00"),
        ];
        for _ in 0..2 {
            let saved = portal.post_as(path, &page, &admin, &fields).await;
            assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
            assert!(saved.body.contains("Saved."));
        }
        let entries = audits().await;
        let paths: Vec<&str> = entries[..entries.len() - before]
            .iter()
            .map(|e| e.target.as_str())
            .collect();
        assert_eq!(
            paths.len(),
            4,
            "one entry per changed field, once: {paths:?}"
        );
        for field in ["name", "gl_code", "partial", "active"] {
            assert!(
                paths.contains(&format!("bill_type.permits.{field}").as_str()),
                "{paths:?}"
            );
        }
        let gl = entries
            .iter()
            .find(|e| e.target.ends_with("gl_code"))
            .unwrap();
        assert!(
            gl.details.contains(&format!(
                r#"{{"from":"{}","to":"100-3221"}}"#,
                permits.gl_code
            )),
            "{}",
            gl.details
        );
        let after = portal
            .store
            .bill_types(&city.id)
            .await
            .unwrap()
            .into_iter()
            .find(|b| b.slug.as_str() == "permits")
            .unwrap();
        assert!(!after.active);
        assert_eq!(
            after.name.exact(civicpay_core::Language::Fr),
            Some("Permis de bâtir")
        );
        assert_eq!(
            after.name.exact(civicpay_core::Language::Es),
            None,
            "emptied"
        );
        assert_eq!(after.partial.unwrap().minimum.minor(), 5_000);
        assert_eq!(
            (after.id, after.kind, &after.fees),
            (permits.id.clone(), permits.kind, &permits.fees)
        );

        // Residents no longer see it; an old link says so and whom to call.
        let home = portal.get("/springfield/").await;
        assert!(!home.body.contains("/springfield/pay/permits"));
        assert!(home.body.contains("/springfield/pay/water"));
        let old_link = portal.get("/springfield/pay/permits").await;
        assert_eq!(old_link.status, StatusCode::NOT_FOUND);
        assert!(
            old_link.body.contains("not paid online now"),
            "{}",
            old_link.body
        );
        assert!(old_link.body.contains(&city.contact.phone));
        // A bill page opened before cannot start a payment either.
        let (_, _, bill) = portal.sample_bill("springfield", "permits").await;
        let form = portal.get("/springfield/pay/water").await;
        let started = portal
            .post_form(&format!("/springfield/bills/{}/pay", bill.id), &form, &[])
            .await;
        assert_eq!(started.status, StatusCode::NOT_FOUND, "{}", started.body);
        assert!(started.body.contains("not paid online now"));
        // Staff still reach it.
        let staff_list = portal
            .get_as("/springfield/staff/settings/bill-types", &admin)
            .await;
        assert!(staff_list.body.contains("No (staff only)"));

        let exported = civicpay_core::city_file::export(
            &portal.tenant("springfield").await,
            &portal.store.bill_types(&city.id).await.unwrap(),
        )
        .unwrap();
        assert!(exported.contains("active = false"), "{exported}");
        assert!(exported.contains("100-3221"), "{exported}");

        // Not a clerk's to change, nor another city's type.
        let (_, clerk) = session(&portal, Some(&city), Role::Clerk).await;
        let denied = portal.post_as(path, &page, &clerk, &fields).await;
        assert_eq!(denied.status, StatusCode::FORBIDDEN);
        let other = portal
            .get_as("/springfield/staff/settings/bill-types/eau", &admin)
            .await;
        assert_eq!(
            other.status,
            StatusCode::NOT_FOUND,
            "Lac-Vert's water is not Springfield's"
        );
        portal.finish().await;
    })
    .await;
}
