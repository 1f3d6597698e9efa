//! Baidu access tokens: a fixed token, the client-credentials flow, the
//! third-party-platform (TP) token from a ticket, and the token of a program
//! authorised to a TP (from a code, then single-use refresh tokens).

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Mutex;

use super::errors::classify;
use super::PROVIDER;
use crate::error::{Error, Result};
use crate::http::{Http, Reply};

/// How the client obtains its access token.
#[derive(Clone)]
pub enum Credentials {
    /// A token obtained elsewhere; cannot be renewed.
    Token(String),
    /// `client_credentials` grant of the program's own key and secret.
    ClientCredentials {
        client_id: String,
        client_secret: String,
    },
    /// Third-party platform token from a push ticket.
    TpTicket { client_id: String, ticket: String },
    /// Token of a program authorised to a TP: from an authorisation code
    /// first, then from the (single-use) refresh token.
    Authorizer {
        tp: Box<Credentials>,
        code: Option<String>,
        refresh_token: Option<String>,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind())
    }
}

impl Credentials {
    pub fn kind(&self) -> &'static str {
        match self {
            Credentials::Token(_) => "access_token",
            Credentials::ClientCredentials { .. } => "client_credentials",
            Credentials::TpTicket { .. } => "tp_ticket",
            Credentials::Authorizer { .. } => "authorizer",
        }
    }

    pub fn validate(&self) -> Result<()> {
        let empty = |what: &str, v: &str| {
            if v.trim().is_empty() {
                Err(Error::invalid(format!("Baidu {what} is empty")))
            } else {
                Ok(())
            }
        };
        match self {
            Credentials::Token(t) => empty("access_token", t),
            Credentials::ClientCredentials {
                client_id,
                client_secret,
            } => {
                empty("client_id", client_id)?;
                empty("client_secret", client_secret)
            }
            Credentials::TpTicket { client_id, ticket } => {
                empty("client_id", client_id)?;
                empty("ticket", ticket)
            }
            Credentials::Authorizer {
                tp,
                code,
                refresh_token,
            } => {
                tp.validate()?;
                if code.as_deref().unwrap_or("").is_empty()
                    && refresh_token.as_deref().unwrap_or("").is_empty()
                {
                    return Err(Error::invalid(
                        "an authorised program needs an authorisation code or a refresh token",
                    ));
                }
                Ok(())
            }
        }
    }
}

#[derive(Default)]
struct State {
    token: Option<String>,
    expires_at: Option<Instant>,
    code: Option<String>,
    refresh_token: Option<String>,
}

/// What happens to the tokens of an authorised program (see
/// [`Auth::set_hook`]): refresh tokens are single-use, so whoever keeps
/// them must hear of every exchange.
pub enum TokenEvent<'a> {
    /// The refresh token (or authorisation code) is about to be sent: once
    /// the service has answered, it may be used up.
    Exchanging,
    /// The exchange succeeded. The hook runs before the new access token
    /// is used; if it fails, the token is not used and the call fails.
    Granted {
        access_token: &'a str,
        expires_in: Option<Duration>,
        refresh_token: Option<&'a str>,
    },
}

/// Called on each [`TokenEvent`] of an authorised program.
pub type TokenHook = Arc<dyn Fn(TokenEvent<'_>) -> Result<()> + Send + Sync>;

/// A token cache shared by all requests of one client.
pub struct Auth {
    creds: Credentials,
    base: String,
    state: Mutex<State>,
    tp: Option<Box<Auth>>,
    /// Renew this long before the announced expiry.
    margin: Duration,
    hook: Option<TokenHook>,
}

#[derive(Deserialize)]
struct TokenReply<'a> {
    #[serde(default, borrow)]
    access_token: Option<Cow<'a, str>>,
    #[serde(default)]
    expires_in: Option<serde_json::Number>,
    #[serde(default, borrow)]
    refresh_token: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    error: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    error_description: Option<Cow<'a, str>>,
    #[serde(default)]
    error_code: Option<i64>,
    #[serde(default, borrow)]
    error_msg: Option<Cow<'a, str>>,
    #[serde(default)]
    errno: Option<i64>,
    #[serde(default, borrow)]
    msg: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    data: Option<Box<TokenReply<'a>>>,
}

