//! The TTLock client against the real TTLock stub, in-process: the plugin's
//! HTTP requests go through a small [`Http`] adapter straight into the
//! stub's [`Service::handle`], on one simulated clock shared by the stub and
//! the [`MemoryHost`]. The stub's lock-side PIN tables (`pins()`) are the
//! truth each write is judged on.

use std::cell::{Cell, RefCell};

use serde_json::Value;

use smartlock_plugin::brands::ttlock::{password_md5, Client, Credentials, API_BASE};
use smartlock_plugin::brands::{token_key, CachedToken, TokenCache};
use smartlock_plugin::brands::{CodeSpec, Confirmed, Found, LockInfo, Op, Remote, Submitted, Vendor, VendorError};
use smartlock_plugin::host::{Http, HttpError, HttpRequest, HttpResponse, Method};
use smartlock_plugin::memory_host::MemoryHost;
use smartlock_stubs::ttlock::{
    Ttlock, TtlockAccount, TtlockApp, TtlockConfig, TtlockEndpoint, TtlockGateway, TtlockLock, LINK_CACHE,
};
use smartlock_stubs::{MalformedKind, Service, StubRequest};

/// 2026-03-10T00:00:00Z.
const T0: i64 = 1_773_100_800;
const DAY: i64 = 86_400;

const CLIENT_ID: &str = "pms-ttlock-app";
const CLIENT_SECRET: &str = "app-s3cret-never-logged";
const USER: &str = "owner@example.com";
const PASSWORD: &str = "correct horse battery staple";

const GATEWAY: &str = "78979";
const GW_LOCK: &str = "532323";
const WIFI_LOCK: &str = "532324";
const BARE_LOCK: &str = "532325";

// ---------------------------------------------------------------------------
// The stub behind the plugin's Http
// ---------------------------------------------------------------------------

/// One request as the stub received it, with its answer.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    /// Query and form parameters together.
    params: Vec<(String, String)>,
    status: u16,
    answer: String,
}

impl Seen {
    fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

struct StubHttp {
    stub: Ttlock,
    seen: RefCell<Vec<Seen>>,
    /// Fail the next request the way some HTTP stacks do: the whole URL,
    /// query string and token included, in the error text.
    fail_with_url: Cell<bool>,
}

impl Http for StubHttp {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, HttpError> {
        if self.fail_with_url.replace(false) {
            return Err(HttpError::Transport(format!("error sending request for url ({})", request.url)));
        }
        let Some(path_and_query) = request.url.strip_prefix(API_BASE) else {
            return Err(HttpError::Forbidden(format!("not the TTLock host: {}", request.url)));
        };
        let method = match request.method {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        };
        let req = StubRequest {
            method: method.to_string(),
            path_and_query: path_and_query.to_string(),
            headers: request.headers.clone(),
            body: request.body.clone(),
        };
        let resp = Service::handle(&self.stub, &req);
        let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
        let mut params: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        params.extend(form_urlencoded::parse(&request.body).into_owned());
        self.seen.borrow_mut().push(Seen {
            method: method.to_string(),
            path: path.to_string(),
            params,
            status: resp.status,
            answer: String::from_utf8_lossy(&resp.body).into_owned(),
        });
        if resp.status == 0 {
            // The stub's "hang": the host gives up.
            return Err(HttpError::Timeout);
        }
        Ok(HttpResponse {
            status: resp.status,
            headers: resp.headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.clone())).collect(),
            body: resp.body,
        })
    }
}

fn config(extra_bare_locks: usize) -> TtlockConfig {
    let mut locks = vec![
        TtlockLock {
            id: GW_LOCK.into(),
            name: "Front door".into(),
            gateway: Some(GATEWAY.into()),
            wifi: false,
            utc_offset_minutes: 60,
        },
        TtlockLock {
            id: WIFI_LOCK.into(),
            name: "Garden gate".into(),
            gateway: None,
            wifi: true,
            utc_offset_minutes: 0,
        },
        TtlockLock { id: BARE_LOCK.into(), name: "Shed".into(), gateway: None, wifi: false, utc_offset_minutes: 0 },
    ];
    for i in 0..extra_bare_locks {
        locks.push(TtlockLock {
            id: (600_000 + i).to_string(),
            name: format!("Room {i}"),
            gateway: None,
            wifi: false,
            utc_offset_minutes: 0,
        });
    }
    let config = TtlockConfig {
        app: TtlockApp { client_id: CLIENT_ID.into(), client_secret: CLIENT_SECRET.into() },
        accounts: vec![TtlockAccount { username: USER.into(), password: PASSWORD.into(), name: "Owner".into() }],
        locks,
        gateways: vec![TtlockGateway { id: GATEWAY.into(), name: "G2 hallway".into(), online: true }],
    };
    config.validate().expect("valid stub config");
    config
}

/// The stub and the host on one clock.
struct World {
    host: MemoryHost<StubHttp>,
    md5: String,
    secret: String,
}

impl World {
    fn new() -> World {
        World::with(config(0))
    }

    fn with(config: TtlockConfig) -> World {
        let stub = Ttlock::new(config, T0);
        stub.set_monthly_quota(None);
        World {
            host: MemoryHost::new(
                StubHttp { stub, seen: RefCell::new(Vec::new()), fail_with_url: Cell::new(false) },
                T0,
            ),
            md5: password_md5(PASSWORD),
            secret: CLIENT_SECRET.to_string(),
        }
    }

    fn stub(&self) -> &Ttlock {
        &self.host.http.stub
    }

    fn now(&self) -> i64 {
        self.host.now.get()
    }

    /// Moves both clocks forward.
    fn advance(&self, secs: i64) {
        let t = self.now() + secs;
        self.host.now.set(t);
        self.stub().set_time(t);
    }

