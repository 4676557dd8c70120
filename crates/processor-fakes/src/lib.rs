//! Fakes of the card processors civicpay has connectors for, built from
//! each processor's public developer documentation. They read requests as
//! the real services do (element order, required fields, formats,
//! credentials), keep state (authorised, captured, settled at a batch
//! cut-off, voided, refunded) and can be told to misbehave. They never
//! keep a card number or security code: only the last four digits.
//!
//! They exist for the connector conformance suite and for manual runs
//! (`civicpay processor-fake`); nothing in production uses them.

pub mod authorize_net;
pub mod faults;
pub mod moneris;
mod ordered;

pub use faults::Fault;

/// A fake listening on loopback; dropping it does not stop the server,
/// which lives as long as the runtime.
pub async fn serve(router: axum::Router) -> std::io::Result<std::net::SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok(addr)
}

/// Luhn's check, which both processors apply before anything else.
pub(crate) fn luhn_valid(digits: &str) -> bool {
    let sum: u32 = digits
        .chars()
        .rev()
        .filter_map(|c| c.to_digit(10))
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 1 {
                let d = d * 2;
                if d > 9 { d - 9 } else { d }
            } else {
                d
            }
        })
        .sum();
    !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) && sum.is_multiple_of(10)
}

/// The last four digits: all a fake keeps of a card.
pub(crate) fn last4(digits: &str) -> String {
    digits
        .get(digits.len().saturating_sub(4)..)
        .unwrap_or_default()
        .to_owned()
}

pub(crate) fn random_code(len: usize, alphabet: &[u8]) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..len)
        .map(|_| {
            let i = rng.random_range(0..alphabet.len());
            alphabet.get(i).copied().map_or('0', char::from)
        })
        .collect()
}

/// Sets a field of a JSON object (without indexing, which could panic).
pub(crate) fn set(object: &mut serde_json::Value, key: &str, value: serde_json::Value) {
    if let Some(map) = object.as_object_mut() {
        map.insert(key.to_owned(), value);
    }
}
