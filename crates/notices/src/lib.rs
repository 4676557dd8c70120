//! Notice letters after a card-page breach, from the exact scope that
//! `civicpay incident scope` found: one PDF letter per person (in their
//! language where known), a mailing list for a mail house, and the breach
//! record a business keeps under Canadian privacy law (PIPEDA s. 10.3).
//!
//! PDFs are written with printpdf using the standard Helvetica faces every
//! PDF reader has: a letter is about 2 KB instead of the ~750 KB an embedded
//! TrueType font costs each one (printpdf embeds fonts whole), which
//! matters when a city mails thousands.

mod letter;
mod receipt;
mod text;

pub use letter::{Letter, LetterTemplate, render_letter};
pub use receipt::{Receipt, render_receipt};
pub use text::Incident;

#[derive(Debug, thiserror::Error)]
pub enum NoticeError {
    #[error("incident file: {0}")]
    Incident(String),
}
