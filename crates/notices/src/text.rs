//! The words of the letters in English, French and Spanish, and the
//! incident's own facts, which the city writes in a small TOML file.

use crate::NoticeError;
use serde::Deserialize;

/// What the city says about this incident (`incident.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Incident {
    /// When the city learned of it, e.g. 2026-11-20 (a TOML date).
    pub discovered_on: toml::value::Datetime,
    pub what_happened: String,
    pub what_we_are_doing: String,
    /// Extra advice; the letter already tells people to watch their card
    /// statements and call their bank.
    #[serde(default)]
    pub what_you_can_do: Option<String>,
    pub contact_phone: String,
    #[serde(default)]
    pub contact_hours: Option<String>,
    /// Steps taken, for the breach record.
    #[serde(default)]
    pub steps_taken: Vec<String>,
}

impl Incident {
    pub fn parse(text: &str) -> Result<Incident, NoticeError> {
        toml::from_str(text).map_err(|e| NoticeError::Incident(e.to_string()))
    }
}

pub(crate) struct Words {
    pub title: &'static str,
    pub what_happened: &'static str,
    pub information: &'static str,
    pub doing: &'static str,
    pub you_can_do: &'static str,
    pub more: &'static str,
    pub dear: &'static str,
    pub between: &'static str,
    pub involved: &'static str,
    pub advice: &'static str,
    pub call: &'static str,
    pub california: &'static str,
    pub sincerely: &'static str,
}

pub(crate) fn words(language: &str) -> Words {
    match language {
        "fr" => Words {
            title: "Avis d'atteinte à la protection des données",
            what_happened: "Ce qui s'est passé",
            information: "Renseignements touchés",
            doing: "Ce que nous faisons",
            you_can_do: "Ce que vous pouvez faire",
            more: "Pour en savoir plus",
            dear: "Madame, Monsieur",
            between: "Vous avez saisi des données de carte sur notre page de paiement entre le {first} et le {last}.",
            involved: "Les renseignements que vous avez saisis sur la page touchée : {elements}.",
            advice: "Surveillez les relevés de votre carte et signalez tout achat que vous ne reconnaissez pas à votre banque, qui peut remplacer votre carte.",
            call: "Pour toute question, appelez le {phone}{hours}.",
            california: "Vous pouvez aussi demander un gel de sécurité auprès des agences d'évaluation du crédit.",
            sincerely: "Veuillez agréer nos salutations distinguées,",
        },
        "es" => Words {
            title: "Aviso de violación de datos",
            what_happened: "Qué sucedió",
            information: "Qué información estuvo involucrada",
            doing: "Qué estamos haciendo",
            you_can_do: "Qué puede hacer usted",
            more: "Para más información",
            dear: "Estimado/a",
            between: "Usted ingresó datos de tarjeta en nuestra página de pago entre el {first} y el {last}.",
            involved: "La información que ingresó en la página afectada: {elements}.",
            advice: "Revise los estados de cuenta de su tarjeta y avise a su banco de cualquier compra que no reconozca; su banco puede reemplazar la tarjeta.",
            call: "Si tiene preguntas, llame al {phone}{hours}.",
            california: "También puede solicitar un congelamiento de seguridad a las agencias de informes de crédito.",
            sincerely: "Atentamente,",
        },
        _ => Words {
            title: "Notice of Data Breach",
            what_happened: "What Happened",
            information: "What Information Was Involved",
            doing: "What We Are Doing",
            you_can_do: "What You Can Do",
            more: "For More Information",
            dear: "Dear",
            between: "You entered card details on our payment page between {first} and {last}.",
            involved: "The information you entered on the affected page: {elements}.",
            advice: "Check your card statements and report any purchase you do not recognise to your bank, which can replace your card.",
            call: "If you have questions, call {phone}{hours}.",
            california: "You may also place a security freeze with the consumer credit reporting agencies, free of charge.",
            sincerely: "Sincerely,",
        },
    }
}

/// A data element as a person would name it.
pub(crate) fn element(language: &str, code: &str) -> &'static str {
    match (language, code) {
        ("fr", "name") => "votre nom",
        ("fr", "card_number") => "le numéro de votre carte",
        ("fr", "expiry") => "la date d'expiration de la carte",
        ("fr", "security_code") => "le code de sécurité de la carte",
        ("fr", "postal_code") => "votre code postal",
        ("fr", "email") => "votre adresse courriel",
        ("es", "name") => "su nombre",
        ("es", "card_number") => "el número de su tarjeta",
        ("es", "expiry") => "la fecha de vencimiento de la tarjeta",
        ("es", "security_code") => "el código de seguridad de la tarjeta",
        ("es", "postal_code") => "su código postal",
        ("es", "email") => "su correo electrónico",
        (_, "name") => "your name",
        (_, "card_number") => "your card number",
        (_, "expiry") => "the card's expiry date",
        (_, "security_code") => "the card's security code",
        (_, "postal_code") => "your postal code",
        (_, "email") => "your e-mail address",
        _ => "other details",
    }
}
