//! Mainland China mobile numbers, stored in E.164 form (`+8613812345678`).

use std::fmt;

/// A validated mainland mobile number in E.164 form.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid mobile number `{input}`: expected 11 digits starting with 13 to 19, optionally prefixed with +86, 0086 or 86"
)]
pub struct InvalidPhone {
    pub input: String,
}

impl Phone {
    /// Parses a number as people type it: spaces and hyphens are dropped, and the country
    /// prefixes `+86`, `0086` and `86` are accepted. The national part must match
    /// `1[3-9]` followed by 9 digits.
    pub fn parse(input: &str) -> Result<Phone, InvalidPhone> {
        let compact: String = input.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        let national = compact
            .strip_prefix("+86")
            .or_else(|| compact.strip_prefix("0086"))
            .or_else(|| {
                if compact.len() == 13 {
                    compact.strip_prefix("86")
                } else {
                    None
                }
            })
            .unwrap_or(&compact);

        let bytes = national.as_bytes();
        let valid = bytes.len() == 11
            && bytes[0] == b'1'
            && (b'3'..=b'9').contains(&bytes[1])
            && bytes.iter().all(u8::is_ascii_digit);
        if !valid {
            return Err(InvalidPhone {
                input: input.chars().take(32).collect(),
            });
        }
        Ok(Phone(format!("+86{national}")))
    }

    pub fn as_e164(&self) -> &str {
        &self.0
    }

    /// The 11-digit national number.
    pub fn national(&self) -> &str {
        &self.0[3..]
    }

    /// The masked form for logs and screens, `138****5678`.
    pub fn masked(&self) -> String {
        let national = self.national();
        format!("{}****{}", &national[..3], &national[7..])
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_normalize_to_e164() {
        for input in [
            "13812345678",
            "+8613812345678",
            "008613812345678",
            "8613812345678",
            "138 1234-5678",
        ] {
            assert_eq!(
                Phone::parse(input).map(|p| p.as_e164().to_owned()),
                Ok("+8613812345678".into()),
                "{input}"
            );
        }
    }

    #[test]
    fn invalid_numbers_rejected() {
        for input in [
            "",
            "12812345678",
            "1381234567",
            "138123456789",
            "+85213812345678",
            "1381234567a",
            "８６13812345678",
        ] {
            assert!(Phone::parse(input).is_err(), "{input}");
        }
    }

    #[test]
    fn masked_hides_middle_digits() {
        let phone = Phone::parse("17512342068").map(|p| p.masked());
        assert_eq!(phone, Ok("175****2068".to_owned()));
    }
}
