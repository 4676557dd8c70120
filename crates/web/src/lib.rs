//! HTTP foundations shared by civicpay's services (the portal now, the pay
//! service later): security headers, the one stylesheet and its CSP hash,
//! translations and language choice, form tokens and form fields, the client's address.
//! Nothing here knows about cards or bills.

pub mod client_ip;
pub mod csp_report;
pub mod form_token;
pub mod forms;
pub mod headers;
pub mod i18n;
pub mod service_key;
pub mod style;
pub mod webhook_signature;

pub use client_ip::ClientIp;
pub use form_token::FormTokens;
pub use headers::{FormTarget, SecurityHeaders};
pub use i18n::Translator;
