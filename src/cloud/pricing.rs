//! Price and platform presets, with sources in `../shared/reference/prices.md` (us-east-1).
//!
//! A scenario names a preset (`preset = "aws-lambda-2025"`) and may override any field.

use crate::kernel::SimDuration;

/// Lambda prices and platform defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct LambdaPreset {
    /// Preset name.
    pub name: &'static str,
    /// $ per GB-s, x86_64.
    pub gb_s_x86: f64,
    /// $ per GB-s, arm64.
    pub gb_s_arm: f64,
    /// $ per request.
    pub per_request: f64,
    /// $ per GB-s of provisioned concurrency configured.
    pub pc_gb_s: f64,
    /// $ per GB-s of duration on provisioned concurrency.
    pub pc_duration_gb_s: f64,
    /// Billing granularity.
    pub granularity: SimDuration,
    /// Whether INIT is billed on cold starts (on-demand, ZIP, managed runtime).
    pub bill_init: bool,
    /// Account concurrency limit.
    pub concurrency_limit: u32,
    /// New execution environments per refill period (per function).
    pub scale_burst: u32,
    /// Refill period of the scaling token bucket.
    pub scale_period: SimDuration,
}

/// AWS Lambda as of 2025-08 (1 ms billing, INIT billed, +1,000 environments / 10 s).
pub const AWS_LAMBDA_2025: LambdaPreset = LambdaPreset {
    name: "aws-lambda-2025",
    gb_s_x86: 0.000_016_666_7,
    gb_s_arm: 0.000_013_333_4,
    per_request: 0.000_000_2,
    pc_gb_s: 0.000_004_166_7,
    pc_duration_gb_s: 0.000_009_722_2,
    granularity: SimDuration::from_millis(1),
    bill_init: true,
    concurrency_limit: 1000,
    scale_burst: 1000,
    scale_period: SimDuration::from_secs(10),
};

/// AWS Lambda before December 2020 (100 ms billing, INIT not billed for managed runtimes,
/// legacy scaling +500 environments per minute), for reproducing older papers.
pub const AWS_LAMBDA_2020: LambdaPreset = LambdaPreset {
    name: "aws-lambda-2020",
    granularity: SimDuration::from_millis(100),
    bill_init: false,
    scale_burst: 500,
    scale_period: SimDuration::from_secs(60),
    ..AWS_LAMBDA_2025
};

/// All Lambda presets.
pub const LAMBDA_PRESETS: &[LambdaPreset] = &[AWS_LAMBDA_2025, AWS_LAMBDA_2020];

/// An EC2 instance type.
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceType {
    /// API name, e.g. `c6i.large`.
    pub name: String,
    /// vCPUs.
    pub vcpus: u32,
    /// Memory in GiB.
    pub memory_gib: f64,
    /// On-demand Linux price, $ per hour.
    pub price_per_hour: f64,
}

/// EC2 on-demand Linux prices, us-east-1, from karpenter's generated table (2026-07-20).
pub const EC2_2026: &[(&str, u32, f64, f64)] = &[
    ("c5.large", 2, 4.0, 0.085),
    ("c5.xlarge", 4, 8.0, 0.170),
    ("c5.2xlarge", 8, 16.0, 0.340),
    ("c5.4xlarge", 16, 32.0, 0.680),
    ("c6i.large", 2, 4.0, 0.085),
    ("c6i.xlarge", 4, 8.0, 0.170),
    ("c6i.2xlarge", 8, 16.0, 0.340),
    ("c6i.4xlarge", 16, 32.0, 0.680),
    ("c7i.large", 2, 4.0, 0.08925),
    ("c7g.large", 2, 4.0, 0.0725),
    ("m4.large", 2, 8.0, 0.100),
    ("m5.large", 2, 8.0, 0.096),
    ("m5.xlarge", 4, 16.0, 0.192),
    ("m5.2xlarge", 8, 32.0, 0.384),
    ("m5.4xlarge", 16, 64.0, 0.768),
    ("m6i.large", 2, 8.0, 0.096),
    ("m6i.xlarge", 4, 16.0, 0.192),
    ("m6i.2xlarge", 8, 32.0, 0.384),
    ("m6i.4xlarge", 16, 64.0, 0.768),
    ("m7i.large", 2, 8.0, 0.1008),
    ("m6g.large", 2, 8.0, 0.077),
    ("t3.micro", 2, 1.0, 0.0104),
    ("t3.medium", 2, 4.0, 0.0416),
    ("g4dn.xlarge", 4, 16.0, 0.526),
    ("g4dn.2xlarge", 8, 32.0, 0.752),
    ("g4dn.4xlarge", 16, 64.0, 1.204),
    ("g4dn.12xlarge", 48, 192.0, 3.912),
    ("g5.xlarge", 4, 16.0, 1.006),
    ("g5.2xlarge", 8, 32.0, 1.212),
    ("g5.4xlarge", 16, 64.0, 1.624),
    ("g5.12xlarge", 48, 192.0, 5.672),
    ("g6.xlarge", 4, 16.0, 0.8048),
    ("g6.2xlarge", 8, 32.0, 0.9776),
    ("inf2.xlarge", 4, 16.0, 0.7582),
    ("p3.2xlarge", 8, 61.0, 3.06),
    ("p4d.24xlarge", 96, 1152.0, 21.957642),
    ("p5.48xlarge", 192, 2048.0, 55.04),
];

/// Names of the EC2 presets.
pub const EC2_PRESETS: &[&str] = &["aws-ec2-2026"];

/// Looks up an instance type in the EC2 preset table.
pub fn ec2_instance(name: &str) -> Option<InstanceType> {
    EC2_2026
        .iter()
        .find(|(n, ..)| *n == name)
        .map(|&(n, vcpus, mem, price)| InstanceType {
            name: n.to_string(),
            vcpus,
            memory_gib: mem,
            price_per_hour: price,
        })
}

/// S3 Standard request fees (us-east-1).
pub const S3_PUT_PER_REQUEST: f64 = 0.005 / 1000.0;
/// S3 Standard GET fee per request.
pub const S3_GET_PER_REQUEST: f64 = 0.0004 / 1000.0;

/// Lambda's synchronous invocation payload limit (6 MB each way).
pub const LAMBDA_PAYLOAD_LIMIT: u64 = 6 * 1024 * 1024;
