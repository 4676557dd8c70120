//! Resident accounts over HTTP, on SQLite and PostgreSQL: sign-up with
//! e-mail verification, messages that do not reveal who is registered,
//! lock-out and reset, linking with proof, history and receipts, e-mail
//! change and deletion, and the guard on every signed-in route.

use super::*;
use civicpay_core::{BillReference, ResidentId, Tenant};
use civicpay_pay_api::{CardSummary, PaymentOutcome};
use civicpay_portal::account::{RESIDENT_COOKIE, ROUTES};
use civicpay_portal::{Mail, MailConfig};
use civicpay_testkit::outbox;
use civicpay_testkit::tempdir::Dir;
use std::collections::BTreeMap;

const PASSWORD: &str = "maple lantern quietly forty herons";
const HOME: &str = "/springfield/account/";

struct Town {
    portal: Portal,
    outbox: Dir,
}

impl Town {
    async fn on(db: TestDb) -> Town {
        let outbox = Dir::new("civicpay-outbox");
        let config = outbox_config(&outbox);
        Town {
            portal: Portal::on(db, config).await,
            outbox,
        }
    }

    fn visitor(&self) -> Visitor<'_> {
        Visitor {
            portal: &self.portal,
            jar: BTreeMap::new(),
            last: None,
        }
    }

    fn mail_to(&self, address: &str) -> Vec<outbox::Email> {
        outbox::to(self.outbox.path(), address)
    }

    /// The mail to `address` once more than `before` have arrived: some
    /// mail is sent after the answer.
    async fn next_mail_to(&self, address: &str, before: usize) -> Vec<outbox::Email> {
        for _ in 0..100 {
            let mail = self.mail_to(address);
            if mail.len() > before {
                return mail;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("no new mail to {address}");
    }

    async fn springfield(&self) -> Tenant {
        self.portal
            .store
            .tenant_by_slug(&TenantSlug::parse("springfield").unwrap())
            .await
            .unwrap()
            .unwrap()
    }

    /// A verified resident, signed in.
    async fn resident(&self, email: &str) -> Visitor<'_> {
        let mut v = self.visitor();
        v.sign_up(email, PASSWORD).await;
        let link = outbox::link(self.mail_to(email).last().unwrap(), "/verify/");
        let verified = v.get(&path_of(&link)).await;
        assert_eq!(verified.status, StatusCode::SEE_OTHER);
        let signed_in = v.sign_in(email, PASSWORD).await;
        assert_eq!(
            signed_in.status,
            StatusCode::SEE_OTHER,
            "{}",
            signed_in.body
        );
        v
    }

    async fn finish(self) {
        self.portal.finish().await;
    }
}

fn path_of(url: &str) -> String {
    url.strip_prefix("http://portal.test").unwrap().to_owned()
}

/// One browser: a cookie jar and the last page with a form on it.
struct Visitor<'a> {
    portal: &'a Portal,
    jar: BTreeMap<String, String>,
    last: Option<String>,
}

impl Visitor<'_> {
    fn cookies(&self) -> String {
        self.jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, page: &Page) {
        for cookie in page.headers.get_all(header::SET_COOKIE) {
            let pair = cookie.to_str().unwrap().split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            if v.is_empty() {
                self.jar.remove(k);
            } else {
                self.jar.insert(k.to_owned(), v.to_owned());
            }
        }
        if page.body.contains("name=\"form_token\"") {
            self.last = Some(page.form_token());
        }
    }

    async fn get(&mut self, uri: &str) -> Page {
        let mut request = Request::get(uri).body(Body::empty()).unwrap();
        if !self.jar.is_empty() {
            request
                .headers_mut()
                .insert(header::COOKIE, self.cookies().parse().unwrap());
        }
        let page = self.portal.send(request).await;
        self.keep(&page);
        page
    }

    /// Posts a form from `uri`'s own page, as a browser would.
    async fn submit(&mut self, uri: &str, fields: &[(&str, &str)]) -> Page {
        let form = self.get(uri).await;
        assert_eq!(form.status, StatusCode::OK, "{uri}: {}", form.body);
        self.post(uri, fields).await
    }

    async fn post(&mut self, uri: &str, fields: &[(&str, &str)]) -> Page {
        let token = self.last.clone().unwrap_or_default();
        let mut body = form_urlencoded(&[("form_token", token.as_str())]);
        body.push('&');
        body.push_str(&form_urlencoded(fields));
        let request = Request::post(uri)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, self.cookies())
            .body(Body::from(body))
            .unwrap();
        let page = self.portal.send(request).await;
        self.keep(&page);
        page
    }

    async fn sign_up(&mut self, email: &str, password: &str) -> Page {
        self.submit(
            "/springfield/account/sign-up",
            &[("email", email), ("password", password)],
        )
        .await
    }

    async fn sign_in(&mut self, email: &str, password: &str) -> Page {
        self.submit(
            "/springfield/account/sign-in",
            &[("email", email), ("password", password)],
        )
        .await
    }

    fn signed_in(&self) -> bool {
        self.jar.contains_key(RESIDENT_COOKIE)
    }
}

/// The page without what differs from one request to the next.
fn without_tokens(body: &str) -> String {
    body.split("name=\"form_token\" value=\"")
        .map(|part| part.split_once('"').map_or(part, |(_, rest)| rest))
        .collect::<Vec<_>>()
        .join("")
}

