//! The fields an enterprise administrator sets on a staff operator: role and department type.

pub const DEFAULT_ROLE: &str = "operator";

/// Operator roles within a system: code, Chinese name, English name.
pub const ROLES: [(&str, &str, &str); 3] = [
    ("operator", "经办人", "Operator"),
    ("reviewer", "复核人", "Reviewer"),
    ("viewer", "查询人", "Viewer"),
];

/// Department types: code, Chinese name, English name.
pub const DEPARTMENT_TYPES: [(&str, &str, &str); 4] = [
    ("headquarters", "总部", "Headquarters"),
    ("branch", "分支机构", "Branch"),
    ("project", "项目部", "Project office"),
    ("other", "其他", "Other"),
];

pub fn is_role(code: &str) -> bool {
    ROLES.iter().any(|(known, _, _)| *known == code)
}

pub fn is_department_type(code: &str) -> bool {
    DEPARTMENT_TYPES.iter().any(|(known, _, _)| *known == code)
}

/// Longest department name, remark and person name accepted, in characters.
pub const MAX_DEPARTMENT_CHARS: usize = 100;
pub const MAX_REMARK_CHARS: usize = 200;
pub const MAX_NAME_CHARS: usize = 50;

/// Checks a person's name as on the ID card: 2 to 50 characters, no digits, and no control
/// or invisible formatting characters.
pub fn valid_person_name(name: &str) -> bool {
    let count = name.chars().count();
    (2..=MAX_NAME_CHARS).contains(&count)
        && !has_hidden_chars(name)
        && !name
            .chars()
            .any(|c| c.is_ascii_digit() || c == '<' || c == '>')
}

/// True when the text contains control characters or Unicode format characters (general
/// category Cf, such as the right-to-left override U+202E and zero-width spaces), which make
/// stored text display differently from what it is.
pub fn has_hidden_chars(text: &str) -> bool {
    text.chars().any(|c| {
        c.is_control()
            || matches!(
                c as u32,
                0x00AD
                    | 0x0600..=0x0605
                    | 0x061C
                    | 0x06DD
                    | 0x070F
                    | 0x180E
                    | 0x200B..=0x200F
                    | 0x202A..=0x202E
                    | 0x2060..=0x2064
                    | 0x2066..=0x206F
                    | 0xFEFF
                    | 0xFFF9..=0xFFFB
                    | 0xE0001
                    | 0xE0020..=0xE007F
            )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn person_names() {
        assert!(valid_person_name("张三"));
        assert!(valid_person_name("阿卜杜·热合曼"));
        assert!(!valid_person_name("张"));
        assert!(!valid_person_name("张三1"));
        assert!(!valid_person_name("张\n三"));
        assert!(!valid_person_name(&"张".repeat(51)));
        assert!(!valid_person_name("李\u{202e}四"));
        assert!(!valid_person_name("李\u{200b}四"));
    }
}
