//! Resident accounts: the account, its single-use e-mail tokens, its
//! sessions and the bill accounts it linked. Every query names the city.
//! Tokens and sessions are kept as SHA-256 hashes only.

use crate::audit_log::append_in;
use crate::portal::staff::SessionStage;
use crate::rows::{column, int, opt_text, parsed, read, text};
use crate::{Store, StoreError, from_micros, to_micros};
use civicpay_audit::NewEntry;
use civicpay_core::resident::ResidentStatus;
use civicpay_core::{BillReference, BillTypeId, Language, ResidentId, TenantId};
use jiff::Timestamp;
use sqlx::any::AnyRow;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Resident {
    pub id: ResidentId,
    pub tenant_id: TenantId,
    /// `None` once the account is deleted.
    pub email: Option<String>,
    pub status: ResidentStatus,
    pub password_hash: Option<String>,
    /// The authenticator app's secret, when two-step sign-in is on.
    pub totp_secret: Option<String>,
    pub totp_last_step: u64,
    pub language: Language,
    pub paperless: bool,
    pub reminder_days: u32,
    pub failed_sign_ins: u32,
    pub locked_until: Timestamp,
    pub created_at: Timestamp,
}

/// One e-mail sent to a resident's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMail {
    pub subject: String,
    pub sent_at: Timestamp,
    /// False when the mail server refused it or no mail is configured.
    pub delivered: bool,
}

const RESIDENT_COLUMNS: &str = "id, tenant_id, email, status, password_hash, totp_secret, \
     totp_last_step, language, paperless, reminder_days, failed_sign_ins, locked_until, created_at";

/// A `residents` row as stored.
#[derive(sqlx::FromRow)]
struct ResidentRow {
    id: String,
    tenant_id: String,
    email: Option<String>,
    status: String,
    password_hash: Option<String>,
    totp_secret: Option<String>,
    totp_last_step: i64,
    language: String,
    paperless: i64,
    reminder_days: i64,
    failed_sign_ins: i64,
    locked_until: i64,
    created_at: i64,
}

impl TryFrom<ResidentRow> for Resident {
    type Error = StoreError;

    fn try_from(row: ResidentRow) -> Result<Resident, StoreError> {
        Ok(Resident {
            id: column("id", &row.id, ResidentId::parse)?,
            tenant_id: column("tenant_id", &row.tenant_id, TenantId::parse)?,
            email: row.email,
            status: column("status", &row.status, ResidentStatus::parse)?,
            password_hash: row.password_hash,
            totp_secret: row.totp_secret,
            totp_last_step: u64::try_from(row.totp_last_step).unwrap_or(0),
            language: column("language", &row.language, Language::parse)?,
            paperless: row.paperless != 0,
            reminder_days: u32::try_from(row.reminder_days).unwrap_or(3),
            failed_sign_ins: u32::try_from(row.failed_sign_ins).unwrap_or(u32::MAX),
            locked_until: from_micros(row.locked_until)?,
            created_at: from_micros(row.created_at)?,
        })
    }
}

fn resident_from_row(row: &AnyRow) -> Result<Resident, StoreError> {
    read::<ResidentRow, Resident>(row)
}

/// What a single-use e-mailed link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    VerifyEmail,
    ResetPassword,
    /// Confirms a new address; the token row carries it.
    ChangeEmail,
}

impl TokenPurpose {
    fn code(self) -> &'static str {
        match self {
            TokenPurpose::VerifyEmail => "verify",
            TokenPurpose::ResetPassword => "reset",
            TokenPurpose::ChangeEmail => "change_email",
        }
    }
}

/// A bill account (a bill type and a reference) a resident linked.
#[derive(Debug, Clone)]
pub struct AccountLink {
    pub bill_type_id: BillTypeId,
    pub reference: BillReference,
    pub linked_at: Timestamp,
}

/// A resident's preferences, set together from the settings page.
#[derive(Debug, Clone, Copy)]
pub struct Preferences {
    pub language: Language,
    pub paperless: bool,
    pub reminder_days: u32,
}

