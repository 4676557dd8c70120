//! The simulator connector against a real `acquirer-sim` server on loopback.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use civicpay_acquirer_sim::{Behaviour, Faults, Simulator, TEST_CARDS};
use civicpay_core::{Currency, Money};
use civicpay_gateway::{
    AuthorisationOutcome, AuthorisationRequest, Connector, RefundInquiry, SimulatorConnector,
    StatusInquiry,
};
use civicpay_vault::{CardNumber, Expiry, SecurityCode};
use std::path::PathBuf;
use std::time::Duration;

struct Sim {
    connector: SimulatorConnector,
    dir: PathBuf,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn start(slow_delay: Duration, timeout: Duration) -> Sim {
    start_with(slow_delay, timeout, Faults::default()).await
}

async fn start_with(slow_delay: Duration, timeout: Duration, faults: Faults) -> Sim {
    let dir = std::env::temp_dir().join(format!("civicpay-sim-{}", uuid::Uuid::now_v7().simple()));
    let mut sim = Simulator::open(&dir, slow_delay).await.unwrap();
    sim.faults = faults;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, sim.router()).await;
    });
    Sim {
        connector: SimulatorConnector::new(format!("http://{addr}"), timeout).unwrap(),
        dir,
    }
}

fn usd(minor: i64) -> Money {
    Money::from_minor(minor, Currency::Usd)
}

fn card(number: &str) -> (CardNumber, SecurityCode, Expiry) {
    let card = CardNumber::parse(number).unwrap();
    let code = if card.brand().security_code_length() == 4 {
        "7391"
    } else {
        "739"
    };
    let code = SecurityCode::parse(code, card.brand()).unwrap();
    let expiry = Expiry::parse("12/30", jiff::civil::date(2026, 1, 1)).unwrap();
    (card, code, expiry)
}

async fn authorise(
    sim: &Sim,
    payment_id: &str,
    number: &str,
    capture: bool,
) -> AuthorisationOutcome {
    let (card, security_code, expiry) = card(number);
    sim.connector
        .authorise(AuthorisationRequest {
            payment_id,
            amount: usd(4_200),
            card: &card,
            security_code: Some(&security_code),
            stored_credential: false,
            expiry,
            capture,
        })
        .await
}

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

#[tokio::test]
async fn every_documented_test_card_gives_its_outcome() {
    let sim = start(Duration::from_millis(1500), Duration::from_millis(500)).await;
    for (number, behaviour, what) in TEST_CARDS {
        let id = new_id();
        let outcome = authorise(&sim, &id, number, true).await;
        match behaviour {
            Behaviour::Approve => assert!(
                matches!(
                    outcome,
                    AuthorisationOutcome::Approved { captured: true, .. }
                ),
                "{what}: {outcome:?}"
            ),
            Behaviour::Decline(reason) => assert_eq!(
                outcome,
                AuthorisationOutcome::Declined {
                    reason: reason.code().into()
                },
                "{what}"
            ),
            Behaviour::ServerError => {
                // A 5xx does not say nothing happened: unknown, for the
                // inquiry to settle.
                assert!(
                    matches!(outcome, AuthorisationOutcome::Unknown { .. }),
                    "{what}: {outcome:?}"
                );
                assert_eq!(
                    sim.connector.status(&id).await.unwrap(),
                    StatusInquiry::NotFound,
                    "{what}: nothing authorised"
                );
            }
            Behaviour::Slow => {
                assert!(
                    matches!(outcome, AuthorisationOutcome::Unknown { .. }),
                    "{what}: {outcome:?}"
                );
                tokio::time::sleep(Duration::from_millis(1500)).await;
                assert!(
                    matches!(
                        sim.connector.status(&id).await.unwrap(),
                        StatusInquiry::Captured { .. }
                    ),
                    "{what}: approved later"
                );
            }
            Behaviour::ApproveResponseLost => {
                assert!(
                    matches!(outcome, AuthorisationOutcome::Unknown { .. }),
                    "{what}: {outcome:?}"
                );
                assert!(
                    matches!(
                        sim.connector.status(&id).await.unwrap(),
                        StatusInquiry::Captured {
                            captured: 4_200,
                            ..
                        }
                    ),
                    "{what}: the inquiry finds the approval the caller never heard of"
                );
            }
        }
    }
}

#[tokio::test]
async fn only_a_stored_card_charged_by_the_city_goes_without_its_security_code() {
    let sim = start(Duration::from_millis(1500), Duration::from_millis(500)).await;
    let (card, _, expiry) = card("4242424242424242");
    let charge = |stored_credential| AuthorisationRequest {
        payment_id: "",
        amount: usd(4_200),
        card: &card,
        security_code: None,
        stored_credential,
        expiry,
        capture: true,
    };
    let (on_file, typed) = (new_id(), new_id());
    let outcome = sim
        .connector
        .authorise(AuthorisationRequest {
            payment_id: &on_file,
            ..charge(true)
        })
        .await;
    assert!(
        matches!(
            outcome,
            AuthorisationOutcome::Approved { captured: true, .. }
        ),
        "{outcome:?}"
    );
    let outcome = sim
        .connector
        .authorise(AuthorisationRequest {
            payment_id: &typed,
            ..charge(false)
        })
        .await;
    assert!(
        !matches!(outcome, AuthorisationOutcome::Approved { .. }),
        "a card typed in without its code is refused: {outcome:?}"
    );
}

