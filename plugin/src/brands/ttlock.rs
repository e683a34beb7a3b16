//! The TTLock Open API client (see docs/brands/ttlock.md): custom passcodes
//! written through the gateway (or a Wi-Fi lock) synchronously, moved and
//! deleted in place.
//!
//! - Every call is form-encoded (reads `GET` with a query string, writes
//!   `POST` with a form body) and carries `clientId`, `accessToken` and
//!   `date` (epoch ms from the host clock).
//! - Every answer is HTTP 200: success is a missing or zero `errcode`; a
//!   non-zero `errcode` is mapped to a [`VendorError`] in words a manager
//!   can act on. A non-200 status or an unreadable body leaves the outcome
//!   unknown.
//! - The access token (90 days) is cached in storage with its refresh
//!   token and refreshed a day before it expires; an API answer 10003 /
//!   10004 refreshes it and retries once, then falls back to the password
//!   grant (the stored MD5). No secret ever reaches a log line or an error
//!   text (R2): error details built from outside text are scrubbed.
//! - Writes use `addType` / `changeType` / `deleteType` 2 (through the
//!   gateway): the answer says whether the lock has it, nothing is queued.

use serde_json::Value;

use super::{
    Brand, CachedToken, Capabilities, CodeSpec, Confirmation, Confirmed, CredentialField, Credentials as Stored,
    Fields, Found, LockInfo, OfflineCode, Op, Remote, Submitted, TokenCache, Vendor, VendorError,
};
use crate::host::{Host, HttpRequest, HttpResponse, Level, Method};
use crate::pin::PinRule;
use crate::schedule::Instant;

/// The brand's name in error texts.
const NAME: &str = "TTLock";

/// TTLock as the core and the hosts see it (R30). The application's client
/// id and secret are usually the PMS's own: the host fills them in.
pub static BRAND: Brand = Brand {
    id: "ttlock",
    name: NAME,
    fields: &[
        CredentialField {
            name: "username",
            label: "TTLock username",
            help: "the phone number or e-mail the TTLock app signs in with",
            secret: false,
            host_supplied: false,
        },
        CredentialField {
            name: "password",
            label: "TTLock password",
            help: "the TTLock app's password (only its MD5 is kept, as TTLock requires)",
            secret: true,
            host_supplied: false,
        },
        CredentialField {
            name: "client_id",
            label: "TTLock application id",
            help: "the TTLock Open Platform application's client id",
            secret: false,
            host_supplied: true,
        },
        CredentialField {
            name: "client_secret",
            label: "TTLock application secret",
            help: "the TTLock Open Platform application's client secret",
            secret: true,
            host_supplied: true,
        },
    ],
    seal: |f: &mut Fields| {
        if let Some(password) = f.remove("password") {
            f.insert("password_md5".into(), password_md5(&password));
        }
        if let Some(u) = f.get_mut("username") {
            *u = u.trim().to_string();
        }
    },
    login: |f: &Fields| f.get("username").cloned().unwrap_or_default(),
    origins: &[API_BASE],
    capabilities: CAPABILITIES,
};

/// The client of a stored TTLock connection.
pub fn client<'h, H: Host + ?Sized>(
    host: &'h H,
    stored: &'h Stored,
    tokens: TokenCache<'h, H>,
) -> Box<dyn Vendor + 'h> {
    let creds = Credentials {
        username: stored.field("username"),
        password_md5: stored.field("password_md5"),
        client_id: stored.field("client_id"),
        client_secret: stored.field("client_secret"),
    };
    Box::new(Client::new(host, creds, tokens))
}

/// Writes go through the gateway (or the Wi-Fi lock) and return once the
/// lock has carried them out: nothing to poll. A gateway takes one command
/// at a time (busy otherwise); codes can be listed and moved in place.
const CAPABILITIES: Capabilities = Capabilities {
    pin_rule: PinRule::any_digits,
    confirmation: Confirmation::Synchronous,
    moves_in_place: true,
    amends_unconfirmed: false,
    lists_codes: true,
    channel_capacity: 1,
    write_budget: None,
    write_secs: 0,
    queue_expiry_secs: 0,
    max_name_chars: 50,
    needs: "a gateway",
    app: "the TTLock app (link a gateway)",
    link_check: "the lock's TTLock gateway is plugged in and online in the TTLock app",
    fallback: "a passcode made in the TTLock app over Bluetooth, next to the lock",
    credentials: "the username and password of the TTLock app",
};

/// The API host for accounts outside mainland China.
pub const API_BASE: &str = "https://euapi.ttlock.com";
const TOKEN_PATH: &str = "/oauth2/token";