async fn sign_up_verify_sign_in_and_out(db: TestDb) {
    let town = Town::on(db).await;
    let mut ana = town.visitor();
    let away = ana.get(HOME).await;
    assert_eq!(
        away.header("location"),
        Some("/springfield/account/sign-in")
    );

    let weak = ana.sign_up("ana@example.org", "password1234").await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        weak.error_summary().contains("stronger password"),
        "{}",
        weak.body
    );
    let bad_email = ana.sign_up("ana@", PASSWORD).await;
    assert!(
        bad_email
            .error_summary()
            .contains("e-mail address in the right form")
    );
    assert!(town.mail_to("ana@example.org").is_empty());

    let sent = ana.sign_up("Ana@Example.org", PASSWORD).await;
    assert_eq!(sent.status, StatusCode::OK);
    assert!(sent.body.contains("Check your e-mail"));
    let early = ana.sign_in("ana@example.org", PASSWORD).await;
    assert_eq!(
        early.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unconfirmed"
    );

    let mails = town.mail_to("ana@example.org");
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert!(
        mail.subject.starts_with("Confirm your e-mail address"),
        "{}",
        mail.subject
    );
    let html = mail.html.as_deref().expect("an HTML part beside the text");
    assert!(
        !html.contains("<img") && !html.contains("src="),
        "no tracking: {html}"
    );
    let link = outbox::link(mail, "/verify/");
    assert!(html.contains(&link), "the same link in both parts");
    let verified = ana.get(&path_of(&link)).await;
    assert_eq!(
        verified.header("location"),
        Some("/springfield/account/sign-in?done=verified")
    );
    let again = ana.get(&path_of(&link)).await;
    assert!(
        again.body.contains("This link no longer works"),
        "single use"
    );

    let signed = ana.sign_in("ana@example.org", PASSWORD).await;
    assert_eq!(signed.header("location"), Some(HOME));
    let cookie = signed
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|c| c.to_str().unwrap().to_owned())
        .find(|c| c.starts_with(RESIDENT_COOKIE))
        .unwrap();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/springfield/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    let home = ana.get(HOME).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("Signed in as ana@example.org"));

    // The session stays in its city.
    let elsewhere = ana.get("/lac-vert/account/").await;
    assert_eq!(elsewhere.status, StatusCode::SEE_OTHER);

    // Signing out needs the form token, like every form.
    ana.last = Some("forged".into());
    let forged = ana.post("/springfield/account/sign-out", &[]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    ana.get(HOME).await;
    let out = ana.post("/springfield/account/sign-out", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(!ana.signed_in());
    assert_eq!(ana.get(HOME).await.status, StatusCode::SEE_OTHER);
    town.finish().await;
}

#[tokio::test]
async fn residents_sign_up_verify_and_sign_in() {
    on_both(sign_up_verify_sign_in_and_out).await;
}

async fn no_message_reveals_a_registration(db: TestDb) {
    let town = Town::on(db).await;
    let _ana = town.resident("ana@example.org").await;

    let mut stranger = town.visitor();
    let known = stranger.sign_up("ana@example.org", PASSWORD).await;
    let unknown = stranger.sign_up("new@example.org", PASSWORD).await;
    assert_eq!(known.status, unknown.status);
    assert_eq!(without_tokens(&known.body), without_tokens(&unknown.body));
    let warned = town.mail_to("ana@example.org");
    assert!(
        warned
            .last()
            .unwrap()
            .subject
            .starts_with("Someone tried to create an account"),
        "the owner is told, with a way back in"
    );
    outbox::link(warned.last().unwrap(), "/springfield/account/reset");

    let known = stranger
        .submit(
            "/springfield/account/reset",
            &[("email", "ana@example.org")],
        )
        .await;
    let unknown = stranger
        .submit(
            "/springfield/account/reset",
            &[("email", "nobody@example.org")],
        )
        .await;
    assert_eq!(without_tokens(&known.body), without_tokens(&unknown.body));
    assert!(town.mail_to("nobody@example.org").is_empty());

    let wrong = stranger
        .sign_in("ana@example.org", "not the password at all")
        .await;
    let nobody = stranger
        .sign_in("nobody@example.org", "not the password at all")
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wrong.error_summary(), nobody.error_summary());
    assert_eq!(
        without_tokens(&wrong.body).replace("ana@example.org", "<typed>"),
        without_tokens(&nobody.body).replace("nobody@example.org", "<typed>"),
        "only the address typed differs"
    );
    town.finish().await;
}

#[tokio::test]
async fn no_message_says_whether_an_address_is_registered() {
    on_both(no_message_reveals_a_registration).await;
}