#[tokio::test]
async fn a_retried_authorisation_is_answered_from_the_first_not_repeated() {
    let sim = start(Duration::from_millis(100), Duration::from_secs(5)).await;
    let id = new_id();
    let first = authorise(&sim, &id, "4242 4242 4242 4242", true).await;
    let second = authorise(&sim, &id, "5555 5555 5555 4444", true).await;
    assert_eq!(
        first, second,
        "same payment id, same answer, whatever the retry carries"
    );
    let mut handles = Vec::new();
    let concurrent = new_id();
    let sim = std::sync::Arc::new(sim);
    for _ in 0..10 {
        let sim = sim.clone();
        let id = concurrent.clone();
        handles.push(tokio::spawn(async move {
            authorise(&sim, &id, "4242424242424242", true).await
        }));
    }
    let mut codes = std::collections::HashSet::new();
    for h in handles {
        if let AuthorisationOutcome::Approved {
            authorisation_code, ..
        } = h.await.unwrap()
        {
            codes.insert(authorisation_code);
        }
    }
    let StatusInquiry::Captured {
        authorisation_code, ..
    } = sim.connector.status(&concurrent).await.unwrap()
    else {
        panic!("captured once");
    };
    assert_eq!(
        codes,
        std::collections::HashSet::from([authorisation_code]),
        "ten concurrent tries, one authorisation"
    );
}

#[tokio::test]
async fn capture_void_and_refunds_follow_the_acquirers_rules() {
    let sim = start(Duration::from_millis(100), Duration::from_secs(5)).await;
    let held = new_id();
    assert!(matches!(
        authorise(&sim, &held, "4242424242424242", false).await,
        AuthorisationOutcome::Approved {
            captured: false,
            ..
        }
    ));
    assert!(matches!(
        sim.connector.status(&held).await.unwrap(),
        StatusInquiry::Approved { amount: 4_200, .. }
    ));
    assert!(
        sim.connector.capture(&held, usd(5_000)).await.is_err(),
        "never more than authorised"
    );
    sim.connector.capture(&held, usd(4_200)).await.unwrap();
    assert!(
        sim.connector.void(&held).await.is_err(),
        "a captured payment is refunded, not voided"
    );

    sim.connector.refund(&held, "r1", usd(2_000)).await.unwrap();
    sim.connector.refund(&held, "r1", usd(2_000)).await.unwrap();
    let StatusInquiry::Captured { refunded, .. } = sim.connector.status(&held).await.unwrap()
    else {
        panic!()
    };
    assert_eq!(refunded, 2_000, "a repeated refund id refunds once");
    assert!(
        sim.connector.refund(&held, "r2", usd(2_201)).await.is_err(),
        "never more than captured"
    );
    sim.connector.refund(&held, "r3", usd(2_200)).await.unwrap();

    let voided = new_id();
    authorise(&sim, &voided, "4242424242424242", false).await;
    sim.connector.void(&voided).await.unwrap();
    assert_eq!(
        sim.connector.status(&voided).await.unwrap(),
        StatusInquiry::Voided
    );
    assert_eq!(
        sim.connector.status(&new_id()).await.unwrap(),
        StatusInquiry::NotFound
    );
}

#[tokio::test]
async fn an_unreachable_acquirer_is_a_failure_not_a_decline() {
    let connector =
        SimulatorConnector::new("http://127.0.0.1:9", Duration::from_millis(300)).unwrap();
    let (card, security_code, expiry) = card("4242424242424242");
    let outcome = connector
        .authorise(AuthorisationRequest {
            payment_id: "x",
            amount: usd(1),
            card: &card,
            security_code: Some(&security_code),
            stored_credential: false,
            expiry,
            capture: true,
        })
        .await;
    assert!(
        matches!(outcome, AuthorisationOutcome::Failed { .. }),
        "{outcome:?}"
    );
}

/// Counts occurrences of `needle` in every file under `dir` that are not
/// part of a longer run of digits: a security code stored as a value stands
/// alone, while "739" inside the simulator's random six-digit authorisation
/// codes is a coincidence, not a leak.
fn occurrences(dir: &std::path::Path, needle: &[u8]) -> usize {
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            count += occurrences(&path, needle);
        } else if let Ok(bytes) = std::fs::read(&path) {
            let digit =
                |i: Option<usize>| i.and_then(|i| bytes.get(i)).is_some_and(u8::is_ascii_digit);
            count += bytes
                .windows(needle.len())
                .enumerate()
                .filter(|(i, w)| {
                    *w == needle && !digit(i.checked_sub(1)) && !digit(Some(i + needle.len()))
                })
                .count();
        }
    }
    count
}

