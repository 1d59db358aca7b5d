//! Quantities with units, as written in scenarios: `"250ms"`, `"10m"`, `"3008MB"`, `"50/s"`.
//!
//! A bare number where a unit is needed is an error: it is the most common silent mistake in
//! simulator configs (seconds or milliseconds?). Each type deserialises itself, so a bad value is
//! reported by the TOML parser with its line and key.
//!
//! The module sits at the top of the crate, below every layer that reads user text (scenario,
//! workload, cloud presets, report figures) and depending only on [`crate::kernel::SimDuration`]
//! and serde. It is not part of the kernel, which parses no user input and knows no file format.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::kernel::SimDuration;

/// A duration such as `"250ms"`, `"1.5s"`, `"10m"`, `"2h"`, `"1d"`, `"800us"`, `"10ns"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Duration(pub SimDuration);

/// A data size such as `"6MB"`, `"512KB"`, `"1.5GB"` (decimal: 1 MB = 10^6 bytes) or
/// `"1MiB"` (binary). Stored in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Bytes(pub u64);

/// A function memory size in MB (Lambda's "MB" are MiB-based units; we keep the number as
/// written): `"1769MB"` or `"2GB"` (= 2048 MB). Lambda allows 128–10,240 MB.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct MemoryMb(pub u32);

/// A rate in events per second, written `"50/s"`, `"3000/min"`, `"2/h"`. Must be positive.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Rate(pub f64);

/// A bandwidth in bytes per second, written `"100MB/s"`, `"1Gbit/s"`, `"10Mbit/s"`.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Bandwidth(pub f64);

/// A probability in [0, 1].
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Default)]
pub struct Probability(pub f64);

/// Parses a duration string; the error says what is allowed.
pub fn parse_duration(s: &str) -> Result<SimDuration, String> {
    let (num, unit) = split_number(s)?;
    let scale = match unit {
        "ns" => 1e-9,
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" | "sec" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        "" => {
            return Err(format!(
                "the duration \"{s}\" has no unit; write e.g. \"{s}s\" or \"{s}ms\" (units: ns, us, ms, s, m, h, d)"
            ));
        }
        other => {
            return Err(format!(
                "unknown duration unit \"{other}\" in \"{s}\"; allowed: ns, us, ms, s, m (minutes), h, d"
            ));
        }
    };
    if num < 0.0 {
        return Err(format!(
            "the duration \"{s}\" is negative; durations must be ≥ 0"
        ));
    }
    // Simulated time is integer nanoseconds in 64 bits: about 584 years.
    if !(num * scale).is_finite() || num * scale >= u64::MAX as f64 / 1e9 {
        return Err(format!(
            "the duration \"{s}\" is longer than a simulation can represent (time is counted in nanoseconds, up to about 584 years)"
        ));
    }
    Ok(SimDuration::from_secs_f64(num * scale))
}

/// Parses a data size string into bytes.
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let (num, unit) = split_number(s)?;
    let scale = match unit {
        "B" => 1.0,
        "KB" | "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "TB" => 1e12,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        "" => {
            return Err(format!(
                "the size \"{s}\" has no unit; write e.g. \"{s}KB\" (units: B, KB, MB, GB, TB, KiB, MiB, GiB)"
            ));
        }
        other => {
            return Err(format!(
                "unknown size unit \"{other}\" in \"{s}\"; allowed: B, KB, MB, GB, TB, KiB, MiB, GiB"
            ));
        }
    };
    if num < 0.0 {
        return Err(format!("the size \"{s}\" is negative"));
    }
    Ok((num * scale).round() as u64)
}