    fn client(&self) -> Client<'_, MemoryHost<StubHttp>> {
        Client::new(
            &self.host,
            Credentials { username: USER, password_md5: &self.md5, client_id: CLIENT_ID, client_secret: &self.secret },
            TokenCache::new(&self.host, "ttlock"),
        )
    }

    /// A client whose token is cached (one password grant done).
    fn connected(&self) -> Client<'_, MemoryHost<StubHttp>> {
        let mut c = self.client();
        c.verify().expect("verify");
        c
    }

    fn seen(&self) -> Vec<Seen> {
        self.host.http.seen.borrow().clone()
    }

    fn seen_since(&self, n: usize) -> Vec<Seen> {
        self.seen().split_off(n)
    }

    fn mark(&self) -> usize {
        self.host.http.seen.borrow().len()
    }

    fn cached_token(&self) -> Option<CachedToken> {
        self.host.kv.borrow().get(&token_key("ttlock")).map(|b| serde_json::from_slice(b).expect("token record"))
    }

    /// The lock's whole passcode listing, asked of the stub directly.
    fn raw_list(&self, lock: &str) -> Value {
        let token = self.cached_token().expect("token").access_token;
        let path_and_query = format!(
            "/v3/lock/listKeyboardPwd?clientId={CLIENT_ID}&accessToken={token}&lockId={lock}&pageNo=1&pageSize=100\
             &orderBy=1&date={}",
            self.now() * 1000
        );
        let resp =
            Service::handle(self.stub(), &StubRequest { method: "GET".into(), path_and_query, ..Default::default() });
        serde_json::from_slice(&resp.body).expect("json")
    }

    fn count(&self, endpoint: TtlockEndpoint) -> u64 {
        self.stub().http_counts().get(&endpoint.report_key()).copied().unwrap_or(0)
    }
}

fn spec<'a>(lock: &'a str, pin: &'a str, start: i64, end: i64) -> CodeSpec<'a> {
    CodeSpec {
        lock_id: lock,
        channel: GATEWAY,
        pin,
        name: "Anna Meier (bk-4711)",
        start,
        end,
        timezone: chrono_tz::Europe::Berlin,
        code_id: None,
    }
}

fn with_id<'a>(code: &CodeSpec<'a>, id: &'a str) -> CodeSpec<'a> {
    CodeSpec { code_id: Some(id), ..code.clone() }
}

fn created_id(r: Result<Submitted, VendorError>) -> String {
    match r {
        Ok(Submitted::Done(Some(id))) => id,
        other => panic!("expected the code on the lock with an id, got {other:?}"),
    }
}

/// The stay: check-in in 5 days at 14:30, check-out 4 days later at 11:30.
fn stay() -> (i64, i64) {
    (T0 + 5 * DAY + 14 * 3600 + 1800, T0 + 9 * DAY + 11 * 3600 + 1800)
}

/// A check of an error.
type Check = fn(&VendorError) -> bool;

fn is_grant(s: &Seen, grant: &str) -> bool {
    s.path == "/oauth2/token"
        && match grant {
            "password" => s.param("password").is_some() && s.param("grant_type").is_none_or(|g| g == "password"),
            g => s.param("grant_type") == Some(g),
        }
}

// ---------------------------------------------------------------------------
// Connecting
// ---------------------------------------------------------------------------

#[test]
fn verify_issues_a_token_and_names_the_account() {
    let w = World::new();
    let mut c = w.client();
    assert_eq!(c.verify(), Ok(Some(USER.to_string())));
    assert_eq!(c.requests(), 1);
    let seen = w.seen();
    assert_eq!(seen.len(), 1);
    let grant = &seen[0];
    assert_eq!((grant.method.as_str(), grant.path.as_str()), ("POST", "/oauth2/token"));
    assert_eq!(grant.param("clientId"), Some(CLIENT_ID));
    assert_eq!(grant.param("username"), Some(USER));
    assert_eq!(grant.param("password"), Some(w.md5.as_str()), "the lower-case MD5, never the password");
    let t = w.cached_token().expect("token cached");
    assert!(!t.access_token.is_empty());
    assert!(t.refresh_token.as_deref().is_some_and(|r| !r.is_empty()));
    assert_eq!(t.expires_at, T0 + 90 * DAY);
}

#[test]
fn verify_with_a_wrong_password_is_refused_and_stores_nothing() {
    let w = World::new();
    let wrong = password_md5("not the password");
    let mut c = Client::new(
        &w.host,
        Credentials { username: USER, password_md5: &wrong, client_id: CLIENT_ID, client_secret: CLIENT_SECRET },
        TokenCache::new(&w.host, "ttlock"),
    );
    let e = c.verify().expect_err("refused");
    assert!(matches!(e, VendorError::Unauthorized { .. }), "{e:?}");
    assert!(e.to_string().contains("username or password"), "{e}");
    assert!(!e.to_string().contains(&wrong));
    assert!(w.cached_token().is_none());
    // Refused once: the client does not ask again for every later call.
    let n = w.mark();
    assert!(matches!(c.locks(), Err(VendorError::Unauthorized { .. })));
    assert_eq!(w.mark(), n);
}

#[test]
fn verify_with_a_wrong_client_secret_is_refused() {
    let w = World::new();
    let md5 = password_md5(PASSWORD);
    let mut c = Client::new(
        &w.host,
        Credentials { username: USER, password_md5: &md5, client_id: CLIENT_ID, client_secret: "wrong-secret" },
        TokenCache::new(&w.host, "ttlock"),
    );
    let e = c.verify().expect_err("refused");
    assert!(matches!(&e, VendorError::Unauthorized { detail, .. } if detail.contains("client id or secret")), "{e:?}");
    assert!(!e.to_string().contains("wrong-secret"));
}

// ---------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------