#[tokio::test]
async fn the_simulator_never_writes_a_card_number_or_security_code() {
    let sim = start(Duration::from_millis(100), Duration::from_secs(5)).await;
    // Ids without digits, so that only what the simulator chose to keep
    // can hold one.
    for (id, number) in [
        ("canary-visa", "4242424242424242"),
        ("canary-declined", "4000000000000002"),
        ("canary-amex", "378282246310005"),
    ] {
        authorise(&sim, id, number, true).await;
    }
    for needle in [
        "4242424242424242",
        "4000000000000002",
        "378282246310005",
        "7391",
        "739",
    ] {
        assert_eq!(
            occurrences(&sim.dir, needle.as_bytes()),
            0,
            "{needle} was written"
        );
    }
    // The scan finds a copy planted on purpose.
    std::fs::write(sim.dir.join("planted"), b"..4242424242424242..\x00739\x00").unwrap();
    assert_eq!(occurrences(&sim.dir, b"4242424242424242"), 1);
    assert_eq!(occurrences(&sim.dir, b"739"), 1);
}

#[tokio::test]
async fn the_acquirer_lists_its_day_and_answers_for_each_refund() {
    let sim = start(Duration::from_millis(100), Duration::from_secs(5)).await;
    let (captured, approved) = (new_id(), new_id());
    authorise(&sim, &captured, "4242 4242 4242 4242", true).await;
    authorise(&sim, &approved, "4242 4242 4242 4242", false).await;
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let listed = sim.connector.authorisations_on(today).await.unwrap();
    let find = |id: &str| {
        listed
            .iter()
            .find(|r| r.reference == id)
            .map(|r| r.inquiry.clone())
    };
    assert!(matches!(
        find(&captured),
        Some(StatusInquiry::Captured {
            captured: 4_200,
            ..
        })
    ));
    assert!(matches!(
        find(&approved),
        Some(StatusInquiry::Approved { amount: 4_200, .. })
    ));
    let yesterday = today.yesterday().unwrap();
    assert!(
        sim.connector
            .authorisations_on(yesterday)
            .await
            .unwrap()
            .is_empty()
    );

    assert_eq!(
        sim.connector.refund_status(&captured, "r-1").await.unwrap(),
        RefundInquiry::NotFound
    );
    sim.connector
        .refund(&captured, "r-1", usd(700))
        .await
        .unwrap();
    assert_eq!(
        sim.connector.refund_status(&captured, "r-1").await.unwrap(),
        RefundInquiry::Refunded { amount: 700 }
    );
    // Sent again, the same refund is answered, not paid twice.
    sim.connector
        .refund(&captured, "r-1", usd(700))
        .await
        .unwrap();
    assert!(matches!(
        sim.connector.status(&captured).await.unwrap(),
        StatusInquiry::Captured { refunded: 700, .. }
    ));
}

#[tokio::test]
async fn injected_faults_lose_answers_but_never_double_charge() {
    // Every request's answer is lost after the simulator acted.
    let lossy = start_with(
        Duration::from_millis(100),
        Duration::from_secs(5),
        Faults {
            drop_after: 1.0,
            ..Faults::default()
        },
    )
    .await;
    let id = new_id();
    let outcome = authorise(&lossy, &id, "4242 4242 4242 4242", true).await;
    assert!(
        matches!(outcome, AuthorisationOutcome::Unknown { .. }),
        "{outcome:?}"
    );
    assert!(
        lossy.connector.status(&id).await.is_err(),
        "the inquiry's answer is lost too"
    );

    // Dropped before acting: nothing happened.
    let refused = start_with(
        Duration::from_millis(100),
        Duration::from_secs(5),
        Faults {
            drop_before: 1.0,
            ..Faults::default()
        },
    )
    .await;
    let outcome = authorise(&refused, &new_id(), "4242 4242 4242 4242", true).await;
    assert!(
        matches!(outcome, AuthorisationOutcome::Unknown { .. }),
        "{outcome:?}"
    );

    // Always 5xx: unknown, never a decline.
    let broken = start_with(
        Duration::from_millis(100),
        Duration::from_secs(5),
        Faults {
            server_error: 1.0,
            ..Faults::default()
        },
    )
    .await;
    let outcome = authorise(&broken, &new_id(), "4242 4242 4242 4242", true).await;
    assert!(
        matches!(outcome, AuthorisationOutcome::Unknown { .. }),
        "{outcome:?}"
    );

    // Slow beyond the caller's patience: unknown, for the inquiry to settle.
    let slow = start_with(
        Duration::from_millis(800),
        Duration::from_millis(300),
        Faults {
            slow: 1.0,
            slow_delay: Duration::from_millis(800),
            ..Faults::default()
        },
    )
    .await;
    let id = new_id();
    let outcome = authorise(&slow, &id, "4242 4242 4242 4242", true).await;
    assert!(
        matches!(outcome, AuthorisationOutcome::Unknown { .. }),
        "{outcome:?}"
    );
}