async fn lock_out_and_reset(db: TestDb) {
    let town = Town::on(db).await;
    let mut ana = town.resident("ana@example.org").await;
    let mut thief = town.visitor();
    for _ in 0..5 {
        let failed = thief
            .sign_in("ana@example.org", "wrong guess number one")
            .await;
        assert_eq!(failed.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let locked = thief.sign_in("ana@example.org", PASSWORD).await;
    assert_eq!(
        locked.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "locked even with the right password"
    );

    let mut owner = town.visitor();
    let before = town.mail_to("ana@example.org").len();
    owner
        .submit(
            "/springfield/account/reset",
            &[("email", "ana@example.org")],
        )
        .await;
    let link = outbox::link(
        town.next_mail_to("ana@example.org", before)
            .await
            .last()
            .unwrap(),
        "/reset/",
    );
    let path = path_of(&link);
    let weak = owner.submit(&path, &[("password", "short")]).await;
    assert_eq!(
        weak.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the link is not spent on a weak password"
    );
    let new_password = "copper kettle whistles under seven moons";
    let done = owner.submit(&path, &[("password", new_password)]).await;
    assert_eq!(
        done.header("location"),
        Some("/springfield/account/sign-in?done=password")
    );
    let reused = owner
        .submit(&path, &[("password", "another fine long passphrase here")])
        .await;
    assert!(reused.body.contains("This link no longer works"));
    assert!(
        town.mail_to("ana@example.org")
            .last()
            .unwrap()
            .subject
            .starts_with("Your password was changed")
    );
    assert_eq!(
        ana.get(HOME).await.status,
        StatusCode::SEE_OTHER,
        "a reset signs out every session"
    );
    assert_eq!(
        owner.sign_in("ana@example.org", PASSWORD).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        owner.sign_in("ana@example.org", new_password).await.status,
        StatusCode::SEE_OTHER
    );
    town.finish().await;
}

#[tokio::test]
async fn lock_out_then_reset_by_e_mail() {
    on_both(lock_out_and_reset).await;
}

/// A payment the portal recorded for a bill, as pay would settle it.
async fn paid(
    store: &Store,
    tenant: &Tenant,
    bill: &civicpay_core::Bill,
    resident: Option<&ResidentId>,
    email: &str,
) -> String {
    let local = store
        .create_bill_payment(&tenant.id, &bill.id, bill.balance(), resident)
        .await
        .unwrap();
    store
        .attach_pay_payment(&tenant.id, &local, &uuid_like())
        .await
        .unwrap();
    store
        .record_pay_outcome(
            &tenant.id,
            &local,
            &PaymentOutcome {
                status: civicpay_core::payment::PaymentStatus::Success,
                captured: bill.balance(),
                fee: civicpay_core::Money::zero(bill.balance().currency()),
                card: Some(CardSummary {
                    brand: Some("visa".into()),
                    last4: "4242".into(),
                }),
                email: Some(email.into()),
                language: None,
            },
        )
        .await
        .unwrap();
    local
}

fn uuid_like() -> String {
    civicpay_core::PaymentId::generate().to_string()
}

fn pdf_text(pdf: &[u8]) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("pdftotext")
        .args(["-", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("pdftotext (poppler-utils)");
    child.stdin.take().unwrap().write_all(pdf).unwrap();
    String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap()
}

async fn linking_history_and_receipts(db: TestDb) {
    let town = Town::on(db).await;
    let water = town.portal.sample("springfield", "water");
    let mut ana = town.resident("ana@example.org").await;
    let link = "/springfield/account/link";
    let wrong = ana
        .submit(
            link,
            &[
                ("bill_type", "water"),
                ("reference", &water.reference),
                ("verification", "99999"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong.error_summary().contains("could not find a bill"),
        "{}",
        wrong.body
    );
    let home = ana.get(HOME).await;
    assert!(
        !home.body.contains(&water.reference),
        "nothing linked on wrong proof"
    );

    let linked = ana
        .submit(
            link,
            &[
                ("bill_type", "water"),
                ("reference", &water.reference.to_lowercase()),
                ("verification", &water.verification),
            ],
        )
        .await;
    assert_eq!(
        linked.header("location"),
        Some("/springfield/account/?done=link-added")
    );
    let home = ana.get("/springfield/account/?done=link-added").await;
    assert!(home.body.contains("The account is added."));
    assert!(home.body.contains(&water.reference), "{}", home.body);
    let tenant = town.springfield().await;
    let bill_type = town
        .portal
        .store
        .bill_type_by_slug(
            &tenant.id,
            &civicpay_core::BillTypeSlug::parse("water").unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    let bills = town
        .portal
        .store
        .bills_by_reference(
            &tenant.id,
            &bill_type.id,
            &BillReference::parse(&water.reference).unwrap(),
        )
        .await
        .unwrap();
    for bill in &bills {
        assert!(
            home.body
                .contains(&format!("/springfield/bills/{}/pay", bill.id))
                || !bill.is_payable()
        );
    }

    // A second member of the household links the same account.
    let mut bo = town.resident("bo@example.org").await;
    let both = bo
        .submit(
            link,
            &[
                ("bill_type", "water"),
                ("reference", &water.reference),
                ("verification", &water.verification),
            ],
        )
        .await;
    assert_eq!(both.status, StatusCode::SEE_OTHER);

    // History: Ana's signed-in payment, and a guest payment with her
    // address; Bo's payment is not hers.
    let ana_id = town
        .portal
        .store
        .resident_by_email(&tenant.id, "ana@example.org")
        .await
        .unwrap()
        .unwrap()
        .id;
    let mine = paid(
        &town.portal.store,
        &tenant,
        &bills[0],
        Some(&ana_id),
        "ana@example.org",
    )
    .await;
    let parking = town.portal.sample("springfield", "parking");
    let parking_type = town
        .portal
        .store
        .bill_type_by_slug(
            &tenant.id,
            &civicpay_core::BillTypeSlug::parse("parking").unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    let ticket = town
        .portal
        .store
        .bills_by_reference(
            &tenant.id,
            &parking_type.id,
            &BillReference::parse(&parking.reference).unwrap(),
        )
        .await
        .unwrap()
        .remove(0);
    let as_guest = paid(
        &town.portal.store,
        &tenant,
        &ticket,
        None,
        "ANA@example.org",
    )
    .await;
    let bo_id = town
        .portal
        .store
        .resident_by_email(&tenant.id, "bo@example.org")
        .await
        .unwrap()
        .unwrap()
        .id;
    let bos = paid(
        &town.portal.store,
        &tenant,
        &bills[bills.len() - 1],
        Some(&bo_id),
        "bo@example.org",
    )
    .await;

    let history = ana.get("/springfield/account/payments").await;
    assert!(
        history
            .body
            .contains(&format!("/springfield/account/payments/{mine}"))
    );
    assert!(
        history
            .body
            .contains(&format!("/springfield/account/payments/{as_guest}"))
    );
    assert!(
        !history.body.contains(&bos),
        "another resident's payment is not listed"
    );
    let receipt = ana
        .get(&format!("/springfield/account/payments/{mine}"))
        .await;
    assert_eq!(receipt.status, StatusCode::OK);
    assert!(receipt.body.contains("Visa •••• 4242"), "{}", receipt.body);
    assert!(receipt.body.contains("Fee"));
    assert!(
        receipt.body.contains("CST") || receipt.body.contains("CDT"),
        "city time zone"
    );
    let pdf = ana
        .get(&format!("/springfield/account/payments/{mine}/receipt.pdf"))
        .await;
    assert_eq!(pdf.header("content-type"), Some("application/pdf"));
    let text = pdf_text(&pdf.bytes);
    assert!(text.contains("Springfield"), "letterhead: {text}");
    assert!(text.contains(&water.reference), "{text}");
    assert!(text.contains("Visa **** 4242"), "{text}");
    assert_eq!(
        ana.get(&format!("/springfield/account/payments/{bos}"))
            .await
            .status,
        StatusCode::NOT_FOUND,
        "another resident's receipt"
    );

    // Unlinking takes the account off Ana's page only.
    let unlinked = ana
        .post(
            "/springfield/account/unlink",
            &[("bill_type", "water"), ("reference", &water.reference)],
        )
        .await;
    assert_eq!(unlinked.status, StatusCode::SEE_OTHER);
    assert!(!ana.get(HOME).await.body.contains(&water.reference));
    assert!(bo.get(HOME).await.body.contains(&water.reference));
    town.finish().await;
}

#[tokio::test]
async fn linked_accounts_history_and_receipts() {
    on_both(linking_history_and_receipts).await;
}

async fn change_email_then_delete(db: TestDb) {
    let town = Town::on(db).await;
    let tenant = town.springfield().await;
    let mut ana = town.resident("ana@example.org").await;
    let wrong = ana
        .submit(
            "/springfield/account/email",
            &[
                ("email", "ana@new.example"),
                ("password", "not my password"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(town.mail_to("ana@new.example").is_empty());
    let sent = ana
        .submit(
            "/springfield/account/email",
            &[("email", "ana@new.example"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    let link = outbox::link(
        town.mail_to("ana@new.example").last().unwrap(),
        "/confirm-email/",
    );
    let confirmed = ana.get(&path_of(&link)).await;
    assert_eq!(confirmed.status, StatusCode::OK);
    let notice = town.mail_to("ana@example.org");
    let notice = notice.last().unwrap();
    assert!(
        notice
            .subject
            .starts_with("Your e-mail address was changed")
    );
    assert!(notice.text.contains("ana@new.example"));
    let mut again = town.visitor();
    assert_eq!(
        again.sign_in("ana@new.example", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );

    let id = town
        .portal
        .store
        .resident_by_email(&tenant.id, "ana@new.example")
        .await
        .unwrap()
        .unwrap()
        .id;
    let water = town.portal.sample("springfield", "water");
    again
        .submit(
            "/springfield/account/link",
            &[
                ("bill_type", "water"),
                ("reference", &water.reference),
                ("verification", &water.verification),
            ],
        )
        .await;
    let bill_type = town
        .portal
        .store
        .bill_type_by_slug(
            &tenant.id,
            &civicpay_core::BillTypeSlug::parse("water").unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    let bill = town
        .portal
        .store
        .bills_by_reference(
            &tenant.id,
            &bill_type.id,
            &BillReference::parse(&water.reference).unwrap(),
        )
        .await
        .unwrap()
        .remove(0);
    let payment = paid(
        &town.portal.store,
        &tenant,
        &bill,
        Some(&id),
        "ana@new.example",
    )
    .await;

    let refused = again
        .submit("/springfield/account/delete", &[("password", "wrong")])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let deleted = again
        .submit("/springfield/account/delete", &[("password", PASSWORD)])
        .await;
    assert_eq!(
        deleted.header("location"),
        Some("/springfield/account/goodbye")
    );
    assert!(!again.signed_in());
    assert_eq!(
        ana.get(HOME).await.status,
        StatusCode::SEE_OTHER,
        "every session ended"
    );
    let gone = town
        .portal
        .store
        .resident(&tenant.id, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(gone.email, None);
    assert_eq!(gone.password_hash, None);
    assert!(
        town.portal
            .store
            .account_links(&tenant.id, &id)
            .await
            .unwrap()
            .is_empty()
    );
    let kept = town
        .portal
        .store
        .bill_payment(&tenant.id, &payment)
        .await
        .unwrap()
        .unwrap();
    assert!(
        kept.applied_at.is_some(),
        "the payment stays in the city's books"
    );
    assert!(
        town.portal
            .store
            .resident_payments(&tenant.id, &id, Some("ana@new.example"))
            .await
            .unwrap()
            .is_empty(),
        "no longer linked to the person"
    );
    assert_eq!(
        again.sign_in("ana@new.example", PASSWORD).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let filter = civicpay_store::audit_log::AuditFilter {
        limit: 100,
        ..Default::default()
    };
    let entries = town
        .portal
        .store
        .audit_entries(&civicpay_audit::ChainId::Tenant(tenant.id.clone()), &filter)
        .await
        .unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e.action == civicpay_audit::Action::ResidentDeleted.code())
    );
    town.finish().await;
}

#[tokio::test]
async fn change_of_e_mail_tells_the_old_address_and_deletion_erases() {
    on_both(change_email_then_delete).await;
}

#[tokio::test]
async fn every_account_route_needs_a_session() {
    let town = Town::on(TestDb::sqlite().await.unwrap()).await;
    let mut v = town.visitor();
    v.get("/springfield/account/sign-in").await;
    for route in ROUTES {
        let uri = format!(
            "/springfield/account{}",
            route
                .replace("{payment}", "0193d4d2-7f2a-7c3e-9f00-000000000001")
                .replace("{token}", "tok")
                .replace("{bill_type}", "water")
                .replace("{reference}", "1000-61166")
        );
        for page in [v.get(&uri).await, v.post(&uri, &[]).await] {
            assert!(
                page.status == StatusCode::SEE_OTHER
                    && page.header("location") == Some("/springfield/account/sign-in")
                    || page.status == StatusCode::METHOD_NOT_ALLOWED,
                "{uri}: {} {}",
                page.status,
                page.body
            );
        }
    }
    town.finish().await;
}

async fn french_reminders(db: TestDb) {
    let town = Town::on(db).await;
    let tenant = town.springfield().await;
    let mut marie = town.visitor();
    marie.get("/springfield/account/sign-up?lang=fr").await;
    let sent = marie.sign_up("marie@example.org", PASSWORD).await;
    assert!(
        sent.body.contains("Consultez vos courriels"),
        "{}",
        sent.body
    );
    let welcome = town.mail_to("marie@example.org");
    assert!(
        welcome[0]
            .subject
            .starts_with("Confirmez votre adresse courriel")
    );
    marie
        .get(&path_of(&outbox::link(&welcome[0], "/verify/")))
        .await;
    marie.sign_in("marie@example.org", PASSWORD).await;
    marie
        .submit(
            "/springfield/account/settings",
            &[
                ("language", "fr"),
                ("paperless", "yes"),
                ("reminder_days", "3"),
            ],
        )
        .await;
    let today = jiff::Timestamp::now()
        .to_zoned(tenant.time_zone.time_zone())
        .date();
    let due = |days: i64| {
        today
            .checked_add(jiff::SignedDuration::from_hours(24 * days))
            .unwrap()
    };
    let csv = format!(
        "external_id,bill_type,reference,verification,payer_name,postal_address,email,amount,due_date\n\
         FR-1,water,7000-00001,62704,Marie Côté,1 Elm St,,61.50,{}\n",
        due(2)
    );
    let import = |csv: String| {
        let store = town.portal.store.clone();
        let tenant = tenant.clone();
        async move {
            let report = store
                .import_bills(
                    &tenant,
                    std::io::Cursor::new(csv.into_bytes()),
                    civicpay_store::portal::bill_import::ImportOptions::new(
                        civicpay_store::portal::bill_import::ImportFormat::Csv,
                    ),
                )
                .await
                .unwrap();
            assert!(report.written, "{:?}", report.errors);
        }
    };
    import(csv).await;
    marie
        .submit(
            "/springfield/account/link",
            &[
                ("bill_type", "water"),
                ("reference", "7000-00001"),
                ("verification", "62704"),
            ],
        )
        .await;
    // A bill that arrives after linking: a paperless resident hears of it.
    import(format!(
        "external_id,bill_type,reference,verification,payer_name,postal_address,email,amount,due_date\n\
         FR-2,water,7000-00001,62704,Marie Côté,1 Elm St,,48.00,{}\n",
        due(30)
    ))
    .await;

    let state = AppState::new(
        town.portal.store.clone(),
        outbox_config(&town.outbox),
        [42; 32],
    );
    let before = town.mail_to("marie@example.org").len();
    let report = civicpay_portal::jobs::run_once(&state, "test")
        .await
        .unwrap();
    let mails = town.mail_to("marie@example.org");
    let new: Vec<_> = mails[before..].iter().collect();
    assert_eq!(report.emails, 2, "{report:?}");
    let reminder = new
        .iter()
        .find(|m| m.subject.starts_with("Une facture arrive à échéance"))
        .expect("a reminder in French");
    assert!(reminder.text.contains("Bonjour,"));
    assert!(
        reminder.text.contains("61,50"),
        "French amounts: {}",
        reminder.text
    );
    assert!(
        reminder
            .text
            .contains("http://portal.test/springfield/account/")
    );
    let new_bill = new
        .iter()
        .find(|m| m.subject.starts_with("Votre nouvelle facture est prête"))
        .expect("a new-bill notice in French");
    assert!(new_bill.text.contains("48,00"), "{}", new_bill.text);
    assert!(
        !new.iter()
            .any(|m| m.text.contains("61,50") && m.subject.starts_with("Votre nouvelle")),
        "a bill from before the link is not announced as new"
    );
    let again = civicpay_portal::jobs::run_once(&state, "test")
        .await
        .unwrap();
    assert_eq!(again.emails, 0, "each e-mail is sent once");
    town.finish().await;
}

fn outbox_config(outbox: &Dir) -> PortalConfig {
    PortalConfig {
        mail: Some(Mail {
            config: MailConfig::Outbox(outbox.path().to_owned()),
            from: "payments@springfield.example".into(),
        }),
        public_url: "http://portal.test".into(),
        ..PortalConfig::default()
    }
}

#[tokio::test]
async fn reminders_and_new_bills_reach_a_french_resident_in_french() {
    on_both(french_reminders).await;
}

/// A resident chooses among the city's languages only.
async fn only_the_citys_languages(db: TestDb) {
    let town = Town::on(db).await;
    let two = include_str!("../../../../examples/cities/springfield.toml").replace(
        "languages = [\"en\", \"es\", \"fr\"]",
        "languages = [\"en\", \"es\"]",
    );
    let file = civicpay_core::city_file::parse(&two).unwrap();
    town.portal.store.apply_city(&file, "test").await.unwrap();
    let mut ana = town.visitor();
    ana.sign_up("ana@example.org", PASSWORD).await;
    let welcome = town.mail_to("ana@example.org");
    ana.get(&path_of(&outbox::link(&welcome[0], "/verify/")))
        .await;
    ana.sign_in("ana@example.org", PASSWORD).await;
    let settings = ana.get("/springfield/account/settings").await;
    assert!(
        settings.body.contains(r#"<option value="es""#),
        "{}",
        settings.body
    );
    assert!(
        !settings.body.contains(r#"<option value="fr""#),
        "{}",
        settings.body
    );
    let refused = ana
        .submit(
            "/springfield/account/settings",
            &[("language", "fr"), ("reminder_days", "3")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    town.portal.finish().await;
}

#[tokio::test]
async fn a_resident_chooses_among_the_citys_languages_only() {
    on_both(only_the_citys_languages).await;
}

async fn two_step_sign_in(db: TestDb) {
    let town = Town::on(db).await;
    let mut ana = town.resident("ana@example.org").await;
    let home = ana.get(HOME).await;
    assert!(
        home.body.contains("turn on two-step sign-in"),
        "offered after sign-up"
    );
    let page = ana.get("/springfield/account/two-step").await;
    assert!(page.body.contains("<svg"), "a QR code drawn on the server");
    let key = page
        .body
        .split("<code class=\"secret\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    let secret = civicpay_identity::TotpSecret::from_base32(&key).unwrap();
    let now = u64::try_from(jiff::Timestamp::now().as_second()).unwrap();
    let wrong = ana
        .post("/springfield/account/two-step", &[("code", "000000")])
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    let code = secret.code_at(now);
    let on = ana
        .post("/springfield/account/two-step", &[("code", &code)])
        .await;
    // The recovery codes are shown on this answer, once.
    assert_eq!(on.status, StatusCode::OK, "{}", on.body);
    assert!(on.body.contains("Your recovery codes"), "{}", on.body);
    let recovery: Vec<String> = on
        .body
        .split("<li><code>")
        .skip(1)
        .map(|c| c.split('<').next().unwrap().to_owned())
        .collect();
    assert_eq!(recovery.len(), 10, "{}", on.body);
    assert!(
        on.body
            .contains("/springfield/account/settings?done=two-step")
    );
    assert!(
        town.mail_to("ana@example.org")
            .last()
            .unwrap()
            .subject
            .starts_with("Two-step sign-in was changed")
    );
    assert!(
        !ana.get(HOME)
            .await
            .body
            .contains("turn on two-step sign-in")
    );

    let mut again = town.visitor();
    let half = again.sign_in("ana@example.org", PASSWORD).await;
    assert_eq!(
        half.header("location"),
        Some("/springfield/account/second-factor")
    );
    assert_eq!(
        again.get(HOME).await.status,
        StatusCode::SEE_OTHER,
        "a password alone opens nothing"
    );
    let replayed = again
        .submit("/springfield/account/second-factor", &[("code", &code)])
        .await;
    assert_eq!(
        replayed.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a code works once"
    );
    let next = secret.code_at(now + 30);
    let done = again
        .submit("/springfield/account/second-factor", &[("code", &next)])
        .await;
    assert_eq!(done.header("location"), Some(HOME));
    assert_eq!(again.get(HOME).await.status, StatusCode::OK);

    // Without the phone: a recovery code, typed any which way, signs in
    // once, and the resident is told how many are left.
    let mut lost = town.visitor();
    lost.sign_in("ana@example.org", PASSWORD).await;
    let typed = recovery[3].to_uppercase().replace('-', " ");
    let before = town.mail_to("ana@example.org").len();
    let rescued = lost
        .submit("/springfield/account/second-factor", &[("code", &typed)])
        .await;
    assert_eq!(rescued.header("location"), Some(HOME), "{}", rescued.body);
    let told = town
        .next_mail_to("ana@example.org", before)
        .await
        .pop()
        .unwrap();
    assert!(
        told.subject.starts_with("A recovery code was used"),
        "{}",
        told.subject
    );
    assert!(told.text.contains("You have 9 left"), "{}", told.text);
    let mut reused = town.visitor();
    reused.sign_in("ana@example.org", PASSWORD).await;
    let refused = reused
        .submit(
            "/springfield/account/second-factor",
            &[("code", &recovery[3])],
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a code works once"
    );

    let off = again
        .submit(
            "/springfield/account/two-step",
            &[("password", "wrong password")],
        )
        .await;
    assert_eq!(
        off.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "turning it off needs the password"
    );
    let off = again
        .submit("/springfield/account/two-step", &[("password", PASSWORD)])
        .await;
    assert_eq!(off.status, StatusCode::SEE_OTHER);
    let mut third = town.visitor();
    assert_eq!(
        third
            .sign_in("ana@example.org", PASSWORD)
            .await
            .header("location"),
        Some(HOME)
    );
    town.finish().await;
}

#[tokio::test]
async fn two_step_sign_in_with_an_authenticator_app() {
    on_both(two_step_sign_in).await;
}

/// A household shares an account, not its autopay settings: the form shows a
/// member only their own instruction, never another member's cap or card.
async fn household_autopay_form(db: TestDb) {
    let outbox = Dir::new("civicpay-outbox");
    let pay = FakePay::start().await;
    let config = PortalConfig {
        pay: Some(pay.link()),
        ..outbox_config(&outbox)
    };
    let town = Town {
        portal: Portal::on(db, config).await,
        outbox,
    };
    let water = town.portal.sample("springfield", "water");
    let link = [
        ("bill_type", "water"),
        ("reference", water.reference.as_str()),
        ("verification", water.verification.as_str()),
    ];
    let mut ana = town.resident("ana@example.org").await;
    let mut bo = town.resident("bo@example.org").await;
    for member in [&mut ana, &mut bo] {
        let linked = member.submit("/springfield/account/link", &link).await;
        assert_eq!(linked.status, StatusCode::SEE_OTHER, "{}", linked.body);
    }
    let tenant = town.springfield().await;
    let store = &town.portal.store;
    let water_type = store
        .bill_type_by_slug(
            &tenant.id,
            &civicpay_core::BillTypeSlug::parse("water").unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    let ana_id = store
        .resident_by_email(&tenant.id, "ana@example.org")
        .await
        .unwrap()
        .unwrap()
        .id;
    let reference = BillReference::parse(&water.reference).unwrap();
    store
        .enrol_autopay(
            &tenant.id,
            civicpay_store::portal::autopay::NewEnrolment {
                resident_id: &ana_id,
                bill_type_id: &water_type.id,
                reference: &reference,
                card_token: "card_tok_household",
                card_label: "Visa ending 4242",
                cap: civicpay_core::Money::parse(
                    "173.29",
                    tenant.currency,
                    civicpay_core::DecimalStyle::Point,
                )
                .unwrap(),
                part: None,
                start_date: jiff::Zoned::now().date(),
            },
            civicpay_audit::NewEntry::new(
                civicpay_audit::ChainId::Tenant(tenant.id.clone()),
                "test",
                civicpay_audit::Action::AutopayEnrolled,
                "account",
                serde_json::json!({}),
            ),
        )
        .await
        .unwrap();
    let form = format!(
        "/springfield/account/autopay/water/{}",
        reference.canonical()
    );
    let own = ana.get(&form).await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
    assert!(own.body.contains("173.29"), "the owner sees their cap");
    let other = bo.get(&form).await;
    assert_eq!(other.status, StatusCode::OK, "{}", other.body);
    assert!(
        !other.body.contains("173.29"),
        "another member's cap leaked into the form: {}",
        other.body
    );
    town.finish().await;
}

#[tokio::test]
async fn a_household_member_never_sees_another_members_autopay() {
    on_both(household_autopay_form).await;
}

/// An autopay run taken over from a runner that stopped after asking pay
/// asks again for the amount that runner recorded, under the same key, and
/// not at all once the resident's cap no longer covers it.
async fn autopay_take_over(db: TestDb) {
    let outbox = Dir::new("civicpay-outbox");
    let pay = FakePay::start().await;
    let config = PortalConfig {
        pay: Some(pay.link()),
        ..outbox_config(&outbox)
    };
    let portal = Portal::on(db, config.clone()).await;
    let state = civicpay_portal::AppState::new(portal.store.clone(), config, [42; 32]);
    let store = &portal.store;
    let tenant = store
        .tenant_by_slug(&TenantSlug::parse("springfield").unwrap())
        .await
        .unwrap()
        .unwrap();
    let water = portal.sample("springfield", "water");
    let reference = BillReference::parse(&water.reference).unwrap();
    let water_type = store
        .bill_type_by_slug(
            &tenant.id,
            &civicpay_core::BillTypeSlug::parse("water").unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    let bill = store
        .bills_by_reference(&tenant.id, &water_type.id, &reference)
        .await
        .unwrap()
        .into_iter()
        .find(|b| b.is_payable())
        .expect("a payable water bill");
    let ana = store
        .create_resident(
            &tenant.id,
            "ana@example.org",
            "not a real hash",
            civicpay_core::Language::En,
            "no verification link",
            jiff::Timestamp::now(),
        )
        .await
        .unwrap();
    let enrol = |cap: i64| {
        let (store, tenant, ana, water_type, reference) =
            (store, &tenant, &ana, &water_type, &reference);
        async move {
            store
                .enrol_autopay(
                    &tenant.id,
                    civicpay_store::portal::autopay::NewEnrolment {
                        resident_id: ana,
                        bill_type_id: &water_type.id,
                        reference,
                        card_token: "card_tok_household",
                        card_label: "Visa ending 4242",
                        cap: civicpay_core::Money::from_minor(cap, tenant.currency),
                        part: None,
                        start_date: "2000-01-01".parse().unwrap(),
                    },
                    civicpay_audit::NewEntry::new(
                        civicpay_audit::ChainId::Tenant(tenant.id.clone()),
                        "test",
                        civicpay_audit::Action::AutopayEnrolled,
                        "account",
                        serde_json::json!({}),
                    ),
                )
                .await
                .unwrap();
        }
    };
    let balance = bill.balance().minor();
    enrol(balance + 100).await;
    let far = "2999-01-01".parse().unwrap();
    assert!(store.schedule_autopay(&tenant.id, far).await.unwrap() >= 1);

    // The first runner claims every run, records what it will ask for
    // (a cent less than the bill shows now: the bill changed since) and
    // stops before pay answers.
    let recorded = civicpay_core::Money::from_minor(balance - 1, tenant.currency);
    let mut ours = None;
    while let Some(run) = store
        .claim_autopay_run(&tenant.id, "first", "2000-01-01T00:00Z".parse().unwrap())
        .await
        .unwrap()
    {
        if run.bill_id == bill.id {
            let id = store
                .create_bill_payment(&tenant.id, &bill.id, recorded, Some(&ana))
                .await
                .unwrap();
            store
                .set_autopay_payment(&tenant.id, &bill.id, &id)
                .await
                .unwrap();
            ours = Some(id);
        }
    }
    let ours = ours.expect("the bill's run was claimed");
    let stale = || async {
        civicpay_store::testing::execute_behind_the_back(
            store,
            "UPDATE autopay_runs SET claimed_at = 0 WHERE status = 'claimed'",
        )
        .await
        .unwrap();
    };
    stale().await;
    civicpay_portal::jobs::run_once(&state, "second")
        .await
        .unwrap();
    let asked = pay.payments_for(&ours);
    assert!(!asked.is_empty(), "the second runner asked pay again");
    assert!(
        asked.iter().all(|b| b["amount"] == balance - 1),
        "the amount first recorded, not today's balance: {asked:?}"
    );

    // The resident lowers the cap below that amount: the take-over asks
    // for nothing more.
    enrol(balance - 2).await;
    stale().await;
    civicpay_portal::jobs::run_once(&state, "third")
        .await
        .unwrap();
    assert_eq!(
        pay.payments_for(&ours).len(),
        asked.len(),
        "a take-over over the cap charged"
    );
    let (run, _) = store
        .autopay_run(&tenant.id, &bill.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.status.code(), "skipped");
    portal.finish().await;
}

#[tokio::test]
async fn a_taken_over_autopay_run_charges_what_was_recorded_within_the_cap() {
    on_both(autopay_take_over).await;
}

const ATTACKER_PASSWORD: &str = "stranger chose this before the owner came";

/// Someone signs up with a resident's address before (or after) the
/// resident does: whichever link the resident follows, the account opens
/// with the password the resident chose, never the stranger's, and nobody
/// signed in before the address was proven stays signed in.
async fn pre_hijacking(db: TestDb) {
    let town = Town::on(db).await;
    let mut attacker = town.visitor();
    let mut owner = town.visitor();

    // The stranger first, the owner after: the owner's link.
    attacker.sign_up("ana@example.org", ATTACKER_PASSWORD).await;
    owner.sign_up("ana@example.org", PASSWORD).await;
    let links: Vec<String> = town
        .mail_to("ana@example.org")
        .iter()
        .map(|m| outbox::link(m, "/verify/"))
        .collect();
    assert_eq!(links.len(), 2, "one link per sign-up");
    let verified = owner.get(&path_of(&links[1])).await;
    assert_eq!(verified.status, StatusCode::SEE_OTHER);
    let mut later = town.visitor();
    let refused = later.sign_in("ana@example.org", ATTACKER_PASSWORD).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the stranger's password opens nothing"
    );
    assert_eq!(
        later.sign_in("ana@example.org", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let spent = owner.get(&path_of(&links[0])).await;
    assert!(
        spent.body.contains("expired") || spent.body.contains("no longer"),
        "the stranger's link ends when the address is proven: {}",
        spent.body
    );

    // The owner first, the stranger after: the owner's own (earlier) link
    // still opens the account with the owner's password.
    owner.sign_up("bo@example.org", PASSWORD).await;
    attacker.sign_up("bo@example.org", ATTACKER_PASSWORD).await;
    let first = outbox::link(town.mail_to("bo@example.org").first().unwrap(), "/verify/");
    assert_eq!(
        owner.get(&path_of(&first)).await.status,
        StatusCode::SEE_OTHER
    );
    let mut later = town.visitor();
    assert_eq!(
        later
            .sign_in("bo@example.org", ATTACKER_PASSWORD)
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        later.sign_in("bo@example.org", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    town.finish().await;
}

#[tokio::test]
async fn a_stranger_who_signed_up_first_cannot_keep_the_account() {
    on_both(pre_hijacking).await;
}

/// Every re-typed password costs an Argon2 run: a signed-in session cannot
/// guess (or burn the server's memory) without limit. Past the account's
/// limit even the right password waits.
async fn retyping_is_limited(db: TestDb) {
    let town = Town::on(db).await;
    let mut ana = town.resident("ana@example.org").await;
    let change = "/springfield/account/password";
    let wrong = [
        ("current", "not my password at all"),
        ("password", "a brand new passphrase here"),
    ];
    for attempt in 0..civicpay_portal::account::RETYPES_PER_ACCOUNT {
        let refused = ana.submit(change, &wrong).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "attempt {attempt}"
        );
    }
    let limited = ana
        .submit(
            change,
            &[
                ("current", PASSWORD),
                ("password", "a brand new passphrase here"),
            ],
        )
        .await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    let mut again = town.visitor();
    assert_eq!(
        again.sign_in("ana@example.org", PASSWORD).await.status,
        StatusCode::SEE_OTHER,
        "the password did not change"
    );
    town.finish().await;
}

#[tokio::test]
async fn re_typing_a_password_is_limited_per_account() {
    on_both(retyping_is_limited).await;
}

/// A mail server that accepts connections and never answers.
async fn silent_mail_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    format!("smtp://{addr}")
}

/// Asking for a reset answers at once whether or not the address is
/// registered: the link is made and mailed after the answer, so even a mail
/// server that never answers cannot show (by a slow reply) that an address
/// is real.
async fn reset_answers_before_mailing(db: TestDb) {
    let outbox = Dir::new("civicpay-outbox");
    let config = PortalConfig {
        mail: Some(Mail {
            config: MailConfig::Smtp {
                url: silent_mail_server().await,
            },
            from: "payments@springfield.example".into(),
        }),
        ..outbox_config(&outbox)
    };
    let town = Town {
        portal: Portal::on(db, config).await,
        outbox,
    };
    let tenant = town.springfield().await;
    let store = &town.portal.store;
    store
        .create_resident(
            &tenant.id,
            "ana@example.org",
            "not a real hash",
            civicpay_core::Language::En,
            "link",
            jiff::Timestamp::now() + std::time::Duration::from_secs(600),
        )
        .await
        .unwrap();
    assert!(
        store
            .confirm_resident(&tenant.id, "link")
            .await
            .unwrap()
            .is_some()
    );
    let mut visitor = town.visitor();
    for email in ["ana@example.org", "nobody@example.org"] {
        let answered = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            visitor.submit("/springfield/account/reset", &[("email", email)]),
        )
        .await;
        assert!(
            answered.is_ok_and(|page| page.status == StatusCode::OK),
            "{email}: the answer waited for the mail server"
        );
    }
    town.finish().await;
}

#[tokio::test]
async fn a_password_reset_answers_before_any_mail_is_sent() {
    on_both(reset_answers_before_mailing).await;
}

/// Autopay on a bill type that takes parts pays the part the resident
/// chose: refused below the type's minimum or above their own limit, kept,
/// shown on the account's page, and what the run asks pay for.
async fn autopay_part(db: TestDb) {
    let outbox = Dir::new("civicpay-outbox");
    let pay = FakePay::start().await;
    let config = PortalConfig {
        pay: Some(pay.link()),
        ..outbox_config(&outbox)
    };
    let town = Town {
        portal: Portal::on(db, config.clone()).await,
        outbox,
    };
    let (tenant, sample, bill) = town.portal.sample_bill("springfield", "property-tax").await;
    let mut ana = town.resident("ana@example.org").await;
    let linked = ana
        .submit(
            "/springfield/account/link",
            &[
                ("bill_type", "property-tax"),
                ("reference", sample.reference.as_str()),
                ("verification", sample.verification.as_str()),
            ],
        )
        .await;
    assert_eq!(linked.status, StatusCode::SEE_OTHER, "{}", linked.body);
    let water = town.portal.sample("springfield", "water");
    let water_form = ana
        .get(&format!(
            "/springfield/account/autopay/water/{}",
            BillReference::parse(&water.reference).unwrap().canonical()
        ))
        .await;
    assert!(
        !water_form.body.contains(r#"name="part""#),
        "no part where the type takes none"
    );
    let reference = BillReference::parse(&sample.reference).unwrap();
    let form = format!(
        "/springfield/account/autopay/property-tax/{}",
        reference.canonical()
    );
    let page = ana.get(&form).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains(r#"name="part""#), "{}", page.body);
    let card = "card_tok_household";
    for (part, why) in [
        ("10.00", "below the minimum"),
        ("600.00", "above the limit"),
    ] {
        let refused = ana
            .submit(
                &form,
                &[
                    ("card", card),
                    ("cap", "500.00"),
                    ("part", part),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{why}");
        assert!(
            refused.error_summary().contains("at least $25.00"),
            "{why}: {}",
            refused.error_summary()
        );
    }
    let saved = ana
        .submit(
            &form,
            &[
                ("card", card),
                ("cap", "500.00"),
                ("part", "150.00"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let home = ana.get(HOME).await;
    assert!(
        home.body.contains("It pays $150.00 of each bill."),
        "{}",
        home.body
    );
    let store = &town.portal.store;
    // The sample bill fell due before this instruction began.
    civicpay_store::testing::execute_behind_the_back(
        store,
        "UPDATE autopay_enrolments SET start_date = '2000-01-01'",
    )
    .await
    .unwrap();
    let far = "2999-01-01".parse().unwrap();
    assert!(store.schedule_autopay(&tenant.id, far).await.unwrap() >= 1);
    let state = civicpay_portal::AppState::new(store.clone(), config, [42; 32]);
    civicpay_portal::jobs::run_once(&state, "runner")
        .await
        .unwrap();
    let (run, _) = store
        .autopay_run(&tenant.id, &bill.id)
        .await
        .unwrap()
        .unwrap();
    let record = store
        .bill_payment(&tenant.id, &run.bill_payment_id.expect("a payment record"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.amount.minor(), 15_000, "the part, not the balance");
    assert!(bill.balance().minor() > 15_000);
    town.finish().await;
}

#[tokio::test]
async fn autopay_pays_the_part_a_resident_chose() {
    on_both(autopay_part).await;
}

/// A linked bill of a type the city took off line shows its balance but
/// no Pay button (the button would lead to the "not offered" page).
#[tokio::test]
async fn a_linked_bill_of_a_type_taken_off_line_has_no_pay_button() {
    let outbox = Dir::new("civicpay-outbox");
    let town = Town {
        portal: Portal::on(TestDb::sqlite().await.unwrap(), outbox_config(&outbox)).await,
        outbox,
    };
    let (tenant, sample, bill) = town.portal.sample_bill("springfield", "water").await;
    let mut ana = town.resident("ana@example.org").await;
    let linked = ana
        .submit(
            "/springfield/account/link",
            &[
                ("bill_type", "water"),
                ("reference", sample.reference.as_str()),
                ("verification", sample.verification.as_str()),
            ],
        )
        .await;
    assert_eq!(linked.status, StatusCode::SEE_OTHER, "{}", linked.body);
    let pay_action = format!("/springfield/bills/{}/pay", bill.id);
    assert!(
        ana.get(HOME).await.body.contains(&pay_action),
        "offered: a button"
    );
    let store = &town.portal.store;
    let water = store
        .bill_type_by_slug(
            &tenant.id,
            &civicpay_core::BillTypeSlug::parse("water").unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    store
        .update_bill_type(
            &civicpay_core::BillType {
                active: false,
                ..water
            },
            Vec::new(),
        )
        .await
        .unwrap();
    let home = ana.get(HOME).await;
    assert!(
        home.body
            .contains(&bill.balance().format(civicpay_core::Language::En))
    );
    assert!(!home.body.contains(&pay_action), "{}", home.body);
    town.finish().await;
}