/// Parses a memory size into MB and checks Lambda's 128–10,240 MB range.
pub fn parse_memory(s: &str) -> Result<u32, String> {
    let (num, unit) = split_number(s)?;
    let mb = match unit {
        "MB" | "M" | "MiB" => num,
        "GB" | "G" | "GiB" => num * 1024.0,
        "" => {
            return Err(format!(
                "the memory size \"{s}\" has no unit; write e.g. \"{s}MB\" (units: MB, GB)"
            ));
        }
        other => {
            return Err(format!(
                "unknown memory unit \"{other}\" in \"{s}\"; allowed: MB, GB"
            ));
        }
    };
    if mb.fract() != 0.0 {
        return Err(format!("memory \"{s}\" is not a whole number of MB"));
    }
    if !(128.0..=10240.0).contains(&mb) {
        return Err(format!(
            "memory \"{s}\" ({mb} MB) is outside the allowed range 128MB–10240MB"
        ));
    }
    Ok(mb as u32)
}

/// Parses a rate into events per second; must be positive.
pub fn parse_rate(s: &str) -> Result<f64, String> {
    let Some((num, per)) = s.split_once('/') else {
        return Err(format!(
            "the rate \"{s}\" has no unit; write e.g. \"{s}/s\" (per s, min, h)"
        ));
    };
    let num: f64 = num.trim().parse().map_err(|_| {
        format!("\"{s}\" is not a rate: \"{num}\" is not a number (write e.g. \"50/s\")")
    })?;
    let scale = match per.trim() {
        "s" | "sec" => 1.0,
        "ms" => 1e3,
        "m" | "min" => 1.0 / 60.0,
        "h" => 1.0 / 3600.0,
        "d" => 1.0 / 86400.0,
        other => {
            return Err(format!(
                "unknown rate unit \"/{other}\" in \"{s}\"; allowed: /s, /ms, /min, /h, /d"
            ));
        }
    };
    if !(num > 0.0) || !num.is_finite() {
        return Err(format!(
            "the rate \"{s}\" must be a positive number per unit time"
        ));
    }
    Ok(num * scale)
}

/// Parses a bandwidth into bytes per second.
pub fn parse_bandwidth(s: &str) -> Result<f64, String> {
    let Some((size, per)) = s.split_once('/') else {
        return Err(format!(
            "the bandwidth \"{s}\" needs a unit such as \"100MB/s\" or \"1Gbit/s\""
        ));
    };
    if per.trim() != "s" {
        return Err(format!("bandwidth \"{s}\" must be per second (\"/s\")"));
    }
    let (num, unit) = split_number(size)?;
    let bytes = match unit {
        "B" => num,
        "KB" => num * 1e3,
        "MB" => num * 1e6,
        "GB" => num * 1e9,
        "Kbit" | "kbit" => num * 1e3 / 8.0,
        "Mbit" => num * 1e6 / 8.0,
        "Gbit" => num * 1e9 / 8.0,
        other => {
            return Err(format!(
                "unknown bandwidth unit \"{other}/s\" in \"{s}\"; allowed: B, KB, MB, GB, Kbit, Mbit, Gbit per s"
            ));
        }
    };
    if !(bytes > 0.0) {
        return Err(format!("the bandwidth \"{s}\" must be positive"));
    }
    Ok(bytes)
}

fn split_number(s: &str) -> Result<(f64, &str), String> {
    let t = s.trim();
    let end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(end);
    let num: f64 = num
        .parse()
        .map_err(|_| format!("\"{s}\" does not start with a number"))?;
    if !num.is_finite() {
        return Err(format!("\"{s}\" is not a finite number"));
    }
    Ok((num, unit.trim()))
}

/// A serde visitor that accepts a string and reports bare numbers with a hint.
struct UnitVisitor<F> {
    expecting: &'static str,
    example: &'static str,
    parse: F,
}

impl<'de, T, F: FnOnce(&str) -> Result<T, String>> Visitor<'de> for UnitVisitor<F> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "{} with a unit, e.g. \"{}\"",
            self.expecting, self.example
        )
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.parse)(v).map_err(E::custom)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        Err(E::custom(format!(
            "{} needs a unit: write a string such as \"{}\", not the bare number {v}",
            self.expecting, self.example
        )))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        self.visit_i64(v as i64)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        Err(E::custom(format!(
            "{} needs a unit: write a string such as \"{}\", not the bare number {v}",
            self.expecting, self.example
        )))
    }
}

