//! Unified social credit codes (USCC, GB 32100-2015) and organization codes (GB 11714).

/// USCC character set; a character's value is its index. I, O, S, V and Z are not used.
const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Weights of positions 1 to 17: 3^(i-1) mod 31.
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];
const ORG_CODE_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnterpriseCode {
    Uscc { code: String, check_digit_ok: bool },
    OrgCode { code: String, check_digit_ok: bool },
}

impl EnterpriseCode {
    /// The organization code: the whole code, or USCC positions 9 to 17.
    pub fn org_code(&self) -> &str {
        match self {
            EnterpriseCode::Uscc { code, .. } => org_code_of_uscc(code).unwrap_or(code),
            EnterpriseCode::OrgCode { code, .. } => code,
        }
    }

    pub fn uscc(&self) -> Option<&str> {
        match self {
            EnterpriseCode::Uscc { code, .. } => Some(code),
            EnterpriseCode::OrgCode { .. } => None,
        }
    }

    pub fn check_digit_ok(&self) -> bool {
        match self {
            EnterpriseCode::Uscc { check_digit_ok, .. }
            | EnterpriseCode::OrgCode { check_digit_ok, .. } => *check_digit_ok,
        }
    }
}

/// Strips hyphens and spaces and upper-cases, as codes are often written `XXXXXXXX-X`.
pub fn normalize(raw: &str) -> String {
    raw.chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .flat_map(char::to_uppercase)
        .collect()
}

/// Classifies a normalized or raw value: 18 characters of the USCC alphabet are a USCC,
/// 9 characters `[0-9A-Z]{8}[0-9X]` an organization code. A wrong check digit is reported,
/// not rejected, because some early codes fail it.
pub fn classify(raw: &str) -> Option<EnterpriseCode> {
    let code = normalize(raw);
    if code.len() == 18 && code.bytes().all(|b| USCC_ALPHABET.contains(&b)) {
        let check_digit_ok = uscc_check_char(&code[..17]) == code.chars().nth(17);
        return Some(EnterpriseCode::Uscc {
            code,
            check_digit_ok,
        });
    }
    let bytes = code.as_bytes();
    if bytes.len() == 9
        && bytes[..8]
            .iter()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        && (bytes[8].is_ascii_digit() || bytes[8] == b'X')
    {
        let check_digit_ok = org_code_check_char(&code[..8]) == code.chars().nth(8);
        return Some(EnterpriseCode::OrgCode {
            code,
            check_digit_ok,
        });
    }
    None
}

/// The GB 32100 check character for the first 17 characters: (31 - sum mod 31) mod 31.
pub fn uscc_check_char(first17: &str) -> Option<char> {
    if first17.len() != 17 {
        return None;
    }
    let mut sum = 0u32;
    for (byte, weight) in first17.bytes().zip(USCC_WEIGHTS) {
        let value = USCC_ALPHABET.iter().position(|c| *c == byte)?;
        sum += u32::try_from(value).ok()? * weight;
    }
    let check = (31 - sum % 31) % 31;
    usize::try_from(check)
        .ok()
        .and_then(|i| USCC_ALPHABET.get(i))
        .map(|b| char::from(*b))
}

/// The GB 11714 check character: 11 - sum mod 11, where 10 is `X` and 11 is `0`.
fn org_code_check_char(first8: &str) -> Option<char> {
    let mut sum = 0u32;
    for (byte, weight) in first8.bytes().zip(ORG_CODE_WEIGHTS) {
        let value = match byte {
            b'0'..=b'9' => u32::from(byte - b'0'),
            b'A'..=b'Z' => u32::from(byte - b'A') + 10,
            _ => return None,
        };
        sum += value * weight;
    }
    match 11 - sum % 11 {
        10 => Some('X'),
        11 => Some('0'),
        digit => char::from_digit(digit, 10),
    }
}

/// USCC positions 9 to 17: the organization code inside it.
pub fn org_code_of_uscc(uscc: &str) -> Option<&str> {
    if uscc.len() == 18 {
        uscc.get(8..17)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_uscc_check_digits() {
        assert_eq!(uscc_check_char("91310000MA1FL8XQ3"), Some('7'));
        assert_eq!(uscc_check_char("91350100M000100Y4"), Some('3'));
        let code = classify("91310000-MA1FL8XQ37");
        assert_eq!(
            code,
            Some(EnterpriseCode::Uscc {
                code: "91310000MA1FL8XQ37".into(),
                check_digit_ok: true
            })
        );
    }

    #[test]
    fn wrong_check_digit_reported_not_rejected() {
        let code = classify("91310000MA1FL8XQ3U").unwrap();
        assert!(!code.check_digit_ok());
        assert_eq!(code.uscc(), Some("91310000MA1FL8XQ3U"));
    }

    #[test]
    fn organization_codes() {
        // GB 11714 over MA1FL8XQ: weighted sum 648, 11 - 648 mod 11 = 1.
        let code = classify("ma1fl8xq-1").unwrap();
        assert_eq!(
            code,
            EnterpriseCode::OrgCode {
                code: "MA1FL8XQ1".into(),
                check_digit_ok: true
            }
        );
        assert!(!classify("MA1FL8XQ3").unwrap().check_digit_ok());
        assert_eq!(org_code_of_uscc("91310000MA1FL8XQ37"), Some("MA1FL8XQ3"));
    }

    #[test]
    fn other_values_not_codes() {
        for raw in [
            "",
            "9131000MA1FL8XQ37",
            "91310000MA1FL8XQ3I",
            "ABC",
            "中文中文中文中文中文",
        ] {
            assert_eq!(classify(raw), None, "{raw}");
        }
    }
}
