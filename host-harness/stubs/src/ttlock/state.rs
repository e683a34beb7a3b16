//! The stub's mutable world and its simulated clock: accounts and tokens,
//! locks and gateways with TTLock's stale views of them, the cloud's
//! passcode records, the locks' own PIN tables, faults, counters and the
//! monthly quota.
//!
//! Two views are kept apart on purpose, because TTLock's weakest point is
//! that they diverge:
//! - the **cloud records** ([`Passcode`]): what `listKeyboardPwd` shows,
//!   written by every successful add / change / delete, including the
//!   cloud-only variants (`addType` 1, `changeType` 1, `deleteType` 1);
//! - the **lock's PIN table** ([`PinRecord`]s): changed only by a gateway or
//!   Wi-Fi write (type 2) or by hand in the TTLock app. This is the truth
//!   scenarios are judged on.
//!
//! Gateways (exact to the simulated second): a gateway that loses power is
//! still reported `isOnline: 1` for [`HEARTBEAT`] seconds and its links to
//! locks (`hasGateway`, `listByLock`) last [`LINK_CACHE`] seconds; writes
//! through it fail at once with -3002 while the link lasts and with -2012
//! ("no gateway near") after it. A gateway or Wi-Fi lock carries out one
//! command at a time: a call while another is in flight gets -3003 / -3037.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Datelike};
use md5::{Digest, Md5};

use super::config::{wire_id, TtlockConfig};
use super::offline::OfflineCode;
use super::{FaultKind, PinRecord, StubError, TtlockEndpoint};
use crate::faults::FaultQueue;
use crate::sim::Simulation;
use crate::HttpCounts;

/// Access-token lifetime (`expires_in`): 90 days.
pub const TOKEN_LIFETIME: i64 = 90 * 86_400;
/// Refresh-token lifetime: "10 years", taken as 3650 days.
pub const REFRESH_LIFETIME: i64 = 3650 * 86_400;
/// How far a request's `date` may be from the server clock (ms).
pub const DATE_TOLERANCE_MS: i64 = 5 * 60 * 1000;
/// A gateway-lock link counts this long after the gateway's last scan.
pub const LINK_CACHE: i64 = 30 * 60;
/// A gateway that lost power is still reported online this long.
pub const HEARTBEAT: i64 = 8 * 60;
/// Custom passcodes a lock holds at most (-3009 beyond).
pub const MAX_CUSTOM_PASSCODES: usize = 250;
/// The monthly call quota per application. Its real size is undocumented
/// (one user reported 5000, a guess): the stub takes that, the stricter
/// reading; [`super::Ttlock::set_monthly_quota`] changes or lifts it.
pub const DEFAULT_MONTHLY_QUOTA: u64 = 5000;
/// The end instant a permanent passcode (type 2) has on the lock, since
/// [`PinRecord`] needs one: 9999-12-31T23:59:59Z.
pub const PERMANENT_END: i64 = 253_402_300_799;

/// Report and log name of the vendor.
pub(crate) const PROVIDER: &str = "ttlock";

pub(crate) struct Account {
    pub username: String,
    /// Lower-case hex MD5 of the configured password, as the API expects.
    pub password_md5: String,
    pub uid: i64,
}

pub(crate) struct Lock {
    /// The id as the file and the report spell it.
    pub id: String,
    pub wire_id: i64,
    pub name: String,
    /// Index into `State::gateways`.
    pub gateway: Option<usize>,
    pub wifi: bool,
    pub utc_offset_minutes: i32,
    /// The cloud can compute offline passcodes for it (else -1007).
    pub passcode_data: bool,
    /// A command is in flight on this Wi-Fi lock.
    pub busy: bool,
    /// Admin secrets shown by `lock/detail` (R2: the plugin must never show
    /// them anywhere): `noKeyPwd`/`adminPwd`, `lockKey`, `aesKeyStr`, `lockData`.
    pub secrets: LockSecrets,
}

#[derive(Debug, Clone)]
pub(crate) struct LockSecrets {
    pub admin_pin: String,
    pub admin_pwd: String,
    pub lock_key: String,
    pub aes_key: String,
    pub lock_data: String,
}

