//! Who city staff are and what each role may do. The console asks
//! [`Role::allows`] on every route; the matrix lives here, in one place,
//! so a test can walk all of it.

use crate::{ParseError, StaffId};
use serde::{Deserialize, Serialize};

/// City roles are cumulative from clerk to administrator; the auditor
/// reads everything and changes nothing; the platform operator manages
/// the deployment's cities and sees none of their payments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    Clerk,
    Supervisor,
    Finance,
    Administrator,
    Auditor,
    PlatformOperator,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    LookUpBills,
    TakePhonePayments,
    ViewPayments,
    RequestRefunds,
    ApproveRefunds,
    VoidPayments,
    ViewReports,
    ExportData,
    ManageStaff,
    ManageSettings,
    ViewAuditLog,
    ManageTenants,
    /// Look up a resident's account and turn off its two-step sign-in.
    SupportResidents,
}

impl Role {
    pub const CITY_ROLES: [Role; 5] = [
        Role::Clerk,
        Role::Supervisor,
        Role::Finance,
        Role::Administrator,
        Role::Auditor,
    ];
    pub const ALL: [Role; 6] = [
        Role::Clerk,
        Role::Supervisor,
        Role::Finance,
        Role::Administrator,
        Role::Auditor,
        Role::PlatformOperator,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Role::Clerk => "clerk",
            Role::Supervisor => "supervisor",
            Role::Finance => "finance",
            Role::Administrator => "administrator",
            Role::Auditor => "auditor",
            Role::PlatformOperator => "platform_operator",
        }
    }

    pub fn parse(s: &str) -> Result<Role, ParseError> {
        Role::ALL
            .into_iter()
            .find(|r| r.code() == s.trim())
            .ok_or_else(|| {
                ParseError::invalid(
                    "is not a role (clerk, supervisor, finance, administrator, auditor or platform_operator)",
                )
            })
    }

    /// How far up the clerk → administrator ladder a role stands.
    fn rank(self) -> u8 {
        match self {
            Role::Clerk => 1,
            Role::Supervisor => 2,
            Role::Finance => 3,
            Role::Administrator => 4,
            Role::Auditor | Role::PlatformOperator => 0,
        }
    }

    pub fn allows(self, permission: Permission) -> bool {
        use Permission as P;
        match self {
            Role::PlatformOperator => permission == P::ManageTenants,
            Role::Auditor => matches!(
                permission,
                P::LookUpBills | P::ViewPayments | P::ViewReports | P::ExportData | P::ViewAuditLog
            ),
            _ => {
                let needed = match permission {
                    P::LookUpBills | P::TakePhonePayments | P::ViewPayments => 1,
                    P::RequestRefunds
                    | P::ApproveRefunds
                    | P::VoidPayments
                    | P::SupportResidents => 2,
                    P::ViewReports | P::ExportData => 3,
                    P::ManageStaff | P::ManageSettings | P::ViewAuditLog => 4,
                    P::ManageTenants => u8::MAX,
                };
                self.rank() >= needed
            }
        }
    }
}

/// Why a refund request may not be approved by this person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalRefusal {
    OwnRequest,
    NotASupervisor,
    AlreadyDecided,
}

/// The four-eyes rule: someone else, with at least the supervisor's power,
/// approves a refund above the city's threshold.
pub fn may_approve(
    approver: StaffId,
    approver_role: Role,
    requester: &StaffId,
    still_pending: bool,
) -> Result<(), ApprovalRefusal> {
    if !still_pending {
        return Err(ApprovalRefusal::AlreadyDecided);
    }
    if &approver == requester {
        return Err(ApprovalRefusal::OwnRequest);
    }
    if !approver_role.allows(Permission::ApproveRefunds) {
        return Err(ApprovalRefusal::NotASupervisor);
    }
    Ok(())
}

/// A city's limits on what one person may refund alone (minor units).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefundLimits {
    /// What one payment may have refunded, in all, without a second person.
    pub threshold: i64,
    /// What one member of staff may refund in a city day without a second
    /// person; `None`: no daily limit.
    pub per_staff_daily: Option<i64>,
}