struct Token {
    access: String,
    expires_in: Option<Duration>,
    refresh: Option<String>,
}

fn decode_token(reply: Reply) -> Result<Token> {
    let text = std::str::from_utf8(&reply.body)
        .map_err(|e| Error::malformed(PROVIDER, "oauth/token", e))?;
    let text = crate::table::strip_bom(text);
    let r: TokenReply =
        serde_json::from_str(text).map_err(|e| Error::malformed(PROVIDER, "oauth/token", e))?;
    if let Some(code) = r.error_code.filter(|c| *c != 0) {
        return Err(classify(true, code, r.error_msg.as_deref().unwrap_or("")));
    }
    if let Some(code) = r.errno.filter(|c| *c != 0) {
        return Err(Error::Auth {
            provider: PROVIDER,
            code,
            message: format!(
                "token request refused: {}",
                crate::error::redact(r.msg.as_deref().unwrap_or(""))
            ),
            renewable: false,
        });
    }
    if let Some(err) = &r.error {
        return Err(Error::Auth {
            provider: PROVIDER,
            code: 0,
            message: format!(
                "token request refused: {err}: {}",
                crate::error::redact(r.error_description.as_deref().unwrap_or(""))
            ),
            renewable: false,
        });
    }
    let inner = r.data.as_deref().unwrap_or(&r);
    let access = inner
        .access_token
        .as_deref()
        .or(r.access_token.as_deref())
        .ok_or_else(|| Error::malformed(PROVIDER, "oauth/token", "reply has no access_token"))?;
    let expires_in = inner
        .expires_in
        .as_ref()
        .or(r.expires_in.as_ref())
        .and_then(|n| n.as_f64())
        .map(|s| Duration::from_secs_f64(s.max(0.0)));
    Ok(Token {
        access: access.to_string(),
        expires_in,
        refresh: inner
            .refresh_token
            .as_deref()
            .or(r.refresh_token.as_deref())
            .map(str::to_string),
    })
}

impl Auth {
    pub fn new(creds: Credentials, base: &str) -> Result<Self> {
        creds.validate()?;
        let tp = match &creds {
            Credentials::Authorizer { tp, .. } => Some(Box::new(Auth::new((**tp).clone(), base)?)),
            _ => None,
        };
        let mut state = State::default();
        match &creds {
            Credentials::Token(t) => state.token = Some(t.clone()),
            Credentials::Authorizer {
                code,
                refresh_token,
                ..
            } => {
                state.code = code.clone().filter(|c| !c.is_empty());
                state.refresh_token = refresh_token.clone().filter(|c| !c.is_empty());
            }
            _ => {}
        }
        Ok(Auth {
            creds,
            base: base.trim_end_matches('/').to_string(),
            state: Mutex::new(state),
            tp,
            margin: Duration::from_secs(300),
            hook: None,
        })
    }

    /// Tell `hook` about every token exchange of an authorised program
    /// (to persist the new single-use refresh token before it is needed).
    pub fn set_hook(&mut self, hook: TokenHook) {
        self.hook = Some(hook);
    }

    /// Start with an access token obtained earlier that is still valid for
    /// `valid_for` (renewed like a fetched one).
    pub fn seed_token(&mut self, token: String, valid_for: Duration) {
        let st = self.state.get_mut();
        st.expires_at = Some(Instant::now() + valid_for - self.margin.min(valid_for / 10));
        st.token = Some(token);
    }

