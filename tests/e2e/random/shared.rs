//! Random timelines with shared doors (R26) and backup pools (R25): two
//! flats on the Nuki locks (101, 102), each keeping 0 to 2 spare codes,
//! sharing the igloohome entrance L1 (behind bridge B1); bookings of either
//! flat made, cancelled; the entrance taken from a flat and given back; the
//! flats' own links and the entrance's bridge off line for hours or days.
//! After each timeline the stubs' lock-side truth is judged:
//!
//! - (s1) never the same PIN twice on one lock at once, never two codes of
//!   one booking on one lock at once: two guests on the shared entrance at
//!   once hold different PINs;
//! - (s2) a flat's own lock holds only its own guests' codes and its own
//!   spare codes, never the other flat's guests';
//! - (s3) no backup code given to two bookings (the bookings' fallbacks);
//! - (s4) a cancelled booking's codes leave every lock by its next ticks,
//!   offline codes and links off line aside.

use super::*;

/// The flats' own locks and the shared entrance.
const FLATS: [&str; 2] = ["101", "102"];
const ENTRANCE: &str = "L1";
/// The igloohome bridge of the entrance, and the links of the flats' locks.
const ENTRANCE_LINK: &str = "B1";

#[derive(Debug, Clone)]
enum SharedEvent {
    /// A booking of flat `flat`, checking in `lead` days after it is made, for `nights`.
    Book { flat: usize, lead: i64, nights: i64 },
    /// Cancels the `n`th booking made so far (modulo), if any.
    Cancel { n: usize },
    /// The flat's lock (0, 1) or the entrance's bridge (2) off line for `hours`.
    Outage { link: usize, hours: i64 },
    /// The entrance taken from the flat, and given back `hours` later (0: never).
    Unshare { flat: usize, hours: i64 },
    /// The `n`th booking's flat lock off line from before its code is due
    /// until its check-in day (R12's alert, then a spare code, R25).
    Eve { n: usize },
}

#[derive(Debug, Clone)]
struct SharedTimeline {
    backups: [i64; 2],
    /// (minutes after the start, event), in any order.
    events: Vec<(i64, SharedEvent)>,
}

const SPAN: i64 = 30 * DAY;

fn shared_event() -> impl Strategy<Value = SharedEvent> {
    prop_oneof![
        4 => (0usize..2, 2i64..9, 1i64..4).prop_map(|(flat, lead, nights)| SharedEvent::Book { flat, lead, nights }),
        1 => (0usize..64).prop_map(|n| SharedEvent::Cancel { n }),
        2 => (0usize..3, 1i64..96).prop_map(|(link, hours)| SharedEvent::Outage { link, hours }),
        1 => (0usize..2, 0i64..72).prop_map(|(flat, hours)| SharedEvent::Unshare { flat, hours }),
        2 => (0usize..64).prop_map(|n| SharedEvent::Eve { n }),
    ]
}

fn shared_timeline() -> impl Strategy<Value = SharedTimeline> {
    ([1i64..=2, 0i64..=2], prop::collection::vec((10i64..(20 * 24 * 60), shared_event()), 6..16))
        .prop_map(|(backups, events)| SharedTimeline { backups, events })
}

/// What the run did, for the judge.
struct SharedOutcome {
    pins: Vec<PinRecord>,
    /// Booking id -> its flat.
    flat_of: BTreeMap<String, usize>,
    /// Booking id -> when it was cancelled.
    cancelled: BTreeMap<String, i64>,
    /// Booking id -> the backup PIN its status says it was given.
    backup_given: BTreeMap<String, String>,
    /// Per link (flat 101, flat 102, the entrance's bridge): (instant, online).
    links: [Vec<(i64, bool)>; 3],
}

fn link_name(link: usize) -> &'static str {
    if link < 2 {
        FLATS[link]
    } else {
        ENTRANCE_LINK
    }
}

fn link_of(p: &PinRecord) -> usize {
    match p.lock.as_str() {
        "101" => 0,
        "102" => 1,
        _ => 2,
    }
}

