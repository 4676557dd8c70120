//! A resident's saved cards, as the portal may show them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SavedCardView {
    /// The vault's token for the card: names it, opens nothing.
    pub token: String,
    pub brand: String,
    pub last4: String,
    pub exp_month: i64,
    pub exp_year: i64,
}

/// `GET /v1/customers/{customer}/cards`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SavedCardList {
    pub cards: Vec<SavedCardView>,
}
