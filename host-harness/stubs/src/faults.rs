//! Fault injection as every stub does it: per endpoint, a queue of armed
//! faults, each answering the next N calls; one is taken per request. What a
//! fault does is the vendor's own (`K`: a status to answer, 0 being the
//! hang marker, a spoiled body, a TTLock errcode, ...); the queueing is
//! shared.

use std::collections::{BTreeMap, VecDeque};
use std::str::FromStr;

use crate::StubResponse;

/// Armed faults per endpoint `E`, in arming order.
pub(crate) struct FaultQueue<E, K> {
    queues: BTreeMap<E, VecDeque<Armed<K>>>,
}

struct Armed<K> {
    kind: K,
    remaining: u32,
}

impl<E, K> Default for FaultQueue<E, K> {
    fn default() -> Self {
        FaultQueue { queues: BTreeMap::new() }
    }
}

impl<E: Ord + Copy, K: Copy> FaultQueue<E, K> {
    /// Arms `count` faults after any already armed; `count == 0` disarms all
    /// faults of that endpoint.
    pub fn arm(&mut self, ep: E, kind: K, count: u32) {
        let q = self.queues.entry(ep).or_default();
        if count == 0 {
            q.clear();
        } else {
            q.push_back(Armed { kind, remaining: count });
        }
    }

    /// Takes the next armed fault for an endpoint, if any.
    pub fn take(&mut self, ep: E) -> Option<K> {
        let q = self.queues.get_mut(&ep)?;
        let front = q.front_mut()?;
        let kind = front.kind;
        front.remaining = front.remaining.saturating_sub(1);
        if front.remaining == 0 {
            q.pop_front();
        }
        Some(kind)
    }
}

/// A broken 200-class answer (the request is still carried out for real,
/// only its response body is spoiled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MalformedKind {
    /// The body is replaced by text that is not JSON.
    Malformed,
    /// The real body cut in half (with a matching Content-Length).
    Truncated,
}

/// A malformed-response kind that is neither `malformed` nor `truncated`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown malformed-response kind {0:?} (expected malformed or truncated)")]
pub struct UnknownMalformedKind(pub String);

impl MalformedKind {
    /// The name in scenario files (a `fault` step's `kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            MalformedKind::Malformed => "malformed",
            MalformedKind::Truncated => "truncated",
        }
    }

    /// Spoils `resp`'s body: replaced by `garbage` (the vendor's idea of a
    /// broken body) or cut in half.
    pub(crate) fn spoil(self, mut resp: StubResponse, garbage: &[u8]) -> StubResponse {
        match self {
            MalformedKind::Malformed => resp.body = garbage.to_vec(),
            MalformedKind::Truncated => {
                let half = resp.body.len() / 2;
                resp.body.truncate(half);
            }
        }
        resp
    }
}

impl FromStr for MalformedKind {
    type Err = UnknownMalformedKind;
    fn from_str(s: &str) -> Result<MalformedKind, UnknownMalformedKind> {
        match s {
            "malformed" => Ok(MalformedKind::Malformed),
            "truncated" => Ok(MalformedKind::Truncated),
            _ => Err(UnknownMalformedKind(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_queue_per_endpoint_and_count_zero_disarms() {
        let mut q: FaultQueue<u8, u16> = FaultQueue::default();
        q.arm(1, 500, 2);
        q.arm(1, 0, 1);
        q.arm(2, 429, 1);
        assert_eq!([q.take(1), q.take(1), q.take(1), q.take(1)], [Some(500), Some(500), Some(0), None]);
        q.arm(2, 503, 0);
        assert_eq!(q.take(2), None);
        assert_eq!(q.take(3), None);
    }

    #[test]
    fn malformed_kinds_parse_and_spoil() {
        assert_eq!("truncated".parse::<MalformedKind>(), Ok(MalformedKind::Truncated));
        assert_eq!(MalformedKind::Malformed.as_str().parse::<MalformedKind>(), Ok(MalformedKind::Malformed));
        assert!("status".parse::<MalformedKind>().unwrap_err().to_string().contains("malformed or truncated"));
        let resp = StubResponse::json(200, &serde_json::json!({"a": 1}));
        assert_eq!(MalformedKind::Truncated.spoil(resp.clone(), b"x").body, &resp.body[..resp.body.len() / 2]);
        assert_eq!(MalformedKind::Malformed.spoil(resp, b"x").body, b"x");
    }
}
