//! Identity types (the roles an enterprise plays towards a system), the rules on which types
//! one phone may hold together, and the real-name standing of an identity.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityType {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityRules {
    pub types: Vec<IdentityType>,
    /// Groups of identity type codes that one phone may not hold together: an account that
    /// holds one type of a group cannot add another type of the same group.
    pub mutually_exclusive: Vec<Vec<String>>,
    /// After a real-name submission, sign-in stays possible for this long while the
    /// submission waits for the administrator's review.
    pub review_window_secs: i64,
}

impl Default for IdentityRules {
    fn default() -> Self {
        let types = [
            ("developer", "房地产开发企业", "Real estate developer"),
            (
                "property_company",
                "物业服务企业",
                "Property management company",
            ),
            ("repair_contractor", "维修施工单位", "Repair contractor"),
            ("owners_committee", "业主委员会", "Owners' committee"),
        ];
        IdentityRules {
            types: types
                .iter()
                .map(|(code, zh, en)| IdentityType {
                    code: (*code).to_owned(),
                    name_zh: (*zh).to_owned(),
                    name_en: (*en).to_owned(),
                })
                .collect(),
            mutually_exclusive: vec![vec!["developer".into(), "property_company".into()]],
            review_window_secs: 24 * 3600,
        }
    }
}

impl IdentityRules {
    pub fn is_known(&self, code: &str) -> bool {
        self.types.iter().any(|known| known.code == code)
    }

    pub fn codes(&self) -> Vec<&str> {
        self.types.iter().map(|known| known.code.as_str()).collect()
    }

    /// The display name of a type in Chinese or English, or the code itself for unknown types.
    pub fn display_name<'a>(&'a self, code: &'a str, english: bool) -> &'a str {
        self.types
            .iter()
            .find(|known| known.code == code)
            .map_or(code, |known| {
                if english {
                    &known.name_en
                } else {
                    &known.name_zh
                }
            })
    }

    /// Returns the held type that `adding` may not be combined with, if any. Holding the same
    /// type again (in another enterprise or system) never conflicts.
    pub fn conflict<'a>(&self, held: &[&'a str], adding: &str) -> Option<&'a str> {
        held.iter().copied().find(|held_type| {
            *held_type != adding
                && self.mutually_exclusive.iter().any(|group| {
                    group.iter().any(|code| code == held_type)
                        && group.iter().any(|code| code == adding)
                })
        })
    }

    /// Checks that every code in the exclusion groups is a known type.
    pub fn validate(&self) -> Result<(), String> {
        if self.types.is_empty() {
            return Err("at least one identity type is required".into());
        }
        if self.review_window_secs <= 0 {
            return Err(format!(
                "review_window_secs {} must be above 0",
                self.review_window_secs
            ));
        }
        for group in &self.mutually_exclusive {
            if let Some(unknown) = group.iter().find(|code| !self.is_known(code)) {
                return Err(format!(
                    "mutually_exclusive names `{unknown}`, which is not among the types ({})",
                    self.codes().join(", ")
                ));
            }
        }
        Ok(())
    }
}

/// Where an identity stands with real-name verification, which decides whether it may sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RealnameStanding {
    /// Verified, or an administrator identity (administrators sign in with the certificate).
    Verified,
    /// Never submitted: the user must submit before signing in.
    Required,
    /// The last submission was rejected: the user must submit again.
    Rejected,
    /// Submitted and waiting for review; sign-in works until `deadline`.
    PendingWithin { deadline: i64 },
    /// Submitted, but the review window has passed without a review: sign-in is refused.
    PendingOverdue { deadline: i64 },
}

/// Decides the standing from the identity's status and verification time and, for a pending
/// identity, the review deadline of its submission.
pub fn realname_standing(
    status: &str,
    is_admin: bool,
    verified_at: Option<i64>,
    review_deadline: Option<i64>,
    now: i64,
) -> RealnameStanding {
    match status {
        "pending_review" => {
            let deadline = review_deadline.unwrap_or(now);
            if now < deadline {
                RealnameStanding::PendingWithin { deadline }
            } else {
                RealnameStanding::PendingOverdue { deadline }
            }
        }
        "rejected" => RealnameStanding::Rejected,
        _ if is_admin || verified_at.is_some() => RealnameStanding::Verified,
        _ => RealnameStanding::Required,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusion_finds_the_conflicting_type() {
        let rules = IdentityRules::default();
        assert_eq!(
            rules.conflict(&["developer"], "property_company"),
            Some("developer")
        );
        assert_eq!(
            rules.conflict(&["property_company"], "developer"),
            Some("property_company")
        );
    }

    #[test]
    fn exclusion_allows_same_and_unrelated_types() {
        let rules = IdentityRules::default();
        assert_eq!(rules.conflict(&["developer"], "developer"), None);
        assert_eq!(rules.conflict(&["developer"], "repair_contractor"), None);
        assert_eq!(rules.conflict(&[], "developer"), None);
    }

    #[test]
    fn unknown_type_in_exclusion_is_invalid() {
        let rules = IdentityRules {
            mutually_exclusive: vec![vec!["developer".into(), "bank".into()]],
            ..IdentityRules::default()
        };
        let error = rules.validate().unwrap_err();
        assert!(error.contains("`bank`"), "{error}");
    }

    #[test]
    fn standing_follows_the_review_deadline() {
        let deadline = 1_000 + 24 * 3600;
        let within = realname_standing("pending_review", false, None, Some(deadline), 1_000);
        assert_eq!(within, RealnameStanding::PendingWithin { deadline });
        let last_second =
            realname_standing("pending_review", false, None, Some(deadline), deadline - 1);
        assert_eq!(last_second, RealnameStanding::PendingWithin { deadline });
        let overdue = realname_standing("pending_review", false, None, Some(deadline), deadline);
        assert_eq!(overdue, RealnameStanding::PendingOverdue { deadline });
    }

    #[test]
    fn standing_of_unverified_and_rejected_staff() {
        assert_eq!(
            realname_standing("active", false, None, None, 0),
            RealnameStanding::Required
        );
        assert_eq!(
            realname_standing("active", false, Some(5), None, 0),
            RealnameStanding::Verified
        );
        assert_eq!(
            realname_standing("active", true, None, None, 0),
            RealnameStanding::Verified
        );
        assert_eq!(
            realname_standing("rejected", false, Some(5), None, 0),
            RealnameStanding::Rejected
        );
    }
}
