//! Which card processor takes a city's payments, and the account there.
//! Only what may be read by anyone: the secrets (Authorize.Net's
//! transaction key, Moneris's client secret) are sealed in pay's database
//! by `civicpay city secret set`, never here and never in the city file.

use crate::{Currency, ParseError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ProcessorEnvironment {
    /// The processor's test service: no money moves.
    Sandbox,
    Production,
}

impl ProcessorEnvironment {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        match s.trim() {
            "sandbox" => Ok(Self::Sandbox),
            "production" => Ok(Self::Production),
            _ => Err(ParseError::invalid("must be sandbox or production")),
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::Sandbox => "sandbox",
            Self::Production => "production",
        }
    }
}

/// A city's processor account. Without one, a city's payments go to the
/// deployment's acquirer (the simulator, in a demo).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Processor {
    AuthorizeNet {
        environment: ProcessorEnvironment,
        /// The API login ID (the merchant interface's "API Credentials &
        /// Keys" page).
        api_login_id: String,
    },
    Moneris {
        environment: ProcessorEnvironment,
        /// The OAuth client id of the city's Moneris API application.
        client_id: String,
        /// The 13-character merchant id Moneris gave the city.
        merchant_id: String,
    },
}

/// The names `civicpay city secret set` takes, per processor.
pub const AUTHORIZE_NET_SECRET: &str = "processor.transaction_key";
pub const MONERIS_SECRET: &str = "processor.client_secret";

impl Processor {
    pub fn kind(&self) -> &'static str {
        match self {
            Processor::AuthorizeNet { .. } => "authorize_net",
            Processor::Moneris { .. } => "moneris",
        }
    }

    /// The processor's own name, for people.
    pub fn display_name(&self) -> &'static str {
        match self {
            Processor::AuthorizeNet { .. } => "Authorize.Net",
            Processor::Moneris { .. } => "Moneris",
        }
    }

    pub fn environment(&self) -> ProcessorEnvironment {
        match self {
            Processor::AuthorizeNet { environment, .. }
            | Processor::Moneris { environment, .. } => *environment,
        }
    }

    /// The secret the connector needs, by the name `city secret set` takes.
    pub fn secret_name(&self) -> &'static str {
        match self {
            Processor::AuthorizeNet { .. } => AUTHORIZE_NET_SECRET,
            Processor::Moneris { .. } => MONERIS_SECRET,
        }
    }

    /// Reads the file's fields for `kind`; the fields of another
    /// processor are refused rather than ignored.
    pub fn parse(
        kind: &str,
        environment: ProcessorEnvironment,
        api_login_id: Option<&str>,
        client_id: Option<&str>,
        merchant_id: Option<&str>,
    ) -> Result<Processor, (&'static str, ParseError)> {
        let required = |field: &'static str, value: Option<&str>| {
            value
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .ok_or((field, ParseError::Missing))
        };
        let absent = |field: &'static str, value: Option<&str>, kind: &str| match value {
            Some(_) => Err((
                field,
                ParseError::invalid(format!("is not a setting of {kind}")),
            )),
            None => Ok(()),
        };
        match kind.trim() {
            "authorize_net" => {
                absent("client_id", client_id, "Authorize.Net")?;
                absent("merchant_id", merchant_id, "Authorize.Net")?;
                let api_login_id = required("api_login_id", api_login_id)?;
                // The API takes `name` of at most 25 characters.
                if api_login_id.len() > 25
                    || !api_login_id.chars().all(|c| c.is_ascii_alphanumeric())
                {
                    return Err((
                        "api_login_id",
                        ParseError::invalid(
                            "must be up to 25 letters and digits, as Authorize.Net shows it",
                        ),
                    ));
                }
                Ok(Processor::AuthorizeNet {
                    environment,
                    api_login_id,
                })
            }
            "moneris" => {
                absent("api_login_id", api_login_id, "Moneris")?;
                let client_id = required("client_id", client_id)?;
                if client_id.len() > 200
                    || client_id
                        .chars()
                        .any(|c| c.is_whitespace() || c.is_control())
                {
                    return Err((
                        "client_id",
                        ParseError::invalid("must be the client id without spaces"),
                    ));
                }
                let merchant_id = required("merchant_id", merchant_id)?;
                if merchant_id.len() != 13
                    || !merchant_id.chars().all(|c| c.is_ascii_alphanumeric())
                {
                    return Err((
                        "merchant_id",
                        ParseError::invalid(
                            "must be the 13-character merchant id Moneris gave the city",
                        ),
                    ));
                }
                Ok(Processor::Moneris {
                    environment,
                    client_id,
                    merchant_id,
                })
            }
            _ => Err((
                "kind",
                ParseError::invalid("must be authorize_net or moneris"),
            )),
        }
    }

    /// Whether the processor can take the city's currency: Moneris
    /// settles Canadian dollars; Authorize.Net accounts are in US or
    /// Canadian dollars.
    pub fn check_currency(&self, currency: Currency) -> Result<(), ParseError> {
        match (self, currency) {
            (Processor::Moneris { .. }, Currency::Cad)
            | (Processor::AuthorizeNet { .. }, Currency::Usd | Currency::Cad) => Ok(()),
            (p, c) => Err(ParseError::invalid(format!(
                "{} does not take payments in {}",
                p.display_name(),
                c.code()
            ))),
        }
    }

    /// One line, for a change list and the console.
    pub fn text(&self) -> String {
        match self {
            Processor::AuthorizeNet {
                environment,
                api_login_id,
            } => format!(
                "authorize_net {} api_login_id={api_login_id}",
                environment.code()
            ),
            Processor::Moneris {
                environment,
                client_id,
                merchant_id,
            } => format!(
                "moneris {} client_id={client_id} merchant_id={merchant_id}",
                environment.code()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_processor_takes_its_own_fields_only() {
        let sandbox = ProcessorEnvironment::Sandbox;
        assert!(matches!(
            Processor::parse("authorize_net", sandbox, Some("5KP3u95bQpv"), None, None),
            Ok(Processor::AuthorizeNet { .. })
        ));
        assert!(matches!(
            Processor::parse("moneris", sandbox, None, Some("abc"), Some("0123456789101")),
            Ok(Processor::Moneris { .. })
        ));
        let field = |r: Result<Processor, (&'static str, ParseError)>| r.err().map(|(f, _)| f);
        assert_eq!(
            field(Processor::parse(
                "authorize_net",
                sandbox,
                Some("x"),
                Some("c"),
                None
            )),
            Some("client_id")
        );
        assert_eq!(
            field(Processor::parse(
                "moneris",
                sandbox,
                None,
                Some("c"),
                Some("short")
            )),
            Some("merchant_id")
        );
        assert_eq!(
            field(Processor::parse(
                "moneris",
                sandbox,
                None,
                None,
                Some("0123456789101")
            )),
            Some("client_id")
        );
        assert_eq!(
            field(Processor::parse("stripe", sandbox, None, None, None)),
            Some("kind")
        );
    }

    #[test]
    fn moneris_takes_canadian_dollars_only() {
        let moneris = Processor::Moneris {
            environment: ProcessorEnvironment::Sandbox,
            client_id: "c".into(),
            merchant_id: "0123456789101".into(),
        };
        assert!(moneris.check_currency(Currency::Cad).is_ok());
        assert!(moneris.check_currency(Currency::Usd).is_err());
        let authorize_net = Processor::AuthorizeNet {
            environment: ProcessorEnvironment::Production,
            api_login_id: "x".into(),
        };
        assert!(authorize_net.check_currency(Currency::Usd).is_ok());
    }
}
