//! Password rules: at least 8 characters from at least 3 of the 4 classes (upper case, lower
//! case, digits, other), as MLPS level-3 assessors expect.

pub const MIN_LENGTH: usize = 8;
pub const MAX_LENGTH: usize = 128;
pub const MIN_CLASSES: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyViolation {
    TooShort,
    TooLong,
    TooFewClasses,
}

impl PolicyViolation {
    /// Message key in the theme's catalogue.
    pub fn message_key(self) -> &'static str {
        match self {
            PolicyViolation::TooShort => "password_too_short",
            PolicyViolation::TooLong => "password_too_long",
            PolicyViolation::TooFewClasses => "password_too_few_classes",
        }
    }
}

pub fn check(password: &str) -> Result<(), PolicyViolation> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(PolicyViolation::TooShort);
    }
    if length > MAX_LENGTH {
        return Err(PolicyViolation::TooLong);
    }

    let has = |test: fn(&char) -> bool| password.chars().any(|c| test(&c));
    let classes = [
        has(char::is_ascii_uppercase),
        has(char::is_ascii_lowercase),
        has(char::is_ascii_digit),
        has(|c| !c.is_ascii_alphanumeric()),
    ];
    if classes.iter().filter(|present| **present).count() < MIN_CLASSES {
        return Err(PolicyViolation::TooFewClasses);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_three_classes() {
        assert_eq!(check("abcdEF12"), Ok(()));
        assert_eq!(check("abcd12!!"), Ok(()));
    }

    #[test]
    fn rejects_short_long_and_simple() {
        assert_eq!(check("aB1!"), Err(PolicyViolation::TooShort));
        assert_eq!(check(&"aB1!".repeat(40)), Err(PolicyViolation::TooLong));
        assert_eq!(check("abcdefgh12"), Err(PolicyViolation::TooFewClasses));
        assert_eq!(check("ABCDEFGH"), Err(PolicyViolation::TooFewClasses));
    }
}
