//! Account queries. Every function takes the pool (or a transaction) and an
//! explicit `now`, so tests control time.

use crate::audit::AuditAction;

use super::password::{self, Password};
use crate::{
    db::{is_unique_violation, Db},
    fault::{Fault, Input},
    types::{AccountId, Role, Timestamp},
};

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error("first-run setup has already been completed")]
    AlreadySetUp,
    #[error("invalid email: {0}")]
    InvalidEmail(&'static str),
    #[error("password not accepted: {0}")]
    WeakPassword(String),
    #[error(transparent)]
    Hash(#[from] password::HashError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl From<AccountError> for Fault {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::EmailTaken => {
                Fault::invalid(Input::Email, "An account with this email already exists.")
            }
            AccountError::AlreadySetUp => {
                Fault::Conflict("Preqstation is already set up. Sign in instead.".into())
            }
            AccountError::InvalidEmail(m) => Fault::invalid(Input::Email, m),
            AccountError::WeakPassword(m) => Fault::invalid(Input::Password, m),
            AccountError::Hash(e) => e.into(),
            AccountError::Db(e) => Fault::db("account query", e),
        }
    }
}

/// An account row. The password hash stays on the server.
#[derive(Clone)]
pub struct Account {
    pub id: AccountId,
    pub email: String,
    pub role: Role,
    pub password_hash: String,
    pub created_at: Timestamp,
    pub disabled_at: Option<Timestamp>,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("role", &self.role)
            .field("disabled_at", &self.disabled_at)
            .finish_non_exhaustive()
    }
}

/// An account as stored, with [`ACCOUNT_COLUMNS`].
#[derive(sqlx::FromRow)]
struct AccountRow {
    id: String,
    email: String,
    role: String,
    password_hash: String,
    created_at: i64,
    disabled_at: Option<i64>,
}

impl TryFrom<AccountRow> for Account {
    type Error = sqlx::Error;

    fn try_from(row: AccountRow) -> Result<Self, sqlx::Error> {
        Ok(Account {
            id: AccountId::parse(&row.id)
                .ok_or_else(|| sqlx::Error::Decode("bad account id".into()))?,
            email: row.email,
            role: Role::parse(&row.role).ok_or_else(|| sqlx::Error::Decode("bad role".into()))?,
            password_hash: row.password_hash,
            created_at: Timestamp(row.created_at),
            disabled_at: row.disabled_at.map(Timestamp),
        })
    }
}

const ACCOUNT_COLUMNS: &str = "id, email, role, password_hash, created_at, disabled_at";

/// True once the first account exists.
pub async fn is_set_up(db: &Db) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) AS n FROM setup_state")
        .fetch_one(db)
        .await?;
    Ok(n > 0)
}

pub async fn find_by_email(db: &Db, email: &str) -> Result<Option<Account>, sqlx::Error> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE email = $1");
    let row: Option<AccountRow> = sqlx::query_as(&sql).bind(email).fetch_optional(db).await?;
    row.map(Account::try_from).transpose()
}

pub async fn find_by_id(db: &Db, id: AccountId) -> Result<Option<Account>, sqlx::Error> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1");
    let row: Option<AccountRow> = sqlx::query_as(&sql)
        .bind(id.to_string())
        .fetch_optional(db)
        .await?;
    row.map(Account::try_from).transpose()
}

/// Locks `account`'s row for the rest of the transaction (a row lock on
/// PostgreSQL, the write lock on SQLite) and says whether it exists. Every
/// transaction that changes an account's sessions or tokens starts here, so
/// they serialise per owner and take their locks in one order (account,
/// sessions, tokens, audit head); on SQLite it also makes the transaction a
/// writer from its first statement.
pub async fn lock_row(
    conn: &mut sqlx::AnyConnection,
    account: AccountId,
) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("UPDATE accounts SET password_changed_at = password_changed_at WHERE id = $1")
            .bind(account.to_string())
            .execute(conn)
            .await?;
    Ok(done.rows_affected() > 0)
}

/// Validated input for a new account.
pub struct NewAccount {
    pub email: String,
    pub password: Password,
    pub role: Role,
}