fn run_shared(tl: &SharedTimeline) -> Result<SharedOutcome, TestCaseError> {
    let start = t(START);
    let mut h =
        Harness::start(&runtime(), world(), start, 15).map_err(|e| TestCaseError::fail(format!("harness: {e:#}")))?;
    let apply = |h: &mut Harness, at: i64, action: serde_json::Value| -> Result<StepOutcome, TestCaseError> {
        let parsed: Action = serde_json::from_value(action.clone())
            .map_err(|e| TestCaseError::fail(format!("bad action {action}: {e}")))?;
        h.advance_to(at);
        Ok(h.apply(&parsed))
    };
    let must = |outcome: StepOutcome, what: &str| -> Result<(), TestCaseError> {
        prop_assert!(outcome.is_ok(), "{what}: {outcome:?}");
        Ok(())
    };
    must(apply(&mut h, start, connect_action(Brand::Igloohome))?, "connect igloohome")?;
    must(apply(&mut h, start, connect_action(Brand::Nuki))?, "connect nuki")?;
    for (i, flat) in FLATS.iter().enumerate() {
        let p = format!("flat{i}");
        let property =
            json!({"do": "property", "property": {"id": p, "name": format!("Flat {i}"), "timezone": "Europe/Paris"}});
        must(apply(&mut h, start + 60, property)?, "property")?;
        let assign = json!({"do": "assign", "property": p, "lock": flat, "provider": "nuki", "days_before": 3, "margin_minutes": 30, "backup_codes": tl.backups[i]});
        must(apply(&mut h, start + 120, assign)?, "assign")?;
        let share = json!({"do": "share_door", "property": p, "lock": ENTRANCE});
        must(apply(&mut h, start + 180, share)?, "share_door")?;
    }
    // The timeline's events, and the ones they imply later (a link back on
    // line, the entrance given back), in time order.
    let mut queue: Vec<(i64, SharedEvent, bool)> =
        tl.events.iter().map(|(m, e)| (start + 600 + m * 60, e.clone(), false)).collect();
    // (id, flat, check-in, check-out)
    let mut bookings: Vec<(String, usize, NaiveDate, NaiveDate)> = Vec::new();
    let mut out = SharedOutcome {
        pins: Vec::new(),
        flat_of: BTreeMap::new(),
        cancelled: BTreeMap::new(),
        backup_given: BTreeMap::new(),
        links: [vec![(start, true)], vec![(start, true)], vec![(start, true)]],
    };
    let mut offline_until = [0i64; 3];
    let mut shared = [true; 2];
    while !queue.is_empty() {
        queue.sort_by_key(|(at, _, _)| Reverse(*at));
        let Some((at, event, follow_up)) = queue.pop() else { break };
        match event {
            SharedEvent::Book { flat, lead, nights } => {
                let id = format!("b{}", bookings.len());
                let check_in = (at - start) / DAY + lead;
                let (day_in, day_out) = (day(start, check_in), day(start, check_in + nights));
                if t(&format!("{}T00:00:00Z", date_str(day_in))) <= at + DAY {
                    continue; // not a stay ahead of the event: skipped
                }
                must(apply(&mut h, at, stay(&id, flat, day_in, day_out, "confirmed"))?, "booking")?;
                out.flat_of.insert(id.clone(), flat);
                bookings.push((id, flat, day_in, day_out));
            }
            SharedEvent::Cancel { n } => {
                let Some((id, flat, day_in, day_out)) = bookings.get(n % bookings.len().max(1)).cloned() else {
                    continue;
                };
                if out.cancelled.contains_key(&id) || t(&format!("{}T00:00:00Z", date_str(day_out))) <= at {
                    continue; // already cancelled, or over
                }
                must(apply(&mut h, at, stay(&id, flat, day_in, day_out, "cancelled"))?, "cancel")?;
                out.cancelled.insert(id, at);
            }
            SharedEvent::Eve { n } => {
                let Some((_, flat, day_in, _)) = bookings.get(n % bookings.len().max(1)).cloned() else { continue };
                // Paris midnight of the check-in day, give or take an hour: off from 4 days before to noon of it.
                let check_in = t(&format!("{}T00:00:00Z", date_str(day_in)));
                let from = (check_in - 4 * DAY).max(at);
                if from >= check_in {
                    continue;
                }
                let hours = (check_in + 12 * HOUR - from) / HOUR;
                queue.push((from, SharedEvent::Outage { link: flat, hours }, false));
            }
            SharedEvent::Outage { link, hours } => {
                let online = follow_up;
                if !online && offline_until[link] > at {
                    continue; // already off line
                }
                let action = match link {
                    2 => json!({"do": "bridge", "bridge": ENTRANCE_LINK, "online": online}),
                    _ => json!({"do": "bridge", "provider": "nuki", "bridge": link_name(link), "online": online}),
                };
                must(apply(&mut h, at, action)?, "link")?;
                out.links[link].push((at, online));
                if !online {
                    offline_until[link] = at + hours * HOUR;
                    queue.push((at + hours * HOUR, SharedEvent::Outage { link, hours }, true));
                }
            }
            SharedEvent::Unshare { flat, hours } => {
                let p = format!("flat{flat}");
                let give_back = follow_up;
                if give_back == shared[flat] {
                    continue;
                }
                let action = if give_back {
                    json!({"do": "share_door", "property": p, "lock": ENTRANCE})
                } else {
                    json!({"do": "unshare_door", "property": p, "lock": ENTRANCE})
                };
                must(apply(&mut h, at, action)?, "share or unshare")?;
                shared[flat] = give_back;
                if !give_back && hours > 0 {
                    queue.push((at + hours * HOUR, SharedEvent::Unshare { flat, hours }, true));
                }
            }
        }
        // Every booking's fallback as the plugin says it now (R24/R25).
        for (id, ..) in &bookings {
            if let Ok(Ok(status)) = h.plugin.booking_status(id) {
                if let Some(f) = status.fallback.filter(|f| f.kind == "backup") {
                    out.backup_given.entry(id.clone()).or_insert(f.pin);
                }
            }
        }
    }
    h.advance_to(start + SPAN);
    out.pins = h.world.pins();
    Ok(out)
}

