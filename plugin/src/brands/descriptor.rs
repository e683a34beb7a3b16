//! What the core knows of a brand: one [`Brand`] descriptor per brand
//! module, listed once in the registry (`brands/mod.rs`). The core speaks of
//! a brand only through [`BrandId`] and this descriptor, and hosts get the
//! same facts as data through the contract's `brands` export (R30).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Capabilities, REGISTRY};

/// One field of a brand's connect form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredentialField {
    /// The field's name in `connect`'s list and in error messages, e.g. `client_id`.
    pub name: &'static str,
    /// The form's label, e.g. "Client ID".
    pub label: &'static str,
    /// Where the manager finds the value.
    pub help: &'static str,
    /// A secret: never shown again, logged or returned (R2).
    pub secret: bool,
    /// Filled in by the host from its own configuration (TTLock's
    /// application), not typed by the manager.
    pub host_supplied: bool,
}

/// Named credential values, as the manager typed them or as stored.
pub type Fields = BTreeMap<String, String>;

/// A field the brand refused, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: String,
    pub reason: String,
}

/// A brand, as data: everything the core, the contract and the hosts need to
/// know of it besides its client.
#[derive(Debug)]
pub struct Brand {
    /// Stable id: storage keys, the contract, scenario files ("igloohome").
    pub id: &'static str,
    /// Display name ("TTLock").
    pub name: &'static str,
    /// The connect form's fields, in order.
    pub fields: &'static [CredentialField],
    /// Turns checked fields into what is stored (e.g. a password kept only
    /// as the hash the vendor wants). Runs after every field was checked
    /// present and printable.
    pub seal: fn(&mut Fields),
    /// The name shown for an account when the vendor gives none.
    pub login: fn(&Fields) -> String,
    /// The origins (`scheme://host`) the brand's API lives at: the hosts'
    /// default HTTP allow-list.
    pub origins: &'static [&'static str],
    pub capabilities: Capabilities,
}

impl Brand {
    /// The manager's fields checked (every one present, non-empty,
    /// printable, short) and sealed for storage. Every bad field is named.
    pub fn credentials(&'static self, mut given: Fields) -> Result<Credentials, Vec<FieldProblem>> {
        const MAX_LEN: usize = 512;
        let mut problems = Vec::new();
        for field in self.fields {
            match given.get(field.name) {
                None => problems.push(FieldProblem { field: field.name.into(), reason: "is missing".into() }),
                Some(v) if v.trim().is_empty() => {
                    problems.push(FieldProblem { field: field.name.into(), reason: "must not be empty".into() })
                }
                Some(v) if v.len() > MAX_LEN || v.chars().any(char::is_control) => problems.push(FieldProblem {
                    field: field.name.into(),
                    reason: format!("must be at most {MAX_LEN} printable characters"),
                }),
                Some(_) => {}
            }
        }
        for name in given.keys() {
            if !self.fields.iter().any(|f| f.name == name) {
                problems.push(FieldProblem {
                    field: super::clip_name(name),
                    reason: format!("is not a {} credential", self.name),
                });
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        (self.seal)(&mut given);
        Ok(Credentials { brand: BrandId(self), fields: given })
    }
}

/// A brand of the registry, by reference: copied freely, compared by id,
/// stored as its id. An id no brand of this build has does not deserialize.
#[derive(Clone, Copy)]
pub struct BrandId(&'static Brand);

impl BrandId {
    /// The registered brand with this id.
    pub fn parse(id: &str) -> Option<BrandId> {
        REGISTRY.iter().find(|b| b.id == id).map(|b| BrandId(b))
    }

    pub fn brand(self) -> &'static Brand {
        self.0
    }

    pub fn id(self) -> &'static str {
        self.0.id
    }

    pub fn name(self) -> &'static str {
        self.0.name
    }

    pub fn capabilities(self) -> &'static Capabilities {
        &self.0.capabilities
    }

    /// Every registered brand, in the registry's order.
    pub fn all() -> impl Iterator<Item = BrandId> {
        REGISTRY.iter().map(|b| BrandId(b))
    }

    /// Its position in the registry (lists are shown in this order).
    pub fn rank(self) -> usize {
        REGISTRY.iter().position(|b| b.id == self.0.id).unwrap_or(usize::MAX)
    }
}

impl From<&'static Brand> for BrandId {
    fn from(b: &'static Brand) -> Self {
        BrandId(b)
    }
}

impl PartialEq for BrandId {
    fn eq(&self, other: &Self) -> bool {
        self.0.id == other.0.id
    }
}
impl Eq for BrandId {}

impl fmt::Debug for BrandId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.id)
    }
}

impl fmt::Display for BrandId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name)
    }
}

impl Serialize for BrandId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.id)
    }
}

impl<'de> Deserialize<'de> for BrandId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let id = String::deserialize(d)?;
        BrandId::parse(&id).ok_or_else(|| serde::de::Error::custom(format!("no brand \"{id}\" in this build")))
    }
}

/// A brand's stored credentials (R1): the brand and its sealed fields, the
/// same JSON as 0.2 stored (`{"provider": "ttlock", "username": …}`).
/// Secrets never leave storage and the brand's own requests (R2).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    #[serde(rename = "provider")]
    pub brand: BrandId,
    #[serde(flatten)]
    pub fields: Fields,
}

impl Credentials {
    /// A field's value ("" when absent: the vendor then refuses it, R1).
    pub fn field(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", String::as_str)
    }
}

impl fmt::Debug for Credentials {
    /// Field names only: a debug print must not leak a secret (R2).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials").field("brand", &self.brand).field("fields", &self.fields.keys()).finish()
    }
}

/// A connected account, stored under `acct/{brand}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StoredConnection")]
pub struct Connection {
    pub credentials: Credentials,
    pub account_name: String,
}

impl Connection {
    pub fn brand(&self) -> BrandId {
        self.credentials.brand
    }
}

/// The stored shape, with 0.1's record (no brand: the legacy brand's
/// fields beside the name) still readable.
#[derive(Deserialize)]
#[serde(untagged)]
enum StoredConnection {
    Current {
        credentials: Credentials,
        account_name: String,
    },
    Legacy {
        account_name: String,
        #[serde(flatten)]
        fields: Fields,
    },
}

impl From<StoredConnection> for Connection {
    fn from(s: StoredConnection) -> Self {
        match s {
            StoredConnection::Current { credentials, account_name } => Connection { credentials, account_name },
            StoredConnection::Legacy { account_name, fields } => {
                Connection { credentials: Credentials { brand: super::legacy_brand(), fields }, account_name }
            }
        }
    }
}

/// Named values from pairs, e.g. `fields([("api_token", token)])`.
pub fn fields<const N: usize>(pairs: [(&str, &str); N]) -> Fields {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}