impl NewAccount {
    /// Applies the email and password rules.
    pub fn validate(email: &str, password: String, role: Role) -> Result<Self, AccountError> {
        let email = super::normalize_email(email).map_err(AccountError::InvalidEmail)?;
        password::check_new_password(&password, &email).map_err(AccountError::WeakPassword)?;
        Ok(Self {
            email,
            password: Password::new(password),
            role,
        })
    }
}

/// Creates the first account (an admin) exactly once. Two concurrent calls,
/// even on two instances, cannot both succeed: the `setup_state` row is the
/// lock.
pub async fn complete_setup(
    db: &Db,
    keys: &crate::keys::Keyring,
    new: NewAccount,
    base: &crate::audit::NewEvent,
    now: Timestamp,
) -> Result<Account, AccountError> {
    if is_set_up(db).await? {
        return Err(AccountError::AlreadySetUp);
    }
    let hash = password::hash(new.password).await?;
    let mut tx = db.begin().await?;
    let marked = sqlx::query("INSERT INTO setup_state (id, completed_at) VALUES (1, $1)")
        .bind(now.millis())
        .execute(&mut *tx)
        .await;
    match marked {
        Err(e) if is_unique_violation(&e) => return Err(AccountError::AlreadySetUp),
        other => {
            other?;
        }
    }
    let account = insert(&mut tx, &new.email, &hash, Role::Admin, now).await?;
    let actor = |action: AuditAction| {
        base.with_action(action)
            .account(account.id)
            .actor(account.email.clone())
    };
    let events = [
        actor(AuditAction::SetupCompleted),
        actor(AuditAction::AccountCreated)
            .target(account.email.clone())
            .detail("role", "admin"),
    ];
    crate::audit::chain::append(&mut tx, keys, &events, now).await?;
    tx.commit().await?;
    Ok(account)
}

/// Creates an account (admin CLI, admin UI) and its `account_created`
/// entry in the same transaction, in the creator's trail (`base`'s account,
/// if any) and in the new account's own. Marks setup complete if it was
/// not, so the setup page disappears once any account exists.
pub async fn create(
    db: &Db,
    keys: &crate::keys::Keyring,
    new: NewAccount,
    base: &crate::audit::NewEvent,
    now: Timestamp,
) -> Result<Account, AccountError> {
    let hash = password::hash(new.password).await?;
    let mut tx = db.begin().await?;
    let account = insert(&mut tx, &new.email, &hash, new.role, now).await?;
    let event = base
        .clone()
        .with_action(AuditAction::AccountCreated)
        .target(account.email.clone())
        .detail("role", new.role.as_str())
        .notify(
            crate::notifications::outbox::Notice::new(
                crate::notifications::NoticeKind::AccountCreated,
                account.id,
            )
            .about_account(account.id, account.email.clone())
            .by(match (&base.account_id, &base.actor) {
                (Some(_), Some(admin)) => format!("the administrator {admin}"),
                _ => "an administrator, on the server's command line".to_string(),
            }),
        );
    let events = match &base.account_id {
        Some(_) => super::admin::in_both_trails(event, account.id),
        None => vec![event.account(account.id)],
    };
    crate::audit::chain::append(&mut tx, keys, &events, now).await?;
    let already: i64 = sqlx::query_scalar("SELECT COUNT(*) AS n FROM setup_state")
        .fetch_one(&mut *tx)
        .await?;
    if already == 0 {
        sqlx::query("INSERT INTO setup_state (id, completed_at) VALUES (1, $1)")
            .bind(now.millis())
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(account)
}

async fn insert(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    email: &str,
    password_hash: &str,
    role: Role,
    now: Timestamp,
) -> Result<Account, AccountError> {
    let id = AccountId::new();
    let result = sqlx::query(
        "INSERT INTO accounts (id, email, password_hash, role, created_at, password_changed_at) \
         VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(id.to_string())
    .bind(email)
    .bind(password_hash)
    .bind(role.as_str())
    .bind(now.millis())
    .execute(&mut **tx)
    .await;
    match result {
        Err(e) if is_unique_violation(&e) => Err(AccountError::EmailTaken),
        Err(e) => Err(e.into()),
        Ok(_) => Ok(Account {
            id,
            email: email.to_string(),
            role,
            password_hash: password_hash.to_string(),
            created_at: now,
            disabled_at: None,
        }),
    }
}
