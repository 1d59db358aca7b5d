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

/// When a stage's output moves to the next stage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Handoff {
    /// After every stage (separate functions or services per stage).
    #[default]
    Always,
    /// Only when the next task runs elsewhere: consecutive stages on the same VM pool share
    /// the process and pass activations in memory.
    OnChange,
}

/// A network path: fixed latency plus size over bandwidth.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Link {
    /// Per-transfer latency.
    pub latency: SimDuration,
    /// Bytes per second.
    pub bandwidth: f64,
    /// Dollars per GB (10^9 bytes) moved.
    pub price_per_gb: f64,
    /// Dollars per transfer (e.g. an API gateway request).
    pub price_per_transfer: f64,
}

impl Link {
    /// A free link with this latency and bandwidth.
    pub fn free(latency: SimDuration, bandwidth: f64) -> Self {
        Link {
            latency,
            bandwidth,
            price_per_gb: 0.0,
            price_per_transfer: 0.0,
        }
    }

    /// Dollars charged for moving `bytes` once.
    pub fn cost(&self, bytes: u64) -> f64 {
        bytes as f64 / 1e9 * self.price_per_gb + self.price_per_transfer
    }

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
    /// Network between VMs of different pools (early-exit hand-offs).
    pub network: Link,
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
        let l = Link::free(SimDuration::from_millis(20), 100e6);
        assert_eq!(l.time(50_000_000), SimDuration::from_millis(520));
        assert_eq!(l.time(0), SimDuration::from_millis(20));
    }
}
