//! The usage ledger: exact integer usage accumulated during a run, priced once at the end.
//!
//! Lambda: billed time = ceil(duration / granularity) × granularity, in ms, times memory in MB.
//! VMs: billed seconds = max(minimum, ceil(uptime)) (or whole hours), uptime counted from launch,
//! so boot is paid. Storage: request counts. Dollars appear only in [`Ledger::costs`].

use crate::kernel::{NANOS_PER_SEC, SimDuration};

/// Per-run usage counters.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ledger {
    /// Σ billed_ms × memory_MB of on-demand invocations, per architecture price.
    pub faas_mb_ms: u128,
    /// Σ billed_ms × memory_MB of invocations served by provisioned concurrency.
    pub pc_duration_mb_ms: u128,
    /// Σ configured provisioned-concurrency MB × seconds (rounded up to 5 minutes).
    pub pc_configured_mb_s: u128,
    /// Number of function invocations (each is charged the request fee).
    pub faas_requests: u64,
    /// VM billed seconds × price, accumulated as exact micro-dollar-seconds per hour price:
    /// Σ billed_seconds × price_per_hour.
    pub vm_dollar_seconds_per_hour: f64,
    /// Σ VM billed seconds (all types).
    pub vm_billed_seconds: u64,
    /// Storage PUT requests.
    pub storage_puts: u64,
    /// Storage GET requests.
    pub storage_gets: u64,
    /// Bytes moved through storage (PUT + GET).
    pub storage_bytes: u128,
    /// Dollars charged for data transfer (payload and network prices).
    pub transfer_usd: f64,
}

/// Dollar amounts by component.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Costs {
    /// FaaS compute (on-demand duration plus provisioned concurrency).
    pub faas_compute: f64,
    /// FaaS request fees.
    pub faas_requests: f64,
    /// VM instance hours.
    pub vm: f64,
    /// Storage request fees.
    pub storage: f64,
    /// Data transfer (payloads between stages, network between VM pools).
    pub transfer: f64,
}

impl Costs {
    /// Sum of all components.
    pub fn total(&self) -> f64 {
        self.faas_compute + self.faas_requests + self.vm + self.storage + self.transfer
    }
}

/// Prices needed to turn usage into dollars.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Prices {
    /// $ per GB-s on demand.
    pub gb_s: f64,
    /// $ per request.
    pub per_request: f64,
    /// $ per GB-s of provisioned concurrency configured.
    pub pc_gb_s: f64,
    /// $ per GB-s of duration on provisioned concurrency.
    pub pc_duration_gb_s: f64,
    /// $ per storage PUT.
    pub put: f64,
    /// $ per storage GET.
    pub get: f64,
}

/// Billed milliseconds of one invocation: ceil(duration / granularity) × granularity.
#[inline]
pub fn billed_ms(duration: SimDuration, granularity: SimDuration) -> u64 {
    // Lambda's 1 ms granularity: a division by a constant (a multiply), not by a variable.
    if granularity.as_nanos() == 1_000_000 {
        return duration.as_nanos().div_ceil(1_000_000);
    }
    let g = granularity.as_nanos().max(1);
    let units = duration.as_nanos().div_ceil(g);
    // In ms; granularities are whole ms in practice, sub-ms ones are rounded up to a ms.
    units.saturating_mul(g).div_ceil(1_000_000)
}

/// Billed seconds of one VM: max(minimum, ceil(uptime)) with per-second billing, or whole hours.
pub fn vm_billed_seconds(uptime: SimDuration, minimum: SimDuration, per_hour: bool) -> u64 {
    let secs = uptime.as_nanos().div_ceil(NANOS_PER_SEC);
    let min = minimum.as_nanos().div_ceil(NANOS_PER_SEC);
    let secs = secs.max(min);
    if per_hour {
        secs.div_ceil(3600) * 3600
    } else {
        secs
    }
}

impl Ledger {
    /// Records one on-demand invocation.
    #[inline]
    pub fn add_invocation(&mut self, billed_ms: u64, memory_mb: u32) {
        self.faas_mb_ms += billed_ms as u128 * memory_mb as u128;
        self.faas_requests += 1;
    }

    /// Records one invocation served by provisioned concurrency.
    pub fn add_pc_invocation(&mut self, billed_ms: u64, memory_mb: u32) {
        self.pc_duration_mb_ms += billed_ms as u128 * memory_mb as u128;
        self.faas_requests += 1;
    }

