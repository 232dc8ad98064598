//! Page templates and message catalogues. The default theme is embedded in the binary; a theme
//! folder from config may override any template (`templates/NAME.html`) or message
//! (`messages/zh-CN.toml`, `messages/en.toml`). Everything is parsed once at start-up.

use std::collections::BTreeMap;
use std::path::Path;

use minijinja::Environment;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    ZhCn,
    En,
}

impl Lang {
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::ZhCn => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::ZhCn => Lang::En,
            Lang::En => Lang::ZhCn,
        }
    }

    pub fn parse(tag: &str) -> Option<Lang> {
        let tag = tag.trim().to_ascii_lowercase();
        if tag.starts_with("zh") {
            Some(Lang::ZhCn)
        } else if tag.starts_with("en") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// Picks the first supported language of an `Accept-Language` header; Chinese otherwise.
    pub fn from_accept_language(header: Option<&str>) -> Lang {
        header
            .unwrap_or("")
            .split(',')
            .filter_map(|item| Lang::parse(item.split(';').next().unwrap_or("")))
            .next()
            .unwrap_or(Lang::ZhCn)
    }
}

const TEMPLATES: [(&str, &str); 18] = [
    (
        "realname.html",
        include_str!("../../themes/default/templates/realname.html"),
    ),
    (
        "admin_nav.html",
        include_str!("../../themes/default/templates/admin_nav.html"),
    ),
    (
        "admin_operators.html",
        include_str!("../../themes/default/templates/admin_operators.html"),
    ),
    (
        "admin_operator_new.html",
        include_str!("../../themes/default/templates/admin_operator_new.html"),
    ),
    (
        "admin_operator.html",
        include_str!("../../themes/default/templates/admin_operator.html"),
    ),
    (
        "admin_reviews.html",
        include_str!("../../themes/default/templates/admin_reviews.html"),
    ),
    (
        "admin_applications.html",
        include_str!("../../themes/default/templates/admin_applications.html"),
    ),
    (
        "base.html",
        include_str!("../../themes/default/templates/base.html"),
    ),
    (
        "login.html",
        include_str!("../../themes/default/templates/login.html"),
    ),
    (
        "password_change.html",
        include_str!("../../themes/default/templates/password_change.html"),
    ),
    (
        "error.html",
        include_str!("../../themes/default/templates/error.html"),
    ),
    (
        "index.html",
        include_str!("../../themes/default/templates/index.html"),
    ),
    (
        "demo.html",
        include_str!("../../themes/default/templates/demo.html"),
    ),
    (
        "stock_login.html",
        include_str!("../../themes/default/templates/stock_login.html"),
    ),
    (
        "certificate_login.html",
        include_str!("../../themes/default/templates/certificate_login.html"),
    ),
    (
        "binding.html",
        include_str!("../../themes/default/templates/binding.html"),
    ),
    (
        "logout.html",
        include_str!("../../themes/default/templates/logout.html"),
    ),
    (
        "select_identity.html",
        include_str!("../../themes/default/templates/select_identity.html"),
    ),
];
const ZH_CN: &str = include_str!("../../themes/default/messages/zh-CN.toml");
const EN: &str = include_str!("../../themes/default/messages/en.toml");
pub const STYLE_CSS: &str = include_str!("../../themes/default/static/style.css");
pub const CERTIFICATE_JS: &str = include_str!("../../themes/default/static/certificate.js");
pub const LOGIN_JS: &str = include_str!("../../themes/default/static/login.js");

#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    #[error("theme file {path} could not be read: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("message catalogue {name} is invalid: {source}")]
    Catalogue {
        name: String,
        source: Box<toml::de::Error>,
    },
    #[error("template {name} is invalid: {source}")]
    Template {
        name: String,
        source: minijinja::Error,
    },
}

pub struct Templates {
    env: Environment<'static>,
    zh_cn: BTreeMap<String, String>,
    en: BTreeMap<String, String>,
}

impl Templates {
    pub fn load(theme_dir: Option<&Path>) -> Result<Templates, ThemeError> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        for (name, source) in TEMPLATES {
            let source = match theme_dir {
                Some(dir) => read_optional(&dir.join("templates").join(name))?
                    .unwrap_or_else(|| source.to_owned()),
                None => source.to_owned(),
            };
            env.add_template_owned(name.to_owned(), source)
                .map_err(|source| ThemeError::Template {
                    name: name.to_owned(),
                    source,
                })?;
        }

        let mut zh_cn = parse_catalogue("zh-CN", ZH_CN)?;
        let mut en = parse_catalogue("en", EN)?;
        if let Some(dir) = theme_dir {
            for (name, catalogue) in [("zh-CN", &mut zh_cn), ("en", &mut en)] {
                if let Some(text) =
                    read_optional(&dir.join("messages").join(format!("{name}.toml")))?
                {
                    catalogue.extend(parse_catalogue(name, &text)?);
                }
            }
        }
        Ok(Templates { env, zh_cn, en })
    }

    pub fn catalogue(&self, lang: Lang) -> &BTreeMap<String, String> {
        match lang {
            Lang::ZhCn => &self.zh_cn,
            Lang::En => &self.en,
        }
    }

    /// Returns the message for `key`, or the key itself when the catalogue lacks it.
    pub fn message(&self, lang: Lang, key: &str) -> String {
        self.catalogue(lang)
            .get(key)
            .cloned()
            .unwrap_or_else(|| key.to_owned())
    }

    pub fn render(
        &self,
        name: &str,
        context: &serde_json::Value,
    ) -> Result<String, minijinja::Error> {
        self.env
            .get_template(name)?
            .render(minijinja::Value::from_serialize(context))
    }
}

fn read_optional(path: &Path) -> Result<Option<String>, ThemeError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ThemeError::Read {
            path: path.display().to_string(),
            source,
        }),
    }
}

fn parse_catalogue(name: &str, text: &str) -> Result<BTreeMap<String, String>, ThemeError> {
    toml::from_str(text).map_err(|source| ThemeError::Catalogue {
        name: name.to_owned(),
        source: Box::new(source),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogues_have_same_keys() {
        let templates = Templates::load(None).unwrap();
        let zh: Vec<_> = templates.zh_cn.keys().collect();
        let en: Vec<_> = templates.en.keys().collect();
        assert_eq!(zh, en);
    }

    #[test]
    fn accept_language_prefers_first_supported() {
        assert_eq!(
            Lang::from_accept_language(Some("en-US,en;q=0.9,zh;q=0.8")),
            Lang::En
        );
        assert_eq!(
            Lang::from_accept_language(Some("fr, zh-CN;q=0.5")),
            Lang::ZhCn
        );
        assert_eq!(Lang::from_accept_language(None), Lang::ZhCn);
    }
}