impl Store {
    /// A new, unverified account with its verification token. Refuses an
    /// e-mail the city already has.
    pub async fn create_resident(
        &self,
        tenant_id: &TenantId,
        email: &str,
        password_hash: &str,
        language: Language,
        verify_token_hash: &str,
        expires_at: Timestamp,
    ) -> Result<ResidentId, StoreError> {
        let id = ResidentId::generate();
        let now = to_micros(Timestamp::now());
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO residents (id, tenant_id, email, status, password_hash, language, created_at, updated_at) \
             VALUES ($1, $2, $3, 'unverified', $4, $5, $6, $6)",
        )
        .bind(id.as_str())
        .bind(tenant_id.as_str())
        .bind(email)
        .bind(password_hash)
        .bind(language.code())
        .bind(now)
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(e) if StoreError::is_unique_violation(&e) => {
                return Err(StoreError::AlreadyExists(
                    "an account with this e-mail".into(),
                ));
            }
            other => other?,
        };
        insert_token(
            &mut tx,
            tenant_id,
            &id,
            NewToken {
                purpose: TokenPurpose::VerifyEmail,
                new_email: None,
                password_hash: Some(password_hash),
                token_hash: verify_token_hash,
                expires_at,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn resident_by_email(
        &self,
        tenant_id: &TenantId,
        email: &str,
    ) -> Result<Option<Resident>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {RESIDENT_COLUMNS} FROM residents WHERE tenant_id = $1 AND email = $2"
        )))
        .bind(tenant_id.as_str())
        .bind(email)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(resident_from_row).transpose()
    }

    pub async fn resident(
        &self,
        tenant_id: &TenantId,
        id: &ResidentId,
    ) -> Result<Option<Resident>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {RESIDENT_COLUMNS} FROM residents WHERE tenant_id = $1 AND id = $2"
        )))
        .bind(tenant_id.as_str())
        .bind(id.as_str())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(resident_from_row).transpose()
    }

    /// Issues a single-use link token; earlier ones for the same purpose
    /// stop working, so only the newest e-mail's link is good.
    pub async fn issue_resident_token(
        &self,
        tenant_id: &TenantId,
        resident: &ResidentId,
        purpose: TokenPurpose,
        new_email: Option<&str>,
        token_hash: &str,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "DELETE FROM resident_tokens WHERE tenant_id = $1 AND resident_id = $2 AND purpose = $3",
        )
        .bind(tenant_id.as_str())
        .bind(resident.as_str())
        .bind(purpose.code())
        .execute(&mut *tx)
        .await?;
        insert_token(
            &mut tx,
            tenant_id,
            resident,
            NewToken {
                purpose,
                new_email,
                password_hash: None,
                token_hash,
                expires_at,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Spends a token: returns its resident (and new address, for a change
    /// of e-mail) if it was live, and deletes it either way.
    pub async fn take_resident_token(
        &self,
        tenant_id: &TenantId,
        purpose: TokenPurpose,
        token_hash: &str,
    ) -> Result<Option<(ResidentId, Option<String>)>, StoreError> {
        let mut conn = self.writer().acquire().await?;
        let Some(row) = spend_token(&mut conn, tenant_id, purpose, token_hash).await? else {
            return Ok(None);
        };
        Ok(Some((
            parsed(&row, "resident_id", ResidentId::parse)?,
            opt_text(&row, "new_email")?,
        )))
    }

    /// Someone signs up again with an address that is not yet confirmed:
    /// their link carries their password. Earlier links stay live with
    /// their own passwords, so a stranger signing up after the owner cannot
    /// spoil the owner's link.
    pub async fn add_resident_sign_up(
        &self,
        tenant_id: &TenantId,
        resident: &ResidentId,
        password_hash: &str,
        token_hash: &str,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        insert_token(
            &mut tx,
            tenant_id,
            resident,
            NewToken {
                purpose: TokenPurpose::VerifyEmail,
                new_email: None,
                password_hash: Some(password_hash),
                token_hash,
                expires_at,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Spends a verification link: the account becomes active with the
    /// password chosen in the sign-up that sent this link; every other
    /// link, session and second factor set up before the address was
    /// proven ends. Returns the resident if the link was live.
    pub async fn confirm_resident(
        &self,
        tenant_id: &TenantId,
        token_hash: &str,
    ) -> Result<Option<ResidentId>, StoreError> {
        let mut tx = self.begin_write().await?;
        let spent = spend_token(&mut tx, tenant_id, TokenPurpose::VerifyEmail, token_hash).await?;
        let Some(row) = spent else {
            tx.commit().await?;
            return Ok(None);
        };
        let id = parsed(&row, "resident_id", ResidentId::parse)?;
        let confirmed = sqlx::query(
            "UPDATE residents SET status = 'active', password_hash = COALESCE($3, password_hash), \
                 totp_secret = NULL, totp_last_step = 0, failed_sign_ins = 0, locked_until = 0, updated_at = $4 \
             WHERE tenant_id = $1 AND id = $2 AND status = 'unverified'",
        )
        .bind(tenant_id.as_str())
        .bind(id.as_str())
        .bind(opt_text(&row, "password_hash")?)
        .bind(to_micros(Timestamp::now()))
        .execute(&mut *tx)
        .await?;
        if confirmed.rows_affected() == 1 {
            sqlx::query(
                "DELETE FROM resident_tokens WHERE tenant_id = $1 AND resident_id = $2 AND purpose = $3",
            )
            .bind(tenant_id.as_str())
            .bind(id.as_str())
            .bind(TokenPurpose::VerifyEmail.code())
            .execute(&mut *tx)
            .await?;
            for table in ["resident_sessions", "resident_recovery_codes"] {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DELETE FROM {table} WHERE tenant_id = $1 AND resident_id = $2"
                )))
                .bind(tenant_id.as_str())
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(Some(id))
    }

    /// Sets a new password, clears any lock-out and signs the account out
    /// everywhere: whoever knew the old password is out too. A reset also
    /// proves the address, so an unverified account becomes active.
    pub async fn set_resident_password(
        &self,
        tenant_id: &TenantId,
        id: &ResidentId,
        password_hash: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE residents SET password_hash = $3, failed_sign_ins = 0, locked_until = 0, \
             status = CASE WHEN status = 'unverified' THEN 'active' ELSE status END, updated_at = $4 \
             WHERE tenant_id = $1 AND id = $2 AND status <> 'deleted'",
        )
        .bind(tenant_id.as_str())
        .bind(id.as_str())
        .bind(password_hash)
        .bind(to_micros(Timestamp::now()))
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM resident_sessions WHERE tenant_id = $1 AND resident_id = $2")
            .bind(tenant_id.as_str())
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Moves the account to a confirmed new address; refuses one another
    /// account of the city already uses.
    pub async fn change_resident_email(
        &self,
        tenant_id: &TenantId,
        id: &ResidentId,
        new_email: &str,
    ) -> Result<(), StoreError> {
        let updated = sqlx::query(
            "UPDATE residents SET email = $3, updated_at = $4 \
             WHERE tenant_id = $1 AND id = $2 AND status = 'active'",
        )
        .bind(tenant_id.as_str())
        .bind(id.as_str())
        .bind(new_email)
        .bind(to_micros(Timestamp::now()))
        .execute(self.writer())
        .await;
        match updated {
            Err(e) if StoreError::is_unique_violation(&e) => Err(StoreError::AlreadyExists(
                "an account with this e-mail".into(),
            )),
            other => other.map(|_| ()).map_err(StoreError::from),
        }
    }

    /// Turns two-step sign-in on (with the secret and the step of the code
    /// that confirmed it) or off (`None`).
    /// Turns two-step sign-in on (with the secret's last step and the
    /// hashes of the recovery codes shown to the resident) or off (`None`:
    /// the codes go too), with its audit entry when staff did it, in one
    /// transaction.
    pub async fn set_resident_totp(
        &self,
        tenant_id: &TenantId,
        id: &ResidentId,
        secret: Option<(&str, u64)>,
        recovery_code_hashes: &[String],
        audit: Option<NewEntry>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE residents SET totp_secret = $3, totp_last_step = $4, updated_at = $5 \
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id.as_str())
        .bind(id.as_str())
        .bind(secret.map(|(s, _)| s))
        .bind(secret.map_or(0, |(_, step)| i64::try_from(step).unwrap_or(i64::MAX)))
        .bind(to_micros(Timestamp::now()))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM resident_recovery_codes WHERE tenant_id = $1 AND resident_id = $2",
        )
        .bind(tenant_id.as_str())
        .bind(id.as_str())
        .execute(&mut *tx)
        .await?;
        if secret.is_some() {
            for hash in recovery_code_hashes {
                sqlx::query(
                    "INSERT INTO resident_recovery_codes (tenant_id, resident_id, code_hash) VALUES ($1, $2, $3)",
                )
                .bind(tenant_id.as_str())
                .bind(id.as_str())
                .bind(hash)
                .execute(&mut *tx)
                .await?;
            }
        }
        if let Some(entry) = audit {
            append_in(&mut tx, self.backend, entry).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Spends one of a resident's recovery codes: true once per code, and
    /// only while it is theirs and unused (atomically, so a code cannot be
    /// spent twice in a race).
    pub async fn use_resident_recovery_code(
        &self,
        tenant_id: &TenantId,
        id: &ResidentId,
        code_hash: &str,
    ) -> Result<bool, StoreError> {
        let spent = sqlx::query(
            "UPDATE resident_recovery_codes SET used_at = $4 \
             WHERE tenant_id = $1 AND resident_id = $2 AND code_hash = $3 AND used_at IS NULL",
        )
        .bind(tenant_id.as_str())
        .bind(id.as_str())
        .bind(code_hash)
        .bind(to_micros(Timestamp::now()))
        .execute(self.writer())
        .await?;
        Ok(spent.rows_affected() == 1)
    }

    /// How many of a resident's recovery codes are left.
    pub async fn resident_recovery_codes_left(
        &self,
        tenant_id: &TenantId,
        id: &ResidentId,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM resident_recovery_codes \
             WHERE tenant_id = $1 AND resident_id = $2 AND used_at IS NULL",
        )
        .bind(tenant_id.as_str())
        .bind(id.as_str())
        .fetch_one(self.pool())
        .await?;
        crate::rows::int(&row, "n")
    }

    /// Accepts a TOTP step only if it is later than the last accepted,
    /// atomically, so one code cannot sign in twice even in a race.
    pub async fn accept_resident_totp_step(
        &self,
        tenant_id: &TenantId,
        id: &ResidentId,
        step: u64,
    ) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE residents SET totp_last_step = $3 \
             WHERE tenant_id = $1 AND id = $2 AND totp_last_step < $3",
        )
        .bind(tenant_id.as_str())
        .bind(id.as_str())
        .bind(i64::try_from(step).unwrap_or(i64::MAX))
        .execute(self.writer())
        .await?;
        Ok(updated.rows_affected() == 1)
    }

    pub async fn set_resident_preferences(
        &self,
        tenant_id: &TenantId,
        id: &ResidentId,
        preferences: Preferences,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE residents SET language = $3, paperless = $4, reminder_days = $5, updated_at = $6 \
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id.as_str())
        .bind(id.as_str())
        .bind(preferences.language.code())
        .bind(i64::from(preferences.paperless))
        .bind(i64::from(preferences.reminder_days))
        .bind(to_micros(Timestamp::now()))
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Counts a failed sign-in and locks the account for as long as
    /// `lockout` says; returns the count of consecutive failures.
    pub async fn record_resident_failed_sign_in(
        &self,
        tenant_id: &TenantId,
        id: &ResidentId,
        lockout: fn(u32) -> Option<Duration>,
    ) -> Result<u32, StoreError> {
        let now = Timestamp::now();
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "UPDATE residents SET failed_sign_ins = failed_sign_ins + 1, updated_at = $3 \
             WHERE tenant_id = $1 AND id = $2 RETURNING failed_sign_ins",
        )
        .bind(tenant_id.as_str())
        .bind(id.as_str())
        .bind(to_micros(now))
        .fetch_one(&mut *tx)
        .await?;
        let failures = u32::try_from(int(&row, "failed_sign_ins")?).unwrap_or(u32::MAX);
        if let Some(lock) = lockout(failures) {
            let until = now
                .checked_add(jiff::SignedDuration::try_from(lock).unwrap_or_default())
                .unwrap_or(now);
            sqlx::query("UPDATE residents SET locked_until = $3 WHERE tenant_id = $1 AND id = $2")
                .bind(tenant_id.as_str())
                .bind(id.as_str())
                .bind(to_micros(until))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(failures)
    }

    /// A session for a resident who proved who they are (`SignedIn`), or
    /// half-way (`SecondFactor`: the password was right, the code is to
    /// come). A full session clears the failed-attempt count and replaces
    /// `replaces`, the half-way session, if any, so a token seen before
    /// the second factor is worth nothing after it.
    pub async fn create_resident_session(
        &self,
        tenant_id: &TenantId,
        id: &ResidentId,
        token_hash: &str,
        stage: SessionStage,
        expires_at: Timestamp,
        replaces: Option<&str>,
    ) -> Result<(), StoreError> {
        let now = to_micros(Timestamp::now());
        let mut tx = self.begin_write().await?;
        if let Some(old) = replaces {
            sqlx::query("DELETE FROM resident_sessions WHERE tenant_id = $1 AND token_hash = $2")
                .bind(tenant_id.as_str())
                .bind(old)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO resident_sessions (token_hash, tenant_id, resident_id, stage, created_at, last_seen_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $5, $6)",
        )
        .bind(token_hash)
        .bind(tenant_id.as_str())
        .bind(id.as_str())
        .bind(stage.code())
        .bind(now)
        .bind(to_micros(expires_at))
        .execute(&mut *tx)
        .await?;
        if stage == SessionStage::SecondFactor {
            tx.commit().await?;
            return Ok(());
        }
        sqlx::query(
            "UPDATE residents SET failed_sign_ins = 0, locked_until = 0 WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id.as_str())
        .bind(id.as_str())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The active resident behind a live session and its stage; the
    /// session is touched. An idle or expired session is deleted and not
    /// returned.
    pub async fn resident_session(
        &self,
        tenant_id: &TenantId,
        token_hash: &str,
        idle_timeout: Duration,
    ) -> Result<Option<(Resident, SessionStage)>, StoreError> {
        let now = Timestamp::now();
        let idle_cutoff = to_micros(now)
            .saturating_sub(i64::try_from(idle_timeout.as_micros()).unwrap_or(i64::MAX));
        let row = sqlx::query(
            "SELECT s.stage, s.last_seen_at, s.expires_at, r.id, r.tenant_id, r.email, r.status, \
                    r.password_hash, r.totp_secret, r.totp_last_step, r.language, r.paperless, r.reminder_days, r.failed_sign_ins, r.locked_until, r.created_at \
             FROM resident_sessions s JOIN residents r ON r.id = s.resident_id \
             WHERE s.tenant_id = $1 AND r.tenant_id = $1 AND s.token_hash = $2",
        )
        .bind(tenant_id.as_str())
        .bind(token_hash)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let resident = resident_from_row(&row)?;
        if int(&row, "expires_at")? <= to_micros(now)
            || int(&row, "last_seen_at")? < idle_cutoff
            || resident.status != ResidentStatus::Active
        {
            self.end_resident_session(tenant_id, token_hash).await?;
            return Ok(None);
        }
        sqlx::query(
            "UPDATE resident_sessions SET last_seen_at = $3 WHERE tenant_id = $1 AND token_hash = $2",
        )
        .bind(tenant_id.as_str())
        .bind(token_hash)
        .bind(to_micros(now))
        .execute(self.writer())
        .await?;
        Ok(Some((
            resident,
            parsed(&row, "stage", SessionStage::parse)?,
        )))
    }

    pub async fn end_resident_session(
        &self,
        tenant_id: &TenantId,
        token_hash: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM resident_sessions WHERE tenant_id = $1 AND token_hash = $2")
            .bind(tenant_id.as_str())
            .bind(token_hash)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Signs a resident out on every device; returns how many sessions
    /// ended.
    pub async fn end_all_resident_sessions(
        &self,
        tenant_id: &TenantId,
        id: &ResidentId,
    ) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM resident_sessions WHERE tenant_id = $1 AND resident_id = $2")
                .bind(tenant_id.as_str())
                .bind(id.as_str())
                .execute(self.writer())
                .await?
                .rows_affected(),
        )
    }

    /// Erases a resident: sessions, tokens, links, autopay and the record
    /// of e-mails go; the account row keeps only its id and city; payments
    /// stay for the city's books with the link to the person removed,
    /// including guest payments made with the same address.
    pub async fn delete_resident(
        &self,
        tenant_id: &TenantId,
        id: &ResidentId,
        audit: NewEntry,
    ) -> Result<(), StoreError> {
        let now = to_micros(Timestamp::now());
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE bill_payments SET resident_id = NULL, payer_email = NULL, updated_at = $3 \
             WHERE tenant_id = $1 AND (resident_id = $2 \
                OR payer_email = (SELECT email FROM residents WHERE tenant_id = $1 AND id = $2 AND status = 'active'))",
        )
        .bind(tenant_id.as_str())
        .bind(id.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM resident_mail_sent \
             WHERE tenant_id = $1 AND email = (SELECT email FROM residents WHERE tenant_id = $1 AND id = $2)",
        )
        .bind(tenant_id.as_str())
        .bind(id.as_str())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM resident_mail_log \
             WHERE resident_id IN (SELECT id FROM residents WHERE tenant_id = $1 AND id = $2)",
        )
        .bind(tenant_id.as_str())
        .bind(id.as_str())
        .execute(&mut *tx)
        .await?;
        for table in [
            "resident_sessions",
            "resident_tokens",
            "resident_links",
            "resident_recovery_codes",
            "autopay_enrolments",
        ] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE tenant_id = $1 AND resident_id = $2"
            )))
            .bind(tenant_id.as_str())
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "UPDATE residents SET email = NULL, password_hash = NULL, totp_secret = NULL, status = 'deleted', \
             paperless = 0, failed_sign_ins = 0, locked_until = 0, updated_at = $3 \
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id.as_str())
        .bind(id.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        append_in(&mut tx, self.backend, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Links a bill account; linking it again changes nothing.
    pub async fn link_account(
        &self,
        tenant_id: &TenantId,
        id: &ResidentId,
        bill_type_id: &BillTypeId,
        reference: &BillReference,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO resident_links (tenant_id, resident_id, bill_type_id, reference_key, reference, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (resident_id, bill_type_id, reference_key) DO NOTHING",
        )
        .bind(tenant_id.as_str())
        .bind(id.as_str())
        .bind(bill_type_id.as_str())
        .bind(reference.canonical())
        .bind(reference.as_str())
        .bind(to_micros(Timestamp::now()))
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Unlinks a bill account, and ends autopay on it if this resident set
    /// it up. Returns false if it was not linked.
    pub async fn unlink_account(
        &self,
        tenant_id: &TenantId,
        id: &ResidentId,
        bill_type_id: &BillTypeId,
        reference: &BillReference,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let removed = sqlx::query(
            "DELETE FROM resident_links \
             WHERE tenant_id = $1 AND resident_id = $2 AND bill_type_id = $3 AND reference_key = $4",
        )
        .bind(tenant_id.as_str())
        .bind(id.as_str())
        .bind(bill_type_id.as_str())
        .bind(reference.canonical())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query(
            "DELETE FROM autopay_enrolments \
             WHERE tenant_id = $1 AND resident_id = $2 AND bill_type_id = $3 AND reference_key = $4",
        )
        .bind(tenant_id.as_str())
        .bind(id.as_str())
        .bind(bill_type_id.as_str())
        .bind(reference.canonical())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(removed == 1)
    }

    /// The bill accounts a resident linked, oldest first.
    pub async fn account_links(
        &self,
        tenant_id: &TenantId,
        id: &ResidentId,
    ) -> Result<Vec<AccountLink>, StoreError> {
        let rows = sqlx::query(
            "SELECT bill_type_id, reference, created_at FROM resident_links \
             WHERE tenant_id = $1 AND resident_id = $2 ORDER BY created_at, reference",
        )
        .bind(tenant_id.as_str())
        .bind(id.as_str())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AccountLink {
                    bill_type_id: parsed(row, "bill_type_id", BillTypeId::parse)?,
                    reference: parsed(row, "reference", BillReference::parse)?,
                    linked_at: from_micros(int(row, "created_at")?)?,
                })
            })
            .collect()
    }

    /// Active residents of a city, for the notice job.
    pub async fn active_residents(
        &self,
        tenant_id: &TenantId,
    ) -> Result<Vec<Resident>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {RESIDENT_COLUMNS} FROM residents \
             WHERE tenant_id = $1 AND status = 'active' ORDER BY id"
        )))
        .bind(tenant_id.as_str())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(resident_from_row).collect()
    }

    /// Keeps a line of an e-mail sent (or tried) to a resident's address.
    pub async fn note_mail_sent(
        &self,
        tenant_id: &TenantId,
        email: &str,
        subject: &str,
        delivered: bool,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO resident_mail_sent (tenant_id, email, subject, sent_at, delivered) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(tenant_id.as_str())
        .bind(email.to_lowercase())
        .bind(subject)
        .bind(to_micros(Timestamp::now()))
        .bind(i64::from(delivered))
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// The newest `limit` e-mails sent to an address, newest first.
    pub async fn mail_sent_to(
        &self,
        tenant_id: &TenantId,
        email: &str,
        limit: i64,
    ) -> Result<Vec<SentMail>, StoreError> {
        let rows = sqlx::query(
            "SELECT subject, sent_at, delivered FROM resident_mail_sent \
             WHERE tenant_id = $1 AND email = $2 ORDER BY sent_at DESC LIMIT $3",
        )
        .bind(tenant_id.as_str())
        .bind(email.to_lowercase())
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(SentMail {
                    subject: text(row, "subject")?,
                    sent_at: from_micros(int(row, "sent_at")?)?,
                    delivered: int(row, "delivered")? != 0,
                })
            })
            .collect()
    }

    /// Notes that an e-mail about `subject` was sent; false if it already
    /// was, so each is sent once however often the job runs.
    pub async fn note_resident_mail(
        &self,
        tenant_id: &TenantId,
        id: &ResidentId,
        kind: &str,
        subject: &str,
    ) -> Result<bool, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO resident_mail_log (resident_id, kind, subject_id, sent_at) \
             SELECT id, $3, $4, $5 FROM residents WHERE tenant_id = $1 AND id = $2 \
             ON CONFLICT (resident_id, kind, subject_id) DO NOTHING",
        )
        .bind(tenant_id.as_str())
        .bind(id.as_str())
        .bind(kind)
        .bind(subject)
        .bind(to_micros(Timestamp::now()))
        .execute(self.writer())
        .await?;
        Ok(inserted.rows_affected() == 1)
    }
}