    pub fn kind(&self) -> &'static str {
        self.creds.kind()
    }

    /// The latest refresh token of an authorised program (refresh tokens
    /// are single-use: callers should store the newest one).
    pub async fn refresh_token(&self) -> Option<String> {
        self.state.lock().await.refresh_token.clone()
    }

    /// A valid token, fetched or renewed when needed.
    pub fn token<'a>(
        &'a self,
        http: &'a Http,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<String>> + Send + 'a>> {
        Box::pin(async move {
            let mut st = self.state.lock().await;
            if let Some(t) = &st.token {
                let fresh = st.expires_at.is_none_or(|at| Instant::now() < at);
                if fresh {
                    return Ok(t.clone());
                }
            }
            let hook = self
                .hook
                .as_ref()
                .filter(|_| matches!(self.creds, Credentials::Authorizer { .. }));
            if let Some(h) = hook {
                h(TokenEvent::Exchanging)?;
            }
            let tok = self.fetch(http, &mut st).await?;
            // The used refresh token is dead: keep the new one even if the
            // hook fails (the next call then tries again with it).
            if tok.refresh.is_some() {
                st.refresh_token = tok.refresh.clone();
            }
            if let Some(h) = hook {
                h(TokenEvent::Granted {
                    access_token: &tok.access,
                    expires_in: tok.expires_in,
                    refresh_token: tok.refresh.as_deref(),
                })?;
            }
            st.token = Some(tok.access.clone());
            // renew 5 minutes early, or at 90 % of short lifetimes
            st.expires_at = tok
                .expires_in
                .map(|d| Instant::now() + d - self.margin.min(d / 10));
            log::debug!("baidu: obtained a new {} token", self.kind());
            Ok(tok.access)
        })
    }

    /// Forget `used` if it is still the cached token (it was rejected as
    /// expired/invalid). Returns whether a renewal is possible.
    pub async fn invalidate(&self, used: &str) -> bool {
        let mut st = self.state.lock().await;
        if matches!(self.creds, Credentials::Token(_)) {
            return false;
        }
        if st.token.as_deref() == Some(used) {
            st.token = None;
            st.expires_at = None;
        }
        true
    }

    async fn fetch(&self, http: &Http, st: &mut State) -> Result<Token> {
        let base = &self.base;
        match &self.creds {
            Credentials::Token(_) => Err(Error::Auth {
                provider: PROVIDER,
                code: 111,
                message: "the access token expired; pass a new access_token or client_id + client_secret so appstats can renew it".into(),
                renewable: false,
            }),
            Credentials::ClientCredentials {
                client_id,
                client_secret,
            } => {
                let url = format!("{base}/oauth/2.0/token");
                http.call(
                    "oauth/token",
                    |c| {
                        Ok(c.get(&url).query(&[
                            ("grant_type", "client_credentials"),
                            ("client_id", client_id),
                            ("client_secret", client_secret),
                            ("scope", "smartapp_snsapi_base"),
                        ]))
                    },
                    decode_token,
                )
                .await
            }
            Credentials::TpTicket { client_id, ticket } => {
                let url = format!("{base}/public/2.0/smartapp/auth/tp/token");
                http.call(
                    "tp/token",
                    |c| Ok(c.get(&url).query(&[("client_id", client_id), ("ticket", ticket)])),
                    decode_token,
                )
                .await
            }
            Credentials::Authorizer { .. } => {
                let tp = self.tp.as_ref().expect("authorizer has a TP");
                let tp_token = tp.token(http).await?;
                let url = format!("{base}/rest/2.0/oauth/token");
                let (grant, key, value) = if let Some(code) = st.code.take() {
                    ("app_to_tp_authorization_code", "code", code)
                } else if let Some(rt) = st.refresh_token.clone() {
                    ("app_to_tp_refresh_token", "refresh_token", rt)
                } else {
                    return Err(Error::Auth {
                        provider: PROVIDER,
                        code: 0,
                        message: "no authorisation code or refresh token left to renew the program's token".into(),
                        renewable: false,
                    });
                };
                http.call(
                    "oauth/token",
                    |c| {
                        Ok(c.get(&url).query(&[
                            ("access_token", tp_token.as_str()),
                            (key, value.as_str()),
                            ("grant_type", grant),
                        ]))
                    },
                    decode_token,
                )
                .await
            }
        }
    }
}

#[cfg(test)]
mod tests;
