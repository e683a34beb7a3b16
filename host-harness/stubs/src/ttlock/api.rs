//! The HTTP face of the stub: routing, counting, faults, parameters, the
//! checks every call goes through (client id, quota, token, `date`) and the
//! endpoints.
//!
//! Gateway writes run in two steps so that a write can be "in flight" with
//! the world unlocked: [`handle`] validates, takes the gateway (or Wi-Fi
//! lock) and returns a [`Command`]; [`finish`] releases it, checks again
//! what may have changed meanwhile and carries the write out.

use std::time::Duration;

use serde_json::{json, Value};

use super::offline::{self, PeriodRequest};
use super::state::{floor_minute_ms, Channel, Passcode, State, DATE_TOLERANCE_MS, PERMANENT_END, TOKEN_LIFETIME};
use super::state::{AccessToken, RefreshToken, REFRESH_LIFETIME};
use super::{FaultKind, MalformedKind, StubRequest, StubResponse, TtlockEndpoint};
use crate::sim::Simulation as _;
use crate::{origin_form, rfc3339_utc};

/// An API failure: the errcode of TTLock's HTTP 200 error body.
type Api<T> = Result<T, i64>;

/// Largest `pageSize` of `lock/list`.
const MAX_LOCK_PAGE: i64 = 1000;
/// Largest `pageSize` of `gateway/list` and `listKeyboardPwd`.
const MAX_SMALL_PAGE: i64 = 200;
/// Longest `keyboardPwdName` accepted. The real limit is unknown; the stub
/// takes a modest one (stricter reading) so clients must keep names short.
pub(crate) const MAX_NAME_CHARS: usize = 50;
/// A lock's `featureValue` without the Wi-Fi bit (the API doc's example:
/// bits 8 remote lock, 10 unlock via gateway and 22 passage mode are set).
const FEATURE_VALUE: u64 = 0xF44_354C_D5F3;
/// `featureValue` bit 56: a Wi-Fi lock.
const FEATURE_WIFI: u64 = 1 << 56;
/// When the locks were added to the account (`date`), from the doc's example.
const LOCKS_ADDED_MS: i64 = 1_669_690_212_000;

/// What [`handle`] leaves to do.
pub(crate) enum Outcome {
    /// The answer.
    Done(StubResponse),
    /// A write holding its channel busy; [`finish`] carries it out.
    Command(Command),
}

/// A gateway or Wi-Fi write in flight.
pub(crate) struct Command {
    channel: Channel,
    write: Write,
    /// A `Body` or `LostAnswer` fault to apply to the answer.
    fault: Option<FaultKind>,
    /// Real time the write takes.
    pub delay: Duration,
}

/// A write that reaches the lock, validated.
enum Write {
    Add { lock: usize, pwd: String, name: String, pwd_type: i64, start_ms: i64, end_ms: i64, sender: String },
    Change { lock: usize, id: i64, pwd: Option<String>, name: Option<String>, window: Option<(i64, i64)> },
    Delete { lock: usize, id: i64 },
}

/// The routes of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Token,
    LockList,
    LockDetail,
    GatewayList,
    GatewayListByLock,
    GatewayListLock,
    GatewayDetail,
    PwdAdd,
    PwdChange,
    PwdDelete,
    PwdList,
    MonthCount,
    PwdGet,
}

impl Route {
    fn from_path(path: &str) -> Option<Route> {
        Some(match path {
            "/oauth2/token" => Route::Token,
            "/v3/lock/list" => Route::LockList,
            "/v3/lock/detail" => Route::LockDetail,
            "/v3/gateway/list" => Route::GatewayList,
            "/v3/gateway/listByLock" => Route::GatewayListByLock,
            "/v3/gateway/listLock" => Route::GatewayListLock,
            "/v3/gateway/detail" => Route::GatewayDetail,
            "/v3/keyboardPwd/add" => Route::PwdAdd,
            "/v3/keyboardPwd/change" => Route::PwdChange,
            "/v3/keyboardPwd/delete" => Route::PwdDelete,
            "/v3/lock/listKeyboardPwd" => Route::PwdList,
            "/app/getMonthRequestCount" => Route::MonthCount,
            "/v3/keyboardPwd/get" => Route::PwdGet,
            _ => return None,
        })
    }

    fn endpoint(self) -> TtlockEndpoint {
        match self {
            Route::Token => TtlockEndpoint::Token,
            Route::LockList => TtlockEndpoint::LockList,
            Route::LockDetail => TtlockEndpoint::LockDetail,
            Route::GatewayList | Route::GatewayListByLock | Route::GatewayListLock | Route::GatewayDetail => {
                TtlockEndpoint::Gateway
            }
            Route::PwdAdd => TtlockEndpoint::PwdAdd,
            Route::PwdChange => TtlockEndpoint::PwdChange,
            Route::PwdDelete => TtlockEndpoint::PwdDelete,
            Route::PwdList => TtlockEndpoint::PwdList,
            Route::MonthCount => TtlockEndpoint::MonthCount,
            Route::PwdGet => TtlockEndpoint::PwdGet,
        }
    }

    /// The documented method: reads GET, writes POST. The stub enforces it
    /// (stricter reading; whether the cloud also takes POST for reads is
    /// not documented).
    fn method(self) -> &'static str {
        match self {
            Route::Token | Route::PwdAdd | Route::PwdChange | Route::PwdDelete | Route::MonthCount | Route::PwdGet => {
                "POST"
            }
            _ => "GET",
        }
    }
}