/// An access token is refreshed this long before it expires (it lives 90
/// days; the refresh token 10 years).
const TOKEN_RENEW_BEFORE_SECS: i64 = 86_400;
/// Page size of the lock and passcode listings.
const PAGE_SIZE: i64 = 100;
/// Listings stop after this many pages (a broken `pages` must not loop).
const MAX_PAGES: i64 = 50;
/// `keyboardPwdType` 3: a passcode valid for a period.
const PWD_TYPE_PERIOD: &str = "3";
/// The same type asked of `keyboardPwd/get`: an offline period passcode.
const OFFLINE_PERIOD_TYPE: &str = PWD_TYPE_PERIOD;
/// An offline period passcode must be typed once within this long after its start.
const OFFLINE_FIRST_USE_SECS: i64 = 24 * 3600;
/// `addType` / `changeType` / `deleteType` 2: through the gateway or Wi-Fi,
/// on the lock (1, the default, only touches the cloud record).
const VIA_GATEWAY: &str = "2";
/// `featureValue` bit of a Wi-Fi lock.
const FEATURE_WIFI_BIT: usize = 56;
/// `status` values of a listed passcode with a write still under way
/// (NB-IoT locks only: pending, adding, modifying, deleting).
const STATUS_UNDER_WAY: [i64; 4] = [3, 4, 6, 8];

/// A TTLock connection's secrets (the password only as its MD5).
pub struct Credentials<'a> {
    pub username: &'a str,
    pub password_md5: &'a str,
    pub client_id: &'a str,
    pub client_secret: &'a str,
}

/// The lower-case hex MD5 TTLock's password grant takes.
pub fn password_md5(password: &str) -> String {
    use md5::{Digest, Md5};
    Md5::digest(password.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// What a call came back with when it did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fail {
    /// HTTP 200 with a non-zero `errcode` (and its `errmsg`).
    Code(i64, String),
    /// Anything else, already in the caller's terms.
    Vendor(VendorError),
}

impl From<VendorError> for Fail {
    fn from(e: VendorError) -> Self {
        Fail::Vendor(e)
    }
}

/// How far to go for a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Renew {
    /// The cached one while it is fresh.
    No,
    /// Refresh it (then the password grant if the refresh token is refused).
    Refresh,
    /// A new one from the password grant.
    Password,
}

/// Where the token in use came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Cached,
    Refreshed,
    Issued,
}

/// A passcode as `listKeyboardPwd` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Listed {
    id: String,
    start_ms: Option<i64>,
    end_ms: Option<i64>,
    status: Option<i64>,
}

pub struct Client<'h, H: Host + ?Sized> {
    host: &'h H,
    creds: Credentials<'h>,
    tokens: TokenCache<'h, H>,
    requests: u32,
    /// Set once the credentials were refused: every later call fails the
    /// same way without asking again.
    refused: Option<VendorError>,
    /// Tokens this client has held, scrubbed from any outside text.
    tokens_seen: Vec<String>,
}

impl<'h, H: Host + ?Sized> Client<'h, H> {
    pub fn new(host: &'h H, creds: Credentials<'h>, tokens: TokenCache<'h, H>) -> Self {
        Client { host, creds, tokens, requests: 0, refused: None, tokens_seen: Vec::new() }
    }

    // ------------------------------------------------------------ tokens

    /// A token for an API call, and where it came from.
    fn token(&mut self, renew: Renew) -> Result<(String, Source), VendorError> {
        if let Some(e) = &self.refused {
            return Err(e.clone());
        }
        let cached = self.tokens.load()?;
        if let Some(t) = &cached {
            self.remember(&t.access_token);
            if let Some(r) = &t.refresh_token {
                self.remember(r);
            }
        }
        let now = self.host.now();
        if renew == Renew::No {
            if let Some(t) = &cached {
                if now < t.expires_at.saturating_sub(TOKEN_RENEW_BEFORE_SECS) {
                    return Ok((t.access_token.clone(), Source::Cached));
                }
            }
        }
        let refresh_token = cached.as_ref().and_then(|t| t.refresh_token.clone()).filter(|r| !r.is_empty());
        if renew != Renew::Password {
            if let Some(refresh_token) = refresh_token {
                match self.grant(&[("grant_type", "refresh_token"), ("refresh_token", &refresh_token)]) {
                    Ok(mut t) => {
                        if t.refresh_token.is_none() {
                            t.refresh_token = Some(refresh_token);
                        }
                        self.save_token(&t)?;
                        self.host.log(Level::Debug, "TTLock access token refreshed");
                        return Ok((t.access_token, Source::Refreshed));
                    }
                    // The refresh token is no good: the password grant below.
                    Err(Fail::Code(10011, _)) => {}
                    Err(fail) => {
                        let e = self.grant_error(fail);
                        // Renewing early failed; the cached token still works.
                        if let Some(t) = cached.filter(|t| renew == Renew::No && now < t.expires_at) {
                            if !matches!(e, VendorError::Unauthorized { .. }) {
                                return Ok((t.access_token, Source::Cached));
                            }
                        }
                        return Err(self.refuse(e));
                    }
                }
            }
        }
        let t = self.password_grant()?;
        Ok((t.access_token, Source::Issued))
    }