fn stay(id: &str, flat: usize, check_in: NaiveDate, check_out: NaiveDate, status: &str) -> serde_json::Value {
    json!({"do": "booking", "booking": {
        "id": id, "property": format!("flat{flat}"), "guest_name": format!("Guest {id}"),
        "check_in": date_str(check_in), "check_out": date_str(check_out), "status": status}})
}

fn online_throughout(changes: &[(i64, bool)], from: i64, to: i64) -> bool {
    let state_at = |at: i64| changes.iter().take_while(|(t, _)| *t <= at).last().is_none_or(|(_, on)| *on);
    state_at(from) && !changes.iter().any(|(t, on)| *t > from && *t <= to && !on)
}

/// Judges one run; returns (codes that reached the entrance, bookings given a backup code).
fn check_shared(o: &SharedOutcome) -> Result<(usize, usize), TestCaseError> {
    let booking_of = |p: &PinRecord| -> Option<String> {
        let open = p.access_name.rfind('(')?;
        Some(p.access_name[open + 1..].trim_end_matches(')').to_string())
    };
    // (s1)
    for (i, a) in o.pins.iter().enumerate() {
        for b in o.pins.iter().skip(i + 1) {
            if a.lock != b.lock || a.provider != b.provider || !overlap(a, b) {
                continue;
            }
            prop_assert!(a.pin != b.pin, "PIN {} twice on {} at once: {} / {}", a.pin, a.lock, show(a), show(b));
            if a.kind == PinKind::Code && b.kind == PinKind::Code {
                prop_assert!(
                    booking_of(a) != booking_of(b),
                    "two codes of one booking on {} at once: {} / {}",
                    a.lock,
                    show(a),
                    show(b)
                );
            }
        }
    }
    // (s2)
    for p in o.pins.iter().filter(|p| p.kind == PinKind::Code && p.provider == "nuki") {
        let flat = FLATS.iter().position(|f| *f == p.lock).expect("a flat's lock");
        let owner = booking_of(p).and_then(|b| o.flat_of.get(&b).copied());
        prop_assert_eq!(owner, Some(flat), "a code on flat {}'s lock that is not its guest's: {}", flat, show(p));
    }
    // (s3)
    let mut given: BTreeMap<&str, &str> = BTreeMap::new();
    for (booking, pin) in &o.backup_given {
        if let Some(other) = given.insert(pin, booking) {
            // A PIN drawn again for a fresh spare code much later is another code.
            let pool_records = o.pins.iter().filter(|p| p.pin == *pin && p.kind == PinKind::Backup).count();
            prop_assert!(pool_records > 1, "backup code {pin} given to {other} and {booking}");
        }
    }
    // (s4)
    for (booking, &at) in &o.cancelled {
        for p in o.pins.iter().filter(|p| p.kind == PinKind::Code && booking_of(p).as_deref() == Some(booking.as_str()))
        {
            let deadline = at.max(p.added_at) + CANCEL_SLACK;
            if !online_throughout(&o.links[link_of(p)], at, deadline + HOUR) {
                continue;
            }
            prop_assert!(until(p) <= deadline.max(p.end), "cancelled at {}, still on the lock: {}", utc(at), show(p));
        }
    }
    let entrance = o.pins.iter().filter(|p| p.lock == ENTRANCE && p.kind == PinKind::Code).count();
    Ok((entrance, o.backup_given.len()))
}

/// (s1)-(s4) over random timelines of two flats sharing an entrance, with
/// spare codes on their own locks.
#[test]
fn r26_random_shared_doors_and_backup_pools_never_share_a_code_and_clean_up_cancelled_stays() {
    let mut config = config();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = 8;
    }
    let (cases, seed) = (config.cases, config.rng_seed);
    let (entrance, backups) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let result = TestRunner::new(config).run(&shared_timeline(), |tl| {
        let (e, b) = check_shared(&run_shared(&tl)?)?;
        entrance.fetch_add(e, Ordering::Relaxed);
        backups.fetch_add(b, Ordering::Relaxed);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}\n{cases} cases from seed {seed}: PROPTEST_RNG_SEED={seed} PROPTEST_CASES={cases} replays them");
    }
    let (entrance, backups) = (entrance.into_inner(), backups.into_inner());
    println!("{cases} timelines: {entrance} codes on the shared entrance, {backups} bookings given a backup code");
    assert!(entrance > 0, "no timeline put a code on the shared entrance: the runs prove nothing");
}