    /// Records provisioned concurrency configured for `duration` (rounded up to 5 minutes).
    pub fn add_pc_configured(&mut self, instances: u32, memory_mb: u32, duration: SimDuration) {
        let secs = duration.as_nanos().div_ceil(300 * NANOS_PER_SEC) * 300;
        self.pc_configured_mb_s += secs as u128 * memory_mb as u128 * instances as u128;
    }

    /// Records one VM's lifetime.
    pub fn add_vm(&mut self, billed_seconds: u64, price_per_hour: f64) {
        self.vm_billed_seconds += billed_seconds;
        self.vm_dollar_seconds_per_hour += billed_seconds as f64 * price_per_hour;
    }

    /// Prices the usage. Lambda's GB is 1,024 MB.
    pub fn costs(&self, p: &Prices) -> Costs {
        let gb_s = |mb_ms: u128| mb_ms as f64 / 1024.0 / 1000.0;
        Costs {
            faas_compute: gb_s(self.faas_mb_ms) * p.gb_s
                + gb_s(self.pc_duration_mb_ms) * p.pc_duration_gb_s
                + self.pc_configured_mb_s as f64 / 1024.0 * p.pc_gb_s,
            faas_requests: self.faas_requests as f64 * p.per_request,
            vm: self.vm_dollar_seconds_per_hour / 3600.0,
            storage: self.storage_puts as f64 * p.put + self.storage_gets as f64 * p.get,
            transfer: self.transfer_usd,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::pricing::AWS_LAMBDA_2025 as P;

    fn prices() -> Prices {
        Prices {
            gb_s: P.gb_s_x86,
            per_request: P.per_request,
            pc_gb_s: P.pc_gb_s,
            pc_duration_gb_s: P.pc_duration_gb_s,
            put: 0.0,
            get: 0.0,
        }
    }

    #[test]
    fn one_invocation_by_hand_1ms_and_100ms() {
        // 1.2345 ms at 1,024 MB: 1 ms granularity bills 2 ms; 100 ms bills 100 ms.
        let d = SimDuration::from_secs_f64(1.2345e-3);
        assert_eq!(billed_ms(d, SimDuration::from_millis(1)), 2);
        assert_eq!(billed_ms(d, SimDuration::from_millis(100)), 100);

        let mut l = Ledger::default();
        l.add_invocation(2, 1024);
        let c = l.costs(&prices());
        // 2 ms × 1 GB = 0.002 GB-s × $0.0000166667 = $3.33334e-8; plus $2e-7 request fee.
        assert!(
            (c.faas_compute - 3.333_34e-8).abs() < 1e-15,
            "{}",
            c.faas_compute
        );
        assert!((c.faas_requests - 2e-7).abs() < 1e-18);

        let mut l = Ledger::default();
        l.add_invocation(100, 1024);
        let c = l.costs(&prices());
        assert!(
            (c.faas_compute - 1.666_67e-6).abs() < 1e-13,
            "{}",
            c.faas_compute
        );
    }

    #[test]
    fn exact_multiples_are_not_rounded_up() {
        assert_eq!(
            billed_ms(SimDuration::from_millis(200), SimDuration::from_millis(100)),
            200
        );
        assert_eq!(
            billed_ms(SimDuration::from_millis(7), SimDuration::from_millis(1)),
            7
        );
        assert_eq!(billed_ms(SimDuration::ZERO, SimDuration::from_millis(1)), 0);
    }

    #[test]
    fn vm_minimum_and_rounding() {
        let m = SimDuration::from_secs(60);
        assert_eq!(vm_billed_seconds(SimDuration::from_secs(10), m, false), 60);
        assert_eq!(
            vm_billed_seconds(SimDuration::from_secs_f64(100.2), m, false),
            101
        );
        assert_eq!(
            vm_billed_seconds(SimDuration::from_secs(3601), m, true),
            7200
        );
        let mut l = Ledger::default();
        l.add_vm(101, 0.085);
        let c = l.costs(&prices());
        assert!((c.vm - 101.0 * 0.085 / 3600.0).abs() < 1e-15);
    }

    #[test]
    fn provisioned_concurrency_rounds_to_five_minutes() {
        let mut l = Ledger::default();
        l.add_pc_configured(2, 1024, SimDuration::from_secs(301));
        assert_eq!(l.pc_configured_mb_s, 600 * 1024 * 2);
    }
}