#[test]
fn a_revoked_token_is_refreshed_and_the_call_retried_without_the_password() {
    let w = World::new();
    w.connected();
    let before = w.cached_token().expect("token");
    assert!(w.stub().revoke_tokens() >= 1);
    let n = w.mark();
    let mut c = w.client();
    let locks = c.locks().expect("locks after the refresh");
    assert_eq!(locks.len(), 3);
    let seen = w.seen_since(n);
    // 10004, refresh, the retry (and the gateway of the gateway lock).
    assert_eq!(seen[0].path, "/v3/lock/list");
    assert!(seen[0].answer.contains("10004"), "{}", seen[0].answer);
    assert!(is_grant(&seen[1], "refresh_token"));
    assert_eq!(seen[1].param("refresh_token"), before.refresh_token.as_deref());
    assert_eq!(seen[2].path, "/v3/lock/list");
    assert!(!seen.iter().any(|s| is_grant(s, "password")), "no password grant");
    assert!(!seen.iter().any(|s| s.param("password").is_some()));
    let after = w.cached_token().expect("token");
    assert_ne!(after.access_token, before.access_token);
    assert_ne!(after.refresh_token, before.refresh_token, "the rotated refresh token is kept");
    assert_eq!(after.expires_at, w.now() + 90 * DAY);
}

#[test]
fn a_token_near_its_90_day_expiry_is_refreshed_before_use() {
    let w = World::new();
    w.connected();
    w.advance(89 * DAY + 12 * 3600);
    let n = w.mark();
    let mut c = w.client();
    c.locks().expect("locks");
    let seen = w.seen_since(n);
    assert!(is_grant(&seen[0], "refresh_token"), "refreshed first: {:?}", seen[0]);
    assert!(!seen.iter().any(|s| is_grant(s, "password")));
    assert!(!seen.iter().any(|s| s.answer.contains("\"errcode\":10004")), "no call with the old token");
    assert_eq!(w.cached_token().map(|t| t.expires_at), Some(w.now() + 90 * DAY));
}

#[test]
fn an_expired_token_without_a_usable_refresh_token_falls_back_to_the_password() {
    let w = World::new();
    w.connected();
    // The stored refresh token is refused (10011) and the access token expired.
    let mut t = w.cached_token().expect("token");
    t.refresh_token = Some("0123456789abcdef0123456789abcdef".into());
    w.host.kv.borrow_mut().insert(token_key("ttlock"), serde_json::to_vec(&t).expect("json"));
    w.advance(91 * DAY);
    let n = w.mark();
    let mut c = w.client();
    assert_eq!(c.locks().map(|l| l.len()), Ok(3));
    let seen = w.seen_since(n);
    assert!(is_grant(&seen[0], "refresh_token") && seen[0].answer.contains("10011"));
    assert!(is_grant(&seen[1], "password"));
    assert_eq!(seen[2].path, "/v3/lock/list");
}

#[test]
fn a_token_refused_after_a_refresh_gets_one_password_grant_then_gives_up() {
    let w = World::new();
    w.connected();
    w.stub().inject_errcode(TtlockEndpoint::LockList, 10004, 3);
    let n = w.mark();
    let mut c = w.client();
    let e = c.locks().expect_err("refused three times");
    assert!(matches!(e, VendorError::Unauthorized { .. }), "{e:?}");
    let seen = w.seen_since(n);
    let kinds: Vec<&str> = seen
        .iter()
        .map(|s| match s.path.as_str() {
            "/oauth2/token" if is_grant(s, "refresh_token") => "refresh",
            "/oauth2/token" => "password",
            _ => "list",
        })
        .collect();
    assert_eq!(kinds, ["list", "refresh", "list", "password", "list"]);
}

#[test]
fn a_token_endpoint_that_does_not_answer_is_no_token() {
    let w = World::new();
    w.stub().inject_fault(TtlockEndpoint::Token, 503, 1);
    let mut c = w.client();
    let e = c.create(&spec(GW_LOCK, "482957", stay().0, stay().1)).expect_err("no token");
    assert!(matches!(e, VendorError::NoToken { .. }), "{e:?}");
    assert!(!e.outcome_unknown(), "the write never left");
    assert_eq!(w.count(TtlockEndpoint::PwdAdd), 0);
}

// ---------------------------------------------------------------------------
// Locks
// ---------------------------------------------------------------------------

#[test]
fn locks_with_a_gateway_wifi_or_neither() {
    let w = World::new();
    let mut c = w.connected();
    let locks = c.locks().expect("locks");
    assert_eq!(
        locks,
        vec![
            LockInfo {
                id: GW_LOCK.into(),
                name: "Front door".into(),
                remote: Some(Remote::through("gateway", GATEWAY)),
                needs: None,
                pin_rule: None,
            },
            LockInfo {
                id: WIFI_LOCK.into(),
                name: "Garden gate".into(),
                remote: Some(Remote::direct("wifi")),
                needs: None,
                pin_rule: None,
            },
            LockInfo { id: BARE_LOCK.into(), name: "Shed".into(), remote: None, needs: None, pin_rule: None },
        ]
    );
    // One page of locks and one gateway look-up; no lock/detail.
    assert_eq!(w.count(TtlockEndpoint::LockList), 1);
    assert_eq!(w.count(TtlockEndpoint::Gateway), 1);
    assert_eq!(w.count(TtlockEndpoint::LockDetail), 0);
    let list = w.seen().into_iter().find(|s| s.path == "/v3/lock/list").expect("lock list");
    assert_eq!(list.method, "GET");
    assert_eq!((list.param("pageNo"), list.param("pageSize")), (Some("1"), Some("100")));
    assert_eq!(list.param("clientId"), Some(CLIENT_ID));
    assert_eq!(list.param("date"), Some((T0 * 1000).to_string().as_str()));
}

#[test]
fn a_gateway_whose_link_lapsed_leaves_the_lock_without_a_remote_path() {
    let w = World::new();
    let mut c = w.connected();
    w.stub().set_gateway_online(GATEWAY, false).expect("gateway");
    w.advance(LINK_CACHE + 60);
    let locks = c.locks().expect("locks");
    assert_eq!(locks[0].remote, None);
}

