//! What every Calico v3 object shares: `metadata` (name, labels) and the
//! scalar spellings Calico's API accepts (`numorstring.ASNumber`, Go
//! durations, labels written as YAML booleans or numbers).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer};

/// Labels of an object. Kubernetes labels are strings, but a manifest may
/// write `routeReflector: true` or `rack: 7`; Calico's tooling reads such a
/// scalar as its string form (`"true"`, `"7"`), and so does this type.
pub type Labels = BTreeMap<String, String>;

/// `metadata` of a Calico object, reduced to what the derivation reads.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Metadata {
    /// The object's name (its key in the datastore).
    #[serde(default)]
    pub name: String,
    /// Its labels (selectors match on them).
    #[serde(default, deserialize_with = "labels")]
    pub labels: Labels,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Bool(bool),
    Unsigned(u64),
    Signed(i64),
    Float(f64),
    Text(String),
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Bool(b) => b.fmt(f),
            Scalar::Unsigned(n) => n.fmt(f),
            Scalar::Signed(n) => n.fmt(f),
            Scalar::Float(n) => n.fmt(f),
            Scalar::Text(s) => s.fmt(f),
        }
    }
}

/// Reads labels whose values may be strings, booleans or numbers; a null
/// map is no labels.
pub(crate) fn labels<'de, D: Deserializer<'de>>(d: D) -> Result<Labels, D::Error> {
    let raw: Option<BTreeMap<String, Scalar>> = Option::deserialize(d)?;
    Ok(raw.unwrap_or_default().into_iter().map(|(k, v)| (k, v.to_string())).collect())
}

/// An AS number as Calico's `numorstring.ASNumber` accepts it: a number, a
/// decimal string, or `asdot` notation `high.low` (RFC 5396).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AsNumber(pub u32);

impl std::str::FromStr for AsNumber {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("AS number {s:?}: expected 0-4294967295 or asdot high.low");
        match s.split_once('.') {
            None => s.trim().parse().map(AsNumber).map_err(|_| bad()),
            Some((hi, lo)) => {
                let hi: u16 = hi.parse().map_err(|_| bad())?;
                let lo: u16 = lo.parse().map_err(|_| bad())?;
                Ok(AsNumber((u32::from(hi) << 16) | u32::from(lo)))
            }
        }
    }
}

impl<'de> Deserialize<'de> for AsNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Scalar::deserialize(d)? {
            Scalar::Unsigned(n) => u32::try_from(n).map(AsNumber).map_err(|_| {
                serde::de::Error::custom(format!("AS number {n} is above 4294967295"))
            }),
            Scalar::Text(s) => s.parse().map_err(serde::de::Error::custom),
            other => Err(serde::de::Error::custom(format!("AS number {other}: not a number"))),
        }
    }
}

/// A Go `time.Duration` string as Kubernetes' `metav1.Duration` writes it
/// (`"10s"`, `"2m30s"`, `"1h"`, `"500ms"`), in whole seconds (rounded down).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Duration {
    /// Whole seconds.
    pub seconds: u64,
}

impl std::str::FromStr for Duration {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("duration {s:?}: expected e.g. \"120s\", \"2m\" or \"1h30m\"");
        if s == "0" {
            return Ok(Duration { seconds: 0 });
        }
        let mut rest = s;
        let mut millis: u128 = 0;
        if rest.is_empty() {
            return Err(bad());
        }
        while !rest.is_empty() {
            let digits = rest.find(|c: char| !c.is_ascii_digit() && c != '.').ok_or_else(bad)?;
            if digits == 0 {
                return Err(bad());
            }
            let value: f64 = rest[..digits].parse().map_err(|_| bad())?;
            rest = &rest[digits..];
            let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
            let per_unit_ms: f64 = match &rest[..unit_len] {
                "h" => 3_600_000.0,
                "m" => 60_000.0,
                "s" => 1_000.0,
                "ms" => 1.0,
                "us" | "µs" => 0.001,
                "ns" => 0.000_001,
                _ => return Err(bad()),
            };
            rest = &rest[unit_len..];
            millis += (value * per_unit_ms) as u128;
        }
        Ok(Duration { seconds: u64::try_from(millis / 1000).map_err(|_| bad())? })
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

/// An address with an optional prefix length, as Calico writes node
/// addresses (`10.192.0.2/16`; a bare address is a host prefix).
pub(crate) fn ip_with_prefix<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<ipnet::IpNet>, D::Error> {
    let Some(s) = Option::<String>::deserialize(d)? else { return Ok(None) };
    if s.is_empty() {
        return Ok(None);
    }
    if let Ok(n) = s.parse::<ipnet::IpNet>() {
        return Ok(Some(n));
    }
    s.parse::<std::net::IpAddr>()
        .map(|a| Some(ipnet::IpNet::from(a)))
        .map_err(|_| serde::de::Error::custom(format!("{s:?} is not an IP address or CIDR")))
}

/// A null read as the type's default (Calico's JSON writes `null` lists).
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_number_reads_numbers_strings_and_asdot() {
        assert_eq!("64512".parse(), Ok(AsNumber(64512)));
        assert_eq!("1.10".parse(), Ok(AsNumber(65546)));
        assert!("x".parse::<AsNumber>().is_err());
        let n: AsNumber = serde_json::from_str("64512").unwrap();
        assert_eq!(n, AsNumber(64512));
        let n: AsNumber = serde_json::from_str("\"65000\"").unwrap();
        assert_eq!(n, AsNumber(65000));
        assert!(serde_json::from_str::<AsNumber>("4294967296").is_err());
    }

    #[test]
    fn go_durations_read_as_whole_seconds() {
        let secs = |s: &str| s.parse::<Duration>().map(|d| d.seconds);
        assert_eq!(secs("10s"), Ok(10));
        assert_eq!(secs("2m30s"), Ok(150));
        assert_eq!(secs("1h"), Ok(3600));
        assert_eq!(secs("1500ms"), Ok(1));
        assert_eq!(secs("0"), Ok(0));
        assert!(secs("10").is_err());
        assert!(secs("s").is_err());
        assert!(secs("").is_err());
    }

    #[test]
    fn labels_written_as_booleans_or_numbers_read_as_strings() {
        let m: Metadata =
            serde_json::from_str(r#"{"name":"n","labels":{"rr":true,"rack":7,"a":"b"}}"#).unwrap();
        assert_eq!(m.labels["rr"], "true");
        assert_eq!(m.labels["rack"], "7");
        assert_eq!(m.labels["a"], "b");
        let m: Metadata = serde_json::from_str(r#"{"name":"n","labels":null}"#).unwrap();
        assert!(m.labels.is_empty());
    }
}