/// Deletes a token and returns its row if it was still live: a token works
/// once, and an expired one is spent without effect.
async fn spend_token(
    conn: &mut sqlx::AnyConnection,
    tenant_id: &TenantId,
    purpose: TokenPurpose,
    token_hash: &str,
) -> Result<Option<AnyRow>, StoreError> {
    let row = sqlx::query(
        "DELETE FROM resident_tokens WHERE tenant_id = $1 AND purpose = $2 AND token_hash = $3 \
         RETURNING resident_id, new_email, password_hash, expires_at",
    )
    .bind(tenant_id.as_str())
    .bind(purpose.code())
    .bind(token_hash)
    .fetch_optional(conn)
    .await?;
    match row {
        Some(row) if int(&row, "expires_at")? > to_micros(Timestamp::now()) => Ok(Some(row)),
        _ => Ok(None),
    }
}

/// One link's token, as written.
struct NewToken<'a> {
    purpose: TokenPurpose,
    new_email: Option<&'a str>,
    password_hash: Option<&'a str>,
    token_hash: &'a str,
    expires_at: Timestamp,
}

async fn insert_token(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    tenant_id: &TenantId,
    resident: &ResidentId,
    token: NewToken<'_>,
) -> Result<(), StoreError> {
    let NewToken {
        purpose,
        new_email,
        password_hash,
        token_hash,
        expires_at,
    } = token;
    sqlx::query(
        "INSERT INTO resident_tokens (token_hash, tenant_id, resident_id, purpose, new_email, password_hash, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(token_hash)
    .bind(tenant_id.as_str())
    .bind(resident.as_str())
    .bind(purpose.code())
    .bind(new_email)
    .bind(password_hash)
    .bind(to_micros(expires_at))
    .bind(to_micros(Timestamp::now()))
    .execute(&mut **tx)
    .await?;
    Ok(())
}