macro_rules! unit_type {
    ($ty:ident, $expecting:literal, $example:literal, $parse:expr, $wrap:expr, $show:expr) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any(UnitVisitor {
                    expecting: $expecting,
                    example: $example,
                    parse: |s: &str| $parse(s).map($wrap),
                })
            }
        }
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&$show(self))
            }
        }
        impl std::str::FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                $parse(s).map($wrap)
            }
        }
    };
}

unit_type!(
    Duration,
    "a duration",
    "250ms",
    parse_duration,
    Duration,
    |d: &Duration| d.0.to_string()
);
unit_type!(
    Bytes,
    "a data size",
    "1MB",
    parse_bytes,
    Bytes,
    |b: &Bytes| format!("{}B", b.0)
);
unit_type!(
    MemoryMb,
    "a memory size",
    "1024MB",
    parse_memory,
    MemoryMb,
    |m: &MemoryMb| format!("{}MB", m.0)
);
unit_type!(
    Rate,
    "a rate",
    "50/s",
    parse_rate,
    Rate,
    |r: &Rate| format!("{}/s", r.0)
);
unit_type!(
    Bandwidth,
    "a bandwidth",
    "100MB/s",
    parse_bandwidth,
    Bandwidth,
    |b: &Bandwidth| format!("{}B/s", b.0)
);

impl<'de> Deserialize<'de> for Probability {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let p = f64::deserialize(d)?;
        if !(0.0..=1.0).contains(&p) {
            return Err(de::Error::custom(format!(
                "probability {p} is outside [0, 1]"
            )));
        }
        Ok(Probability(p))
    }
}

impl Serialize for Probability {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.0)
    }
}

impl Duration {
    /// The duration in the kernel's type.
    pub fn get(self) -> SimDuration {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(
            parse_duration("250ms").unwrap(),
            SimDuration::from_millis(250)
        );
        assert_eq!(parse_duration("10m").unwrap(), SimDuration::from_secs(600));
        assert_eq!(
            parse_duration("1.5s").unwrap(),
            SimDuration::from_millis(1500)
        );
        assert_eq!(parse_duration("2h").unwrap(), SimDuration::from_secs(7200));
        assert_eq!(parse_duration("1.2345ms").unwrap(), SimDuration(1_234_500));
        assert!(parse_duration("10").unwrap_err().contains("no unit"));
        assert!(
            parse_duration("10 parsecs")
                .unwrap_err()
                .contains("unknown duration unit")
        );
        assert!(parse_duration("-1s").unwrap_err().contains("negative"));
    }

    #[test]
    fn sizes_and_memory() {
        assert_eq!(parse_bytes("6MB").unwrap(), 6_000_000);
        assert_eq!(parse_bytes("1MiB").unwrap(), 1 << 20);
        assert_eq!(parse_memory("2GB").unwrap(), 2048);
        assert_eq!(parse_memory("1769MB").unwrap(), 1769);
        assert!(parse_memory("64MB").unwrap_err().contains("128MB–10240MB"));
        assert!(parse_memory("20000MB").unwrap_err().contains("outside"));
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("50/s").unwrap(), 50.0);
        assert_eq!(parse_rate("120/min").unwrap(), 2.0);
        assert!(parse_rate("0/s").unwrap_err().contains("positive"));
        assert!(parse_rate("-3/s").unwrap_err().contains("positive"));
        assert!(parse_rate("5").unwrap_err().contains("no unit"));
    }

    #[test]
    fn bandwidths() {
        assert_eq!(parse_bandwidth("100MB/s").unwrap(), 1e8);
        assert_eq!(parse_bandwidth("1Gbit/s").unwrap(), 1.25e8);
    }

    #[test]
    fn bare_numbers_are_rejected_with_a_hint() {
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct T {
            d: Duration,
        }
        let err = toml::from_str::<T>("d = 5").unwrap_err().to_string();
        assert!(err.contains("needs a unit"), "{err}");
    }
}
