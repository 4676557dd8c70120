//! Staff accounts, second factors and sessions. A staff member belongs to
//! one city, or to the platform (`scope = None`); every lookup names the
//! scope, so one city's staff can never be found from another's console.
//! Changes that the audit log must record take the entry and write it in
//! the same transaction.

use crate::audit_log::append_in;
use crate::rows::{column, int, opt_column, parsed, read, text};
use crate::{Store, StoreError, from_micros, to_micros};
use civicpay_audit::NewEntry;
use civicpay_core::{Language, Role, StaffId, TenantId};
use jiff::Timestamp;
use sqlx::any::AnyRow;
use std::time::Duration;

const PLATFORM: &str = "platform";

fn scope_key(scope: Option<&TenantId>) -> &str {
    scope.map_or(PLATFORM, TenantId::as_str)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffStatus {
    /// Created; the enrolment link has not been used yet.
    Invited,
    Active,
    Disabled,
}

impl StaffStatus {
    pub fn code(self) -> &'static str {
        match self {
            StaffStatus::Invited => "invited",
            StaffStatus::Active => "active",
            StaffStatus::Disabled => "disabled",
        }
    }

    fn parse(s: &str) -> Result<StaffStatus, String> {
        match s {
            "invited" => Ok(StaffStatus::Invited),
            "active" => Ok(StaffStatus::Active),
            "disabled" => Ok(StaffStatus::Disabled),
            other => Err(format!("unknown staff status {other:?}")),
        }
    }
}

#[derive(Debug, Clone)]
pub struct StaffUser {
    pub id: StaffId,
    pub tenant_id: Option<TenantId>,
    pub email: String,
    pub role: Role,
    pub status: StaffStatus,
    pub password_hash: Option<String>,
    pub totp_secret: Option<String>,
    pub totp_last_step: u64,
    pub failed_sign_ins: u32,
    pub locked_until: Timestamp,
    /// The console's language they chose; `None` follows the city's default.
    pub language: Option<Language>,
}

const STAFF_COLUMNS: &str = "id, tenant_id, email, role, status, password_hash, totp_secret, \
     totp_last_step, failed_sign_ins, locked_until, language";

/// A `staff` row as stored.
#[derive(sqlx::FromRow)]
struct StaffRow {
    id: String,
    tenant_id: Option<String>,
    email: String,
    role: String,
    status: String,
    password_hash: Option<String>,
    totp_secret: Option<String>,
    totp_last_step: i64,
    failed_sign_ins: i64,
    locked_until: i64,
    language: Option<String>,
}

impl TryFrom<StaffRow> for StaffUser {
    type Error = StoreError;

    fn try_from(row: StaffRow) -> Result<StaffUser, StoreError> {
        Ok(StaffUser {
            id: column("id", &row.id, StaffId::parse)?,
            tenant_id: opt_column("tenant_id", row.tenant_id.as_deref(), TenantId::parse)?,
            email: row.email,
            role: column("role", &row.role, Role::parse)?,
            status: column("status", &row.status, StaffStatus::parse)?,
            password_hash: row.password_hash,
            totp_secret: row.totp_secret,
            totp_last_step: u64::try_from(row.totp_last_step).unwrap_or(0),
            failed_sign_ins: u32::try_from(row.failed_sign_ins).unwrap_or(u32::MAX),
            locked_until: from_micros(row.locked_until)?,
            language: opt_column("language", row.language.as_deref(), Language::parse)?,
        })
    }
}

