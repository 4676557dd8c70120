//! E-mails about linked bills: a new bill (for residents who chose
//! paperless) and a reminder before the due date, each sent once per bill
//! and resident, in the resident's language. With autopay on, the
//! reminder says when and with which card the bill will be paid.

use super::JobReport;
use crate::AppState;
use crate::account::mail::ResidentMail;
use crate::account::{prefix, public_link};
use crate::error::PortalError;
use civicpay_core::resident::{BillNotice, notices_for};
use civicpay_core::{Bill, Tenant};
use civicpay_store::portal::autopay::AutopayEnrolment;
use civicpay_store::portal::residents::Resident;
use civicpay_web::Translator;

pub(super) async fn run(
    state: &AppState,
    tenant: &Tenant,
    today: jiff::civil::Date,
    report: &mut JobReport,
) -> Result<(), PortalError> {
    for resident in state.store.active_residents(&tenant.id).await? {
        let Some(email) = resident.email.clone() else {
            continue;
        };
        let autopays = state
            .store
            .autopay_for_links(&tenant.id, &resident.id)
            .await?;
        for link in state.store.account_links(&tenant.id, &resident.id).await? {
            let autopay = autopays.iter().find(|a| {
                a.bill_type_id == link.bill_type_id && a.reference_key == link.reference.canonical()
            });
            for bill in state
                .store
                .bills_by_reference(&tenant.id, &link.bill_type_id, &link.reference)
                .await?
            {
                for notice in notices_for(
                    &bill,
                    today,
                    resident.reminder_days,
                    resident.paperless,
                    link.linked_at,
                ) {
                    if state
                        .store
                        .note_resident_mail(
                            &tenant.id,
                            &resident.id,
                            notice.code(),
                            bill.id.as_str(),
                        )
                        .await?
                    {
                        let mail = notice_mail(state, tenant, &resident, &bill, notice, autopay);
                        let t = Translator::new(resident.language);
                        if mail.send(state, tenant, &t, &email).await {
                            report.emails += 1;
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

fn notice_mail(
    state: &AppState,
    tenant: &Tenant,
    resident: &Resident,
    bill: &Bill,
    notice: BillNotice,
    autopay: Option<&AutopayEnrolment>,
) -> ResidentMail {
    let t = Translator::new(resident.language);
    let language = t.language();
    let balance = bill.balance();
    let args = [
        ("reference", bill.reference.as_str().to_owned()),
        ("amount", balance.format(language)),
        ("date", t.date(bill.due_date)),
    ];
    let args: Vec<(&'static str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut mail = match notice {
        BillNotice::NewBill => ResidentMail::new(t.get("mail-new-bill-subject"))
            .says(t.args("mail-new-bill-body", &args)),
        BillNotice::DueReminder => ResidentMail::new(t.get("mail-reminder-subject"))
            .says(t.args("mail-reminder-body", &args)),
    };
    if notice == BillNotice::DueReminder
        && let Some(autopay) = autopay.filter(|a| balance.minor() <= a.cap.minor())
    {
        mail = mail.says(t.arg("mail-reminder-autopay", "card", &autopay.card_label));
    }
    mail.says(t.get("mail-open-account"))
        .link(public_link(state, &format!("{}/", prefix(tenant))))
}