    /// The password grant; the token is stored.
    fn password_grant(&mut self) -> Result<CachedToken, VendorError> {
        let (username, password) = (self.creds.username, self.creds.password_md5);
        match self.grant(&[("username", username), ("password", password)]) {
            Ok(t) => {
                self.save_token(&t)?;
                Ok(t)
            }
            Err(fail) => {
                let e = self.grant_error(fail);
                Err(self.refuse(e))
            }
        }
    }

    /// `POST /oauth2/token` with the application's id and secret and `extra`.
    fn grant(&mut self, extra: &[(&str, &str)]) -> Result<CachedToken, Fail> {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("clientId", self.creds.client_id);
        form.append_pair("clientSecret", self.creds.client_secret);
        for (k, v) in extra {
            form.append_pair(k, v);
        }
        let resp = self.send(HttpRequest {
            method: Method::Post,
            url: format!("{API_BASE}{TOKEN_PATH}"),
            headers: form_headers(),
            body: form.finish().into_bytes(),
        })?;
        let v = answer(&resp)?;
        let access_token = v
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| malformed("token answer without an access_token"))?
            .to_string();
        let expires_in = v
            .get("expires_in")
            .and_then(int)
            .filter(|n| *n > 0)
            .ok_or_else(|| malformed("token answer without expires_in"))?;
        let refresh_token =
            v.get("refresh_token").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
        self.remember(&access_token);
        if let Some(r) = &refresh_token {
            self.remember(r);
        }
        Ok(CachedToken { access_token, expires_at: self.host.now().saturating_add(expires_in), refresh_token })
    }

    fn save_token(&self, t: &CachedToken) -> Result<(), VendorError> {
        self.tokens.save(t)
    }

    /// A failed token request in the caller's terms.
    fn grant_error(&self, fail: Fail) -> VendorError {
        match fail {
            Fail::Code(10000, _) => unauthorized("TTLock does not know the application's client id"),
            Fail::Code(10001, _) => unauthorized("the TTLock application's client id or secret is wrong"),
            Fail::Code(10007, _) => unauthorized("wrong TTLock username or password"),
            Fail::Code(10011, _) => unauthorized("TTLock no longer accepts the stored refresh token"),
            Fail::Code(30005, _) => unauthorized("TTLock refused the stored password (it must be an MD5 digest)"),
            Fail::Code(code, msg) => self.errcode_error(code, &msg),
            Fail::Vendor(e) => e,
        }
    }

    /// Remembers a refusal of the credentials for the rest of this client.
    fn refuse(&mut self, e: VendorError) -> VendorError {
        if matches!(e, VendorError::Unauthorized { .. }) {
            self.refused = Some(e.clone());
        }
        e
    }

    fn remember(&mut self, token: &str) {
        if !token.is_empty() && !self.tokens_seen.iter().any(|t| t == token) {
            self.tokens_seen.push(token.to_string());
        }
    }

    // ------------------------------------------------------------- calls

    /// An API call with the cached token; 10003 / 10004 refresh it and
    /// retry once, then the password grant and one more try. A token that
    /// cannot be had is [`VendorError::NoToken`]: the request never left.
    fn call(&mut self, method: Method, path: &str, params: &[(&str, &str)]) -> Result<Value, Fail> {
        let mut renew = Renew::No;
        loop {
            let (token, source) = self.token(renew).map_err(|e| match e {
                VendorError::Unavailable { detail, .. } | VendorError::Malformed { detail, .. } => {
                    VendorError::NoToken { brand: NAME, detail }
                }
                other => other,
            })?;
            let date = self.host.now().saturating_mul(1000).to_string();
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("clientId", self.creds.client_id);
            form.append_pair("accessToken", &token);
            for (k, v) in params {
                form.append_pair(k, v);
            }
            form.append_pair("date", &date);
            let encoded = form.finish();
            let req = match method {
                Method::Get => HttpRequest {
                    method,
                    url: format!("{API_BASE}{path}?{encoded}"),
                    headers: vec![("Accept".into(), "application/json".into())],
                    body: Vec::new(),
                },
                _ => HttpRequest {
                    method,
                    url: format!("{API_BASE}{path}"),
                    headers: form_headers(),
                    body: encoded.into_bytes(),
                },
            };
            let resp = self.send(req)?;
            match answer(&resp) {
                // The token was refused before anything was done.
                Err(Fail::Code(code @ (10003 | 10004), _)) => {
                    renew = match source {
                        Source::Cached => Renew::Refresh,
                        Source::Refreshed => Renew::Password,
                        Source::Issued => {
                            let e =
                                unauthorized(format!("TTLock refused a freshly issued access token (errcode {code})"));
                            return Err(Fail::Vendor(self.refuse(e)));
                        }
                    };
                }
                other => return other,
            }
        }
    }

    /// One request to the host; transport errors are scrubbed of secrets.
    fn send(&mut self, req: HttpRequest) -> Result<HttpResponse, VendorError> {
        self.requests += 1;
        self.host.send(&req).map_err(|e| self.scrub_error(VendorError::from_http(NAME, e)))
    }

    /// A call whose failures are all mapped.
    fn api(&mut self, method: Method, path: &str, params: &[(&str, &str)]) -> Result<Value, VendorError> {
        self.call(method, path, params).map_err(|f| self.fail_error(f))
    }

    fn fail_error(&self, fail: Fail) -> VendorError {
        match fail {
            Fail::Code(code, msg) => self.errcode_error(code, &msg),
            Fail::Vendor(e) => e,
        }
    }

    /// An errcode in words a manager can act on (`docs/brands/ttlock.md`'s table).
    fn errcode_error(&self, code: i64, errmsg: &str) -> VendorError {
        let rejected = |message: String| VendorError::Rejected { brand: NAME, message };
        match code {
            10000 => unauthorized("TTLock does not know the application's client id"),
            10001 => unauthorized("the TTLock application's client id or secret is wrong"),
            10007 => unauthorized("wrong TTLock username or password"),
            10011 => unauthorized("TTLock no longer accepts the stored refresh token"),
            10003 | 10004 => unauthorized(format!("TTLock refused the access token (errcode {code})")),
            -3002 => VendorError::Offline("the TTLock gateway is offline".into()),
            -2012 => VendorError::Offline(
                "no TTLock gateway is near the lock: check that the lock's gateway is plugged in, online and \
                 within reach of the lock"
                    .into(),
            ),
            -3036 => VendorError::Offline("the TTLock Wi-Fi lock is offline".into()),
            -3003 => VendorError::Busy("the TTLock gateway is busy with another command".into()),
            -3037 => VendorError::Busy("the TTLock Wi-Fi lock is busy with another command".into()),
            -3007 => VendorError::PinTaken("TTLock: the same passcode already exists on the lock".into()),
            -2032 => VendorError::PinTaken("TTLock finds the passcode too simple".into()),
            30006 => VendorError::RateLimited { brand: NAME, retry_after_secs: Some(60) },
            30007 => VendorError::RateLimited { brand: NAME, retry_after_secs: None },
            80000 => VendorError::Unavailable {
                brand: NAME,
                detail: "TTLock says the host's clock is more than 5 minutes off (errcode 80000); the host's clock \
                         needs to be set right"
                    .into(),
            },
            90000 => {
                VendorError::Unavailable { brand: NAME, detail: "TTLock had an internal error (errcode 90000)".into() }
            }
            1 => VendorError::Unavailable { brand: NAME, detail: "TTLock answered \"failed\" (errcode 1)".into() },
            20002 | -2018 => rejected(format!(
                "the connected TTLock account is not the lock's administrator; connect the account that added the \
                 lock (errcode {code})"
            )),
            30008 => rejected("the TTLock account belongs to another region's server (errcode 30008)".into()),
            -1003 => rejected("the lock no longer exists in the TTLock account (errcode -1003)".into()),
            -2025 => rejected("the lock is frozen in TTLock for now (errcode -2025)".into()),
            -4043 => rejected("the lock does not support this function (errcode -4043)".into()),
            -4037 => rejected("the lock's gateway no longer exists in TTLock (errcode -4037)".into()),
            -3009 => rejected(
                "the lock holds 250 custom passcodes, TTLock's limit; delete old ones in the TTLock app \
                 (errcode -3009)"
                    .into(),
            ),
            -3034 => rejected("the TTLock Wi-Fi lock is not configured in the TTLock app (errcode -3034)".into()),
            -3035 => rejected(
                "the TTLock Wi-Fi lock is in power-saving mode; turn it off in the TTLock app (errcode -3035)".into(),
            ),
            -3006 => rejected("TTLock takes passcodes of 4 to 9 digits only (errcode -3006)".into()),
            -3008 => rejected("TTLock cannot change a passcode never used on the lock (errcode -3008)".into()),
            -2009 => rejected("the passcode no longer exists in TTLock (errcode -2009)".into()),
            -3 => rejected("TTLock refused a parameter of the request (errcode -3)".into()),
            _ => {
                let msg = self.scrub(errmsg);
                let msg = crate::text::clip_to(msg.trim(), 120);
                if msg.is_empty() {
                    rejected(format!("errcode {code}"))
                } else {
                    rejected(format!("{msg} (errcode {code})"))
                }
            }
        }
    }

    /// `text` without any secret this client knows.
    fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        let secrets = [self.creds.client_secret, self.creds.password_md5]
            .into_iter()
            .chain(self.tokens_seen.iter().map(String::as_str))
            .filter(|s| s.len() >= 4);
        for s in secrets {
            if out.contains(s) {
                out = out.replace(s, "[secret]");
            }
        }
        out
    }

    fn scrub_error(&self, e: VendorError) -> VendorError {
        match e {
            VendorError::Unauthorized { brand, detail } => {
                VendorError::Unauthorized { brand, detail: self.scrub(&detail) }
            }
            VendorError::Rejected { brand, message } => VendorError::Rejected { brand, message: self.scrub(&message) },
            VendorError::Offline(m) => VendorError::Offline(self.scrub(&m)),
            VendorError::Busy(m) => VendorError::Busy(self.scrub(&m)),
            VendorError::PinTaken(m) => VendorError::PinTaken(self.scrub(&m)),
            VendorError::Unavailable { brand, detail } => {
                VendorError::Unavailable { brand, detail: self.scrub(&detail) }
            }
            VendorError::Malformed { brand, detail } => VendorError::Malformed { brand, detail: self.scrub(&detail) },
            VendorError::NoToken { brand, detail } => VendorError::NoToken { brand, detail: self.scrub(&detail) },
            VendorError::Host(m) => VendorError::Host(self.scrub(&m)),
            e @ VendorError::RateLimited { .. } => e,
        }
    }

    // ---------------------------------------------------------- listings

    /// Every item of a paged listing (`pageNo` from 1, following `pages`).
    fn paged(&mut self, path: &str, params: &[(&str, &str)], what: &str) -> Result<Vec<Value>, VendorError> {
        let mut out = Vec::new();
        let size = PAGE_SIZE.to_string();
        for page_no in 1..=MAX_PAGES {
            let page = page_no.to_string();
            let mut all: Vec<(&str, &str)> = params.to_vec();
            all.push(("pageNo", &page));
            all.push(("pageSize", &size));
            let v = self.api(Method::Get, path, &all)?;
            let list =
                v.get("list").and_then(Value::as_array).ok_or_else(|| malformed(format!("{what} without a list")))?;
            let n = list.len() as i64;
            out.extend(list.iter().cloned());
            let done = match v.get("pages").and_then(int) {
                Some(pages) => page_no >= pages,
                None => n < PAGE_SIZE,
            };
            if done || n == 0 {
                return Ok(out);
            }
        }
        Err(malformed(format!("{what} longer than {MAX_PAGES} pages")))
    }

    /// The custom passcodes on the lock's listing with this PIN.
    fn listed(&mut self, lock_id: &str, pin: &str) -> Result<Vec<Listed>, VendorError> {
        let params = [("lockId", lock_id), ("orderBy", "1"), ("searchStr", pin)];
        let items = self.paged("/v3/lock/listKeyboardPwd", &params, "passcode list")?;
        let mut out = Vec::new();
        for item in &items {
            if item.get("isCustom").and_then(int) != Some(1) {
                continue;
            }
            let code = match item.get("keyboardPwd") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => continue,
            };
            if code != pin {
                continue;
            }
            let id = item
                .get("keyboardPwdId")
                .and_then(int)
                .ok_or_else(|| malformed("listed passcode without a keyboardPwdId"))?
                .to_string();
            out.push(Listed {
                id,
                start_ms: item.get("startDate").and_then(int),
                end_ms: item.get("endDate").and_then(int),
                status: item.get("status").and_then(int),
            });
        }
        Ok(out)
    }

    /// Our passcode on the listing: the one with our id, else the first
    /// custom one with our PIN.
    fn lookup(&mut self, code: &CodeSpec) -> Result<Option<Listed>, VendorError> {
        let lock_id = lock_param(code.lock_id)?;
        let mut listed = self.listed(&lock_id, code.pin)?;
        let pos = code.code_id.and_then(|id| listed.iter().position(|l| l.id == id)).unwrap_or(0);
        Ok((pos < listed.len()).then(|| listed.swap_remove(pos)))
    }

    /// The gateway the cloud links to a lock (the first of `listByLock`).
    fn gateway_of(&mut self, lock_id: &str) -> Result<Option<String>, VendorError> {
        let v = self.api(Method::Get, "/v3/gateway/listByLock", &[("lockId", lock_id)])?;
        let list = v.get("list").and_then(Value::as_array).ok_or_else(|| malformed("gateway list without a list"))?;
        Ok(list.iter().find_map(|g| g.get("gatewayId").and_then(int)).map(|id| id.to_string()))
    }

    // ------------------------------------------------------------ writes

    /// `keyboardPwd/add` through the gateway: on the lock when it answers.
    fn add(&mut self, code: &CodeSpec) -> Result<String, VendorError> {
        let lock_id = lock_param(code.lock_id)?;
        let (start, end) = window_ms(code);
        let (start, end) = (start.to_string(), end.to_string());
        let name = name_param(code.name);
        let v = self.api(
            Method::Post,
            "/v3/keyboardPwd/add",
            &[
                ("lockId", &lock_id),
                ("keyboardPwd", code.pin),
                ("keyboardPwdName", &name),
                ("keyboardPwdType", PWD_TYPE_PERIOD),
                ("startDate", &start),
                ("endDate", &end),
                ("addType", VIA_GATEWAY),
            ],
        )?;
        // Success without an id (e.g. `{"errcode": 0}`): whether the lock
        // has it is unknown, so it is looked up before anything is resent.
        v.get("keyboardPwdId")
            .and_then(int)
            .map(|id| id.to_string())
            .ok_or_else(|| malformed("passcode added without a keyboardPwdId"))
    }

    /// `keyboardPwd/delete` through the gateway; a passcode TTLock no
    /// longer knows (-2009) is gone already.
    fn remove(&mut self, lock_id: &str, id: &str) -> Result<(), VendorError> {
        let params = [("lockId", lock_id), ("keyboardPwdId", id), ("deleteType", VIA_GATEWAY)];
        match self.call(Method::Post, "/v3/keyboardPwd/delete", &params) {
            Ok(_) | Err(Fail::Code(-2009, _)) => Ok(()),
            Err(f) => Err(self.fail_error(f)),
        }
    }
}

