//! Receipt e-mails, through lettre: to files in an outbox folder by default
//! (nothing leaves the machine until a city configures SMTP), or over SMTP
//! with STARTTLS when `smtp_url` is set.

use civicpay_web::Translator;
use lettre::message::{Mailbox, MultiPart, header::ContentType};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub enum MailConfig {
    /// Each message is written as an `.eml` file in this folder.
    Outbox(PathBuf),
    /// `smtp://user:pass@host:587` (STARTTLS) or `smtps://…` (TLS).
    Smtp { url: String },
}

#[derive(Debug, Clone)]
pub struct Mail {
    pub config: MailConfig,
    pub from: String,
}

/// What a receipt says; no card data beyond brand and last four digits.
pub(crate) struct Receipt {
    pub city: String,
    pub bill_reference: String,
    pub amount: String,
    /// The amount and the convenience fee apart, when one was charged.
    pub fee: Option<String>,
    pub card: Option<String>,
    pub paid_at: String,
    pub payment_id: String,
    pub contact: String,
}

impl Mail {
    pub(crate) async fn send_receipt(
        &self,
        t: &Translator,
        to: &str,
        receipt: &Receipt,
    ) -> Result<(), String> {
        let mut body = vec![
            t.get("receipt-title"),
            String::new(),
            format!("{}: {}", t.get("receipt-reference"), receipt.bill_reference),
            format!("{}: {}", t.get("receipt-amount"), receipt.amount),
        ];
        if let Some(fee) = &receipt.fee {
            body.push(fee.clone());
        }
        if let Some(card) = &receipt.card {
            body.push(format!("{}: {card}", t.get("receipt-card")));
        }
        body.push(format!("{}: {}", t.get("receipt-date"), receipt.paid_at));
        body.push(format!(
            "{}: {}",
            t.get("receipt-payment-id"),
            receipt.payment_id
        ));
        body.push(String::new());
        body.push(receipt.contact.clone());
        self.send_text(
            to,
            &format!("{} – {}", t.get("receipt-title"), receipt.city),
            &body.join("\n"),
        )
        .await
    }

    /// A plain-text message to one address (receipts, security alarms).
    pub async fn send_text(&self, to: &str, subject: &str, body: &str) -> Result<(), String> {
        self.send(to, subject, body, None).await
    }

    /// A message as plain text and, when given, the same words as HTML
    /// (`multipart/alternative`): no images, no remote content, nothing
    /// that reports back when it is opened.
    pub async fn send(
        &self,
        to: &str,
        subject: &str,
        body: &str,
        html: Option<String>,
    ) -> Result<(), String> {
        let to: Mailbox = to
            .parse()
            .map_err(|e| format!("recipient address {to:?}: {e}"))?;
        let from: Mailbox = self
            .from
            .parse()
            .map_err(|e| format!("sender address: {e}"))?;
        let builder = Message::builder().from(from).to(to).subject(subject);
        let message = match html {
            None => builder
                .header(ContentType::TEXT_PLAIN)
                .body(body.to_owned()),
            Some(html) => {
                builder.multipart(MultiPart::alternative_plain_html(body.to_owned(), html))
            }
        }
        .map_err(|e| e.to_string())?;
        match &self.config {
            MailConfig::Outbox(dir) => {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| e.to_string())?;
                AsyncFileTransport::<Tokio1Executor>::new(dir)
                    .send(message)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
            MailConfig::Smtp { url } => AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                .map_err(|e| e.to_string())?
                .build()
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
        }
    }
}