#[test]
fn locks_follow_the_pages() {
    let w = World::with(config(230));
    let mut c = w.connected();
    let locks = c.locks().expect("locks");
    assert_eq!(locks.len(), 233);
    assert_eq!(w.count(TtlockEndpoint::LockList), 3);
    assert_eq!(locks.last().map(|l| l.id.as_str()), Some("600229"));
    assert_eq!(locks.iter().filter(|l| l.remote.is_some()).count(), 2);
    let pages: Vec<String> = w
        .seen()
        .iter()
        .filter(|s| s.path == "/v3/lock/list")
        .filter_map(|s| s.param("pageNo").map(str::to_string))
        .collect();
    assert_eq!(pages, ["1", "2", "3"]);
}

// ---------------------------------------------------------------------------
// Create
// ---------------------------------------------------------------------------

#[test]
fn create_puts_the_code_on_the_lock_at_once() {
    let w = World::new();
    let mut c = w.connected();
    let requests = c.requests();
    // A window off the minute: start rounded down, end rounded up.
    let (start, end) = (stay().0 + 25, stay().1 + 5);
    let id = created_id(c.create(&spec(GW_LOCK, "482957", start, end)));
    assert_eq!(c.requests() - requests, 1, "one request per create with a cached token");
    let add = w.seen().pop().expect("add");
    assert_eq!((add.method.as_str(), add.path.as_str()), ("POST", "/v3/keyboardPwd/add"));
    assert_eq!(add.param("addType"), Some("2"), "through the gateway, never cloud-only");
    assert_eq!(add.param("keyboardPwdType"), Some("3"));
    assert_eq!(add.param("lockId"), Some(GW_LOCK));
    assert_eq!(add.param("keyboardPwd"), Some("482957"));
    assert_eq!(add.param("keyboardPwdName"), Some("Anna Meier (bk-4711)"));
    assert_eq!(add.param("startDate"), Some((stay().0 * 1000).to_string().as_str()));
    assert_eq!(add.param("endDate"), Some(((stay().1 + 60) * 1000).to_string().as_str()));
    let pins = w.stub().pins();
    assert_eq!(pins.len(), 1);
    let p = &pins[0];
    assert_eq!((p.lock.as_str(), p.pin.as_str(), p.added_at, p.removed_at), (GW_LOCK, "482957", T0, None));
    assert!(p.start <= start && p.end >= end, "never shorter than promised");
    assert_eq!((p.start, p.end), (stay().0, stay().1 + 60));
    assert!(w.stub().opens(GW_LOCK, "482957", start));
    assert!(w.stub().opens(GW_LOCK, "482957", end - 1));
    // The id is the listing's.
    assert_eq!(c.find(&spec(GW_LOCK, "482957", start, end)), Ok(Found::OnLock(id)));
}

#[test]
fn create_on_a_wifi_lock() {
    let w = World::new();
    let mut c = w.connected();
    created_id(c.create(&spec(WIFI_LOCK, "739164", stay().0, stay().1)));
    assert!(w.stub().opens(WIFI_LOCK, "739164", stay().0));
}

#[test]
fn a_cold_create_costs_one_token_request_more() {
    let w = World::new();
    let mut c = w.client();
    created_id(c.create(&spec(GW_LOCK, "482957", stay().0, stay().1)));
    assert_eq!(c.requests(), 2);
}

#[test]
fn an_offline_gateway_is_offline_then_no_gateway_near() {
    let w = World::new();
    let mut c = w.connected();
    w.stub().set_gateway_online(GATEWAY, false).expect("gateway");
    let code = spec(GW_LOCK, "482957", stay().0, stay().1);
    assert_eq!(c.create(&code), Err(VendorError::Offline("the TTLock gateway is offline".into())));
    w.advance(LINK_CACHE + 60);
    match c.create(&code) {
        Err(VendorError::Offline(m)) => assert!(m.starts_with("no TTLock gateway is near the lock"), "{m}"),
        other => panic!("expected -2012 as offline, got {other:?}"),
    }
    assert!(w.stub().pins().is_empty());
    // Back online: the same PIN goes on.
    w.stub().set_gateway_online(GATEWAY, true).expect("gateway");
    created_id(c.create(&code));
    assert!(w.stub().opens(GW_LOCK, "482957", stay().0));
}

#[test]
fn a_lock_without_any_path_is_offline() {
    let w = World::new();
    let mut c = w.connected();
    assert!(matches!(c.create(&spec(BARE_LOCK, "482957", stay().0, stay().1)), Err(VendorError::Offline(_))));
}

#[test]
fn a_busy_gateway_or_wifi_lock_is_busy() {
    let w = World::new();
    let mut c = w.connected();
    let code = spec(GW_LOCK, "482957", stay().0, stay().1);
    w.stub().inject_errcode(TtlockEndpoint::PwdAdd, -3003, 1);
    let e = c.create(&code).expect_err("busy");
    assert!(matches!(&e, VendorError::Busy(m) if m.contains("gateway is busy")), "{e:?}");
    assert!(!e.outcome_unknown());
    w.stub().inject_errcode(TtlockEndpoint::PwdAdd, -3037, 1);
    assert!(matches!(c.create(&code), Err(VendorError::Busy(m)) if m.contains("Wi-Fi lock is busy")));
    assert!(w.stub().pins().is_empty());
}

#[test]
fn a_pin_already_on_the_lock_or_too_simple_is_taken() {
    let w = World::new();
    let mut c = w.connected();
    w.stub().set_passcode_by_hand(GW_LOCK, "482957", T0, T0 + 30 * DAY).expect("by hand");
    let e = c.create(&spec(GW_LOCK, "482957", stay().0, stay().1)).expect_err("taken");
    assert!(matches!(e, VendorError::PinTaken(_)), "{e:?}");
    let e = c.create(&spec(GW_LOCK, "444444", stay().0, stay().1)).expect_err("too simple");
    assert!(matches!(&e, VendorError::PinTaken(m) if m.contains("too simple")), "{e:?}");
    // The other PIN goes on at once.
    created_id(c.create(&spec(GW_LOCK, "739164", stay().0, stay().1)));
}

