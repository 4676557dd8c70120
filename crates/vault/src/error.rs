use thiserror::Error;

/// Why card or bank-account input was refused. Messages never repeat what was typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum CardError {
    #[error("enter the card number")]
    NumberMissing,
    #[error("the card number may only contain digits and spaces")]
    NumberNotDigits,
    #[error("the card number is not the right length")]
    NumberLength,
    #[error("the card number is not valid; check it and try again")]
    NumberChecksum,
    #[error("this type of card is not accepted")]
    BrandUnsupported,
    #[error("enter the expiry date")]
    ExpiryMissing,
    #[error("enter the expiry date as month and year, like 04/28")]
    ExpiryFormat,
    #[error("the card has expired")]
    Expired,
    #[error("enter the security code")]
    SecurityCodeMissing,
    #[error("the security code is {expected} digits")]
    SecurityCodeFormat { expected: usize },
    #[error("enter the account number")]
    AccountMissing,
    #[error("the account number may only contain digits and spaces")]
    AccountNotDigits,
    #[error("an account number is 4 to 17 digits")]
    AccountLength,
    #[error("the two account numbers do not match; type it again")]
    AccountMismatch,
}