/// A refund being asked for, beside what is already refunded or asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefundExposure {
    pub amount: i64,
    /// Refunded on this payment already, or waiting to be.
    pub on_payment_before: i64,
    /// What this person asked to refund earlier today (not refused).
    pub by_requester_today_before: i64,
}

/// A refund goes straight to the acquirer only while the payment's refunds
/// in all stay at or under the threshold and the requester's day stays
/// within the daily limit: splitting a refund into small ones changes
/// nothing.
pub fn needs_approval(refund: RefundExposure, limits: RefundLimits) -> bool {
    let on_payment = refund.on_payment_before.saturating_add(refund.amount);
    let today = refund
        .by_requester_today_before
        .saturating_add(refund.amount);
    on_payment > limits.threshold || limits.per_staff_daily.is_some_and(|limit| today > limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_build_on_each_other_and_the_auditor_only_reads() {
        use Permission as P;
        assert!(Role::Clerk.allows(P::TakePhonePayments));
        assert!(!Role::Clerk.allows(P::RequestRefunds));
        assert!(Role::Supervisor.allows(P::ApproveRefunds));
        assert!(!Role::Supervisor.allows(P::ExportData));
        assert!(Role::Finance.allows(P::ExportData) && Role::Finance.allows(P::TakePhonePayments));
        assert!(!Role::Finance.allows(P::ManageStaff));
        assert!(Role::Administrator.allows(P::ManageStaff));
        assert!(Role::Auditor.allows(P::ViewAuditLog));
        for p in [
            P::TakePhonePayments,
            P::RequestRefunds,
            P::ApproveRefunds,
            P::ManageSettings,
            P::ManageStaff,
        ] {
            assert!(!Role::Auditor.allows(p), "{p:?}");
        }
        for r in Role::CITY_ROLES {
            assert!(!r.allows(P::ManageTenants));
            assert_eq!(Role::parse(r.code()), Ok(r));
        }
        assert!(!Role::PlatformOperator.allows(P::ViewPayments));
        assert!(Role::parse("root").is_err());
    }

    #[test]
    fn nobody_approves_their_own_refund() {
        let (a, b) = (StaffId::generate(), StaffId::generate());
        assert_eq!(
            may_approve(a.clone(), Role::Supervisor, &a, true),
            Err(ApprovalRefusal::OwnRequest)
        );
        assert_eq!(
            may_approve(b.clone(), Role::Clerk, &a, true),
            Err(ApprovalRefusal::NotASupervisor)
        );
        assert_eq!(
            may_approve(b.clone(), Role::Auditor, &a, true),
            Err(ApprovalRefusal::NotASupervisor)
        );
        assert_eq!(
            may_approve(b.clone(), Role::Supervisor, &a, false),
            Err(ApprovalRefusal::AlreadyDecided)
        );
        assert_eq!(may_approve(b, Role::Finance, &a, true), Ok(()));
    }

    #[test]
    fn a_refund_split_in_parts_still_needs_a_second_person() {
        let limits = RefundLimits {
            threshold: 10_000,
            per_staff_daily: Some(25_000),
        };
        let refund = |amount, on_payment_before, by_requester_today_before| RefundExposure {
            amount,
            on_payment_before,
            by_requester_today_before,
        };
        assert!(needs_approval(refund(10_001, 0, 0), limits));
        assert!(!needs_approval(refund(10_000, 0, 0), limits));
        assert!(!needs_approval(refund(6_000, 4_000, 4_000), limits));
        assert!(
            needs_approval(refund(6_000, 6_000, 6_000), limits),
            "a second part over the threshold waits"
        );
        assert!(
            needs_approval(refund(6_000, 0, 20_000), limits),
            "over the day's limit across payments"
        );
        assert!(!needs_approval(
            refund(6_000, 0, 20_000),
            RefundLimits {
                per_staff_daily: None,
                ..limits
            }
        ));
        assert!(needs_approval(refund(1, i64::MAX, 0), limits));
    }
}