fn staff_from_row(row: &AnyRow) -> Result<StaffUser, StoreError> {
    read::<StaffRow, StaffUser>(row)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStage {
    /// The password was right; the second factor is still to come.
    SecondFactor,
    SignedIn,
}

impl SessionStage {
    pub(crate) fn code(self) -> &'static str {
        match self {
            SessionStage::SecondFactor => "second_factor",
            SessionStage::SignedIn => "signed_in",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<SessionStage, String> {
        match s {
            "second_factor" => Ok(SessionStage::SecondFactor),
            "signed_in" => Ok(SessionStage::SignedIn),
            other => Err(format!("unknown session stage {other:?}")),
        }
    }
}

#[derive(Debug, Clone)]
pub struct StaffSession {
    pub staff: StaffUser,
    pub stage: SessionStage,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// What enrolment sets, all at once.
pub struct Enrolment<'a> {
    pub password_hash: &'a str,
    pub totp_secret: &'a str,
    pub totp_step: u64,
    pub recovery_code_hashes: &'a [String],
}

fn step_param(step: u64) -> i64 {
    i64::try_from(step).unwrap_or(i64::MAX)
}

impl Store {
    /// Creates an invited account with a one-time enrolment token.
    pub async fn invite_staff(
        &self,
        scope: Option<&TenantId>,
        email: &str,
        role: Role,
        enrolment_token_hash: &str,
        expires_at: Timestamp,
        audit: NewEntry,
    ) -> Result<StaffId, StoreError> {
        let id = StaffId::generate();
        let now = to_micros(Timestamp::now());
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO staff_users (id, tenant_id, email, role, status, enrolment_token_hash, \
             enrolment_expires_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'invited', $5, $6, $7, $7)",
        )
        .bind(id.as_str())
        .bind(scope.map(TenantId::as_str))
        .bind(email)
        .bind(role.code())
        .bind(enrolment_token_hash)
        .bind(to_micros(expires_at))
        .bind(now)
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(e) if StoreError::is_unique_violation(&e) => {
                return Err(StoreError::AlreadyExists(format!("staff member {email}")));
            }
            other => other?,
        };
        append_in(&mut tx, self.backend, audit).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The invited account a live enrolment link belongs to.
    pub async fn staff_by_enrolment_token(
        &self,
        scope: Option<&TenantId>,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<StaffUser>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {STAFF_COLUMNS} FROM staff_users \
             WHERE COALESCE(tenant_id, 'platform') = $1 AND enrolment_token_hash = $2 \
               AND status = 'invited' AND enrolment_expires_at > $3"
        )))
        .bind(scope_key(scope))
        .bind(token_hash)
        .bind(to_micros(now))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(staff_from_row).transpose()
    }

    /// Sets the password and second factor and spends the enrolment link;
    /// false if the link was used or expired meanwhile.
    pub async fn complete_enrolment(
        &self,
        scope: Option<&TenantId>,
        id: &StaffId,
        token_hash: &str,
        enrolment: Enrolment<'_>,
        audit: NewEntry,
    ) -> Result<bool, StoreError> {
        let now = to_micros(Timestamp::now());
        let mut tx = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE staff_users SET status = 'active', password_hash = $4, totp_secret = $5, \
             totp_last_step = $6, enrolment_token_hash = NULL, enrolment_expires_at = NULL, updated_at = $7 \
             WHERE COALESCE(tenant_id, 'platform') = $1 AND id = $2 AND enrolment_token_hash = $3 \
               AND status = 'invited' AND enrolment_expires_at > $7",
        )
        .bind(scope_key(scope))
        .bind(id.as_str())
        .bind(token_hash)
        .bind(enrolment.password_hash)
        .bind(enrolment.totp_secret)
        .bind(step_param(enrolment.totp_step))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            return Ok(false);
        }
        replace_recovery_codes(&mut tx, id, enrolment.recovery_code_hashes).await?;
        append_in(&mut tx, self.backend, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn staff_by_email(
        &self,
        scope: Option<&TenantId>,
        email: &str,
    ) -> Result<Option<StaffUser>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {STAFF_COLUMNS} FROM staff_users \
             WHERE COALESCE(tenant_id, 'platform') = $1 AND email = $2"
        )))
        .bind(scope_key(scope))
        .bind(email)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(staff_from_row).transpose()
    }

    /// Authenticator secrets of one city's staff (or the platform's) still
    /// stored in clear, written before secrets were sealed.
    pub async fn staff_with_clear_totp(
        &self,
        scope: Option<&TenantId>,
    ) -> Result<Vec<(StaffId, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, totp_secret FROM staff_users \
             WHERE COALESCE(tenant_id, 'platform') = $1 AND totp_secret IS NOT NULL \
               AND totp_secret NOT LIKE 'sealed1:%'",
        )
        .bind(scope_key(scope))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((parsed(r, "id", StaffId::parse)?, text(r, "totp_secret")?)))
            .collect()
    }

    /// Replaces a clear secret with its sealed form, if it is still the one
    /// read.
    pub async fn seal_staff_totp(
        &self,
        scope: Option<&TenantId>,
        id: &StaffId,
        clear: &str,
        sealed: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE staff_users SET totp_secret = $4 \
             WHERE COALESCE(tenant_id, 'platform') = $1 AND id = $2 AND totp_secret = $3",
        )
        .bind(scope_key(scope))
        .bind(id.as_str())
        .bind(clear)
        .bind(sealed)
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Remembers the language a staff member reads the console in.
    pub async fn set_staff_language(
        &self,
        scope: Option<&TenantId>,
        id: &StaffId,
        language: Language,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE staff_users SET language = $3 \
             WHERE COALESCE(tenant_id, 'platform') = $1 AND id = $2",
        )
        .bind(scope_key(scope))
        .bind(id.as_str())
        .bind(language.code())
        .execute(self.writer())
        .await?;
        Ok(())
    }

    pub async fn staff_by_id(
        &self,
        scope: Option<&TenantId>,
        id: &StaffId,
    ) -> Result<Option<StaffUser>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {STAFF_COLUMNS} FROM staff_users \
             WHERE COALESCE(tenant_id, 'platform') = $1 AND id = $2"
        )))
        .bind(scope_key(scope))
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(staff_from_row).transpose()
    }

    pub async fn list_staff(&self, scope: Option<&TenantId>) -> Result<Vec<StaffUser>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {STAFF_COLUMNS} FROM staff_users \
             WHERE COALESCE(tenant_id, 'platform') = $1 ORDER BY email"
        )))
        .bind(scope_key(scope))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(staff_from_row).collect()
    }

    /// Counts a failed sign-in and locks the account for as long as
    /// `lockout` says; returns the new count of consecutive failures.
    pub async fn record_failed_sign_in(
        &self,
        scope: Option<&TenantId>,
        id: &StaffId,
        lockout: fn(u32) -> Option<Duration>,
        audit: NewEntry,
    ) -> Result<u32, StoreError> {
        let now = Timestamp::now();
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "UPDATE staff_users SET failed_sign_ins = failed_sign_ins + 1, updated_at = $3 \
             WHERE COALESCE(tenant_id, 'platform') = $1 AND id = $2 RETURNING failed_sign_ins",
        )
        .bind(scope_key(scope))
        .bind(id.as_str())
        .bind(to_micros(now))
        .fetch_one(&mut *tx)
        .await?;
        let failures = u32::try_from(int(&row, "failed_sign_ins")?).unwrap_or(u32::MAX);
        if let Some(lock) = lockout(failures) {
            let until = now
                .checked_add(jiff::SignedDuration::try_from(lock).unwrap_or_default())
                .unwrap_or(now);
            sqlx::query(
                "UPDATE staff_users SET locked_until = $3 WHERE COALESCE(tenant_id, 'platform') = $1 AND id = $2",
            )
            .bind(scope_key(scope))
            .bind(id.as_str())
            .bind(to_micros(until))
            .execute(&mut *tx)
            .await?;
        }
        append_in(&mut tx, self.backend, audit).await?;
        tx.commit().await?;
        Ok(failures)
    }

    /// Counts a second-factor try before the code is checked, so that
    /// concurrent guesses cannot outrun the lock-out: `None` while the
    /// account is locked, else the number of consecutive tries that have
    /// not succeeded, this one included.
    pub async fn claim_second_factor_try(
        &self,
        scope: Option<&TenantId>,
        id: &StaffId,
    ) -> Result<Option<u32>, StoreError> {
        let now = to_micros(Timestamp::now());
        let row = sqlx::query(
            "UPDATE staff_users SET failed_sign_ins = failed_sign_ins + 1, updated_at = $3 \
             WHERE COALESCE(tenant_id, 'platform') = $1 AND id = $2 AND locked_until <= $3 \
             RETURNING failed_sign_ins",
        )
        .bind(scope_key(scope))
        .bind(id.as_str())
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok(u32::try_from(int(&r, "failed_sign_ins")?).unwrap_or(u32::MAX)))
            .transpose()
    }

    /// Records a wrong second factor (already counted by
    /// [`Store::claim_second_factor_try`]); when `lockout` says so, locks
    /// the account and ends every half-way session it has. Returns whether
    /// it is now locked.
    pub async fn record_failed_second_factor(
        &self,
        scope: Option<&TenantId>,
        id: &StaffId,
        failures: u32,
        lockout: fn(u32) -> Option<Duration>,
        audit: NewEntry,
    ) -> Result<bool, StoreError> {
        let now = Timestamp::now();
        let mut tx = self.begin_write().await?;
        let lock = lockout(failures);
        if let Some(lock) = lock {
            let until = now
                .checked_add(jiff::SignedDuration::try_from(lock).unwrap_or_default())
                .unwrap_or(now);
            sqlx::query(
                "UPDATE staff_users SET locked_until = $3 WHERE COALESCE(tenant_id, 'platform') = $1 AND id = $2",
            )
            .bind(scope_key(scope))
            .bind(id.as_str())
            .bind(to_micros(until))
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "DELETE FROM staff_sessions WHERE staff_id = $1 AND stage = 'second_factor'",
            )
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
        }
        append_in(&mut tx, self.backend, audit).await?;
        tx.commit().await?;
        Ok(lock.is_some())
    }

    /// Ends a person's half-way (password only) sessions.
    pub async fn end_half_way_sessions(&self, id: &StaffId) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM staff_sessions WHERE staff_id = $1 AND stage = 'second_factor'")
            .bind(id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Starts the one half-way session a person may have: a correct
    /// password ends any earlier one, so passwords cannot mint sessions to
    /// spread second-factor guesses over.
    pub async fn start_second_factor_session(
        &self,
        token_hash: &str,
        staff: &StaffId,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        let now = to_micros(Timestamp::now());
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM staff_sessions WHERE staff_id = $1 AND stage = 'second_factor'")
            .bind(staff.as_str())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO staff_sessions (token_hash, staff_id, stage, created_at, last_seen_at, expires_at) \
             VALUES ($1, $2, 'second_factor', $3, $3, $4)",
        )
        .bind(token_hash)
        .bind(staff.as_str())
        .bind(now)
        .bind(to_micros(expires_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn clear_failed_sign_ins(&self, id: &StaffId) -> Result<(), StoreError> {
        sqlx::query("UPDATE staff_users SET failed_sign_ins = 0, locked_until = 0 WHERE id = $1")
            .bind(id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Accepts a TOTP step only if it is later than the last one accepted,
    /// atomically, so one code cannot sign in twice even in a race.
    pub async fn accept_totp_step(&self, id: &StaffId, step: u64) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE staff_users SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2",
        )
        .bind(id.as_str())
        .bind(step_param(step))
        .execute(&self.pool)
        .await?;
        Ok(updated.rows_affected() == 1)
    }

    /// Spends a recovery code; false if it is not one of the account's
    /// unused codes.
    pub async fn use_recovery_code(
        &self,
        id: &StaffId,
        code_hash: &str,
    ) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE staff_recovery_codes SET used_at = $3 \
             WHERE staff_id = $1 AND code_hash = $2 AND used_at IS NULL",
        )
        .bind(id.as_str())
        .bind(code_hash)
        .bind(to_micros(Timestamp::now()))
        .execute(&self.pool)
        .await?;
        Ok(updated.rows_affected() == 1)
    }

    pub async fn unused_recovery_codes(&self, id: &StaffId) -> Result<u32, StoreError> {
        let row = sqlx::query(
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM staff_recovery_codes WHERE staff_id = $1 AND used_at IS NULL",
        )
        .bind(id.as_str())
        .fetch_one(&self.pool)
        .await?;
        Ok(u32::try_from(int(&row, "n")?).unwrap_or(0))
    }

    pub async fn regenerate_recovery_codes(
        &self,
        id: &StaffId,
        hashes: &[String],
        audit: NewEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        replace_recovery_codes(&mut tx, id, hashes).await?;
        append_in(&mut tx, self.backend, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes a city staff member's role or status (administrators only;
    /// the caller checks). Signing a disabled account out happens here too.
    pub async fn update_staff(
        &self,
        scope: Option<&TenantId>,
        id: &StaffId,
        role: Role,
        status: StaffStatus,
        audit: NewEntry,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE staff_users SET role = $3, status = $4, updated_at = $5 \
             WHERE COALESCE(tenant_id, 'platform') = $1 AND id = $2 AND status <> 'invited'",
        )
        .bind(scope_key(scope))
        .bind(id.as_str())
        .bind(role.code())
        .bind(status.code())
        .bind(to_micros(Timestamp::now()))
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            return Ok(false);
        }
        if status == StaffStatus::Disabled {
            sqlx::query("DELETE FROM staff_sessions WHERE staff_id = $1")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
        }
        append_in(&mut tx, self.backend, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn create_staff_session(
        &self,
        token_hash: &str,
        staff: &StaffId,
        stage: SessionStage,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        let now = to_micros(Timestamp::now());
        sqlx::query(
            "INSERT INTO staff_sessions (token_hash, staff_id, stage, created_at, last_seen_at, expires_at) \
             VALUES ($1, $2, $3, $4, $4, $5)",
        )
        .bind(token_hash)
        .bind(staff.as_str())
        .bind(stage.code())
        .bind(now)
        .bind(to_micros(expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The live session for a token, touched; an idle or expired one is
    /// deleted and not returned.
    pub async fn staff_session(
        &self,
        token_hash: &str,
        idle_timeout: Duration,
    ) -> Result<Option<StaffSession>, StoreError> {
        let now = Timestamp::now();
        let idle_cutoff = to_micros(now)
            .saturating_sub(i64::try_from(idle_timeout.as_micros()).unwrap_or(i64::MAX));
        let row = sqlx::query(
            "SELECT s.stage, s.created_at, s.last_seen_at, s.expires_at, \
                    u.id, u.tenant_id, u.email, u.role, u.status, u.password_hash, u.totp_secret, \
                    u.totp_last_step, u.failed_sign_ins, u.locked_until, u.language \
             FROM staff_sessions s JOIN staff_users u ON u.id = s.staff_id \
             WHERE s.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let staff = staff_from_row(&row)?;
        let expired = int(&row, "expires_at")? <= to_micros(now)
            || int(&row, "last_seen_at")? < idle_cutoff
            || staff.status != StaffStatus::Active;
        if expired {
            self.end_staff_session(token_hash).await?;
            return Ok(None);
        }
        sqlx::query("UPDATE staff_sessions SET last_seen_at = $2 WHERE token_hash = $1")
            .bind(token_hash)
            .bind(to_micros(now))
            .execute(&self.pool)
            .await?;
        Ok(Some(StaffSession {
            stage: parsed(&row, "stage", SessionStage::parse)?,
            created_at: from_micros(int(&row, "created_at")?)?,
            expires_at: from_micros(int(&row, "expires_at")?)?,
            staff,
        }))
    }

    /// Replaces a half-signed-in session with a full one under a new token,
    /// so a token seen before the second factor is worth nothing after.
    pub async fn promote_staff_session(
        &self,
        old_hash: &str,
        new_hash: &str,
        staff: &StaffId,
        expires_at: Timestamp,
        audit: NewEntry,
    ) -> Result<(), StoreError> {
        let now = to_micros(Timestamp::now());
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM staff_sessions WHERE token_hash = $1")
            .bind(old_hash)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO staff_sessions (token_hash, staff_id, stage, created_at, last_seen_at, expires_at) \
             VALUES ($1, $2, 'signed_in', $3, $3, $4)",
        )
        .bind(new_hash)
        .bind(staff.as_str())
        .bind(now)
        .bind(to_micros(expires_at))
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE staff_users SET failed_sign_ins = 0, locked_until = 0 WHERE id = $1")
            .bind(staff.as_str())
            .execute(&mut *tx)
            .await?;
        append_in(&mut tx, self.backend, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn end_staff_session(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM staff_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Signs a person out on every device.
    pub async fn end_all_staff_sessions(
        &self,
        staff: &StaffId,
        audit: NewEntry,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let ended = sqlx::query("DELETE FROM staff_sessions WHERE staff_id = $1")
            .bind(staff.as_str())
            .execute(&mut *tx)
            .await?;
        append_in(&mut tx, self.backend, audit).await?;
        tx.commit().await?;
        Ok(ended.rows_affected())
    }
}

async fn replace_recovery_codes(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    id: &StaffId,
    hashes: &[String],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM staff_recovery_codes WHERE staff_id = $1")
        .bind(id.as_str())
        .execute(&mut **tx)
        .await?;
    for hash in hashes {
        sqlx::query("INSERT INTO staff_recovery_codes (staff_id, code_hash) VALUES ($1, $2)")
            .bind(id.as_str())
            .bind(hash)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}
