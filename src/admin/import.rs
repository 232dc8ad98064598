//! Import of stock operator accounts from the old fund system, as CSV with a header row:
//!
//! `operator_id,enterprise_code,enterprise_name,person_name,phone,identity_type,is_admin,password_scheme,password_hash[,system]`
//!
//! `enterprise_code` is an 18-character USCC or a 9-character organization code; `is_admin`
//! is `true`/`false`, `1`/`0` or `是`/`否`; `password_scheme` names one of the formats in
//! `auth::legacy_password`; `system` is the client_id of the system the operator belongs to
//! (default `fund`). Rows that fail validation are reported and skipped; valid rows are
//! imported. A row whose operator ID was imported before is left unchanged, so re-running a
//! file changes nothing.

use std::io::Read;

use sea_orm::{DatabaseConnection, DbErr};
use serde::Deserialize;

use crate::auth::legacy_password::Scheme;
use crate::domain::identity::IdentityRules;
use crate::domain::phone::Phone;
use crate::domain::uscc::{self, EnterpriseCode};
use crate::store::{accounts, enterprises, identities, legacy_credentials, systems};

pub const DEFAULT_SYSTEM: &str = "fund";

#[derive(Debug, Deserialize)]
struct Row {
    operator_id: String,
    enterprise_code: String,
    enterprise_name: String,
    person_name: String,
    phone: String,
    identity_type: String,
    is_admin: String,
    password_scheme: String,
    password_hash: String,
    #[serde(default)]
    system: Option<String>,
}

/// A row that passed validation.
struct Operator {
    operator_id: i64,
    code: EnterpriseCode,
    enterprise_name: String,
    person_name: String,
    phone: Phone,
    identity_type: String,
    is_admin: bool,
    scheme: Scheme,
    password_hash: String,
    system: String,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub imported: usize,
    pub unchanged: usize,
    /// Line number in the file and the reason.
    pub rejected: Vec<(u64, String)>,
    /// Imported rows whose USCC or organization code has a wrong check digit: line and code.
    pub warnings: Vec<(u64, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the CSV header is invalid: {0}")]
    Header(String),
    #[error(transparent)]
    Database(#[from] DbErr),
}

pub async fn import_operators(
    db: &DatabaseConnection,
    rules: &IdentityRules,
    input: impl Read,
    now: i64,
) -> Result<ImportReport, ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(input);
    let headers = reader
        .headers()
        .map_err(|e| ImportError::Header(e.to_string()))?
        .clone();
    for required in [
        "operator_id",
        "enterprise_code",
        "enterprise_name",
        "person_name",
        "phone",
        "identity_type",
        "is_admin",
        "password_scheme",
        "password_hash",
    ] {
        if !headers.iter().any(|h| h == required) {
            return Err(ImportError::Header(format!(
                "column `{required}` is missing"
            )));
        }
    }

    let mut report = ImportReport::default();
    for record in reader.records() {
        let (line, record) = match record {
            Ok(record) => (record.position().map_or(0, csv::Position::line), record),
            Err(error) => {
                let line = error.position().map_or(0, csv::Position::line);
                report
                    .rejected
                    .push((line, format!("unreadable row: {error}")));
                continue;
            }
        };
        let operator = match record.deserialize::<Row>(Some(&headers)) {
            Ok(row) => validate(row, rules),
            Err(error) => Err(format!("unreadable row: {}", truncate(&error.to_string()))),
        };
        let operator = match operator {
            Ok(operator) => operator,
            Err(reason) => {
                report.rejected.push((line, reason));
                continue;
            }
        };
        match store_operator(db, rules, &operator, now).await? {
            Stored::Imported => {
                report.imported += 1;
                if !operator.code.check_digit_ok() {
                    report
                        .warnings
                        .push((line, operator.code.code().to_owned()));
                }
            }
            Stored::Unchanged => report.unchanged += 1,
            Stored::Conflict(reason) => report.rejected.push((line, reason)),
        }
    }
    Ok(report)
}

/// Shortens a value quoted in a report line, so a huge bad row does not flood the output.
fn truncate(text: &str) -> String {
    const MAX_CHARS: usize = 200;
    if text.chars().count() <= MAX_CHARS {
        return text.to_owned();
    }
    format!("{}…", text.chars().take(MAX_CHARS).collect::<String>())
}

fn validate(row: Row, rules: &IdentityRules) -> Result<Operator, String> {
    let operator_id = row
        .operator_id
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| {
            format!(
                "operator_id `{}` is not a positive integer",
                row.operator_id
            )
        })?;
    let code = uscc::classify(&row.enterprise_code).ok_or_else(|| {
        format!(
            "enterprise_code `{}` is neither an 18-character USCC nor a 9-character organization code",
            row.enterprise_code
        )
    })?;
    if row.enterprise_name.is_empty() {
        return Err("enterprise_name is empty".into());
    }
    if row.person_name.is_empty() || row.person_name.chars().count() > 64 {
        return Err(format!(
            "person_name `{}` must be 1 to 64 characters",
            row.person_name
        ));
    }
    let phone = Phone::parse(&row.phone).map_err(|e| e.to_string())?;
    if !rules.is_known(&row.identity_type) {
        return Err(format!(
            "identity_type `{}` is unknown; use one of {}",
            row.identity_type,
            rules.codes().join(", ")
        ));
    }
    let is_admin = match row.is_admin.as_str() {
        "true" | "1" | "是" => true,
        "false" | "0" | "否" => false,
        other => return Err(format!("is_admin `{other}` must be true or false")),
    };
    let scheme = Scheme::parse(&row.password_scheme).ok_or_else(|| {
        format!(
            "password_scheme `{}` is unknown; use bcrypt, pbkdf2_sha256 or sha256_salted",
            row.password_scheme
        )
    })?;
    scheme
        .check_format(&row.password_hash)
        .map_err(|reason| format!("password_hash does not match {}: {reason}", scheme.as_str()))?;
    let system = row
        .system
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEFAULT_SYSTEM.to_owned());

    Ok(Operator {
        operator_id,
        code,
        enterprise_name: row.enterprise_name,
        person_name: row.person_name,
        phone,
        identity_type: row.identity_type,
        is_admin,
        scheme,
        password_hash: row.password_hash,
        system,
    })
}

