//! Enterprise identifiers found in certificates: the 18-character unified social credit
//! code (USCC, GB 32100-2015) and the 9-character organization code (GB 11714-1997).

/// Characters of the USCC alphabet. A character's value in the check digit sum is its index,
/// so `I`, `O`, `S`, `V` and `Z` never occur.
const USCC_ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/// GB 32100 weights for positions 1 to 17: 3^(i-1) mod 31.
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// GB 11714 weights for the 8 body characters of an organization code.
const ORG_CODE_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

/// An enterprise identifier read from a certificate, after normalization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnterpriseCode {
    /// An 18-character unified social credit code.
    Uscc { code: String, check_digit_ok: bool },
    /// A 9-character organization code, as carried by certificates issued before the USCC.
    OrgCode { code: String, check_digit_ok: bool },
}

impl EnterpriseCode {
    /// Normalized code, 18 or 9 characters long.
    pub fn code(&self) -> &str {
        match self {
            Self::Uscc { code, .. } | Self::OrgCode { code, .. } => code,
        }
    }

    /// The organization code: the whole code, or USCC positions 9 to 17.
    pub fn org_code(&self) -> &str {
        match self {
            Self::Uscc { code, .. } => org_code_of_uscc(code).unwrap_or(code),
            Self::OrgCode { code, .. } => code,
        }
    }

    pub fn uscc(&self) -> Option<&str> {
        match self {
            Self::Uscc { code, .. } => Some(code),
            Self::OrgCode { .. } => None,
        }
    }

    /// Returns whether the code's own check character is correct.
    pub fn check_digit_ok(&self) -> bool {
        match self {
            Self::Uscc { check_digit_ok, .. } | Self::OrgCode { check_digit_ok, .. } => {
                *check_digit_ok
            }
        }
    }
}