// ------------------------------------------------------------- answers

/// `errmsg` and `description` of an errcode. The texts seen in real logs
/// are used where known (10003, 10004, 1, -3007, -4043); clients must go by
/// the number.
fn texts(code: i64) -> (&'static str, &'static str) {
    match code {
        0 => ("none error message or means yes", "表示成功或是"),
        1 => ("failed or means no", "表示失败或否"),
        -3 => ("Invalid Parameter", "参数错误"),
        10000 => ("invalid client_id", "client_id不存在"),
        10001 => ("invalid client", "client_id或client_secret错误"),
        10003 => ("invalid token", "token不存在"),
        10004 => ("invalid grant", "token已过期或已失效"),
        10007 => ("invalid account or invalid password", "用户名或密码错误"),
        10011 => ("invalid refresh_token", "refresh_token无效"),
        20002 => ("Not lock admin", "不是锁管理员"),
        30005 => ("password must be md5 encrypted", "密码必须是md5加密"),
        30006 => ("API calls are too frequent", "接口调用太频繁"),
        30007 => ("The monthly API call quota has been used up", "本月接口调用次数已用完"),
        30008 => ("Wrong region, please use the server of your region", "账号所在区域与服务器不一致"),
        80000 => ("date must be current time, in 5 minutes", "date参数须为当前时间，误差不能超过5分钟"),
        90000 => ("internal server error", "服务器内部错误"),
        -1003 => ("Lock does not exist", "锁不存在"),
        -2009 => ("Passcode does not exist", "密码不存在"),
        -2012 => ("The lock is not connected to any Gateway.", "锁没有连接网关"),
        -2018 => ("Permission Denied.", "没有权限"),
        -2025 => ("Frozen lock. Please try again later.", "锁已冻结"),
        -2032 => ("The passcode is too simple. Please use another one.", "密码过于简单"),
        -3002 => ("The Gateway is offline. Please check and try again.", "网关离线"),
        -3003 => ("The Gateway is busy. Please try again later.", "网关繁忙，请稍后再试"),
        -3006 => ("Invalid Passcode. Passcode should be between 4 - 9 Digits in length.", "密码长度须为4-9位"),
        -3007 => ("The same passcode already exists. Please use another one.", "已存在相同的密码"),
        -3008 => ("Cannot modify a passcode that has never been used on the lock.", "未在锁上使用过的密码不能修改"),
        -3009 => ("The number of custom passcodes has reached the limit.", "自定义密码数量已达上限"),
        -3034 => ("The Wi-Fi lock is not configured.", "Wi-Fi锁未配网"),
        -3035 => ("The Wi-Fi lock is in power saving mode.", "Wi-Fi锁处于省电模式"),
        -3036 => ("The Wi-Fi lock is offline.", "Wi-Fi锁离线"),
        -3037 => ("The Wi-Fi lock is busy. Please try again later.", "Wi-Fi锁繁忙，请稍后再试"),
        -4037 => ("Gateway does not exist", "网关不存在"),
        -4043 => ("The function is not supported for this lock.", "该锁不支持此功能"),
        _ => ("failed", "失败"),
    }
}

/// TTLock's failure body, HTTP 200.
fn error(code: i64) -> StubResponse {
    let (msg, description) = texts(code);
    StubResponse::json(200, &json!({"errcode": code, "errmsg": msg, "description": description}))
}

/// TTLock's success body for calls without data.
fn ok_empty() -> StubResponse {
    let (msg, description) = texts(0);
    StubResponse::json(200, &json!({"errcode": 0, "errmsg": msg, "description": description}))
}

fn respond(result: Api<Value>) -> StubResponse {
    match result {
        Ok(v) => StubResponse::json(200, &v),
        Err(code) => error(code),
    }
}

/// A non-200 answer in the style of what sits in front of or under the
/// API: the nginx proxy's HTML page for 502-504, the Java framework's JSON
/// otherwise. Clients see both, so they must not assume a JSON body.
fn http_error(status: u16, now: i64, path: &str) -> StubResponse {
    let reason = match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Temporarily Unavailable",
        504 => "Gateway Time-out",
        _ => "Error",
    };
    if (502..=504).contains(&status) {
        let html = format!(
            "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n\
             <center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
        );
        return StubResponse {
            status,
            headers: vec![("Content-Type".into(), "text/html".into())],
            body: html.into_bytes(),
        };
    }
    StubResponse::json(status, &json!({"timestamp": rfc3339_utc(now), "status": status, "error": reason, "path": path}))
}

fn spoil(resp: StubResponse, kind: MalformedKind) -> StubResponse {
    kind.spoil(resp, b"{\"errcode\": 0, \"list\": [1, 2,, }<html>")
}

/// Applies a fault that lets the request be carried out.
fn after(resp: StubResponse, fault: Option<FaultKind>) -> StubResponse {
    match fault {
        Some(FaultKind::Body(kind)) => spoil(resp, kind),
        Some(FaultKind::LostAnswer) => StubResponse::hang(),
        _ => resp,
    }
}

// ---------------------------------------------------------- parameters

/// The account (its username) a request speaks for: the access token's, the
/// refresh token's, or the username of a token request.
pub(crate) fn account_of(state: &State, req: &StubRequest) -> Option<String> {
    let query = origin_form(&req.path_and_query).split_once('?').map_or("", |(_, q)| q);
    let p = Params::parse(req, query);
    let index = match (p.get("accessToken"), p.get("refresh_token"), p.get("username")) {
        (Some(token), _, _) => state.tokens.get(token).map(|t| t.account),
        (None, Some(token), _) => state.refresh_tokens.get(token).map(|t| t.account),
        (None, None, Some(username)) => return Some(username.to_string()),
        _ => None,
    }?;
    state.accounts.get(index).map(|a| a.username.clone())
}