impl<H: Host + ?Sized> Vendor for Client<'_, H> {
    fn capabilities(&self) -> &'static Capabilities {
        &BRAND.capabilities
    }

    fn requests(&self) -> u32 {
        self.requests
    }

    /// A password grant (the credentials are checked, never a cached
    /// token); the account's name is the username (TTLock gives none).
    fn verify(&mut self) -> Result<Option<String>, VendorError> {
        self.password_grant()?;
        Ok(Some(self.creds.username.to_string()))
    }

    fn locks(&mut self) -> Result<Vec<LockInfo>, VendorError> {
        let items = self.paged("/v3/lock/list", &[], "lock list")?;
        let mut out = Vec::with_capacity(items.len());
        for item in &items {
            let id = item.get("lockId").and_then(int).ok_or_else(|| malformed("lock without a lockId"))?.to_string();
            let text = |k: &str| item.get(k).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
            let name = text("lockAlias").or_else(|| text("lockName")).unwrap_or(&id).to_string();
            let mut remote = None;
            if item.get("hasGateway").and_then(int) == Some(1) {
                remote = self.gateway_of(&id)?.map(|g| Remote::through("gateway", &g));
            }
            if remote.is_none() && text("featureValue").is_some_and(|f| hex_bit(f, FEATURE_WIFI_BIT)) {
                remote = Some(Remote::direct("wifi"));
            }
            out.push(LockInfo { id, name, remote, needs: None, pin_rule: None });
        }
        Ok(out)
    }

    fn create(&mut self, code: &CodeSpec) -> Result<Submitted, VendorError> {
        self.add(code).map(|id| Submitted::Done(Some(id)))
    }

    /// `keyboardPwd/change` through the gateway with the complete window.
    /// A passcode TTLock no longer has (-2009) is added anew (same PIN);
    /// one it cannot change (-3008) is deleted and added anew.
    fn update(&mut self, code: &CodeSpec) -> Result<Submitted, VendorError> {
        let lock_id = lock_param(code.lock_id)?;
        let id = match code.code_id {
            Some(id) => id.to_string(),
            None => match self.lookup(code)? {
                Some(l) => l.id,
                None => return self.create(code),
            },
        };
        let (start, end) = window_ms(code);
        let (start, end) = (start.to_string(), end.to_string());
        let name = name_param(code.name);
        let params = [
            ("lockId", lock_id.as_str()),
            ("keyboardPwdId", &id),
            ("keyboardPwdName", &name),
            ("startDate", &start),
            ("endDate", &end),
            ("changeType", VIA_GATEWAY),
        ];
        match self.call(Method::Post, "/v3/keyboardPwd/change", &params) {
            Ok(_) => Ok(Submitted::Done(Some(id))),
            Err(Fail::Code(-2009, _)) => self.create(code),
            Err(Fail::Code(-3008, _)) => {
                self.host.log(Level::Info, &format!("TTLock cannot change passcode {id} in place; replacing it"));
                self.remove(&lock_id, &id)?;
                // Gone from the lock now: if the add fails, the next try
                // finds the id unknown (-2009) and adds it again.
                self.create(code)
            }
            Err(f) => Err(self.fail_error(f)),
        }
    }

    fn delete(&mut self, code: &CodeSpec) -> Result<Submitted, VendorError> {
        let lock_id = lock_param(code.lock_id)?;
        let id = match code.code_id {
            Some(id) => id.to_string(),
            None => match self.lookup(code)? {
                Some(l) => l.id,
                None => return Ok(Submitted::Done(None)),
            },
        };
        self.remove(&lock_id, &id).map(|()| Submitted::Done(None))
    }

    /// Writes are synchronous: this only follows a write the listing showed
    /// under way (NB-IoT `status`); it is judged from the listing.
    fn confirm(&mut self, op: Op, code: &CodeSpec, handle: &str) -> Result<Confirmed, VendorError> {
        let found = self.find(code)?;
        Ok(match (op, found) {
            (_, Found::Pending(_)) => Confirmed::Pending,
            (Op::Create | Op::Update, Found::OnLock(id)) => {
                Confirmed::Done(Some(if handle.is_empty() { id } else { handle.to_string() }))
            }
            (Op::Create | Op::Update, Found::OtherWindow(_)) => {
                Confirmed::Failed("the passcode is on the TTLock lock with another validity period".into())
            }
            (Op::Create | Op::Update, Found::Absent) => {
                Confirmed::Failed("the passcode did not reach the TTLock lock".into())
            }
            (Op::Delete, Found::Absent) => Confirmed::Done(None),
            (Op::Delete, Found::OnLock(_) | Found::OtherWindow(_)) => {
                Confirmed::Failed("the passcode is still on the TTLock lock".into())
            }
        })
    }

    fn find(&mut self, code: &CodeSpec) -> Result<Found, VendorError> {
        let Some(listed) = self.lookup(code)? else { return Ok(Found::Absent) };
        if listed.status.is_some_and(|s| STATUS_UNDER_WAY.contains(&s)) {
            return Ok(Found::Pending(listed.id));
        }
        let (start, end) = window_ms(code);
        let same =
            listed.start_ms.map(floor_minute_ms) == Some(start) && listed.end_ms.map(floor_minute_ms) == Some(end);
        Ok(if same { Found::OnLock(listed.id) } else { Found::OtherWindow(listed.id) })
    }

    /// An offline period passcode (`keyboardPwd/get`, type 3): computed by
    /// the cloud from the lock's passcode data, checked by the lock alone,
    /// no gateway. Whole hours (the start not before the current hour); it
    /// must be typed once within 24 h of its start; treated as not
    /// revocable (a code never typed cannot be deleted). A lock without
    /// passcode data (-1007) or without support (-4043) has none.
    fn offline_code(&mut self, code: &CodeSpec) -> Result<Option<OfflineCode>, VendorError> {
        let lock_id = lock_param(code.lock_id)?;
        let tz = code.timezone;
        let start = crate::schedule::floor_local_hour(tz, code.start.max(self.host.now()));
        let end = crate::schedule::ceil_local_hour(tz, code.end).max(start + 3600);
        let (start_ms, end_ms) = (start.saturating_mul(1000).to_string(), end.saturating_mul(1000).to_string());
        let name = name_param(code.name);
        let params = [
            ("lockId", lock_id.as_str()),
            ("keyboardPwdType", OFFLINE_PERIOD_TYPE),
            ("keyboardPwdVersion", "4"),
            ("keyboardPwdName", &name),
            ("startDate", &start_ms),
            ("endDate", &end_ms),
        ];
        let v = match self.call(Method::Post, "/v3/keyboardPwd/get", &params) {
            Ok(v) => v,
            Err(Fail::Code(-1007 | -4043, _)) => return Ok(None),
            Err(f) => return Err(self.fail_error(f)),
        };
        let pin = match v.get("keyboardPwd") {
            Some(Value::String(s)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(malformed("offline passcode answer without keyboardPwd")),
        };
        let code_id = v.get("keyboardPwdId").and_then(int).map(|id| id.to_string());
        Ok(Some(OfflineCode {
            pin,
            start,
            end,
            code_id,
            revocable: false,
            first_use_within_secs: Some(OFFLINE_FIRST_USE_SECS),
        }))
    }
}

