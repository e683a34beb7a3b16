// The second test of host-harness/tests/seam_fake.rs, to be appended to it
// once the Seam brand is in the registry (`brands::seam` does not exist in
// the build before): the plugin's own Seam client, natively, over loopback
// against Seam's fake. Checked against the registry work in progress
// (`registry!(igloohome, nuki, ttlock, seam)`): passes. Delete this file
// when it has moved.

mod client {
    use smartlock_plugin::brands::{seam, CodeSpec, Confirmed, Found, Op, Submitted, Vendor, VendorError};
    use smartlock_plugin::host::{Http, HttpError, HttpRequest, HttpResponse, Method};
    use smartlock_plugin::memory_host::MemoryHost;

    /// The client's requests, sent to the fake instead of Seam's origin.
    struct ToFake(String);

    impl Http for ToFake {
        fn send(&self, r: &HttpRequest) -> Result<HttpResponse, HttpError> {
            assert_eq!(r.method, Method::Post, "every Seam request is a POST");
            let url = r.url.strip_prefix(seam::API_BASE).map(|p| format!("{}{p}", self.0));
            let url = url.unwrap_or_else(|| panic!("a request outside Seam's origin: {}", r.url));
            let mut req = ureq::http::Request::builder().method("POST").uri(url);
            for (k, v) in &r.headers {
                req = req.header(k, v);
            }
            let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
            let mut resp = agent
                .run(req.body(r.body.clone()).expect("request"))
                .map_err(|e| HttpError::Transport(e.to_string()))?;
            let headers = resp
                .headers()
                .iter()
                .map(|(k, v)| (k.as_str().to_ascii_lowercase(), v.to_str().unwrap_or("").to_string()))
                .collect();
            let body = resp.body_mut().read_to_vec().map_err(|e| HttpError::Transport(e.to_string()))?;
            Ok(HttpResponse { status: resp.status().as_u16(), headers, body })
        }
    }

    /// 2030-03-20T13:30:00Z and two days on.
    const START: i64 = 1_900_330_200;

    fn spec<'a>(pin: &'a str, start: i64, code_id: Option<&'a str>) -> CodeSpec<'a> {
        CodeSpec {
            lock_id: super::LOCK,
            channel: super::LOCK,
            pin,
            name: "Ana Silva (bk-1)",
            start,
            end: start + 2 * 86_400,
            timezone: chrono_tz::UTC,
            code_id,
        }
    }

    #[test]
    fn r29_the_seam_client_connects_creates_moves_and_deletes_on_seams_fake() {
        let Some(fake) = super::FakeSeam::start() else { return };
        let host = MemoryHost::new(ToFake(fake.base.clone()), START - 3 * 86_400);

        let mut bad = seam::Client::new(&host, "seam_wrongkey_0000");
        assert!(matches!(bad.verify(), Err(VendorError::Unauthorized { .. })));

        let mut c = seam::Client::new(&host, super::KEY);
        assert_eq!(c.verify().expect("connects"), Some("My Workspace".to_string()));
        let locks = c.locks().expect("locks");
        let lock = locks.iter().find(|l| l.id == super::LOCK).expect("the August lock");
        assert!(lock.remote.is_some() && lock.needs.is_none(), "{lock:?}");
        assert!(!locks.iter().any(|l| l.id == "ecobee_device_1"), "a thermostat is no lock: {locks:?}");

        let Submitted::Pending(id) = c.create(&spec("482957", START, None)).expect("created") else { panic!() };
        // Unset and not scheduled on an August lock: not yet created (R29).
        assert_eq!(c.confirm(Op::Create, &spec("482957", START, Some(&id)), &id), Ok(Confirmed::Pending));
        assert_eq!(c.find(&spec("482957", START, None)), Ok(Found::Pending(id.clone())));
        // The PIN again, for another booking: taken (409).
        assert!(matches!(c.create(&spec("482957", START + 86_400, None)), Err(VendorError::PinTaken(_))));

        // Moved in place, same PIN.
        let moved = spec("482957", START + 86_400, Some(&id));
        assert_eq!(c.update(&moved), Ok(Submitted::Pending(id.clone())));
        assert_eq!(c.find(&moved), Ok(Found::Pending(id.clone())));

        assert_eq!(c.delete(&moved), Ok(Submitted::Pending(id.clone())));
        assert_eq!(c.confirm(Op::Delete, &moved, &id), Ok(Confirmed::Done(None)));
        assert_eq!(c.delete(&moved), Ok(Submitted::Done(None)), "a 404 on delete is done");
    }
}