enum Stored {
    Imported,
    Unchanged,
    Conflict(String),
}

/// Writes one operator. Each step finds what an earlier, interrupted run wrote before it
/// creates anything, so the import can always be re-run.
async fn store_operator(
    db: &DatabaseConnection,
    rules: &IdentityRules,
    operator: &Operator,
    now: i64,
) -> Result<Stored, DbErr> {
    if let Some(credential) = legacy_credentials::find(db, operator.operator_id).await? {
        return Ok(if same_as_imported(db, operator, &credential).await? {
            Stored::Unchanged
        } else {
            Stored::Conflict(format!(
                "operator_id {} was imported before with other data; correct the row or the earlier import",
                operator.operator_id
            ))
        });
    }

    if systems::find_by_client_id(db, &operator.system)
        .await?
        .is_none()
    {
        return Ok(Stored::Conflict(format!(
            "system `{}` is not a registered client; register it with `unilogin client add` first",
            operator.system
        )));
    }

    let enterprise = match find_or_create_enterprise(db, operator, now).await? {
        Ok(enterprise) => enterprise,
        Err(reason) => return Ok(Stored::Conflict(reason)),
    };
    let account = match accounts::find_by_phone(db, operator.phone.as_e164()).await? {
        // One phone is one natural person: a different name means the file mixes people up.
        Some(account) if account.name != operator.person_name => {
            return Ok(Stored::Conflict(format!(
                "phone {} already belongs to {}, not {}; one phone is one person",
                operator.phone,
                crate::domain::mask::name(&account.name),
                crate::domain::mask::name(&operator.person_name),
            )));
        }
        Some(account) => account,
        None => {
            let account = accounts::NewAccount {
                phone: operator.phone.as_e164(),
                name: &operator.person_name,
                // Not an argon2 string, so no password matches until the old one is proven.
                password_hash: "!legacy".to_owned(),
                must_change_password: false,
                realname_status: accounts::REALNAME_UNVERIFIED,
            };
            accounts::insert(db, account, now).await?
        }
    };

    let identity = match identities::find_by_operator_id(db, operator.operator_id).await? {
        Some(existing)
            if existing.account_id == account.id && existing.enterprise_id == enterprise.id =>
        {
            existing
        }
        Some(_) => {
            return Ok(Stored::Conflict(format!(
                "operator_id {} already belongs to another person or enterprise",
                operator.operator_id
            )));
        }
        None => {
            let held = identities::of_account(db, account.id).await?;
            let held_types: Vec<&str> = held.iter().map(|i| i.identity_type.as_str()).collect();
            if let Some(conflicting) = rules.conflict(&held_types, &operator.identity_type) {
                return Ok(Stored::Conflict(format!(
                    "phone {} already holds identity type `{conflicting}`, which may not be combined with `{}`",
                    operator.phone, operator.identity_type
                )));
            }
            let identity = identities::NewIdentity {
                account_id: account.id,
                enterprise_id: enterprise.id,
                system_id: &operator.system,
                identity_type: &operator.identity_type,
                operator_id: operator.operator_id,
                is_admin: operator.is_admin,
                status: identities::STATUS_ACTIVE,
                department: &enterprise.name,
                department_type: "",
                role: crate::domain::operator::DEFAULT_ROLE,
                remark: "",
                // Stock staff confirm their name and phone through a real-name submission.
                realname_verified_at: None,
            };
            match identities::insert(db, identity, now).await {
                Ok(identity) => identity,
                Err(error) => {
                    return Ok(Stored::Conflict(format!(
                        "identity for this phone, enterprise, system and type exists already ({error})"
                    )));
                }
            }
        }
    };

    let credential = legacy_credentials::Model {
        operator_id: operator.operator_id,
        identity_id: identity.id,
        scheme: operator.scheme.as_str().to_owned(),
        password_hash: operator.password_hash.clone(),
        imported_at: now,
        migrated_at: None,
    };
    legacy_credentials::insert(db, credential).await?;
    Ok(Stored::Imported)
}