/// The body of a TTLock answer, or why there is none: a non-200 status or
/// an unreadable body leaves the outcome unknown; a non-zero `errcode` is
/// the API's refusal.
fn answer(resp: &HttpResponse) -> Result<Value, Fail> {
    if resp.status == 429 {
        let retry_after_secs = resp.header("retry-after").and_then(|v| v.trim().parse().ok());
        return Err(Fail::Vendor(VendorError::RateLimited { brand: NAME, retry_after_secs }));
    }
    if resp.status != 200 {
        return Err(Fail::Vendor(VendorError::Unavailable { brand: NAME, detail: format!("HTTP {}", resp.status) }));
    }
    // Only the syntax error's position is kept: never a piece of the body.
    let v: Value = serde_json::from_slice(&resp.body)
        .map_err(|e| malformed(format!("the answer is not JSON (line {}, column {})", e.line(), e.column())))?;
    if !v.is_object() {
        return Err(malformed("the answer is not a JSON object").into());
    }
    match v.get("errcode") {
        None | Some(Value::Null) => Ok(v),
        Some(c) => match int(c) {
            Some(0) => Ok(v),
            Some(code) => {
                let msg = v.get("errmsg").and_then(Value::as_str).unwrap_or_default().to_string();
                Err(Fail::Code(code, msg))
            }
            None => Err(malformed("the answer's errcode is not a number").into()),
        },
    }
}

