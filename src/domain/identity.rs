//! Identity types: the roles an enterprise plays towards a system.

/// Built-in identity types: code, Chinese name, English name.
pub const TYPES: [(&str, &str, &str); 4] = [
    ("developer", "房地产开发企业", "Real estate developer"),
    (
        "property_company",
        "物业服务企业",
        "Property management company",
    ),
    ("repair_contractor", "维修施工单位", "Repair contractor"),
    ("owners_committee", "业主委员会", "Owners' committee"),
];

pub fn is_known(code: &str) -> bool {
    TYPES.iter().any(|(known, _, _)| *known == code)
}

/// The Chinese display name of a type, or the code itself for unknown types.
pub fn display_name(code: &str) -> &str {
    TYPES
        .iter()
        .find(|(known, _, _)| *known == code)
        .map_or(code, |(_, zh, _)| zh)
}
