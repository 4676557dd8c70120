//! The conformance suite: what every connector must do, run against each
//! processor as the connector meets it — the acquirer simulator over
//! HTTP, and faithful fakes of Authorize.Net and Moneris. Adding a
//! connector means adding a [`Processor`] here and passing every case.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use civicpay_core::{Currency, Money};
use civicpay_gateway::{
    AuthorisationOutcome, AuthorisationRequest, AuthorizeNetConnector, Connector, GatewayError,
    MonerisConnector, RefundInquiry, SimulatorConnector, StatusInquiry,
};
use civicpay_processor_fakes::Fault;
use civicpay_processor_fakes::authorize_net::{self, AuthorizeNetFake};
use civicpay_processor_fakes::faults::Faults;
use civicpay_processor_fakes::moneris::{self, MonerisFake};
use civicpay_vault::{CardNumber, Expiry, SecurityCode};
use std::path::PathBuf;
use std::time::Duration;
use zeroize::Zeroizing;

/// How long a connector waits; the processors' late answers come after it.
const TIMEOUT: Duration = Duration::from_millis(600);
const LATE: Duration = Duration::from_millis(1500);

/// One charge: what to type and how much.
#[derive(Clone, Copy, Debug)]
struct Charge {
    number: &'static str,
    code: &'static str,
    expiry: &'static str,
    minor: i64,
}

const VISA: Charge = Charge {
    number: "4111111111111111",
    code: "123",
    expiry: "12/30",
    minor: 4_200,
};

/// A processor as the suite drives it.
trait Processor {
    fn connector(&self) -> &dyn Connector;
    fn currency(&self) -> Currency;
    fn approved(&self) -> Charge {
        VISA
    }
    /// Every decline reason this processor can say, and how to provoke it.
    fn declines(&self) -> Vec<(&'static str, Charge)>;
    /// Where a fake takes its orders; `None` for the simulator, whose test
    /// cards carry them.
    fn faults(&self) -> Option<&Faults> {
        None
    }
    /// The next authorisation is acted on, but answered after the timeout.
    fn answer_late(&self) -> Charge {
        if let Some(faults) = self.faults() {
            faults.push(Fault::AnswerAfter(LATE));
        }
        VISA
    }
    /// The next authorisation is acted on, and its answer lost.
    fn lose_answer(&self) -> Charge {
        if let Some(faults) = self.faults() {
            faults.push(Fault::DropAfterActing);
        }
        VISA
    }
    /// The batch cut-off.
    fn settle(&self);
    /// Whether a refund must wait for the batch cut-off.
    fn refunds_after_settlement_only(&self) -> bool;
    /// A connector with wrong credentials, and the settings its error must
    /// name; `None` for a processor without credentials.
    fn wrongly_configured(&self) -> Option<(Box<dyn Connector>, &'static [&'static str])>;
    /// An authorisation civicpay never asked for; the reference the
    /// day's listing should give it.
    async fn plant_foreign(&self, minor: i64) -> String;
}

fn reference() -> String {
    format!("{}.1", uuid::Uuid::now_v7())
}

fn money(p: &impl Processor, minor: i64) -> Money {
    Money::from_minor(minor, p.currency())
}

async fn authorise(
    p: &impl Processor,
    reference: &str,
    charge: Charge,
    capture: bool,
) -> AuthorisationOutcome {
    let card = CardNumber::parse(charge.number).unwrap();
    let code = SecurityCode::parse(charge.code, card.brand()).unwrap();
    let expiry = Expiry::parse(charge.expiry, jiff::civil::date(2020, 1, 1)).unwrap();
    p.connector()
        .authorise(AuthorisationRequest {
            payment_id: reference,
            amount: money(p, charge.minor),
            card: &card,
            security_code: Some(&code),
            stored_credential: false,
            expiry,
            capture,
        })
        .await
}

