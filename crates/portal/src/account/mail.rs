//! E-mails to residents, in the resident's language, as plain text and
//! the same words as HTML. Mail trouble is logged, never shown: a page
//! must not say more to a stranger than "if the address can be used".

use super::views::EmailHtml;
use crate::AppState;
use askama::Template;
use civicpay_core::Tenant;
use civicpay_web::Translator;

/// One message: a subject, paragraphs, and at most one link.
pub(crate) struct ResidentMail {
    pub subject: String,
    pub paragraphs: Vec<String>,
    pub link: Option<String>,
}

impl ResidentMail {
    pub fn new(subject: String) -> ResidentMail {
        ResidentMail {
            subject,
            paragraphs: Vec::new(),
            link: None,
        }
    }

    pub fn says(mut self, paragraph: String) -> ResidentMail {
        self.paragraphs.push(paragraph);
        self
    }

    pub fn link(mut self, link: String) -> ResidentMail {
        self.link = Some(link);
        self
    }

    /// The plain-text body.
    fn text(&self, t: &Translator, signature: &str) -> String {
        let mut lines = vec![t.get("mail-greeting"), String::new()];
        for p in &self.paragraphs {
            lines.push(p.clone());
            lines.push(String::new());
        }
        if let Some(link) = &self.link {
            lines.push(link.clone());
            lines.push(String::new());
        }
        lines.push(signature.to_owned());
        lines.join("\n")
    }

    /// Sends it to `to` if mail is configured; returns whether it went.
    /// Either way it is noted against the address, for staff helping the
    /// resident later.
    pub async fn send(&self, state: &AppState, tenant: &Tenant, t: &Translator, to: &str) -> bool {
        let delivered = self.deliver(state, tenant, t, to).await;
        if let Err(e) = state
            .store
            .note_mail_sent(&tenant.id, to, &self.subject, delivered)
            .await
        {
            tracing::warn!(city = %tenant.slug, error = %e, "resident e-mail not noted");
        }
        delivered
    }

    async fn deliver(&self, state: &AppState, tenant: &Tenant, t: &Translator, to: &str) -> bool {
        let Some(mail) = &state.config.mail else {
            tracing::warn!(city = %tenant.slug, "no mail configured: resident e-mail not sent");
            return false;
        };
        let signature = t.arg("mail-signature", "city", tenant.name.get(t.language()));
        let mut paragraphs = vec![t.get("mail-greeting")];
        paragraphs.extend(self.paragraphs.iter().cloned());
        let html = EmailHtml {
            lang: t.lang(),
            subject: &self.subject,
            paragraphs: &paragraphs,
            link: self.link.as_deref(),
            signature: &signature,
        }
        .render()
        .ok();
        let subject = format!("{} – {}", self.subject, tenant.name.get(t.language()));
        match mail
            .send(to, &subject, &self.text(t, &signature), html)
            .await
        {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(city = %tenant.slug, error = %e, "resident e-mail not sent");
                false
            }
        }
    }
}