pub(crate) struct Gateway {
    pub id: String,
    pub wire_id: i64,
    pub name: String,
    /// Powered and connected, as the world really is.
    pub online: bool,
    /// When it lost power (None while online).
    pub offline_since: Option<i64>,
    /// A command is in flight through this gateway.
    pub busy: bool,
}

impl Gateway {
    /// What the cloud reports as `isOnline`: stale for [`HEARTBEAT`] s.
    pub fn reported_online(&self, now: i64) -> bool {
        self.online || self.offline_since.is_some_and(|t| now < t + HEARTBEAT)
    }

    /// Whether the cloud still links it to its locks ([`LINK_CACHE`]).
    pub fn link_alive(&self, now: i64) -> bool {
        self.online || self.offline_since.is_some_and(|t| now < t + LINK_CACHE)
    }

    /// When it last scanned for locks (ms), shown as `rssiUpdateDate`.
    pub fn last_scan_ms(&self, now: i64) -> i64 {
        self.offline_since.unwrap_or(now) * 1000
    }
}

/// One passcode as the cloud records it.
#[derive(Debug, Clone)]
pub(crate) struct Passcode {
    pub id: i64,
    /// Index into `State::locks`.
    pub lock: usize,
    pub pwd: String,
    pub name: String,
    /// 1 one-time, 2 permanent, 3 period, ...
    pub pwd_type: i64,
    pub start_ms: i64,
    pub end_ms: i64,
    pub send_ms: i64,
    pub custom: bool,
    pub sender: String,
    /// Index into `State::pins` of its entry on the lock, while it is there.
    pub on_lock: Option<usize>,
}

/// Through what a write reaches the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Channel {
    Gateway(usize),
    Wifi(usize),
}

pub(crate) struct AccessToken {
    pub account: usize,
    pub expires_at: i64,
    /// Revoked tokens answer 10004 like expired ones (unknown ones 10003).
    pub revoked: bool,
}

pub(crate) struct RefreshToken {
    pub account: usize,
    /// The access token issued with it, revoked when it is used.
    pub access: String,
    pub expires_at: i64,
}

/// Everything behind the `Ttlock` mutex.
pub(crate) struct State {
    now: i64,
    pub client_id: String,
    pub client_secret: String,
    pub accounts: Vec<Account>,
    pub locks: Vec<Lock>,
    pub gateways: Vec<Gateway>,
    /// The cloud's passcode records, oldest first; deleted ones are removed.
    pub passcodes: Vec<Passcode>,
    next_passcode_id: i64,
    pub pins: Vec<PinRecord>,
    /// Every offline passcode issued (`keyboardPwd/get`), oldest first.
    pub offline: Vec<OfflineCode>,
    /// (lock, start ms, end ms) of offline windows whose code was deleted:
    /// asking for them again is -1026.
    pub burnt_windows: HashSet<(usize, i64, i64)>,
    pub tokens: HashMap<String, AccessToken>,
    pub refresh_tokens: HashMap<String, RefreshToken>,
    pub faults: FaultQueue<TtlockEndpoint, FaultKind>,
    /// Every API request, including unknown routes; per endpoint keyed
    /// `ttlock.*`, every endpoint present.
    pub counts: HttpCounts,
    pub quota: Option<u64>,
    /// (year, month) in Beijing time of `month_count`.
    quota_month: (i32, u32),
    pub month_count: u64,
    /// Real time a gateway / Wi-Fi write takes (the call is synchronous).
    pub command_delay: Duration,
    /// When set, `changeType` 2 answers -3008 for every passcode (none is
    /// ever typed on a simulated keypad), to test a fallback to delete + add.
    pub change_needs_prior_use: bool,
    /// Fallback entropy when the OS source fails (it should not).
    id_counter: u64,
}

