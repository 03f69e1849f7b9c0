//! Bearer-token authentication with per-method scopes.
//!
//! Tokens come from configuration (`--tokens`), each with a name (for logs and audit) and a
//! set of scopes. Every method of every service declares the scope it needs; a method missing
//! from its service's table is refused, so a new RPC is closed until someone decides who may
//! call it. Health and reflection stay open so that probes and `grpcurl`-style tools work.

use std::collections::HashMap;
use std::fmt;

use ring::digest::{SHA256, digest};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;
use tonic::Status;

use crate::config::TokenList;

/// What a token allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Read resources, summaries, scores and feeds.
    Read,
    /// Create, change and delete resources; drive playbook runs.
    Write,
    /// Push tickets (support-platform adapters).
    Ingest,
    /// Everything, including operations such as re-scoring every account.
    Admin,
}

impl Scope {
    fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "read" => Some(Scope::Read),
            "write" => Some(Scope::Write),
            "ingest" => Some(Scope::Ingest),
            "admin" => Some(Scope::Admin),
            _ => None,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Ingest => "ingest",
            Scope::Admin => "admin",
        })
    }
}

/// One configured token.
#[derive(Debug, Clone)]
pub struct TokenSpec {
    /// Who holds the token; appears in logs, never the secret.
    pub name: String,
    /// What the holder may do.
    pub scopes: Vec<Scope>,
    /// The bearer secret.
    pub secret: SecretString,
}

/// The authenticated caller, put in each request's extensions for handlers that record who
/// did something (e.g. who started a playbook run).
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token's name.
    pub name: String,
}

/// Which scope each method of one gRPC service needs, by method name.
pub type MethodScopes = &'static [(&'static str, Scope)];

/// Checks tokens and scopes for every call.
#[derive(Debug, Default)]
pub struct Authenticator {
    tokens: Vec<(String, Vec<Scope>, [u8; 32])>,
    /// Required scope by full gRPC path, e.g. `/steward.account.v1.AccountService/GetAccount`.
    methods: HashMap<String, Scope>,
}

impl Authenticator {
    /// An authenticator for the configured tokens and no methods yet.
    pub fn new(tokens: &TokenList) -> Self {
        let tokens = tokens
            .0
            .iter()
            .map(|t| (t.name.clone(), t.scopes.clone(), sha256(t.secret.expose_secret())))
            .collect();
        Self { tokens, methods: HashMap::new() }
    }

    /// Declares the scopes of `service`'s methods.
    pub fn add_service(&mut self, service: &str, scopes: MethodScopes) {
        for (method, scope) in scopes {
            self.methods.insert(format!("/{service}/{method}"), *scope);
        }
    }

    /// Authenticates the call to `path` carrying `headers`, or says why not.
    #[allow(clippy::result_large_err)] // Status is what the middleware answers with.
    pub fn authorize(&self, headers: &http::HeaderMap, path: &str) -> Result<Caller, Status> {
        let presented = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .ok_or_else(|| Status::unauthenticated("missing `authorization: Bearer <token>`"))?;
        let presented = sha256(presented.trim());
        // Compare with every token, without stopping early, so timing says nothing about
        // which token or how much of it matched.
        let mut found = None;
        for (i, (_, _, hash)) in self.tokens.iter().enumerate() {
            if bool::from(hash.ct_eq(&presented)) {
                found = Some(i);
            }
        }
        let (name, scopes, _) = found
            .map(|i| &self.tokens[i])
            .ok_or_else(|| Status::unauthenticated("unknown bearer token"))?;
        let Some(needed) = self.methods.get(path) else {
            return Err(Status::permission_denied(format!(
                "{path} has no scope configured; refusing by default"
            )));
        };
        if scopes.contains(needed) || scopes.contains(&Scope::Admin) {
            Ok(Caller { name: name.clone() })
        } else {
            Err(Status::permission_denied(format!(
                "token `{name}` lacks the `{needed}` scope that {path} needs"
            )))
        }
    }
}

