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

/// Checks a person's name as on the ID card: 2 to 50 characters, no control characters
/// and no digits.
pub fn valid_person_name(name: &str) -> bool {
    let count = name.chars().count();
    (2..=MAX_NAME_CHARS).contains(&count)
        && !name
            .chars()
            .any(|c| c.is_control() || c.is_ascii_digit() || c == '<' || c == '>')
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
    }
}