/// Lower-case hex MD5 of `text`, as TTLock wants passwords.
pub(crate) fn md5_hex(text: &str) -> String {
    Md5::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// `ms` rounded down to the minute: the lock keeps windows to the minute.
pub(crate) fn floor_minute_ms(ms: i64) -> i64 {
    ms.div_euclid(60_000).saturating_mul(60_000)
}

impl State {
    pub fn new(config: TtlockConfig, now: i64) -> State {
        let mut state = State {
            now,
            client_id: config.app.client_id,
            client_secret: config.app.client_secret,
            accounts: Vec::new(),
            locks: Vec::new(),
            gateways: Vec::new(),
            passcodes: Vec::new(),
            // Ids in the range of the API doc's examples.
            next_passcode_id: 3_234_293,
            pins: Vec::new(),
            offline: Vec::new(),
            burnt_windows: HashSet::new(),
            tokens: HashMap::new(),
            refresh_tokens: HashMap::new(),
            faults: FaultQueue::default(),
            counts: HttpCounts::zero(
                TtlockEndpoint::ALL.into_iter().filter(|e| e.listed_at_zero()).map(TtlockEndpoint::report_key),
            ),
            quota: Some(DEFAULT_MONTHLY_QUOTA),
            quota_month: beijing_month(now),
            month_count: 0,
            command_delay: Duration::ZERO,
            change_needs_prior_use: false,
            id_counter: 0,
        };
        state.accounts = config
            .accounts
            .into_iter()
            .enumerate()
            .map(|(i, a)| Account { username: a.username, password_md5: md5_hex(&a.password), uid: 2340 + i as i64 })
            .collect();
        for g in config.gateways {
            let Some(wire) = wire_id(&g.id) else {
                tracing::warn!(gateway = %g.id, "ttlock stub: gateway id is not numeric; skipped");
                continue;
            };
            // A gateway that starts offline is taken to have lost power at
            // the start instant: the cloud's views of it are still fresh.
            let offline_since = (!g.online).then_some(now);
            state.gateways.push(Gateway {
                id: g.id,
                wire_id: wire,
                name: g.name,
                online: g.online,
                offline_since,
                busy: false,
            });
        }
        for l in config.locks {
            let Some(wire) = wire_id(&l.id) else {
                tracing::warn!(lock = %l.id, "ttlock stub: lock id is not numeric; skipped");
                continue;
            };
            let gateway = l.gateway.as_deref().and_then(|g| state.gateway_index(g));
            let secrets = state.new_secrets();
            state.locks.push(Lock {
                id: l.id,
                wire_id: wire,
                name: l.name,
                gateway,
                wifi: l.wifi,
                utc_offset_minutes: l.utc_offset_minutes,
                passcode_data: true,
                busy: false,
                secrets,
            });
        }
        // Every lock's list also holds a random (non-custom) one-time code
        // the owner once sent, long expired: clients must not assume every
        // listed passcode is theirs or a period code. Random codes are
        // computed by the lock's algorithm, not stored in its PIN table, so
        // it is no lock-side PIN.
        let owner = state.accounts.first().map(|a| a.username.clone()).unwrap_or_default();
        for li in 0..state.locks.len() {
            let pwd = format!("{:09}", 318_540_227 + (state.locks[li].wire_id % 600_000_000));
            let sent_ms = (now - 40 * 86_400) * 1000;
            let r =
                state.add_record(li, pwd, "One-time code".into(), 1, sent_ms, sent_ms + 6 * 3_600_000, false, &owner);
            state.passcodes[r].send_ms = sent_ms;
        }
        state
    }

    pub fn now_ms(&self) -> i64 {
        self.now.saturating_mul(1000)
    }

    pub fn lock_index(&self, id: &str) -> Option<usize> {
        self.locks.iter().position(|l| l.id == id)
    }

    pub fn lock_by_wire(&self, wire: i64) -> Option<usize> {
        self.locks.iter().position(|l| l.wire_id == wire)
    }

    pub fn gateway_index(&self, id: &str) -> Option<usize> {
        self.gateways.iter().position(|g| g.id == id)
    }

    pub fn gateway_by_wire(&self, wire: i64) -> Option<usize> {
        self.gateways.iter().position(|g| g.wire_id == wire)
    }

    /// The lock's gateway while the cloud still links them.
    pub fn linked_gateway(&self, lock: usize) -> Option<usize> {
        self.locks[lock].gateway.filter(|&g| self.gateways[g].link_alive(self.now))
    }

    /// Locks the cloud links to a gateway right now, in configuration order.
    pub fn linked_locks(&self, gateway: usize) -> Vec<usize> {
        (0..self.locks.len()).filter(|&l| self.linked_gateway(l) == Some(gateway)).collect()
    }

    pub fn set_gateway_online(&mut self, id: &str, online: bool) -> Result<(), StubError> {
        let gi = self.gateway_index(id).ok_or_else(|| StubError::UnknownGateway(id.to_string()))?;
        let now = self.now;
        let g = &mut self.gateways[gi];
        if g.online != online {
            g.online = online;
            g.offline_since = (!online).then_some(now);
            tracing::debug!(gateway = id, online, now, "ttlock stub: gateway state changed");
        }
        Ok(())
    }

    /// The route a write to the lock would take now, or the errcode of why
    /// there is none: -2012 no gateway near (and not Wi-Fi), -3002 gateway
    /// offline, -3003 gateway busy, -3037 Wi-Fi lock busy.
    pub fn channel(&self, lock: usize) -> Result<Channel, i64> {
        if let Some(g) = self.linked_gateway(lock) {
            let gw = &self.gateways[g];
            return if !gw.online {
                Err(-3002)
            } else if gw.busy {
                Err(-3003)
            } else {
                Ok(Channel::Gateway(g))
            };
        }
        if self.locks[lock].wifi {
            return if self.locks[lock].busy { Err(-3037) } else { Ok(Channel::Wifi(lock)) };
        }
        Err(-2012)
    }

    pub fn set_busy(&mut self, channel: Channel, busy: bool) {
        match channel {
            Channel::Gateway(g) => self.gateways[g].busy = busy,
            Channel::Wifi(l) => self.locks[l].busy = busy,
        }
    }

    /// Whether the channel can still deliver a command that is in flight:
    /// a gateway that lost power meanwhile cannot (-3002).
    pub fn channel_still_up(&self, channel: Channel) -> Result<(), i64> {
        match channel {
            Channel::Gateway(g) if !self.gateways[g].online => Err(-3002),
            _ => Ok(()),
        }
    }

    /// Writes a PIN into the lock's table at the current instant; its index.
    pub fn put_on_lock(&mut self, lock: usize, pin: &str, name: &str, start_ms: i64, end_ms: i64) -> usize {
        self.pins.push(PinRecord {
            provider: PROVIDER,
            lock: self.locks[lock].id.clone(),
            pin: pin.to_string(),
            access_name: name.to_string(),
            start: start_ms.div_euclid(1000),
            end: end_ms.div_euclid(1000),
            added_at: self.now,
            removed_at: None,
            kind: crate::PinKind::of_access_name(name),
        });
        self.pins.len() - 1
    }

    /// Erases a PIN from the lock's table at the current instant.
    pub fn take_off_lock(&mut self, pin: usize) {
        let now = self.now;
        if let Some(p) = self.pins.get_mut(pin) {
            p.removed_at.get_or_insert(now);
        }
    }

    /// Adds a cloud record and returns its index in `passcodes`.
    #[allow(clippy::too_many_arguments)]
    pub fn add_record(
        &mut self,
        lock: usize,
        pwd: String,
        name: String,
        pwd_type: i64,
        start_ms: i64,
        end_ms: i64,
        custom: bool,
        sender: &str,
    ) -> usize {
        let id = self.next_passcode_id;
        self.next_passcode_id += 1;
        self.passcodes.push(Passcode {
            id,
            lock,
            pwd,
            name,
            pwd_type,
            start_ms,
            end_ms,
            send_ms: self.now_ms(),
            custom,
            sender: sender.to_string(),
            on_lock: None,
        });
        self.passcodes.len() - 1
    }

    pub fn record_index(&self, lock: usize, id: i64) -> Option<usize> {
        self.passcodes.iter().position(|p| p.lock == lock && p.id == id)
    }

    /// The errcode a new or changed code `pwd` on `lock` gets from the
    /// cloud's rules, or None: -2032 too simple, -3007 already there (in
    /// the lock's table or the cloud's records; `except` is the index of the
    /// record being changed, which does not collide with itself), -3009 no
    /// room (adds only; every custom record of the lock counts, cloud-only
    /// ones included, the stricter reading).
    pub fn check_code(&self, lock: usize, pwd: &str, except: Option<usize>, adding: bool) -> Option<i64> {
        if too_simple(pwd) {
            return Some(-2032);
        }
        let own_pin = except.and_then(|r| self.passcodes.get(r)).and_then(|p| p.on_lock);
        let id = self.locks[lock].id.as_str();
        let on_lock = self
            .pins
            .iter()
            .enumerate()
            .any(|(i, p)| p.lock == id && p.removed_at.is_none() && p.pin == pwd && Some(i) != own_pin);
        let in_cloud =
            self.passcodes.iter().enumerate().any(|(i, p)| p.lock == lock && p.pwd == pwd && Some(i) != except);
        if on_lock || in_cloud {
            return Some(-3007);
        }
        if adding && self.passcodes.iter().filter(|p| p.lock == lock && p.custom).count() >= MAX_CUSTOM_PASSCODES {
            return Some(-3009);
        }
        None
    }

    /// Charges one call to the application's monthly quota (Beijing-time
    /// months). False when the quota is used up: the call is refused
    /// (30007) and not counted.
    pub fn charge_quota(&mut self) -> bool {
        let month = beijing_month(self.now);
        if month != self.quota_month {
            self.quota_month = month;
            self.month_count = 0;
        }
        if self.quota.is_some_and(|q| self.month_count >= q) {
            return false;
        }
        self.month_count += 1;
        true
    }

    /// The calls charged this (Beijing) month so far.
    pub fn month_request_count(&self) -> u64 {
        if beijing_month(self.now) == self.quota_month {
            self.month_count
        } else {
            0
        }
    }

    /// 32 lower-case hex characters from the OS's random source, like
    /// TTLock's tokens.
    pub fn new_token(&mut self) -> String {
        let b: [u8; 16] = self.random_bytes();
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    fn new_secrets(&mut self) -> LockSecrets {
        let r: [u8; 40] = self.random_bytes();
        let digits: String = r[..7].iter().map(|b| char::from(b'0' + b % 10)).collect();
        let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        LockSecrets {
            admin_pin: digits,
            admin_pwd: b64.encode(&r[7..17]),
            lock_key: b64.encode(&r[17..25]),
            aes_key: r[24..40].iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(","),
            lock_data: b64.encode(format!("stub-lockdata:{}", hex(&r))),
        }
    }

    /// Random bytes for tokens and secrets.
    pub fn random_bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut b = [0u8; N];
        if getrandom::fill(&mut b).is_err() {
            self.id_counter += 1;
            for (i, x) in b.iter_mut().enumerate() {
                *x = (self.id_counter.rotate_left(i as u32 % 64) as u8) ^ (i as u8) ^ (self.now as u8);
            }
        }
        b
    }
}

impl Simulation for State {
    const VENDOR: &'static str = PROVIDER;

    fn now(&self) -> i64 {
        self.now
    }

    /// Everything time-dependent (token expiry, stale gateway views, the
    /// quota month) is computed from the clock when asked, so nothing else
    /// has to happen here.
    fn advance(&mut self, now: i64) {
        self.now = now;
    }
}

/// (year, month) of `secs` in Beijing time (UTC+8, no DST), when TTLock's
/// monthly quota resets.
fn beijing_month(secs: i64) -> (i32, u32) {
    let d = DateTime::from_timestamp(secs.saturating_add(8 * 3600), 0).unwrap_or_default();
    (d.year(), d.month())
}

/// TTLock's "too simple" rule (-2032) is documented only in the Chinese
/// docs and its exact form is unknown. The stub refuses what any reading
/// includes: all digits the same, or one straight ascending or descending
/// run (123456, 987654).
pub(crate) fn too_simple(pwd: &str) -> bool {
    let d: Vec<i16> = pwd.bytes().map(|b| i16::from(b) - i16::from(b'0')).collect();
    if d.len() < 2 {
        return false;
    }
    let steps: Vec<i16> = d.windows(2).map(|w| w[1] - w[0]).collect();
    steps.iter().all(|&s| s == 0) || steps.iter().all(|&s| s == 1) || steps.iter().all(|&s| s == -1)
}