async fn approves_and_captures_at_once(p: &impl Processor) {
    let r = reference();
    let charge = p.approved();
    let outcome = authorise(p, &r, charge, true).await;
    assert!(
        matches!(
            outcome,
            AuthorisationOutcome::Approved { captured: true, .. }
        ),
        "{outcome:?}"
    );
    assert!(
        matches!(p.connector().status(&r).await.unwrap(), StatusInquiry::Captured { captured, refunded: 0, .. } if captured == charge.minor)
    );
    assert_eq!(
        p.connector().status(&reference()).await.unwrap(),
        StatusInquiry::NotFound,
        "a reference never sent is not found"
    );
}

async fn says_each_decline_reason(p: &impl Processor) {
    let declines = p.declines();
    assert!(declines.len() >= 4, "a processor explains most declines");
    for (reason, charge) in declines {
        let r = reference();
        let outcome = authorise(p, &r, charge, true).await;
        assert_eq!(
            outcome,
            AuthorisationOutcome::Declined {
                reason: reason.into()
            },
            "{charge:?}"
        );
        let inquiry = p.connector().status(&r).await.unwrap();
        if reason == "held_for_review" {
            // Authorised but held: nothing of civicpay's accounts for it,
            // so the orphan sweep voids it, as it can.
            assert!(
                matches!(inquiry, StatusInquiry::Approved { .. }),
                "{inquiry:?}"
            );
            p.connector().void(&r).await.unwrap();
            continue;
        }
        assert!(
            matches!(
                inquiry,
                StatusInquiry::Declined { .. } | StatusInquiry::NotFound
            ),
            "{reason}: nothing to capture or void: {inquiry:?}"
        );
    }
}

async fn authorises_then_captures_in_full_or_in_part(p: &impl Processor) {
    let charge = p.approved();
    for captured in [charge.minor, charge.minor - 1_000] {
        let r = reference();
        let outcome = authorise(p, &r, charge, false).await;
        assert!(
            matches!(
                outcome,
                AuthorisationOutcome::Approved {
                    captured: false,
                    ..
                }
            ),
            "{outcome:?}"
        );
        assert!(matches!(
            p.connector().status(&r).await.unwrap(),
            StatusInquiry::Approved { amount, .. } if amount == charge.minor
        ));
        assert!(
            p.connector()
                .capture(&r, money(p, charge.minor + 1))
                .await
                .is_err(),
            "never more than authorised"
        );
        p.connector().capture(&r, money(p, captured)).await.unwrap();
        assert!(matches!(
            p.connector().status(&r).await.unwrap(),
            StatusInquiry::Captured { captured: c, .. } if c == captured
        ));
    }
}

async fn voids_before_settlement(p: &impl Processor) {
    let r = reference();
    authorise(p, &r, p.approved(), false).await;
    p.connector().void(&r).await.unwrap();
    assert_eq!(
        p.connector().status(&r).await.unwrap(),
        StatusInquiry::Voided
    );
}

async fn refunds_after_settlement_once_per_refund_id(p: &impl Processor) {
    let r = reference();
    let charge = p.approved();
    authorise(p, &r, charge, true).await;
    let (first, second) = (
        uuid::Uuid::now_v7().to_string(),
        uuid::Uuid::now_v7().to_string(),
    );
    if p.refunds_after_settlement_only() {
        assert!(
            p.connector()
                .refund(&r, &first, money(p, 1_000))
                .await
                .is_err(),
            "a part refund waits for the batch cut-off"
        );
        assert_eq!(
            p.connector().refund_status(&r, &first).await.unwrap(),
            RefundInquiry::NotFound
        );
    }
    p.settle();
    p.connector()
        .refund(&r, &first, money(p, 1_000))
        .await
        .unwrap();
    p.connector()
        .refund(&r, &first, money(p, 1_000))
        .await
        .unwrap();
    assert_eq!(
        p.connector().refund_status(&r, &first).await.unwrap(),
        RefundInquiry::Refunded { amount: 1_000 },
        "a repeated refund id refunds once"
    );
    assert_eq!(
        p.connector().refund_status(&r, &second).await.unwrap(),
        RefundInquiry::NotFound
    );
    assert!(
        p.connector()
            .refund(&r, &second, money(p, charge.minor - 1_000 + 1))
            .await
            .is_err(),
        "never more than captured"
    );
    p.connector()
        .refund(&r, &second, money(p, charge.minor - 1_000))
        .await
        .unwrap();
    assert!(matches!(
        p.connector().status(&r).await.unwrap(),
        StatusInquiry::Captured { captured, refunded, .. } if captured == charge.minor && refunded == charge.minor
    ));
}