#[test]
fn other_errcodes_in_plain_words() {
    let w = World::new();
    w.connected();
    let code = spec(GW_LOCK, "482957", stay().0, stay().1);
    let cases: [(i64, Check); 9] = [
        (30006, |e| matches!(e, VendorError::RateLimited { retry_after_secs: Some(_), .. })),
        (30007, |e| matches!(e, VendorError::RateLimited { .. })),
        (-2018, |e| matches!(e, VendorError::Rejected { message, .. } if message.contains("administrator"))),
        (-3009, |e| matches!(e, VendorError::Rejected { message, .. } if message.contains("250"))),
        (-3036, |e| matches!(e, VendorError::Offline(m) if m.contains("Wi-Fi lock is offline"))),
        (90000, |e| e.outcome_unknown()),
        (10001, |e| matches!(e, VendorError::Unauthorized { .. })),
        (-1003, |e| matches!(e, VendorError::Rejected { message, .. } if message.contains("no longer exists"))),
        (-4242, |e| matches!(e, VendorError::Rejected { message, .. } if message.contains("-4242"))),
    ];
    for (code_no, ok) in cases {
        let mut fresh = w.client();
        w.stub().inject_errcode(TtlockEndpoint::PwdAdd, code_no, 1);
        let e = fresh.create(&code).expect_err("error");
        assert!(ok(&e), "errcode {code_no}: {e:?}");
    }
    assert!(w.stub().pins().is_empty());
}

#[test]
fn a_clock_off_by_more_than_five_minutes_is_reported_as_such() {
    let w = World::new();
    let mut c = w.connected();
    // The host's clock runs 10 minutes ahead of TTLock's.
    w.host.now.set(T0 + 600);
    let e = c.create(&spec(GW_LOCK, "482957", stay().0, stay().1)).expect_err("80000");
    assert!(matches!(&e, VendorError::Unavailable { detail, .. } if detail.contains("clock")), "{e:?}");
    assert!(w.stub().pins().is_empty());
}

#[test]
fn answers_that_say_nothing_leave_the_outcome_unknown_and_find_resolves_it() {
    let w = World::new();
    let mut c = w.connected();
    let code = spec(GW_LOCK, "482957", stay().0, stay().1);

    // An HTTP error in front of the API: nothing happened, but the client cannot know.
    w.stub().inject_fault(TtlockEndpoint::PwdAdd, 502, 1);
    let e = c.create(&code).expect_err("502");
    assert!(e.outcome_unknown(), "{e:?}");
    assert_eq!(c.find(&code), Ok(Found::Absent));

    // A success body without an id: the vendor "accepted" but did nothing.
    w.stub().inject_errcode(TtlockEndpoint::PwdAdd, 0, 1);
    let e = c.create(&code).expect_err("no id");
    assert!(matches!(e, VendorError::Malformed { .. }), "{e:?}");
    assert_eq!(c.find(&code), Ok(Found::Absent));

    // Carried out, answer spoiled: the listing shows it on the lock.
    w.stub().inject_malformed(TtlockEndpoint::PwdAdd, 1, MalformedKind::Truncated);
    let e = c.create(&code).expect_err("truncated");
    assert!(e.outcome_unknown(), "{e:?}");
    let Ok(Found::OnLock(id)) = c.find(&code) else { panic!("the write happened") };

    // Carried out, answer lost (timeout): likewise.
    let other = spec(GW_LOCK, "739164", stay().0, stay().1);
    w.stub().inject_lost_answer(TtlockEndpoint::PwdAdd, 1);
    let e = c.create(&other).expect_err("timeout");
    assert!(e.outcome_unknown(), "{e:?}");
    assert!(matches!(c.find(&other), Ok(Found::OnLock(_))));
    assert_eq!(w.stub().pins().len(), 2);
    assert!(!id.is_empty());
}

// ---------------------------------------------------------------------------
// Update, delete
// ---------------------------------------------------------------------------

#[test]
fn update_moves_the_window_in_place_keeping_the_pin() {
    let w = World::new();
    let mut c = w.connected();
    let (start, end) = stay();
    let code = spec(GW_LOCK, "482957", start, end);
    let id = created_id(c.create(&code));
    w.advance(3600);
    // The stay is one day longer.
    let moved = with_id(&spec(GW_LOCK, "482957", start, end + DAY), &id);
    let requests = c.requests();
    assert_eq!(c.update(&moved), Ok(Submitted::Done(Some(id.clone()))));
    assert_eq!(c.requests() - requests, 1);
    let change = w.seen().pop().expect("change");
    assert_eq!((change.method.as_str(), change.path.as_str()), ("POST", "/v3/keyboardPwd/change"));
    assert_eq!(change.param("changeType"), Some("2"));
    assert_eq!(change.param("keyboardPwdId"), Some(id.as_str()));
    assert_eq!(change.param("startDate"), Some((start * 1000).to_string().as_str()), "the complete window");
    assert_eq!(change.param("endDate"), Some(((end + DAY) * 1000).to_string().as_str()));
    assert_eq!(change.param("keyboardPwdName"), Some("Anna Meier (bk-4711)"));
    assert_eq!(change.param("newKeyboardPwd"), None, "the PIN is kept");
    let pins = w.stub().pins();
    assert_eq!(pins.len(), 2, "{pins:?}");
    assert_eq!((pins[0].pin.as_str(), pins[0].end, pins[0].removed_at), ("482957", end, Some(T0 + 3600)));
    assert_eq!(
        (pins[1].pin.as_str(), pins[1].end, pins[1].added_at, pins[1].removed_at),
        ("482957", end + DAY, T0 + 3600, None)
    );
    assert!(w.stub().opens(GW_LOCK, "482957", end + DAY - 60));
    assert_eq!(c.find(&moved), Ok(Found::OnLock(id.clone())));
    assert_eq!(c.find(&code), Ok(Found::OtherWindow(id)));
}

