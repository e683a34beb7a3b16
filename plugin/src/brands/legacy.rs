//! Reading state written by 0.1, when the legacy brand was the only one:
//! names it stored that later versions spell differently are renamed before
//! a record is read, so no record type carries the old spelling.

use serde_json::{Map, Value};

/// 0.1 named a lock's channel after the legacy brand's link device.
const OLD_CHANNEL: &str = "bridge_id";
/// How [`OLD_CHANNEL`] appears as a key in stored JSON.
const OLD_CHANNEL_QUOTED: &str = "\"bridge_id\"";
const CHANNEL: &str = "channel";
/// Only objects describing a lock (an assignment, a code's placement) had it.
const LOCK_FIELD: &str = "lock_id";

/// Whether raw stored bytes may hold a 0.1 name. Asked only of a record
/// that does not read as it is: records written since 0.2 never do.
pub fn needs_upgrade(raw: &[u8]) -> bool {
    let needle = OLD_CHANNEL_QUOTED.as_bytes();
    raw.windows(needle.len()).any(|w| w == needle)
}

/// Renames 0.1's names to today's, at any depth, in place.
pub fn upgrade(value: &mut Value) {
    match value {
        Value::Object(map) => {
            rename_channel(map);
            map.values_mut().for_each(upgrade);
        }
        Value::Array(items) => items.iter_mut().for_each(upgrade),
        _ => {}
    }
}

fn rename_channel(map: &mut Map<String, Value>) {
    if map.contains_key(LOCK_FIELD) && !map.contains_key(CHANNEL) {
        if let Some(channel) = map.remove(OLD_CHANNEL) {
            map.insert(CHANNEL.to_string(), channel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_0_1_channel_is_renamed_wherever_a_lock_is_described() {
        let raw = br#"{"target": {"placement": {"lock_id": "L1", "bridge_id": "B1"}}, "job": null}"#;
        assert!(needs_upgrade(raw));
        let mut v: Value = serde_json::from_slice(raw).unwrap();
        upgrade(&mut v);
        assert_eq!(v, json!({"target": {"placement": {"lock_id": "L1", "channel": "B1"}}, "job": null}));
        // A map that is not a lock's (credentials) keeps its names.
        let mut creds = json!({"fields": {"bridge_id": "x"}});
        upgrade(&mut creds);
        assert_eq!(creds, json!({"fields": {"bridge_id": "x"}}));
        assert!(!needs_upgrade(br#"{"lock_id": "L1", "channel": "B1"}"#));
    }
}