/// Returns whether a row repeats exactly what an earlier import stored for its operator ID.
async fn same_as_imported(
    db: &DatabaseConnection,
    operator: &Operator,
    credential: &legacy_credentials::Model,
) -> Result<bool, DbErr> {
    let Some(identity) = identities::find_by_id(db, credential.identity_id).await? else {
        return Ok(false);
    };
    let account = accounts::find_by_id(db, identity.account_id).await?;
    let enterprise = enterprises::find_by_id(db, identity.enterprise_id).await?;
    Ok(account.is_some_and(|a| a.phone == operator.phone.as_e164())
        && enterprise.is_some_and(|e| e.org_code == operator.code.org_code())
        && identity.identity_type == operator.identity_type
        && identity.system_id == operator.system
        && identity.is_admin == operator.is_admin
        && credential.scheme == operator.scheme.as_str()
        && credential.password_hash == operator.password_hash)
}

/// Finds the row's enterprise or creates it. An organization code already used by an
/// enterprise with another USCC is a conflict, since both cannot be right.
async fn find_or_create_enterprise(
    db: &DatabaseConnection,
    operator: &Operator,
    now: i64,
) -> Result<Result<enterprises::Model, String>, DbErr> {
    let org_code = operator.code.org_code();
    let existing = match operator.code.uscc() {
        Some(uscc) => match enterprises::find_by_uscc(db, uscc).await? {
            Some(found) => {
                enterprises::set_uscc(db, found.id, uscc).await?;
                Some(found)
            }
            None => {
                if let Some(other) = enterprises::find_by_org_code(db, org_code).await? {
                    return Ok(Err(format!(
                        "organization code {org_code} already belongs to USCC {}; check enterprise_code",
                        other.uscc.unwrap_or_default()
                    )));
                }
                None
            }
        },
        None => enterprises::find_by_org_code(db, org_code).await?,
    };
    match existing {
        Some(enterprise) => Ok(Ok(enterprise)),
        None => {
            let name = &operator.enterprise_name;
            Ok(Ok(enterprises::insert(
                db,
                operator.code.uscc(),
                org_code,
                name,
                now,
            )
            .await?))
        }
    }
}