async fn a_timeout_is_unknown_and_the_inquiry_settles_it(p: &impl Processor) {
    let r = reference();
    let charge = p.answer_late();
    let outcome = authorise(p, &r, charge, true).await;
    assert!(
        matches!(outcome, AuthorisationOutcome::Unknown { .. }),
        "a timeout is never a decline: {outcome:?}"
    );
    tokio::time::sleep(LATE).await;
    assert!(matches!(
        p.connector().status(&r).await.unwrap(),
        StatusInquiry::Captured { captured, .. } if captured == charge.minor
    ));
}

async fn a_resubmission_after_a_lost_answer_charges_once(p: &impl Processor) {
    let r = reference();
    let charge = p.lose_answer();
    let first = authorise(p, &r, charge, true).await;
    assert!(
        matches!(
            first,
            AuthorisationOutcome::Unknown { .. } | AuthorisationOutcome::Approved { .. }
        ),
        "{first:?}"
    );
    tokio::time::sleep(LATE).await;
    let again = authorise(p, &r, charge, true).await;
    let AuthorisationOutcome::Approved {
        authorisation_code, ..
    } = again
    else {
        panic!("the second submission is answered from the first: {again:?}")
    };
    let StatusInquiry::Captured {
        captured,
        authorisation_code: recorded,
        ..
    } = p.connector().status(&r).await.unwrap()
    else {
        panic!("captured")
    };
    assert_eq!((captured, recorded), (charge.minor, authorisation_code));
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let listed = p.connector().authorisations_on(today).await.unwrap();
    assert_eq!(
        listed.iter().filter(|record| record.reference == r).count(),
        1,
        "one authorisation at the processor"
    );
}

async fn wrong_credentials_name_the_setting(p: &impl Processor) {
    let Some((connector, settings)) = p.wrongly_configured() else {
        return;
    };
    let card = CardNumber::parse(VISA.number).unwrap();
    let code = SecurityCode::parse(VISA.code, card.brand()).unwrap();
    let outcome = connector
        .authorise(AuthorisationRequest {
            payment_id: &reference(),
            amount: money(p, 100),
            card: &card,
            security_code: Some(&code),
            stored_credential: false,
            expiry: Expiry::parse(VISA.expiry, jiff::civil::date(2020, 1, 1)).unwrap(),
            capture: true,
        })
        .await;
    let AuthorisationOutcome::Failed { detail } = outcome else {
        panic!("wrong credentials fail the payment, they do not decline it: {outcome:?}")
    };
    let inquiry = connector.status(&reference()).await;
    let Err(error @ GatewayError::Credentials(_)) = inquiry else {
        panic!("{inquiry:?}")
    };
    for setting in settings {
        assert!(detail.contains(setting), "{detail}");
        assert!(error.to_string().contains(setting), "{error}");
    }
}

async fn the_days_listing_shows_an_authorisation_civicpay_never_made(p: &impl Processor) {
    let ours = reference();
    authorise(p, &ours, p.approved(), false).await;
    let foreign = p.plant_foreign(777).await;
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let listed = p.connector().authorisations_on(today).await.unwrap();
    let find = |reference: &str| listed.iter().find(|r| r.reference == reference);
    assert!(
        matches!(
            find(&foreign).map(|r| &r.inquiry),
            Some(StatusInquiry::Approved { amount: 777, .. })
        ),
        "{foreign} in {listed:?}"
    );
    assert!(matches!(
        find(&ours).map(|r| &r.inquiry),
        Some(StatusInquiry::Approved { .. })
    ));
    let yesterday = today.yesterday().unwrap();
    assert!(
        p.connector()
            .authorisations_on(yesterday)
            .await
            .unwrap()
            .iter()
            .all(|r| r.reference != ours),
        "only the day asked for"
    );
}