/// The request's parameters: the query string, then the form body (which
/// wins on a repeated name). Real clients put `clientId`, `accessToken` and
/// `date` in the query even on POSTs, so both are read for every call. The
/// body counts only when it is declared form-encoded: TTLock takes no JSON.
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(req: &StubRequest, query: &str) -> Params {
        let mut v: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        let form = req
            .header("Content-Type")
            .and_then(|c| c.split(';').next())
            .is_some_and(|c| c.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
        if form {
            v.extend(form_urlencoded::parse(&req.body).into_owned());
        }
        Params(v)
    }

    /// The last value of `name`; an empty value counts as absent.
    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().rev().find(|(k, v)| k == name && !v.is_empty()).map(|(_, v)| v.as_str())
    }

    fn first_of(&self, names: &[&str]) -> Option<&str> {
        names.iter().find_map(|n| self.get(n))
    }

    /// An optional integer; present but not an integer is -3.
    fn int(&self, name: &str) -> Api<Option<i64>> {
        self.get(name).map(|v| v.trim().parse::<i64>().map_err(|_| -3)).transpose()
    }

    fn required_int(&self, name: &str) -> Api<i64> {
        self.int(name)?.ok_or(-3)
    }
}

// ------------------------------------------------------------- routing

/// The path (absolute-form targets reduced) and the raw query; `None` when
/// the target is not a path at all.
fn split_target(target: &str) -> Option<(&str, &str)> {
    let target = origin_form(target).split('#').next().unwrap_or("");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    path.starts_with('/').then_some((path, query))
}

/// Counts one API request.
fn count(state: &mut State, route: Option<Route>) {
    state.counts.record(route.map(|r| r.endpoint().report_key()).as_deref());
}

/// Counts a request the transport refused before it reached [`handle`]
/// (e.g. an oversized body): it was still received.
pub(crate) fn count_refused(state: &mut State, target: &str) {
    count(state, split_target(target).and_then(|(p, _)| Route::from_path(p)));
}

/// Entry point: counting, faults, then the API proper.
pub(crate) fn handle(state: &mut State, req: &StubRequest) -> Outcome {
    let now = state.now();
    let Some((path, query)) = split_target(&req.path_and_query) else {
        count(state, None);
        return Outcome::Done(http_error(400, now, "/"));
    };
    let route = Route::from_path(path);
    count(state, route);
    let Some(route) = route else {
        tracing::debug!(path, "ttlock stub: no such route");
        return Outcome::Done(http_error(404, now, path));
    };
    let ep = route.endpoint();
    let fault = state.faults.take(ep);
    match fault {
        Some(FaultKind::Status(0)) => return Outcome::Done(StubResponse::hang()),
        Some(FaultKind::Status(status)) => {
            tracing::debug!(endpoint = %ep, status, "ttlock stub: injected HTTP fault");
            return Outcome::Done(http_error(status, now, path));
        }
        Some(FaultKind::Errcode(code)) => {
            tracing::debug!(endpoint = %ep, code, "ttlock stub: injected errcode");
            return Outcome::Done(if code == 0 { ok_empty() } else { error(code) });
        }
        _ => {}
    }
    if !req.method.eq_ignore_ascii_case(route.method()) {
        return Outcome::Done(http_error(405, now, path).with_header("Allow", route.method()));
    }

    let p = Params::parse(req, query);
    let outcome = match route {
        Route::Token => Outcome::Done(respond(token(state, &p))),
        Route::MonthCount => Outcome::Done(respond(month_count(state, &p))),
        _ => match authorize(state, &p) {
            Err(code) => Outcome::Done(error(code)),
            Ok(account) => match route {
                Route::LockList => Outcome::Done(respond(lock_list(state, &p))),
                Route::LockDetail => Outcome::Done(respond(lock_detail(state, &p))),
                Route::GatewayList => Outcome::Done(respond(gateway_list(state, &p))),
                Route::GatewayListByLock => Outcome::Done(respond(gateway_list_by_lock(state, &p))),
                Route::GatewayListLock => Outcome::Done(respond(gateway_list_lock(state, &p))),
                Route::GatewayDetail => Outcome::Done(respond(gateway_detail(state, &p))),
                Route::PwdList => Outcome::Done(respond(pwd_list(state, &p))),
                Route::PwdGet => Outcome::Done(respond(pwd_get(state, &p, account))),
                Route::PwdAdd => {
                    let step = pwd_add(state, &p, account);
                    write_outcome(state, step)
                }
                Route::PwdChange => {
                    let step = pwd_change(state, &p);
                    write_outcome(state, step)
                }
                Route::PwdDelete => {
                    let step = pwd_delete(state, &p);
                    write_outcome(state, step)
                }
                // Answered above, before the token check.
                Route::Token | Route::MonthCount => Outcome::Done(http_error(500, now, path)),
            },
        },
    };
    match outcome {
        Outcome::Done(resp) => Outcome::Done(after(resp, fault)),
        Outcome::Command(mut cmd) => {
            cmd.fault = fault;
            Outcome::Command(cmd)
        }
    }
}