#[test]
fn update_without_an_id_finds_it_on_the_listing() {
    let w = World::new();
    let mut c = w.connected();
    let (start, end) = stay();
    let id = created_id(c.create(&spec(GW_LOCK, "482957", start, end)));
    let moved = spec(GW_LOCK, "482957", start - DAY, end);
    assert_eq!(c.update(&moved), Ok(Submitted::Done(Some(id))));
    assert!(w.stub().opens(GW_LOCK, "482957", start - DAY));
}

#[test]
fn update_of_a_code_ttlock_lost_adds_it_again_with_the_same_pin() {
    let w = World::new();
    let mut c = w.connected();
    let (start, end) = stay();
    let code = spec(GW_LOCK, "482957", start, end);
    let id = created_id(c.create(&code));
    assert_eq!(c.delete(&with_id(&code, &id)), Ok(Submitted::Done(None)));
    let moved = with_id(&spec(GW_LOCK, "482957", start, end + DAY), &id);
    let new_id = created_id(c.update(&moved));
    assert_ne!(new_id, id);
    assert!(w.stub().opens(GW_LOCK, "482957", end + DAY - 60));
}

#[test]
fn update_that_ttlock_cannot_do_in_place_is_delete_then_add() {
    let w = World::new();
    let mut c = w.connected();
    let (start, end) = stay();
    let id = created_id(c.create(&spec(GW_LOCK, "482957", start, end)));
    w.stub().set_change_needs_prior_use(true);
    let moved = with_id(&spec(GW_LOCK, "482957", start, end + DAY), &id);
    let new_id = created_id(c.update(&moved));
    assert_ne!(new_id, id);
    let live: Vec<_> = w.stub().pins().into_iter().filter(|p| p.removed_at.is_none()).collect();
    assert_eq!(live.len(), 1);
    assert_eq!((live[0].pin.as_str(), live[0].end), ("482957", end + DAY));
}

#[test]
fn update_through_an_offline_gateway_changes_nothing() {
    let w = World::new();
    let mut c = w.connected();
    let (start, end) = stay();
    let id = created_id(c.create(&spec(GW_LOCK, "482957", start, end)));
    w.stub().set_gateway_online(GATEWAY, false).expect("gateway");
    let moved = with_id(&spec(GW_LOCK, "482957", start, end + DAY), &id);
    assert!(matches!(c.update(&moved), Err(VendorError::Offline(_))));
    assert_eq!(w.stub().pins().len(), 1);
    assert!(!w.stub().opens(GW_LOCK, "482957", end + 3600));
}

#[test]
fn delete_removes_the_code_from_the_lock() {
    let w = World::new();
    let mut c = w.connected();
    let (start, end) = stay();
    let code = spec(GW_LOCK, "482957", start, end);
    let id = created_id(c.create(&code));
    w.advance(600);
    let requests = c.requests();
    assert_eq!(c.delete(&with_id(&code, &id)), Ok(Submitted::Done(None)));
    assert_eq!(c.requests() - requests, 1);
    let del = w.seen().pop().expect("delete");
    assert_eq!((del.method.as_str(), del.path.as_str()), ("POST", "/v3/keyboardPwd/delete"));
    assert_eq!(del.param("deleteType"), Some("2"), "from the lock, not only the cloud");
    assert_eq!(del.param("keyboardPwdId"), Some(id.as_str()));
    assert_eq!(w.stub().pins()[0].removed_at, Some(T0 + 600));
    assert!(!w.stub().opens(GW_LOCK, "482957", start + 60));
    assert_eq!(c.find(&code), Ok(Found::Absent));
    // Already gone (-2009): done.
    assert_eq!(c.delete(&with_id(&code, &id)), Ok(Submitted::Done(None)));
    assert!(w.seen().pop().expect("delete").answer.contains("-2009"));
}

#[test]
fn delete_without_an_id_finds_it_and_a_code_never_there_is_done() {
    let w = World::new();
    let mut c = w.connected();
    let code = spec(GW_LOCK, "482957", stay().0, stay().1);
    created_id(c.create(&code));
    assert_eq!(c.delete(&code), Ok(Submitted::Done(None)));
    assert!(w.stub().pins().iter().all(|p| p.removed_at.is_some()));
    let n = w.mark();
    assert_eq!(c.delete(&spec(GW_LOCK, "739164", stay().0, stay().1)), Ok(Submitted::Done(None)));
    assert!(w.seen_since(n).iter().all(|s| s.path != "/v3/keyboardPwd/delete"));
}

#[test]
fn delete_through_an_offline_gateway_is_offline() {
    let w = World::new();
    let mut c = w.connected();
    let code = spec(GW_LOCK, "482957", stay().0, stay().1);
    let id = created_id(c.create(&code));
    w.stub().set_gateway_online(GATEWAY, false).expect("gateway");
    assert!(matches!(c.delete(&with_id(&code, &id)), Err(VendorError::Offline(_))));
    assert!(w.stub().opens(GW_LOCK, "482957", stay().0));
}

// ---------------------------------------------------------------------------
// Find, confirm
// ---------------------------------------------------------------------------

#[test]
fn find_tells_absent_on_lock_and_other_window_apart() {
    let w = World::new();
    let mut c = w.connected();
    let (start, end) = stay();
    let code = spec(GW_LOCK, "482957", start, end);
    assert_eq!(c.find(&code), Ok(Found::Absent));
    let id = created_id(c.create(&code));
    assert_eq!(c.find(&code), Ok(Found::OnLock(id.clone())));
    let query = w.seen().pop().expect("list");
    assert_eq!((query.method.as_str(), query.path.as_str()), ("GET", "/v3/lock/listKeyboardPwd"));
    assert_eq!(query.param("searchStr"), Some("482957"));
    assert_eq!(query.param("orderBy"), Some("1"));
    assert_eq!((query.param("pageNo"), query.param("pageSize")), (Some("1"), Some("100")));
    // To the minute: seconds inside the same minutes still match.
    assert_eq!(c.find(&spec(GW_LOCK, "482957", start + 59, end - 59)), Ok(Found::OnLock(id.clone())));
    assert_eq!(c.find(&spec(GW_LOCK, "482957", start, end + 3600)), Ok(Found::OtherWindow(id.clone())));
    assert_eq!(c.find(&spec(GW_LOCK, "482957", start - 60, end)), Ok(Found::OtherWindow(id)));
    // Another lock, another PIN.
    assert_eq!(c.find(&spec(WIFI_LOCK, "482957", start, end)), Ok(Found::Absent));
    assert_eq!(c.find(&spec(GW_LOCK, "739164", start, end)), Ok(Found::Absent));
}