/// A number that may arrive as a JSON number or as a string.
fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => {
            n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15).map(|f| f as i64))
        }
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Whether bit `bit` of a hex bitmask of any length is set.
fn hex_bit(hex: &str, bit: usize) -> bool {
    let hex = hex.trim();
    let hex = hex.strip_prefix("0x").or_else(|| hex.strip_prefix("0X")).unwrap_or(hex);
    let Some(digit) = hex.len().checked_sub(1 + bit / 4).and_then(|i| hex.as_bytes().get(i)) else { return false };
    char::from(*digit).to_digit(16).is_some_and(|d| d & (1 << (bit % 4)) != 0)
}

/// The window in epoch ms to the minute, never shorter than promised:
/// the start rounded down, the end rounded up.
fn window_ms(code: &CodeSpec) -> (i64, i64) {
    (floor_minute(code.start).saturating_mul(1000), ceil_minute(code.end).saturating_mul(1000))
}

fn floor_minute(t: Instant) -> Instant {
    t.div_euclid(60).saturating_mul(60)
}

fn ceil_minute(t: Instant) -> Instant {
    floor_minute(t).saturating_add(if t.rem_euclid(60) == 0 { 0 } else { 60 })
}

fn floor_minute_ms(ms: i64) -> i64 {
    ms.div_euclid(60_000).saturating_mul(60_000)
}