/// What a write endpoint decided: answered already (cloud-only, or an
/// error), or a lock write to start now on its channel.
enum Step {
    Answer(StubResponse),
    Lock(Write),
}

fn write_outcome(state: &mut State, step: Api<Step>) -> Outcome {
    let write = match step {
        Err(code) => return Outcome::Done(error(code)),
        Ok(Step::Answer(resp)) => return Outcome::Done(resp),
        Ok(Step::Lock(w)) => w,
    };
    let lock = match &write {
        Write::Add { lock, .. } | Write::Change { lock, .. } | Write::Delete { lock, .. } => *lock,
    };
    match state.channel(lock) {
        Err(code) => {
            tracing::debug!(lock = %state.locks[lock].id, code, "ttlock stub: lock not reachable");
            Outcome::Done(error(code))
        }
        Ok(channel) => {
            state.set_busy(channel, true);
            Outcome::Command(Command { channel, write, fault: None, delay: state.command_delay })
        }
    }
}

/// Ends a write: frees its channel, checks again what may have changed
/// while it was in flight, and carries it out on the lock.
pub(crate) fn finish(state: &mut State, cmd: Command) -> StubResponse {
    state.set_busy(cmd.channel, false);
    let resp = match state.channel_still_up(cmd.channel).and_then(|()| carry_out(state, cmd.write)) {
        Ok(resp) => resp,
        Err(code) => error(code),
    };
    after(resp, cmd.fault)
}

fn carry_out(state: &mut State, write: Write) -> Api<StubResponse> {
    match write {
        Write::Add { lock, pwd, name, pwd_type, start_ms, end_ms, sender } => {
            if let Some(code) = state.check_code(lock, &pwd, None, true) {
                return Err(code);
            }
            let lock_end = if pwd_type == 2 { PERMANENT_END * 1000 } else { end_ms };
            let pin = state.put_on_lock(lock, &pwd, &name, start_ms, lock_end);
            let r = state.add_record(lock, pwd, name, pwd_type, start_ms, end_ms, true, &sender);
            state.passcodes[r].on_lock = Some(pin);
            let id = state.passcodes[r].id;
            tracing::debug!(lock = %state.locks[lock].id, id, "ttlock stub: passcode on the lock");
            Ok(StubResponse::json(200, &json!({ "keyboardPwdId": id })))
        }
        Write::Change { lock, id, pwd, name, window } => {
            let r = state.record_index(lock, id).ok_or(-2009)?;
            let Some(old) = state.passcodes[r].on_lock else { return Err(-3008) };
            if let Some(pwd) = pwd.as_deref().filter(|p| *p != state.passcodes[r].pwd) {
                if let Some(code) = state.check_code(lock, pwd, Some(r), false) {
                    return Err(code);
                }
            }
            let entry = &state.pins[old];
            let new_pin = pwd.clone().unwrap_or_else(|| entry.pin.clone());
            let (start_ms, end_ms) = window.unwrap_or((entry.start * 1000, entry.end * 1000));
            let moved = new_pin != entry.pin || start_ms != entry.start * 1000 || end_ms != entry.end * 1000;
            let rec = &mut state.passcodes[r];
            if let Some(pwd) = pwd {
                rec.pwd = pwd;
            }
            if let Some(name) = name {
                rec.name = name;
            }
            if let Some((s, e)) = window {
                (rec.start_ms, rec.end_ms) = (s, e);
            }
            if moved {
                let name = rec.name.clone();
                state.take_off_lock(old);
                let pin = state.put_on_lock(lock, &new_pin, &name, start_ms, end_ms);
                state.passcodes[r].on_lock = Some(pin);
                if let Some(o) = state.offline_code(old) {
                    // Still computed by the lock, its first use remembered.
                    state.pins[pin].kind = crate::PinKind::Offline;
                    let code = &mut state.offline[o];
                    (code.pin, code.start_ms, code.end_ms) = (pin, start_ms, end_ms);
                    (code.lock_side.start, code.lock_side.end) = (start_ms.div_euclid(1000), end_ms.div_euclid(1000));
                }
                tracing::debug!(lock = %state.locks[lock].id, id, "ttlock stub: passcode changed on the lock");
            }
            Ok(ok_empty())
        }
        Write::Delete { lock, id } => {
            let r = state.record_index(lock, id).ok_or(-2009)?;
            if let Some(pin) = state.passcodes[r].on_lock {
                if let Some(o) = state.offline_code(pin) {
                    if !state.offline[o].lock_side.used() {
                        // A never-used offline code cannot be deleted.
                        return Err(1);
                    }
                    burn(state, o);
                }
                state.take_off_lock(pin);
            }
            state.passcodes.remove(r);
            tracing::debug!(lock = %state.locks[lock].id, id, "ttlock stub: passcode deleted from the lock");
            Ok(ok_empty())
        }
    }
}

// ---------------------------------------------------------------- auth

/// The checks of every `/v3` call, in order: the application (10000), the
/// monthly quota (30007), the token (10003 unknown, 10004 expired or
/// revoked), `date` within 5 minutes of the server clock (80000; missing or
/// not a number: -3). Returns the account the token belongs to.
fn authorize(state: &mut State, p: &Params) -> Api<usize> {
    if p.first_of(&["clientId", "client_id"]) != Some(state.client_id.as_str()) {
        return Err(10000);
    }
    if !state.charge_quota() {
        return Err(30007);
    }
    let token = p.get("accessToken").and_then(|t| state.tokens.get(t)).ok_or(10003)?;
    if token.revoked || state.now() >= token.expires_at {
        return Err(10004);
    }
    let account = token.account;
    let date = p.required_int("date")?;
    if date.abs_diff(state.now_ms()) > DATE_TOLERANCE_MS.unsigned_abs() {
        return Err(80000);
    }
    Ok(account)
}