#[test]
fn find_ignores_random_passcodes_and_counts_custom_ones_set_by_hand() {
    let w = World::new();
    let mut c = w.connected();
    // Every stub lock lists an old random one-time code (isCustom 0).
    let listing = w.raw_list(GW_LOCK);
    let random = listing["list"].as_array().and_then(|l| l.first()).cloned().expect("a random code");
    assert_eq!(random["isCustom"], 0);
    let random_pin = random["keyboardPwd"].as_str().expect("its digits").to_string();
    assert_eq!(c.find(&spec(GW_LOCK, &random_pin, stay().0, stay().1)), Ok(Found::Absent));
    // A code set by hand with our PIN is listed as custom: found.
    let by_hand = w.stub().set_passcode_by_hand(GW_LOCK, "482957", T0, T0 + 30 * DAY).expect("by hand").to_string();
    assert_eq!(c.find(&spec(GW_LOCK, "482957", stay().0, stay().1)), Ok(Found::OtherWindow(by_hand.clone())));
    assert_eq!(c.find(&spec(GW_LOCK, "482957", T0, T0 + 30 * DAY)), Ok(Found::OnLock(by_hand)));
}

#[test]
fn confirm_judges_from_the_listing() {
    let w = World::new();
    let mut c = w.connected();
    let code = spec(GW_LOCK, "482957", stay().0, stay().1);
    assert!(matches!(c.confirm(Op::Create, &code, "42"), Ok(Confirmed::Failed(_))));
    assert_eq!(c.confirm(Op::Delete, &code, "42"), Ok(Confirmed::Done(None)));
    let id = created_id(c.create(&code));
    assert_eq!(c.confirm(Op::Create, &code, &id), Ok(Confirmed::Done(Some(id.clone()))));
    assert_eq!(c.confirm(Op::Update, &with_id(&code, &id), ""), Ok(Confirmed::Done(Some(id.clone()))));
    assert!(matches!(c.confirm(Op::Delete, &code, &id), Ok(Confirmed::Failed(_))));
    let later = spec(GW_LOCK, "482957", stay().0, stay().1 + DAY);
    assert!(matches!(c.confirm(Op::Update, &later, &id), Ok(Confirmed::Failed(_))));
}

// ---------------------------------------------------------------------------
// R2: no secret in logs, storage or error texts
// ---------------------------------------------------------------------------

#[test]
fn no_secret_leaks_into_logs_storage_or_errors() {
    let w = World::new();
    let mut errors: Vec<String> = Vec::new();
    let mut c = w.connected();
    c.locks().expect("locks");
    let (start, end) = stay();
    let code = spec(GW_LOCK, "482957", start, end);
    let id = created_id(c.create(&code));
    c.update(&with_id(&spec(GW_LOCK, "482957", start, end + DAY), &id)).expect("update");
    for errcode in [-3003, -4242, 80000, 90000] {
        w.stub().inject_errcode(TtlockEndpoint::PwdAdd, errcode, 1);
        errors.push(c.create(&spec(GW_LOCK, "739164", start, end)).expect_err("errcode").to_string());
    }
    w.stub().inject_errcode(TtlockEndpoint::LockList, 30007, 1);
    errors.push(c.locks().expect_err("quota").to_string());
    w.stub().inject_lost_answer(TtlockEndpoint::PwdChange, 1);
    errors.push(c.update(&with_id(&code, &id)).expect_err("timeout").to_string());
    w.stub().inject_fault(TtlockEndpoint::PwdList, 500, 1);
    errors.push(c.find(&code).expect_err("500").to_string());
    w.stub().inject_malformed(TtlockEndpoint::PwdList, 1, MalformedKind::Malformed);
    errors.push(c.find(&code).expect_err("malformed").to_string());
    w.stub().revoke_tokens();
    c.find(&code).expect("find after a refresh");
    w.advance(91 * DAY);
    w.client().locks().expect("locks after expiry");
    c.delete(&with_id(&code, &id)).expect("delete");
    let wrong = password_md5("wrong");
    errors.push(
        Client::new(
            &w.host,
            Credentials { username: USER, password_md5: &wrong, client_id: CLIENT_ID, client_secret: CLIENT_SECRET },
            TokenCache::new(&w.host, "ttlock"),
        )
        .verify()
        .expect_err("wrong password")
        .to_string(),
    );
    w.stub().set_gateway_online(GATEWAY, false).expect("gateway");
    errors.push(w.client().create(&spec(GW_LOCK, "739164", start, end)).expect_err("offline").to_string());
    // A transport error quoting the URL (a GET carries the token in its query).
    w.host.http.fail_with_url.set(true);
    let e = c.find(&code).expect_err("transport");
    assert!(e.outcome_unknown() && e.to_string().contains("accessToken="), "{e}");
    errors.push(e.to_string());

    // Every secret there is: the password and its MD5, the client secret,
    // every token TTLock issued, every lock's admin secrets.
    let mut secrets: Vec<String> = vec![PASSWORD.into(), password_md5(PASSWORD), CLIENT_SECRET.into(), wrong];
    for s in w.seen().iter().filter(|s| s.path == "/oauth2/token" && s.status == 200) {
        let v: Value = serde_json::from_str(&s.answer).unwrap_or(Value::Null);
        for k in ["access_token", "refresh_token"] {
            if let Some(t) = v.get(k).and_then(Value::as_str) {
                secrets.push(t.to_string());
            }
        }
    }
    assert!(secrets.len() >= 8, "tokens were issued: {}", secrets.len());
    for lock in [GW_LOCK, WIFI_LOCK, BARE_LOCK] {
        let s = w.stub().lock_secrets(lock);
        assert_eq!(s.len(), 5);
        secrets.extend(s.into_iter().filter(|s| s.len() >= 6));
    }

    let logs: Vec<String> = w.host.logs.borrow().iter().map(|(_, m)| m.clone()).collect();
    let stored: Vec<(String, String)> = w
        .host
        .kv
        .borrow()
        .iter()
        .filter(|(k, _)| k.as_str() != token_key("ttlock"))
        .map(|(k, v)| (k.clone(), String::from_utf8_lossy(v).into_owned()))
        .collect();
    assert!(errors.iter().all(|e| !e.is_empty()), "{errors:?}");
    for secret in &secrets {
        for line in &logs {
            assert!(!line.contains(secret.as_str()), "a log line holds a secret: {line}");
        }
        for (k, v) in &stored {
            assert!(!v.contains(secret.as_str()) && !k.contains(secret.as_str()), "storage {k} holds a secret");
        }
        for e in &errors {
            assert!(!e.contains(secret.as_str()), "an error text holds a secret: {e}");
        }
    }
    // The token record holds the token, never the password or the app secret.
    let token = String::from_utf8_lossy(&w.host.kv.borrow()[&token_key("ttlock")]).into_owned();
    assert!(!token.contains(&password_md5(PASSWORD)) && !token.contains(CLIENT_SECRET) && !token.contains(PASSWORD));
    // No lock/detail was needed at all.
    assert_eq!(w.count(TtlockEndpoint::LockDetail), 0);
}