/// A TTLock `lockId`: a decimal number.
fn lock_param(lock_id: &str) -> Result<String, VendorError> {
    let id = lock_id.trim();
    if id.is_empty() || id.len() > 19 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(VendorError::Rejected {
            brand: NAME,
            message: format!("{:?} is not a TTLock lock id", crate::text::clip(id)),
        });
    }
    Ok(id.to_string())
}

/// The passcode's name within the lock's limit.
fn name_param(name: &str) -> String {
    name.chars().take(BRAND.capabilities.max_name_chars).collect()
}

fn form_headers() -> Vec<(String, String)> {
    vec![
        ("Content-Type".into(), "application/x-www-form-urlencoded".into()),
        ("Accept".into(), "application/json".into()),
    ]
}

fn unauthorized(detail: impl Into<String>) -> VendorError {
    VendorError::Unauthorized { brand: NAME, detail: detail.into() }
}

fn malformed(detail: impl Into<String>) -> VendorError {
    VendorError::Malformed { brand: NAME, detail: detail.into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wifi_bit_of_feature_values() {
        assert!(!hex_bit("F44354CD5F3", FEATURE_WIFI_BIT));
        assert!(hex_bit(&format!("{:X}", 0xF44_354C_D5F3_u64 | 1 << 56), FEATURE_WIFI_BIT));
        assert!(hex_bit("0x100000000000000", FEATURE_WIFI_BIT));
        assert!(hex_bit("FF100000000000000", FEATURE_WIFI_BIT));
        assert!(!hex_bit("FFE00000000000000", FEATURE_WIFI_BIT));
        assert!(!hex_bit("", FEATURE_WIFI_BIT));
        assert!(!hex_bit("zz", FEATURE_WIFI_BIT));
        assert!(!hex_bit("é00000000000000", FEATURE_WIFI_BIT));
    }

    #[test]
    fn windows_round_outwards_to_the_minute() {
        assert_eq!((floor_minute(119), ceil_minute(121)), (60, 180));
        assert_eq!((floor_minute(120), ceil_minute(120)), (120, 120));
        assert_eq!((floor_minute(-1), ceil_minute(-61)), (-60, -60));
    }

    #[test]
    fn numbers_as_numbers_or_strings() {
        assert_eq!(int(&serde_json::json!(3)), Some(3));
        assert_eq!(int(&serde_json::json!("3")), Some(3));
        assert_eq!(int(&serde_json::json!(" -3003 ")), Some(-3003));
        assert_eq!(int(&serde_json::json!(1.0)), Some(1));
        assert_eq!(int(&serde_json::json!("x")), None);
        assert_eq!(int(&serde_json::json!(null)), None);
    }
}