/// `POST /oauth2/token`: the password grant (the default) or the refresh
/// grant. Client id and secret are accepted camel- or snake-case.
fn token(state: &mut State, p: &Params) -> Api<Value> {
    if p.first_of(&["clientId", "client_id"]) != Some(state.client_id.as_str()) {
        return Err(10000);
    }
    if !state.charge_quota() {
        return Err(30007);
    }
    if p.first_of(&["clientSecret", "client_secret"]) != Some(state.client_secret.as_str()) {
        return Err(10001);
    }
    match p.get("grant_type") {
        None | Some("password") => password_grant(state, p),
        Some("refresh_token") => refresh_grant(state, p),
        Some(_) => Err(-3),
    }
}

fn password_grant(state: &mut State, p: &Params) -> Api<Value> {
    let username = p.get("username").ok_or(-3)?;
    let password = p.get("password").ok_or(-3)?;
    if password.len() != 32 || !password.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(30005);
    }
    // Compared as the string it is: an upper-case digest does not match
    // (stricter reading of "lower-case hex").
    let account =
        state.accounts.iter().position(|a| a.username == username && a.password_md5 == password).ok_or(10007)?;
    let (access, refresh) = issue(state, account);
    tracing::debug!(uid = state.accounts[account].uid, "ttlock stub: token issued");
    Ok(json!({
        "access_token": access,
        "uid": state.accounts[account].uid,
        "refresh_token": refresh,
        "expires_in": TOKEN_LIFETIME,
        "openid": state.accounts[account].uid,
        "scope": "user,key,room",
        "token_type": "Bearer",
    }))
}

/// The answer carries only the three documented fields (no `uid`). Refresh
/// tokens rotate: the one used and the access token issued with it stop
/// working (stricter reading: the doc does not say either way).
fn refresh_grant(state: &mut State, p: &Params) -> Api<Value> {
    let given = p.first_of(&["refresh_token", "refreshToken"]).ok_or(10011)?;
    let now = state.now();
    let account = match state.refresh_tokens.get(given) {
        Some(t) if now < t.expires_at => t.account,
        _ => return Err(10011),
    };
    if let Some(old) = state.refresh_tokens.remove(given) {
        if let Some(a) = state.tokens.get_mut(&old.access) {
            a.revoked = true;
        }
    }
    let (access, refresh) = issue(state, account);
    tracing::debug!(uid = state.accounts[account].uid, "ttlock stub: token refreshed");
    Ok(json!({"access_token": access, "refresh_token": refresh, "expires_in": TOKEN_LIFETIME}))
}

fn issue(state: &mut State, account: usize) -> (String, String) {
    let now = state.now();
    let access = state.new_token();
    let refresh = state.new_token();
    state.tokens.insert(access.clone(), AccessToken { account, expires_at: now + TOKEN_LIFETIME, revoked: false });
    state
        .refresh_tokens
        .insert(refresh.clone(), RefreshToken { account, access: access.clone(), expires_at: now + REFRESH_LIFETIME });
    (access, refresh)
}

/// `POST /app/getMonthRequestCount` with the application's id and secret.
/// It is the meter, so it is not charged to the quota itself.
fn month_count(state: &mut State, p: &Params) -> Api<Value> {
    if p.first_of(&["clientId", "client_id"]) != Some(state.client_id.as_str()) {
        return Err(10000);
    }
    if p.first_of(&["clientSecret", "client_secret"]) != Some(state.client_secret.as_str()) {
        return Err(10001);
    }
    Ok(json!({"monthRequestCount": state.month_request_count()}))
}

// --------------------------------------------------------------- paging

/// `pageNo` (from 1) and `pageSize` (1..=max), both required (-3).
fn paging(p: &Params, max: i64) -> Api<(i64, i64)> {
    let page_no = p.required_int("pageNo")?;
    let page_size = p.required_int("pageSize")?;
    if page_no < 1 || !(1..=max).contains(&page_size) {
        return Err(-3);
    }
    Ok((page_no, page_size))
}

/// TTLock's paged answer; a page past the end has an empty `list`.
fn paged(items: Vec<Value>, page_no: i64, page_size: i64) -> Value {
    let total = items.len() as i64;
    let pages = (total + page_size - 1) / page_size;
    let skip = usize::try_from(page_no.saturating_sub(1).saturating_mul(page_size)).unwrap_or(usize::MAX);
    let take = usize::try_from(page_size).unwrap_or(usize::MAX);
    let list: Vec<Value> = items.into_iter().skip(skip).take(take).collect();
    json!({"list": list, "pageNo": page_no, "pageSize": page_size, "pages": pages, "total": total})
}

/// Sorts by `orderBy`: 0 name, 1 newest first, 2 name descending. `items`
/// is (name, age rank where higher is newer, value).
fn order(mut items: Vec<(String, usize, Value)>, order_by: i64) -> Api<Vec<Value>> {
    match order_by {
        0 => items.sort_by(|a, b| a.0.cmp(&b.0)),
        1 => items.sort_by_key(|i| std::cmp::Reverse(i.1)),
        2 => items.sort_by(|a, b| b.0.cmp(&a.0)),
        _ => return Err(-3),
    }
    Ok(items.into_iter().map(|(_, _, v)| v).collect())
}