fn sha256(s: &str) -> [u8; 32] {
    let mut out = [0; 32];
    out.copy_from_slice(digest(&SHA256, s.as_bytes()).as_ref());
    out
}

/// Parses `NAME:SCOPES:SECRET[,NAME:SCOPES:SECRET...]` (see [`crate::config::AuthConfig`]).
pub fn parse_tokens(value: &str) -> Result<TokenList, String> {
    let mut tokens = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let mut parts = entry.splitn(3, ':');
        let (Some(name), Some(scopes), Some(secret)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(format!("`{}…`: expected NAME:SCOPES:SECRET", prefix(entry)));
        };
        if name.is_empty() {
            return Err("a token has an empty name".into());
        }
        let scopes = scopes
            .split('+')
            .map(|s| Scope::parse(s).ok_or_else(|| format!("token `{name}`: unknown scope `{s}`")))
            .collect::<Result<Vec<_>, _>>()?;
        if secret.len() < 16 {
            return Err(format!("token `{name}`: the secret must be at least 16 characters"));
        }
        if tokens.iter().any(|t: &TokenSpec| t.name == name) {
            return Err(format!("token `{name}` is listed twice"));
        }
        tokens.push(TokenSpec {
            name: name.to_owned(),
            scopes,
            secret: SecretString::from(secret.to_owned()),
        });
    }
    if tokens.is_empty() {
        return Err("no tokens: no caller could authenticate".into());
    }
    Ok(TokenList(tokens))
}

fn prefix(s: &str) -> &str {
    s.get(..s.len().min(8)).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> Authenticator {
        let tokens = parse_tokens("reader:read:rrrrrrrrrrrrrrrr, boss:admin:aaaaaaaaaaaaaaaa")
            .expect("valid tokens");
        let mut auth = Authenticator::new(&tokens);
        auth.add_service("pkg.Svc", &[("Get", Scope::Read), ("Put", Scope::Write)]);
        auth
    }

    fn bearer(token: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert(http::header::AUTHORIZATION, format!("Bearer {token}").parse().expect("header"));
        h
    }

    #[test]
    fn scopes_decide_per_method_and_admin_may_do_everything() {
        let auth = auth();
        let reader = bearer("rrrrrrrrrrrrrrrr");
        assert_eq!(auth.authorize(&reader, "/pkg.Svc/Get").expect("read ok").name, "reader");
        let denied = auth.authorize(&reader, "/pkg.Svc/Put").expect_err("no write scope");
        assert_eq!(denied.code(), tonic::Code::PermissionDenied);
        assert!(auth.authorize(&bearer("aaaaaaaaaaaaaaaa"), "/pkg.Svc/Put").is_ok());
    }

    #[test]
    fn missing_wrong_and_unlisted_are_refused() {
        let auth = auth();
        let none = auth.authorize(&http::HeaderMap::new(), "/pkg.Svc/Get").expect_err("no token");
        assert_eq!(none.code(), tonic::Code::Unauthenticated);
        let wrong = auth.authorize(&bearer("rrrrrrrrrrrrrrrX"), "/pkg.Svc/Get").expect_err("bad");
        assert_eq!(wrong.code(), tonic::Code::Unauthenticated);
        let unlisted = auth
            .authorize(&bearer("aaaaaaaaaaaaaaaa"), "/pkg.Svc/Delete")
            .expect_err("method without a scope");
        assert_eq!(unlisted.code(), tonic::Code::PermissionDenied);
    }

    #[test]
    fn token_lists_are_validated_with_a_reason() {
        assert!(parse_tokens("").expect_err("empty").contains("no tokens"));
        assert!(parse_tokens("a:read:short").expect_err("short").contains("16 characters"));
        assert!(parse_tokens("a:fly:xxxxxxxxxxxxxxxx").expect_err("scope").contains("fly"));
        assert!(parse_tokens("a:read").expect_err("shape").contains("NAME:SCOPES:SECRET"));
        let ok = parse_tokens("a:read+ingest:xxxx:xxxxxxxxxxxx").expect("colon in secret");
        assert_eq!(ok.0[0].scopes, [Scope::Read, Scope::Ingest]);
    }
}