macro_rules! conformance {
    ($module:ident, $start:expr) => {
        mod $module {
            use super::*;

            conformance!(@cases $start;
                approves_and_captures_at_once,
                says_each_decline_reason,
                authorises_then_captures_in_full_or_in_part,
                voids_before_settlement,
                refunds_after_settlement_once_per_refund_id,
                a_timeout_is_unknown_and_the_inquiry_settles_it,
                a_resubmission_after_a_lost_answer_charges_once,
                wrong_credentials_name_the_setting,
                the_days_listing_shows_an_authorisation_civicpay_never_made
            );
        }
    };
    (@cases $start:expr; $($case:ident),*) => {
        $(
            #[tokio::test]
            async fn $case() {
                super::$case(&$start).await
            }
        )*
    };
}

/// The acquirer simulator, on its own store in a temporary folder.
struct Simulator {
    connector: SimulatorConnector,
    dir: PathBuf,
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Simulator {
    async fn start() -> Simulator {
        let dir = std::env::temp_dir().join(format!(
            "civicpay-conformance-{}",
            uuid::Uuid::now_v7().simple()
        ));
        let sim = civicpay_acquirer_sim::Simulator::open(&dir, LATE)
            .await
            .unwrap();
        let addr = civicpay_processor_fakes::serve(sim.router()).await.unwrap();
        Simulator {
            connector: SimulatorConnector::new(format!("http://{addr}"), TIMEOUT).unwrap(),
            dir,
        }
    }
}

const fn sim_card(number: &'static str) -> Charge {
    Charge {
        number,
        code: "123",
        expiry: "12/30",
        minor: 4_200,
    }
}

impl Processor for Simulator {
    fn connector(&self) -> &dyn Connector {
        &self.connector
    }
    fn currency(&self) -> Currency {
        Currency::Usd
    }
    fn declines(&self) -> Vec<(&'static str, Charge)> {
        vec![
            ("do_not_honour", sim_card("4000000000000002")),
            ("insufficient_funds", sim_card("4000000000009995")),
            ("stolen_card", sim_card("4000000000009979")),
            ("expired_card", sim_card("4000000000000069")),
            ("incorrect_cvc", sim_card("4000000000000127")),
        ]
    }
    fn answer_late(&self) -> Charge {
        sim_card("4000000000000259")
    }
    fn lose_answer(&self) -> Charge {
        sim_card("4000000000000341")
    }
    fn settle(&self) {}
    fn refunds_after_settlement_only(&self) -> bool {
        false
    }
    fn wrongly_configured(&self) -> Option<(Box<dyn Connector>, &'static [&'static str])> {
        None
    }
    async fn plant_foreign(&self, minor: i64) -> String {
        // The simulator has no merchant interface: a reference civicpay
        // never recorded stands for the foreign authorisation.
        let foreign = format!("foreign-{}", uuid::Uuid::now_v7().simple());
        authorise(self, &foreign, Charge { minor, ..VISA }, false).await;
        foreign
    }
}

struct AuthorizeNet {
    fake: AuthorizeNetFake,
    url: String,
    connector: AuthorizeNetConnector,
}

impl AuthorizeNet {
    async fn start() -> AuthorizeNet {
        let fake = AuthorizeNetFake::new("civicpay-login", "civicpay-transaction-key", "USD");
        let addr = civicpay_processor_fakes::serve(fake.router())
            .await
            .unwrap();
        let url = format!("http://{addr}{}", authorize_net::PATH);
        let connector = AuthorizeNetConnector::new(
            url.clone(),
            "civicpay-login",
            Zeroizing::new("civicpay-transaction-key".into()),
            TIMEOUT,
        )
        .unwrap();
        AuthorizeNet {
            fake,
            url,
            connector,
        }
    }
}

/// The testing guide's card that declines with the amount's reason code.
const fn reason_code(code: i64) -> Charge {
    Charge {
        number: authorize_net::REASON_CODE_CARD,
        code: "123",
        expiry: "12/30",
        minor: code * 100,
    }
}

