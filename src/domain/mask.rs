//! Display masking of personal data (GB/T 35273 display restriction).

/// Masks a person's name for screens and logs: the first character stays, `张*`.
pub fn name(full: &str) -> String {
    let mut chars = full.chars();
    match chars.next() {
        Some(first) => {
            let hidden = chars.count().max(1);
            format!("{first}{}", "*".repeat(hidden))
        }
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn name_keeps_first_character() {
        assert_eq!(super::name("张三"), "张*");
        assert_eq!(super::name("欧阳娜娜"), "欧***");
        assert_eq!(super::name(""), "");
    }
}
