use serde::{Deserialize, Serialize};

/// What was done. Stored by its code, so that entries written by an older
/// or newer build still verify and display.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    SignInSucceeded,
    SignInFailed,
    SignInLocked,
    SignedOut,
    SignedOutEverywhere,
    StaffCreated,
    StaffEnrolled,
    StaffRoleChanged,
    StaffDisabled,
    SecondFactorEnrolled,
    RecoveryCodeUsed,
    RecoveryCodesRegenerated,
    PhonePaymentStarted,
    PhonePaymentFinished,
    RefundRequested,
    RefundApproved,
    RefundRejected,
    RefundIssued,
    PaymentVoided,
    ReportViewed,
    ExportDownloaded,
    SettingChanged,
    BillTypeChanged,
    TenantCreated,
    /// A city's payments paused by the platform; staff can still read and refund.
    TenantSuspended,
    TenantResumed,
    TamperAlarm,
    CspViolation,
    IncidentScopeRun,
    VaultKeysRotated,
    ProcessorSecretSet,
    AutopayEnrolled,
    AutopayCancelled,
    AutopayCharged,
    ResidentDeleted,
    /// Staff opened a resident's account to help them.
    ResidentLookedUp,
    /// Staff turned off a resident's two-step sign-in after checking who
    /// they are (how, in the details).
    ResidentTwoStepReset,
    /// Money trail (pay's database): one per payment event.
    MoneyPaymentEvent,
    /// Money trail: one per refund reserved or finished.
    MoneyRefundEvent,
    /// Money trail: one per ledger posting line.
    MoneyLedgerPosting,
    /// Money trail: an authorisation no payment accounts for was voided or
    /// refunded at the acquirer.
    MoneyOrphanSettled,
    /// Reconciliation cannot settle a payment or refund: a person must.
    PaymentNeedsAttention,
}

impl Action {
    pub const ALL: [Action; 42] = [
        Action::SignInSucceeded,
        Action::SignInFailed,
        Action::SignInLocked,
        Action::SignedOut,
        Action::SignedOutEverywhere,
        Action::StaffCreated,
        Action::StaffEnrolled,
        Action::StaffRoleChanged,
        Action::StaffDisabled,
        Action::SecondFactorEnrolled,
        Action::RecoveryCodeUsed,
        Action::RecoveryCodesRegenerated,
        Action::PhonePaymentStarted,
        Action::PhonePaymentFinished,
        Action::RefundRequested,
        Action::RefundApproved,
        Action::RefundRejected,
        Action::RefundIssued,
        Action::PaymentVoided,
        Action::ReportViewed,
        Action::ExportDownloaded,
        Action::SettingChanged,
        Action::BillTypeChanged,
        Action::TenantCreated,
        Action::TenantSuspended,
        Action::TenantResumed,
        Action::TamperAlarm,
        Action::CspViolation,
        Action::IncidentScopeRun,
        Action::VaultKeysRotated,
        Action::ProcessorSecretSet,
        Action::AutopayEnrolled,
        Action::AutopayCancelled,
        Action::AutopayCharged,
        Action::ResidentDeleted,
        Action::ResidentLookedUp,
        Action::ResidentTwoStepReset,
        Action::MoneyPaymentEvent,
        Action::MoneyRefundEvent,
        Action::MoneyLedgerPosting,
        Action::MoneyOrphanSettled,
        Action::PaymentNeedsAttention,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Action::SignInSucceeded => "sign_in.succeeded",
            Action::SignInFailed => "sign_in.failed",
            Action::SignInLocked => "sign_in.locked",
            Action::SignedOut => "sign_out",
            Action::SignedOutEverywhere => "sign_out.everywhere",
            Action::StaffCreated => "staff.created",
            Action::StaffEnrolled => "staff.enrolled",
            Action::StaffRoleChanged => "staff.role_changed",
            Action::StaffDisabled => "staff.disabled",
            Action::SecondFactorEnrolled => "second_factor.enrolled",
            Action::RecoveryCodeUsed => "second_factor.recovery_code_used",
            Action::RecoveryCodesRegenerated => "second_factor.recovery_codes_regenerated",
            Action::PhonePaymentStarted => "payment.phone_started",
            Action::PhonePaymentFinished => "payment.phone_finished",
            Action::RefundRequested => "refund.requested",
            Action::RefundApproved => "refund.approved",
            Action::RefundRejected => "refund.rejected",
            Action::RefundIssued => "refund.issued",
            Action::PaymentVoided => "payment.voided",
            Action::ReportViewed => "report.viewed",
            Action::ExportDownloaded => "export.downloaded",
            Action::SettingChanged => "setting.changed",
            Action::BillTypeChanged => "bill_type.changed",
            Action::TenantCreated => "tenant.created",
            Action::TenantSuspended => "tenant.suspended",
            Action::TenantResumed => "tenant.resumed",
            Action::TamperAlarm => "integrity.tamper_alarm",
            Action::CspViolation => "integrity.csp_violation",
            Action::IncidentScopeRun => "incident.scope",
            Action::VaultKeysRotated => "vault.keys_rotated",
            Action::ProcessorSecretSet => "processor.secret_set",
            Action::AutopayEnrolled => "autopay.enrolled",
            Action::AutopayCancelled => "autopay.cancelled",
            Action::AutopayCharged => "autopay.charged",
            Action::ResidentDeleted => "resident.deleted",
            Action::ResidentLookedUp => "resident.looked_up",
            Action::ResidentTwoStepReset => "resident.two_step_reset",
            Action::MoneyPaymentEvent => "money.payment_event",
            Action::MoneyRefundEvent => "money.refund_event",
            Action::MoneyLedgerPosting => "money.ledger_posting",
            Action::MoneyOrphanSettled => "money.orphan_settled",
            Action::PaymentNeedsAttention => "payment.needs_attention",
        }
    }

    pub fn parse(code: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.code() == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_round_trip() {
        let mut codes: Vec<_> = Action::ALL.iter().map(|a| a.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), Action::ALL.len());
        for a in Action::ALL {
            assert_eq!(Action::parse(a.code()), Some(a));
        }
        assert_eq!(Action::parse("nonsense"), None);
    }
}
