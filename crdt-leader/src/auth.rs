//! Client tokens for the HTTP API.

use crate::error::Error;

/// What a client token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// Reads, listings and watches.
    Read,
    /// Everything `Read` may, and writes and deletes.
    Write,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Grant {
    token: String,
    access: Access,
    /// `None` = every document.
    prefix: Option<String>,
}

/// The bearer tokens of HTTP clients, as listed in `--client-tokens FILE`: one per
/// line, `<token> <read|write> <document-prefix>` (`*` = every document; `write`
/// includes read); blank lines and lines starting with `#` are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientTokens {
    grants: Vec<Grant>,
    open: bool,
}

/// What checking a request's token found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Allowed.
    Allowed,
    /// No token, or an unknown one (HTTP 401).
    Unauthenticated,
    /// A known token without that right on that document (HTTP 403).
    Forbidden,
}

impl ClientTokens {
    /// Every request allowed (only with `--insecure`).
    #[must_use]
    pub fn open() -> Self {
        Self {
            grants: Vec::new(),
            open: true,
        }
    }

    /// Parses the tokens file's text.
    ///
    /// # Errors
    /// [`Error::Config`] naming the line that is malformed.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let mut grants = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let parts: Vec<&str> = line.split_whitespace().collect();
            let bad = |why: &str| {
                Error::Config(format!(
                    "client tokens line {}: {why}; expected `<token> <read|write> <document-prefix>` (`*` = every document)",
                    i + 1
                ))
            };
            let [token, access, prefix] = parts[..] else {
                return Err(bad("not three fields"));
            };
            let access = match access {
                "read" => Access::Read,
                "write" => Access::Write,
                _ => return Err(bad("the right must be read or write")),
            };
            if token.len() < 8 {
                return Err(bad("the token is shorter than 8 characters"));
            }
            grants.push(Grant {
                token: token.to_string(),
                access,
                prefix: (prefix != "*").then(|| prefix.to_string()),
            });
        }
        if grants.is_empty() {
            return Err(Error::Config(
                "the client tokens file lists no token".into(),
            ));
        }
        Ok(Self {
            grants,
            open: false,
        })
    }

    /// Adds a token (for embedding and the demo).
    pub fn add(&mut self, token: &str, access: Access, prefix: Option<&str>) {
        self.grants.push(Grant {
            token: token.to_string(),
            access,
            prefix: prefix.map(str::to_string),
        });
    }

    /// Whether `token` may do `access` on `doc` (`None`: on no document in
    /// particular, e.g. status and listings: any valid token).
    #[must_use]
    pub fn check(&self, token: Option<&str>, access: Access, doc: Option<&str>) -> Verdict {
        if self.open {
            return Verdict::Allowed;
        }
        let Some(token) = token else {
            return Verdict::Unauthenticated;
        };
        let mine: Vec<&Grant> = self
            .grants
            .iter()
            .filter(|g| constant_time_eq(g.token.as_bytes(), token.as_bytes()))
            .collect();
        if mine.is_empty() {
            return Verdict::Unauthenticated;
        }
        let ok = mine.iter().any(|g| {
            g.access >= access
                && match (doc, &g.prefix) {
                    (None, _) | (_, None) => true,
                    (Some(d), Some(p)) => d.starts_with(p.as_str()),
                }
        });
        if ok {
            Verdict::Allowed
        } else {
            Verdict::Forbidden
        }
    }

    /// Whether `token` may read `doc` (filters listings).
    #[must_use]
    pub fn may_read(&self, token: Option<&str>, doc: &str) -> bool {
        self.check(token, Access::Read, Some(doc)) == Verdict::Allowed
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_file_grants_by_right_and_prefix() {
        let t = ClientTokens::parse(
            "# comment\nadmin-token-1 write *\nreader-token-1 read cart-\n\nwriter-token-1 write cart-\n",
        )
        .unwrap();
        assert_eq!(
            t.check(None, Access::Read, Some("x")),
            Verdict::Unauthenticated
        );
        assert_eq!(
            t.check(Some("nope-nope"), Access::Read, Some("x")),
            Verdict::Unauthenticated
        );
        assert_eq!(
            t.check(Some("admin-token-1"), Access::Write, Some("x")),
            Verdict::Allowed
        );
        assert_eq!(
            t.check(Some("reader-token-1"), Access::Read, Some("cart-1")),
            Verdict::Allowed
        );
        assert_eq!(
            t.check(Some("reader-token-1"), Access::Write, Some("cart-1")),
            Verdict::Forbidden
        );
        assert_eq!(
            t.check(Some("reader-token-1"), Access::Read, Some("user-1")),
            Verdict::Forbidden
        );
        assert_eq!(
            t.check(Some("writer-token-1"), Access::Read, Some("cart-1")),
            Verdict::Allowed
        );
        assert!(ClientTokens::parse("a b").is_err());
        assert!(ClientTokens::parse("longtoken admin *").is_err());
        assert!(ClientTokens::parse("").is_err());
    }
}