// ---------------------------------------------------------------- locks

fn lock_param(state: &State, p: &Params) -> Api<usize> {
    let wire = p.required_int("lockId")?;
    state.lock_by_wire(wire).ok_or(-1003)
}

/// A MAC address derived from the numeric id (stable, unique per id).
fn mac(prefix: [u8; 2], wire: i64) -> [u8; 6] {
    let b = wire.to_be_bytes();
    [prefix[0], prefix[1], b[4], b[5], b[6], b[7]]
}

fn mac_text(m: [u8; 6]) -> String {
    m.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

fn lock_json(state: &State, li: usize) -> Value {
    let l = &state.locks[li];
    let m = mac([0xC5, 0x40], l.wire_id);
    let feature = if l.wifi { FEATURE_VALUE | FEATURE_WIFI } else { FEATURE_VALUE };
    json!({
        "lockId": l.wire_id,
        "lockName": format!("YS1003_{:02x}{:02x}{:02x}", m[3], m[4], m[5]),
        "lockAlias": l.name,
        "lockMac": mac_text(m),
        "electricQuantity": 95 - (li as i64 * 7) % 40,
        "featureValue": format!("{feature:X}"),
        "hasGateway": i32::from(state.linked_gateway(li).is_some()),
        "lockData": l.secrets.lock_data,
        "groupId": 0,
        "groupName": "",
        "date": LOCKS_ADDED_MS + li as i64 * 86_400_000,
    })
}

/// `GET /v3/lock/list`: every lock (each account administers every lock of
/// the world), filtered by `lockAlias` (fuzzy) and `groupId`.
fn lock_list(state: &mut State, p: &Params) -> Api<Value> {
    let (page_no, page_size) = paging(p, MAX_LOCK_PAGE)?;
    let alias = p.get("lockAlias").map(str::to_lowercase);
    let group = p.int("groupId")?;
    let items: Vec<Value> = (0..state.locks.len())
        .filter(|&li| alias.as_deref().is_none_or(|a| state.locks[li].name.to_lowercase().contains(a)))
        .filter(|_| group.is_none_or(|g| g == 0))
        .map(|li| lock_json(state, li))
        .collect();
    Ok(paged(items, page_no, page_size))
}

/// `GET /v3/lock/detail`: the list entry plus the time zone, versions and
/// the admin secrets (never to be logged or stored by a client).
fn lock_detail(state: &mut State, p: &Params) -> Api<Value> {
    let li = lock_param(state, p)?;
    let mut v = lock_json(state, li);
    let l = &state.locks[li];
    if let Value::Object(map) = &mut v {
        let extra = json!({
            "timezoneRawOffset": i64::from(l.utc_offset_minutes) * 60_000,
            "modelNum": "SN9161_PV53",
            "hardwareRevision": "1.6",
            "firmwareRevision": "6.0.6.210622",
            "keyboardPwdVersion": 4,
            "specialValue": 20_334_323,
            "autoLockTime": -1,
            "passageMode": 2,
            "lockSound": 1,
            "soundVolume": 3,
            "privacyLock": 2,
            "tamperAlert": 2,
            "resetButton": 1,
            "lockVersion": {"protocolType": 5, "protocolVersion": 3, "scene": 2, "groupId": 1, "orgId": 1},
            "noKeyPwd": l.secrets.admin_pin,
            "adminPwd": l.secrets.admin_pwd,
            "lockKey": l.secrets.lock_key,
            "aesKeyStr": l.secrets.aes_key,
            "deletePwd": "",
            "lockFlagPos": 0,
        });
        if let Value::Object(extra) = extra {
            map.extend(extra);
        }
    }
    Ok(v)
}

// ------------------------------------------------------------- gateways

fn gateway_param(state: &State, p: &Params) -> Api<usize> {
    let wire = p.required_int("gatewayId")?;
    state.gateway_by_wire(wire).ok_or(-4037)
}

fn gateway_json(state: &State, gi: usize) -> Value {
    let g = &state.gateways[gi];
    json!({
        "gatewayId": g.wire_id,
        "gatewayMac": mac_text(mac([0x9A, 0x2B], g.wire_id)),
        "gatewayName": g.name,
        "gatewayVersion": 2,
        "networkName": "Guest-House-WiFi",
        "lockNum": state.linked_locks(gi).len(),
        "isOnline": i32::from(g.reported_online(state.now())),
    })
}

/// `GET /v3/gateway/list`; `orderBy` optional (default 1, newest first,
/// the newest being the last configured).
fn gateway_list(state: &mut State, p: &Params) -> Api<Value> {
    let (page_no, page_size) = paging(p, MAX_SMALL_PAGE)?;
    let order_by = p.int("orderBy")?.unwrap_or(1);
    let items = (0..state.gateways.len()).map(|gi| (state.gateways[gi].name.clone(), gi, gateway_json(state, gi)));
    Ok(paged(order(items.collect(), order_by)?, page_no, page_size))
}

/// `GET /v3/gateway/listByLock`: the lock's gateway while the cloud still
/// links them (up to 30 minutes after the gateway lost power).
fn gateway_list_by_lock(state: &mut State, p: &Params) -> Api<Value> {
    let li = lock_param(state, p)?;
    let now = state.now();
    let list: Vec<Value> = state
        .linked_gateway(li)
        .map(|gi| {
            let g = &state.gateways[gi];
            json!({
                "gatewayId": g.wire_id,
                "gatewayMac": mac_text(mac([0x9A, 0x2B], g.wire_id)),
                "gatewayName": g.name,
                "rssi": -62,
                "rssiUpdateDate": g.last_scan_ms(now),
            })
        })
        .into_iter()
        .collect();
    Ok(json!({ "list": list }))
}

/// `GET /v3/gateway/listLock`: the locks the cloud links to a gateway.
fn gateway_list_lock(state: &mut State, p: &Params) -> Api<Value> {
    let gi = gateway_param(state, p)?;
    let update = state.gateways[gi].last_scan_ms(state.now());
    let list: Vec<Value> = state
        .linked_locks(gi)
        .into_iter()
        .map(|li| {
            let l = lock_json(state, li);
            json!({
                "lockId": l["lockId"], "lockMac": l["lockMac"], "lockName": l["lockName"],
                "lockAlias": l["lockAlias"], "rssi": -62, "updateDate": update,
            })
        })
        .collect();
    Ok(json!({ "list": list }))
}

fn gateway_detail(state: &mut State, p: &Params) -> Api<Value> {
    let gi = gateway_param(state, p)?;
    Ok(gateway_json(state, gi))
}

// ------------------------------------------------------------ passcodes

/// 4 to 9 ASCII digits; leading zeros are kept (the code is a string).
pub(crate) fn valid_code(pwd: &str) -> bool {
    (4..=9).contains(&pwd.len()) && pwd.bytes().all(|b| b.is_ascii_digit())
}

/// `startDate` / `endDate` (epoch ms), kept to the minute as the lock does.
/// Both are required; the window must not be empty or already over (the
/// latter is the stricter reading: a code that can never open is refused).
fn window(state: &State, p: &Params) -> Api<(i64, i64)> {
    let start = floor_minute_ms(p.required_int("startDate")?);
    let end = floor_minute_ms(p.required_int("endDate")?);
    if start < 0 || end <= start || end <= state.now_ms() {
        return Err(-3);
    }
    Ok((start, end))
}

fn name_param(p: &Params) -> Api<Option<String>> {
    match p.get("keyboardPwdName") {
        Some(n) if n.chars().count() > MAX_NAME_CHARS => Err(-3),
        Some(n) => Ok(Some(n.to_string())),
        None => Ok(None),
    }
}

/// `POST /v3/keyboardPwd/add`. `addType` 1 (the default!) only records the
/// code in the cloud; 2 writes it through the gateway or Wi-Fi, synchronously.
fn pwd_add(state: &mut State, p: &Params, account: usize) -> Api<Step> {
    let lock = lock_param(state, p)?;
    let pwd = p.get("keyboardPwd").ok_or(-3)?;
    if !valid_code(pwd) {
        return Err(-3006);
    }
    let name = name_param(p)?.unwrap_or_default();
    let pwd_type = p.int("keyboardPwdType")?.unwrap_or(3);
    let (start_ms, end_ms) = match pwd_type {
        3 => window(state, p)?,
        2 => (floor_minute_ms(state.now_ms()), 0),
        _ => return Err(-3),
    };
    let add_type = p.int("addType")?.unwrap_or(1);
    match add_type {
        1 | 2 => {}
        // NB-IoT and the asynchronous Wi-Fi path are out of scope.
        3 | 4 => return Err(-4043),
        _ => return Err(-3),
    }
    if let Some(code) = state.check_code(lock, pwd, None, true) {
        return Err(code);
    }
    let sender = state.accounts[account].username.clone();
    if add_type == 1 {
        let r = state.add_record(lock, pwd.to_string(), name, pwd_type, start_ms, end_ms, true, &sender);
        tracing::debug!(lock = %state.locks[lock].id, "ttlock stub: cloud-only passcode recorded (addType 1)");
        return Ok(Step::Answer(StubResponse::json(200, &json!({"keyboardPwdId": state.passcodes[r].id}))));
    }
    Ok(Step::Lock(Write::Add { lock, pwd: pwd.to_string(), name, pwd_type, start_ms, end_ms, sender }))
}

/// The passcode a change or delete names: -2009 when the lock has no such
/// record (deleted, or another lock's).
fn record_param(state: &State, p: &Params, lock: usize) -> Api<usize> {
    let id = p.required_int("keyboardPwdId")?;
    state.record_index(lock, id).ok_or(-2009)
}

/// `POST /v3/keyboardPwd/change`. Without both `startDate` and `endDate`
/// the window stays as it is and the call still succeeds (the Chinese docs
/// say so for a missing `startDate`; a missing `endDate` is treated alike,
/// the stricter reading). `changeType` 1 (the default) changes the cloud
/// record only; 2 changes the lock through the gateway, where the code is
/// replaced: old entry removed, new one added at the same instant.
fn pwd_change(state: &mut State, p: &Params) -> Api<Step> {
    let lock = lock_param(state, p)?;
    let r = record_param(state, p, lock)?;
    let id = state.passcodes[r].id;
    let change_type = p.int("changeType")?.unwrap_or(1);
    match change_type {
        1 | 2 => {}
        3 => return Err(-4043),
        _ => return Err(-3),
    }
    let name = name_param(p)?;
    let pwd = p.get("newKeyboardPwd").map(str::to_string);
    if let Some(new) = pwd.as_deref() {
        if !valid_code(new) {
            return Err(-3006);
        }
        if new != state.passcodes[r].pwd {
            if let Some(code) = state.check_code(lock, new, Some(r), false) {
                return Err(code);
            }
        }
    }
    let window = match (p.get("startDate"), p.get("endDate")) {
        (Some(_), Some(_)) => Some(window(state, p)?),
        _ => None,
    };

    if change_type == 1 {
        update_record(&mut state.passcodes[r], pwd, name, window);
        return Ok(Step::Answer(ok_empty()));
    }
    let Some(pin) = state.passcodes[r].on_lock else {
        // Never on the lock (a cloud-only add): nothing there to modify.
        return Err(-3008);
    };
    let never_used_offline = state.offline_code(pin).is_some_and(|o| !state.offline[o].lock_side.used());
    if state.change_needs_prior_use || never_used_offline {
        return Err(-3008);
    }
    let entry = &state.pins[pin];
    let lock_side_change = pwd.as_deref().is_some_and(|n| n != entry.pin)
        || window.is_some_and(|(s, e)| s != entry.start * 1000 || e != entry.end * 1000);
    if !lock_side_change {
        // Nothing for the lock to do (a rename, or no window given).
        update_record(&mut state.passcodes[r], None, name, None);
        return Ok(Step::Answer(ok_empty()));
    }
    Ok(Step::Lock(Write::Change { lock, id, pwd, name, window }))
}

fn update_record(rec: &mut Passcode, pwd: Option<String>, name: Option<String>, window: Option<(i64, i64)>) {
    if let Some(pwd) = pwd {
        rec.pwd = pwd;
    }
    if let Some(name) = name {
        rec.name = name;
    }
    if let Some((s, e)) = window {
        (rec.start_ms, rec.end_ms) = (s, e);
    }
}

/// `POST /v3/keyboardPwd/delete`. `deleteType` 1 (the default) removes the
/// cloud record only: the code stays on the lock and keeps opening it.
fn pwd_delete(state: &mut State, p: &Params) -> Api<Step> {
    let lock = lock_param(state, p)?;
    let r = record_param(state, p, lock)?;
    let id = state.passcodes[r].id;
    match p.int("deleteType")?.unwrap_or(1) {
        1 => {
            // An offline code's window is burnt; the lock keeps honouring it.
            if let Some(o) = state.passcodes[r].on_lock.and_then(|pin| state.offline_code(pin)) {
                burn(state, o);
            }
            state.passcodes.remove(r);
            Ok(Step::Answer(ok_empty()))
        }
        2 => Ok(Step::Lock(Write::Delete { lock, id })),
        3 => Err(-4043),
        _ => Err(-3),
    }
}

/// `GET /v3/lock/listKeyboardPwd`: the cloud's records of the lock (not
/// read from the lock), random codes included. `orderBy` is documented as
/// required, yet the cloud lists without it (real clients leave it out):
/// it defaults to 1, newest first, as on `gateway/list`. `searchStr`
/// matches the name or the exact code.
/// `keyboardPwdType` comes as a string, as in the doc's example.
fn pwd_list(state: &mut State, p: &Params) -> Api<Value> {
    let lock = lock_param(state, p)?;
    let (page_no, page_size) = paging(p, MAX_SMALL_PAGE)?;
    let order_by = p.int("orderBy")?.unwrap_or(1);
    let search = p.get("searchStr");
    let wire = state.locks[lock].wire_id;
    let items: Vec<(String, usize, Value)> = state
        .passcodes
        .iter()
        .enumerate()
        .filter(|(_, c)| c.lock == lock)
        .filter(|(_, c)| search.is_none_or(|s| c.pwd == s || c.name.to_lowercase().contains(&s.to_lowercase())))
        .map(|(i, c)| {
            let v = json!({
                "keyboardPwdId": c.id,
                "lockId": wire,
                "keyboardPwd": c.pwd,
                "keyboardPwdName": c.name,
                "keyboardPwdType": c.pwd_type.to_string(),
                "keyboardPwdVersion": 4,
                "startDate": c.start_ms,
                "endDate": c.end_ms,
                "sendDate": c.send_ms,
                "isCustom": i32::from(c.custom),
                "senderUsername": c.sender,
            });
            (c.name.clone(), i, v)
        })
        .collect();
    Ok(paged(order(items, order_by)?, page_no, page_size))
}

/// Marks an offline code's window as obtained and deleted (-1026 from now).
fn burn(state: &mut State, offline: usize) {
    let o = &state.offline[offline];
    let key = (o.lock, o.start_ms, o.end_ms);
    state.burnt_windows.insert(key);
}

/// `POST /v3/keyboardPwd/get`: an offline period passcode (type 3), with no
/// gateway involved (see [`offline`]). `keyboardPwdVersion` may be left out
/// or be 4; other types are not simulated (-3).
fn pwd_get(state: &mut State, p: &Params, account: usize) -> Api<Value> {
    let lock = lock_param(state, p)?;
    if p.int("keyboardPwdVersion")?.is_some_and(|v| v != 4) {
        return Err(-3);
    }
    if p.required_int("keyboardPwdType")? != 3 {
        tracing::debug!("ttlock stub: keyboardPwd/get simulates period passcodes (type 3) only");
        return Err(-3);
    }
    let name = name_param(p)?.unwrap_or_default();
    let start_ms = p.required_int("startDate")?;
    let end_ms = p.required_int("endDate")?;
    let sender = state.accounts[account].username.clone();
    let (code, id) = offline::issue(state, PeriodRequest { lock, name, start_ms, end_ms, sender })?;
    Ok(json!({"keyboardPwd": code, "keyboardPwdId": id}))
}
