use qrcode::QrCode;
use qrcode::render::svg;
use rand::RngCore;
use std::fmt;
use totp_rs::{Builder, Secret, Totp};

/// A TOTP step number (30-second window since the epoch). The last one
/// accepted is stored so a code cannot be replayed inside its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TotpStep(pub u64);

/// The shared secret of an authenticator app: 160 bits (RFC 4226's advice),
/// kept as base32, the form authenticator apps take.
pub struct TotpSecret(String);

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(redacted)")
    }
}

impl TotpSecret {
    pub fn generate() -> TotpSecret {
        let mut bytes = [0u8; 20];
        rand::rng().fill_bytes(&mut bytes);
        TotpSecret(Secret::new_stack(bytes).to_base32())
    }

    /// A secret derived from a server-held seed, so the enrolment page shows
    /// the same QR code on every reload without storing it before it is
    /// confirmed.
    pub fn from_seed(seed: &[u8; 32]) -> TotpSecret {
        let mut bytes = [0u8; 20];
        bytes.copy_from_slice(seed.get(..20).unwrap_or(&[0; 20]));
        TotpSecret(Secret::new_stack(bytes).to_base32())
    }

    pub fn from_base32(s: &str) -> Option<TotpSecret> {
        Secret::try_from_base32(s).ok()?;
        Some(TotpSecret(s.to_owned()))
    }

    pub fn base32(&self) -> &str {
        &self.0
    }

    fn totp(&self, issuer: &str, account: &str) -> Option<Totp> {
        let secret = Secret::try_from_base32(&self.0).ok()?;
        Builder::new()
            .with_secret(secret)
            .with_issuer(Some(issuer.replace(':', " ")))
            .with_account_name(account.replace(':', " "))
            .build()
            .ok()
    }

    /// The `otpauth://` URI an authenticator app scans.
    pub fn provisioning_uri(&self, issuer: &str, account: &str) -> String {
        self.totp(issuer, account)
            .and_then(|t| t.to_url().ok())
            .unwrap_or_default()
    }

    /// The URI as an inline SVG QR code, drawn on the server.
    pub fn qr_svg(&self, issuer: &str, account: &str) -> String {
        QrCode::new(self.provisioning_uri(issuer, account).as_bytes())
            .map(|code| {
                code.render::<svg::Color<'_>>()
                    .min_dimensions(200, 200)
                    .dark_color(svg::Color("#000000"))
                    .light_color(svg::Color("#ffffff"))
                    .build()
            })
            .unwrap_or_default()
    }

    /// The step a typed code belongs to, if it is valid at `unix_seconds`
    /// (one step of clock drift either way) and later than `after`.
    pub fn verify(
        &self,
        code: &str,
        unix_seconds: u64,
        after: Option<TotpStep>,
    ) -> Option<TotpStep> {
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        let step = self.totp("civicpay", "x")?.check(&code, unix_seconds)?;
        let step = TotpStep(step);
        after.is_none_or(|last| step > last).then_some(step)
    }

    /// The current code, for tests and the demo.
    pub fn code_at(&self, unix_seconds: u64) -> String {
        self.totp("civicpay", "x")
            .map(|t| t.generate(unix_seconds).to_string())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_verifies_once_and_only_near_its_time() {
        let secret = TotpSecret::generate();
        let now = 1_800_000_000;
        let code = secret.code_at(now);
        assert_eq!(code.len(), 6);
        let step = secret.verify(&code, now, None).unwrap_or(TotpStep(0));
        assert_eq!(step, TotpStep(now / 30));
        assert_eq!(secret.verify(&code, now + 30, None), Some(step));
        assert_eq!(secret.verify(&code, now + 90, None), None);
        assert_eq!(secret.verify(&code, now, Some(step)), None, "replayed");
        assert_eq!(secret.verify("000000x", now, None), None);
        let other = TotpSecret::generate();
        assert_eq!(
            other
                .verify(&code, now, None)
                .filter(|_| other.code_at(now) != code),
            None
        );
    }

    #[test]
    fn the_enrolment_qr_code_is_an_svg_of_the_otpauth_uri() {
        let secret = TotpSecret::generate();
        let uri = secret.provisioning_uri("Springfield civicpay", "clerk@springfield.gov");
        assert!(uri.starts_with("otpauth://totp/"), "{uri}");
        assert!(uri.contains(secret.base32()));
        let svg = secret.qr_svg("Springfield civicpay", "clerk@springfield.gov");
        assert!(svg.contains("<svg"), "{svg}");
        assert!(!svg.contains("<script"));
        assert!(TotpSecret::from_base32(secret.base32()).is_some());
        assert!(TotpSecret::from_base32("not base32!").is_none());
    }
}
