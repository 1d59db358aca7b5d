//! Data movement between stages: direct invocation payloads and an S3-like object store.

use crate::kernel::SimDuration;

/// How a stage's output reaches the next stage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Transfer {
    /// In the invocation payload (size-limited, not billed as storage).
    #[default]
    Payload,
    /// Through the object store: one PUT by the producer, one GET per consuming task.
    Storage,
}

/// A network path: fixed latency plus size over bandwidth.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Link {
    /// Per-transfer latency.
    pub latency: SimDuration,
    /// Bytes per second.
    pub bandwidth: f64,
}

impl Link {
    /// Time to move `bytes`.
    pub fn time(&self, bytes: u64) -> SimDuration {
        if bytes == 0 {
            return self.latency;
        }
        self.latency + SimDuration::from_secs_f64(bytes as f64 / self.bandwidth)
    }
}

/// The validated payload and storage model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DataConfig {
    /// Payload path (invoke request/response).
    pub payload: Link,
    /// Payload size limit.
    pub payload_limit: u64,
    /// Object store path (each PUT or GET).
    pub storage: Link,
    /// Largest object.
    pub storage_max_object: u64,
    /// $ per PUT.
    pub put_price: f64,
    /// $ per GET.
    pub get_price: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_time_is_latency_plus_size_over_bandwidth() {
        let l = Link {
            latency: SimDuration::from_millis(20),
            bandwidth: 100e6,
        };
        assert_eq!(l.time(50_000_000), SimDuration::from_millis(520));
        assert_eq!(l.time(0), SimDuration::from_millis(20));
    }
}