impl Processor for AuthorizeNet {
    fn connector(&self) -> &dyn Connector {
        &self.connector
    }
    fn currency(&self) -> Currency {
        Currency::Usd
    }
    fn declines(&self) -> Vec<(&'static str, Charge)> {
        vec![
            ("do_not_honour", reason_code(2)),
            ("stolen_card", reason_code(4)),
            (
                "expired_card",
                Charge {
                    expiry: "01/21",
                    ..VISA
                },
            ),
            (
                "incorrect_cvc",
                Charge {
                    code: authorize_net::MISMATCHED_CARD_CODE,
                    ..VISA
                },
            ),
            ("held_for_review", reason_code(252)),
        ]
    }
    fn faults(&self) -> Option<&Faults> {
        Some(&self.fake.faults)
    }
    fn settle(&self) {
        self.fake.settle();
    }
    fn refunds_after_settlement_only(&self) -> bool {
        true
    }
    fn wrongly_configured(&self) -> Option<(Box<dyn Connector>, &'static [&'static str])> {
        let connector = AuthorizeNetConnector::new(
            self.url.clone(),
            "civicpay-login",
            Zeroizing::new("not-the-key".into()),
            TIMEOUT,
        )
        .unwrap();
        Some((
            Box::new(connector),
            &["processor.api_login_id", "processor.transaction_key"],
        ))
    }
    async fn plant_foreign(&self, minor: i64) -> String {
        format!("authorize.net:{}", self.fake.plant_authorisation(minor))
    }
}

struct Moneris {
    fake: MonerisFake,
    url: String,
    connector: MonerisConnector,
}

const MERCHANT_ID: &str = "0123456789101";

impl Moneris {
    async fn start() -> Moneris {
        let fake = MonerisFake::new("civicpay-client", "civicpay-secret", MERCHANT_ID, "CAD");
        let addr = civicpay_processor_fakes::serve(fake.router())
            .await
            .unwrap();
        let url = format!("http://{addr}");
        let connector = MonerisConnector::new(
            url.clone(),
            "civicpay-client",
            Zeroizing::new("civicpay-secret".into()),
            MERCHANT_ID,
            TIMEOUT,
        )
        .unwrap();
        Moneris {
            fake,
            url,
            connector,
        }
    }
}

/// The sandbox's penny simulator: the cents choose the answer.
const fn cents(cents: i64) -> Charge {
    Charge {
        minor: 4_200 + cents,
        ..VISA
    }
}

impl Processor for Moneris {
    fn connector(&self) -> &dyn Connector {
        &self.connector
    }
    fn currency(&self) -> Currency {
        Currency::Cad
    }
    fn declines(&self) -> Vec<(&'static str, Charge)> {
        vec![
            ("do_not_honour", cents(5)),
            ("stolen_card", cents(43)),
            ("insufficient_funds", cents(51)),
            ("expired_card", cents(54)),
            (
                "incorrect_cvc",
                Charge {
                    code: moneris::MISMATCHED_SECURITY_CODE,
                    ..VISA
                },
            ),
        ]
    }
    fn faults(&self) -> Option<&Faults> {
        Some(&self.fake.faults)
    }
    fn settle(&self) {
        self.fake.settle();
    }
    fn refunds_after_settlement_only(&self) -> bool {
        false
    }
    fn wrongly_configured(&self) -> Option<(Box<dyn Connector>, &'static [&'static str])> {
        let connector = MonerisConnector::new(
            self.url.clone(),
            "civicpay-client",
            Zeroizing::new("not-the-secret".into()),
            MERCHANT_ID,
            TIMEOUT,
        )
        .unwrap();
        Some((
            Box::new(connector),
            &["processor.client_id", "processor.client_secret"],
        ))
    }
    async fn plant_foreign(&self, minor: i64) -> String {
        format!("moneris:{}", self.fake.plant_authorisation(minor))
    }
}

conformance!(simulator, Simulator::start().await);
conformance!(authorize_net_fake, AuthorizeNet::start().await);
conformance!(moneris_fake, Moneris::start().await);