/// Normalizes a code as written by people and CAs: removes `-` and spaces (including the
/// ideographic space U+3000) and uppercases ASCII letters.
pub fn normalize(raw: &str) -> String {
    raw.chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Classifies a raw value as a USCC (18 characters of the USCC alphabet) or an organization
/// code (8 characters of `0-9A-Z` and a check character of `0-9X`). Returns `None` for any
/// other shape. A code with a wrong check character is still returned, marked by
/// `check_digit_ok == false`, because some early pilot codes are legal but fail the checksum.
pub fn classify(raw: &str) -> Option<EnterpriseCode> {
    let code = normalize(raw);

    if code.len() == 18 && code.chars().all(|c| USCC_ALPHABET.contains(c)) {
        let check_digit_ok = uscc_check_char(&code[..17]) == code.chars().nth(17);
        return Some(EnterpriseCode::Uscc {
            code,
            check_digit_ok,
        });
    }

    if is_org_code_shape(&code) {
        let check_digit_ok = org_code_check_char(&code[..8]) == code.chars().nth(8);
        return Some(EnterpriseCode::OrgCode {
            code,
            check_digit_ok,
        });
    }

    None
}

/// Computes the GB 32100 check character for the first 17 characters of a USCC.
/// Returns `None` unless `first17` is exactly 17 characters of the USCC alphabet.
pub fn uscc_check_char(first17: &str) -> Option<char> {
    if first17.chars().count() != 17 {
        return None;
    }

    let mut sum = 0u32;
    for (c, weight) in first17.chars().zip(USCC_WEIGHTS) {
        let value = USCC_ALPHABET.find(c)?;
        sum += u32::try_from(value).ok()? * weight;
    }

    let check = (31 - sum % 31) % 31;
    USCC_ALPHABET.chars().nth(usize::try_from(check).ok()?)
}

/// Computes the GB 11714 check character for the 8 body characters of an organization code.
/// Returns `None` unless `first8` is exactly 8 characters of `0-9A-Z`.
pub fn org_code_check_char(first8: &str) -> Option<char> {
    if first8.chars().count() != 8 {
        return None;
    }

    let mut sum = 0u32;
    for (c, weight) in first8.chars().zip(ORG_CODE_WEIGHTS) {
        // Digits count as their value and letters A to Z as 10 to 35.
        let value = c
            .to_digit(36)
            .filter(|_| c.is_ascii_digit() || c.is_ascii_uppercase())?;
        sum += value * weight;
    }

    match 11 - sum % 11 {
        10 => Some('X'),
        11 => Some('0'),
        digit => char::from_digit(digit, 10),
    }
}

/// Returns the organization code embedded in a USCC: characters 9 to 17 (1-based), that is
/// `[8..17]`. Returns `None` when `uscc` is not 18 ASCII characters.
pub fn org_code_of_uscc(uscc: &str) -> Option<&str> {
    if uscc.len() != 18 || !uscc.is_ascii() {
        return None;
    }
    uscc.get(8..17)
}

fn is_org_code_shape(code: &str) -> bool {
    let bytes = code.as_bytes();
    bytes.len() == 9
        && bytes[..8]
            .iter()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        && (bytes[8].is_ascii_digit() || bytes[8] == b'X')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_strips_separators_and_uppercases() {
        assert_eq!(normalize(" 9131-0000ma1fl8xq37 "), "91310000MA1FL8XQ37");
        assert_eq!(normalize("MA1FL8XQ-3"), "MA1FL8XQ3");
        assert_eq!(normalize("9131\u{3000}0000"), "91310000");
    }

    #[test]
    fn uscc_check_char_known_vectors() {
        assert_eq!(uscc_check_char("91310000MA1FL8XQ3"), Some('7'));
        assert_eq!(uscc_check_char("91350100M000100Y4"), Some('3'));
    }

    #[test]
    fn uscc_check_char_rejects_bad_input() {
        assert_eq!(uscc_check_char("91310000MA1FL8XQ"), None);
        assert_eq!(uscc_check_char("91310000MA1FL8XQ3Z"), None);
        assert_eq!(uscc_check_char("91310000MA1FL8XQI"), None);
        assert_eq!(uscc_check_char("9131000０MA1FL8XQ3"), None);
        assert_eq!(uscc_check_char(""), None);
    }

    #[test]
    fn classify_valid_usccs() {
        for code in ["91310000MA1FL8XQ37", "91350100M000100Y43"] {
            let classified = classify(code);
            assert_eq!(
                classified,
                Some(EnterpriseCode::Uscc {
                    code: code.to_owned(),
                    check_digit_ok: true
                }),
                "{code}"
            );
        }
    }

    #[test]
    fn classify_computed_uscc_round_trip() {
        let body = "91310115MA1K3YJ2X";
        let check = uscc_check_char(body).unwrap();
        let code = format!("{body}{check}");

        let classified = classify(&code).unwrap();

        assert!(classified.check_digit_ok(), "{code}");
        assert_eq!(classified.code(), code);
    }

    #[test]
    fn classify_uscc_with_bad_check_digit() {
        let classified = classify("91310000MA1FL8XQ38").unwrap();

        assert_eq!(
            classified,
            EnterpriseCode::Uscc {
                code: "91310000MA1FL8XQ38".to_owned(),
                check_digit_ok: false
            }
        );
    }

    #[test]
    fn classify_normalizes_first() {
        let classified = classify("91310000-ma1fl8xq37").unwrap();

        assert_eq!(classified.code(), "91310000MA1FL8XQ37");
        assert!(classified.check_digit_ok());
    }

    #[test]
    fn classify_org_codes() {
        // M000100Y4 is the organization code inside 91350100M000100Y43.
        for code in ["M000100Y4", "MA1FL8XQ1", "M000100Y-4"] {
            let classified = classify(code).unwrap();
            assert!(
                matches!(classified, EnterpriseCode::OrgCode { .. }),
                "{code}"
            );
            assert!(classified.check_digit_ok(), "{code}");
        }
    }

    #[test]
    fn classify_org_code_with_x_and_zero_checks() {
        for body in ["12345678", "00000001", "ABCDEFGH", "MA1FL8XQ"] {
            let check = org_code_check_char(body).unwrap();
            let classified = classify(&format!("{body}{check}")).unwrap();
            assert!(classified.check_digit_ok(), "{body}{check}");
        }

        // 3*0 + 7*0 + ... + 2*1 = 2, 11 - 2 = 9.
        assert_eq!(org_code_check_char("00000001"), Some('9'));
        // Sum 0 gives 11, written as 0.
        assert_eq!(org_code_check_char("00000000"), Some('0'));
        // A sum of 1 mod 11 gives the value 10, written as X.
        let body_with_x = (0..100_000u32)
            .map(|n| format!("{n:08}"))
            .find(|body| org_code_check_char(body) == Some('X'))
            .unwrap();
        assert!(
            classify(&format!("{body_with_x}X"))
                .unwrap()
                .check_digit_ok()
        );
    }

    #[test]
    fn classify_org_code_with_bad_check() {
        // The organization code inside the valid USCC 91310000MA1FL8XQ37 fails GB 11714
        // (its check would be 1), so the two checks must stay independent.
        let classified = classify("MA1FL8XQ3").unwrap();

        assert!(matches!(classified, EnterpriseCode::OrgCode { .. }));
        assert!(!classified.check_digit_ok());
    }

    #[test]
    fn classify_rejects_other_shapes() {
        for raw in [
            "",
            "91310000MA1FL8XQ3",
            "91310000MA1FL8XQ377",
            "91310000MA1FL8XQ3I",
            "MA1FL8XQA",
            "ma1fl8xq",
            "统一社会信用代码",
            "9131000０MA1FL8XQ37",
        ] {
            assert_eq!(classify(raw), None, "{raw}");
        }
    }

    #[test]
    fn org_code_of_uscc_positions() {
        assert_eq!(org_code_of_uscc("91310000MA1FL8XQ37"), Some("MA1FL8XQ3"));
        assert_eq!(org_code_of_uscc("91350100M000100Y43"), Some("M000100Y4"));
        assert_eq!(org_code_of_uscc("MA1FL8XQ3"), None);
        assert_eq!(org_code_of_uscc("9131000０MA1FL8XQ3"), None);
    }
}
