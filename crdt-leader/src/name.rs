//! Document names.

use crate::error::Error;

/// The longest document name, in bytes.
pub const DOC_NAME_BYTES_MAX: usize = 128;

/// Checks a document name: 1 to [`DOC_NAME_BYTES_MAX`] bytes of ASCII letters, digits
/// and `-_.:~`, so that it fits a URL path segment and a log line unchanged.
///
/// # Errors
/// [`Error::TooLarge`] or [`Error::Invalid`].
pub fn check_doc_name(name: &str) -> Result<(), Error> {
    if name.len() > DOC_NAME_BYTES_MAX {
        return Err(Error::TooLarge {
            what: "document name",
            bytes: name.len(),
            max: DOC_NAME_BYTES_MAX,
        });
    }
    if name.is_empty() {
        return Err(Error::Invalid {
            what: "document name",
            reason: "it is empty".into(),
        });
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-_.:~".contains(*c)))
    {
        return Err(Error::Invalid {
            what: "document name",
            reason: format!("character {c:?} is not allowed; use ASCII letters, digits and -_.:~"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(check_doc_name("cart-42.v1:eu~x_y").is_ok());
        assert!(matches!(check_doc_name(""), Err(Error::Invalid { .. })));
        assert!(matches!(check_doc_name("a/b"), Err(Error::Invalid { .. })));
        assert!(matches!(check_doc_name("é"), Err(Error::Invalid { .. })));
        assert!(check_doc_name(&"a".repeat(DOC_NAME_BYTES_MAX)).is_ok());
        assert!(matches!(
            check_doc_name(&"a".repeat(DOC_NAME_BYTES_MAX + 1)),
            Err(Error::TooLarge { .. })
        ));
    }
}