// ---------------------------------------------------------------------------
// Through the lifecycle (admin, events, tick) on the seam
// ---------------------------------------------------------------------------

fn property() -> smartlock_plugin::model::PropertyFacts {
    smartlock_plugin::model::PropertyFacts {
        id: "p1".into(),
        name: "Loft".into(),
        timezone: "Europe/Berlin".into(),
        check_in_time: None,
        check_out_time: None,
    }
}

fn booking(check_out: &str, confirmed: bool) -> smartlock_plugin::model::BookingFacts {
    smartlock_plugin::model::BookingFacts {
        id: "bk-1".into(),
        property_id: "p1".into(),
        guest_name: Some("Anna Meier".into()),
        check_in: "2026-03-12".into(),
        check_out: check_out.into(),
        check_in_time: Some("15:00".into()),
        check_out_time: Some("11:00".into()),
        confirmed,
    }
}

/// Ticks at the current instant until nothing more is due now.
fn tick_now(w: &World) {
    for _ in 0..10 {
        let s = smartlock_plugin::tick::on_tick(&w.host, w.now()).expect("tick");
        if !s.more_due {
            return;
        }
    }
}

/// Unix seconds of an RFC 3339 instant.
fn at(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s).expect("instant").timestamp()
}

#[test]
fn the_lifecycle_creates_moves_and_deletes_through_the_gateway() {
    use smartlock_plugin::admin;
    use smartlock_plugin::{events, render};

    let w = World::new();
    let wrong = admin::connect(
        &w.host,
        smartlock_plugin::brands::BrandId::parse("ttlock").expect("registered"),
        smartlock_plugin::brands::fields([
            ("username", USER),
            ("password", "wrong"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ]),
    );
    assert!(matches!(wrong, Err(smartlock_plugin::PluginError::CredentialsRejected(_))), "{wrong:?}");
    let account = admin::connect(
        &w.host,
        smartlock_plugin::brands::BrandId::parse("ttlock").expect("registered"),
        smartlock_plugin::brands::fields([
            ("username", USER),
            ("password", PASSWORD),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ]),
    )
    .expect("connect");
    assert_eq!(account.name, USER);
    events::on_property_changed(&w.host, property()).expect("property");
    assert!(
        admin::assign(
            &w.host,
            "p1",
            smartlock_plugin::brands::BrandId::parse("ttlock").expect("registered"),
            BARE_LOCK,
            Some(1),
            Some(30)
        )
        .is_err(),
        "no gateway"
    );
    admin::assign(
        &w.host,
        "p1",
        smartlock_plugin::brands::BrandId::parse("ttlock").expect("registered"),
        GW_LOCK,
        Some(1),
        Some(30),
    )
    .expect("assign");
    events::on_booking_changed(&w.host, booking("2026-03-14", true), property()).expect("booking");

    // Created at 00:00 Berlin the day before check-in, on the lock at once.
    w.advance(at("2026-03-10T23:00:00Z") - w.now());
    tick_now(&w);
    let pins = w.stub().pins();
    assert_eq!(pins.len(), 1, "{pins:?}");
    let pin = pins[0].pin.clone();
    assert_eq!((pins[0].start, pins[0].end), (at("2026-03-12T13:30:00Z"), at("2026-03-14T10:30:00Z")));
    assert_eq!(render::render_variable(&w.host, "smartlock_code", "bk-1"), Some(pin.clone()));

    // One more night: moved in place, same PIN.
    w.advance(3600);
    events::on_booking_changed(&w.host, booking("2026-03-15", true), property()).expect("change");
    tick_now(&w);
    let pins = w.stub().pins();
    assert_eq!(pins.len(), 2, "{pins:?}");
    assert_eq!(pins[0].removed_at, Some(w.now()));
    assert_eq!(
        (pins[1].pin.as_str(), pins[1].end, pins[1].removed_at),
        (pin.as_str(), at("2026-03-15T10:30:00Z"), None)
    );
    assert_eq!(w.count(TtlockEndpoint::PwdChange), 1);

    // Cancelled: deleted from the lock.
    w.advance(3600);
    events::on_booking_changed(&w.host, booking("2026-03-15", false), property()).expect("cancel");
    tick_now(&w);
    assert!(w.stub().pins().iter().all(|p| p.removed_at.is_some()));
    assert_eq!(w.count(TtlockEndpoint::PwdDelete), 1);
    assert_eq!(w.count(TtlockEndpoint::LockDetail), 0);
}
