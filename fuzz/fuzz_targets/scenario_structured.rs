//! Structure-aware: an arbitrary scenario description rendered to TOML, validated, and (when
//! valid, at most 60 s long and the validator's request estimate within 2,000) run end to end:
//! one replication of every policy, at every point of its sweep (at most 8 points).
#![no_main]

use std::fmt::Write;

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;

#[path = "../harness.rs"]
mod harness;

fn dir() -> &'static std::path::Path {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("temp dir"))
        .path()
}

/// A duration: a number of a unit (0 and huge values included).
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Dur {
    Ns(u32),
    Ms(u16),
    S(u16),
    M(u8),
    H(u8),
    Frac(f32),
}

impl Dur {
    fn render(self) -> String {
        match self {
            Dur::Ns(n) => format!("\"{n}ns\""),
            Dur::Ms(n) => format!("\"{n}ms\""),
            Dur::S(n) => format!("\"{n}s\""),
            Dur::M(n) => format!("\"{n}m\""),
            Dur::H(n) => format!("\"{n}h\""),
            Dur::Frac(f) => format!("\"{f}s\""),
        }
    }
}

/// A TOML float (nan and infinities included).
fn num(x: f64) -> String {
    if x.is_nan() {
        "nan".into()
    } else if x.is_infinite() {
        if x > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        format!("{x:?}")
    }
}

#[derive(Arbitrary, Debug)]
enum Law {
    Constant(Dur),
    Exponential(Dur),
    Lognormal(Dur, Dur),
    LognormalMu(f64, f64),
    Normal(Dur, Dur),
    Uniform(Dur, Dur),
    Pareto(Dur, f64),
    Weibull(Dur, f64),
    Mixture(Vec<(f64, Dur)>),
}

impl Law {
    fn render(&self) -> String {
        match self {
            Law::Constant(v) => format!("{{ kind = \"constant\", value = {} }}", v.render()),
            Law::Exponential(m) => format!("{{ kind = \"exponential\", mean = {} }}", m.render()),
            Law::Lognormal(m, p) => format!(
                "{{ kind = \"lognormal\", median = {}, p99 = {} }}",
                m.render(),
                p.render()
            ),
            Law::LognormalMu(mu, s) => format!(
                "{{ kind = \"lognormal\", mu = {}, sigma = {} }}",
                num(*mu),
                num(*s)
            ),
            Law::Normal(m, s) => format!(
                "{{ kind = \"normal\", mean = {}, sd = {} }}",
                m.render(),
                s.render()
            ),
            Law::Uniform(a, b) => format!(
                "{{ kind = \"uniform\", min = {}, max = {} }}",
                a.render(),
                b.render()
            ),
            Law::Pareto(s, a) => format!(
                "{{ kind = \"pareto\", scale = {}, shape = {} }}",
                s.render(),
                num(*a)
            ),
            Law::Weibull(s, k) => format!(
                "{{ kind = \"weibull\", scale = {}, shape = {} }}",
                s.render(),
                num(*k)
            ),
            Law::Mixture(cs) => {
                let parts: Vec<String> = cs
                    .iter()
                    .take(4)
                    .map(|(w, d)| {
                        format!(
                            "{{ weight = {}, dist = {{ kind = \"constant\", value = {} }} }}",
                            num(*w),
                            d.render()
                        )
                    })
                    .collect();
                format!(
                    "{{ kind = \"mixture\", components = [{}] }}",
                    parts.join(", ")
                )
            }
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Arrivals {
    Poisson(u32),
    Constant(u32),
    OnOff(u32, Dur, Dur),
    Mmpp(u32, u32, Dur, Dur),
    Diurnal(u32, f64, Dur),
    Timestamps(Vec<Dur>),
}

/// A rate in milli-requests per second, rendered "x/s".
fn rate(milli: u32) -> String {
    format!("\"{}/s\"", milli as f64 / 1000.0)
}

impl Arrivals {
    fn render(&self) -> String {
        match self {
            Arrivals::Poisson(r) => format!("{{ kind = \"poisson\", rate = {} }}", rate(*r)),
            Arrivals::Constant(r) => format!("{{ kind = \"constant\", rate = {} }}", rate(*r)),
            Arrivals::OnOff(r, on, off) => format!(
                "{{ kind = \"on-off\", rate = {}, on = {}, off = {} }}",
                rate(*r),
                on.render(),
                off.render()
            ),
            Arrivals::Mmpp(a, b, da, db) => format!(
                "{{ kind = \"mmpp\", rates = [{}, {}], mean_durations = [{}, {}] }}",
                rate(*a),
                rate(*b),
                da.render(),
                db.render()
            ),
            Arrivals::Diurnal(r, amp, period) => format!(
                "{{ kind = \"diurnal\", mean_rate = {}, amplitude = {}, period = {} }}",
                rate(*r),
                num(*amp),
                period.render()
            ),
            Arrivals::Timestamps(ts) => {
                let t: Vec<String> = ts.iter().take(64).map(|d| d.render()).collect();
                format!("{{ kind = \"timestamps\", times = [{}] }}", t.join(", "))
            }
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Throttle {
    Queue,
    Drop,
    Retry(Dur, u16),
}

#[derive(Arbitrary, Debug)]
enum Policy {
    AllFaas {
        keep_alive: Option<Dur>,
        memory_mb: Option<u16>,
        provisioned: Option<u8>,
    },
    VmFixed {
        vms: u8,
    },
    VmAutoscale {
        min: u8,
        max: u8,
        initial: Option<u8>,
        out: f64,
        inn: f64,
        interval: Dur,
        cooldown: Dur,
        step: u8,
    },
    Hybrid {
        vms: u8,
        max_queue: u8,
        keep_alive: Option<Dur>,
    },
    Libra {
        epoch: Dur,
        alpha: f64,
        update: Dur,
        deviations: f64,
        quota: f64,
        min: u8,
        max: u16,
    },
    Serflow {
        epoch: Dur,
        alpha: f64,
        replan: Dur,
        utilization: f64,
        cut: u8,
        min_vms: u8,
        max_vms: u16,
    },
    HybridHistogram {
        range: Dur,
        bin: Dur,
        head: f64,
        tail: f64,
        margin: f64,
        cv: f64,
        oob: f64,
    },
}

impl Policy {
    fn render(&self, i: usize, out: &mut String) {
        let _ = writeln!(out, "[[policy]]\nname = \"p{i}\"");
        let mut kv = |k: &str, v: String| {
            let _ = writeln!(out, "{k} = {v}");
        };
        match self {
            Policy::AllFaas {
                keep_alive,
                memory_mb,
                provisioned,
            } => {
                kv("kind", "\"all-faas\"".into());
                if let Some(k) = keep_alive {
                    kv("keep_alive", k.render());
                }
                if let Some(m) = memory_mb {
                    kv("memory", format!("\"{m}MB\""));
                }
                if let Some(p) = provisioned {
                    kv("provisioned_concurrency", p.to_string());
                }
            }
            Policy::VmFixed { vms } => {
                kv("kind", "\"vm-fixed\"".into());
                kv("vms", vms.to_string());
            }
            Policy::VmAutoscale {
                min,
                max,
                initial,
                out,
                inn,
                interval,
                cooldown,
                step,
            } => {
                kv("kind", "\"vm-autoscale\"".into());
                kv("min", min.to_string());
                kv("max", max.to_string());
                if let Some(i) = initial {
                    kv("initial", i.to_string());
                }
                kv("scale_out_above", num(*out));
                kv("scale_in_below", num(*inn));
                kv("interval", interval.render());
                kv("cooldown", cooldown.render());
                kv("step", step.to_string());
            }
            Policy::Hybrid {
                vms,
                max_queue,
                keep_alive,
            } => {
                kv("kind", "\"hybrid\"".into());
                kv("vms", vms.to_string());
                kv("max_queue", max_queue.to_string());
                if let Some(k) = keep_alive {
                    kv("keep_alive", k.render());
                }
            }
            Policy::Libra {
                epoch,
                alpha,
                update,
                deviations,
                quota,
                min,
                max,
            } => {
                kv("kind", "\"libra\"".into());
                kv("epoch", epoch.render());
                kv("alpha", num(*alpha));
                kv("update_interval", update.render());
                kv("deviations", num(*deviations));
                kv("quota", num(*quota));
                kv("min", min.to_string());
                kv("max", max.to_string());
            }
            Policy::Serflow {
                epoch,
                alpha,
                replan,
                utilization,
                cut,
                min_vms,
                max_vms,
            } => {
                kv("kind", "\"serflow\"".into());
                kv("epoch", epoch.render());
                kv("alpha", num(*alpha));
                kv("replan", replan.render());
                kv("utilization", num(*utilization));
                kv(
                    "cut",
                    match cut % 4 {
                        0 => "\"none\"".into(),
                        1 => "\"auto\"".into(),
                        _ => (cut / 4).to_string(),
                    },
                );
                kv("min_vms", min_vms.to_string());
                kv("max_vms", max_vms.to_string());
            }
            Policy::HybridHistogram {
                range,
                bin,
                head,
                tail,
                margin,
                cv,
                oob,
            } => {
                kv("kind", "\"hybrid-histogram\"".into());
                kv("range", range.render());
                kv("bin", bin.render());
                kv("head", num(*head));
                kv("tail", num(*tail));
                kv("margin", num(*margin));
                kv("cv_threshold", num(*cv));
                kv("oob_threshold", num(*oob));
            }
        }
    }
}

#[derive(Arbitrary, Debug)]
enum SweepKey {
    Rate,
    KeepAlive,
    Memory,
    Horizon,
    Tasks,
    Quorum,
    Vms,
    Slo,
    Replications,
    Median,
}

impl SweepKey {
    fn name(&self) -> &'static str {
        match self {
            SweepKey::Rate => "workload.arrivals.rate",
            SweepKey::KeepAlive => "platform.faas.keep_alive",
            SweepKey::Memory => "platform.faas.memory",
            SweepKey::Horizon => "run.horizon",
            SweepKey::Tasks => "stage.0.tasks",
            SweepKey::Quorum => "stage.0.quorum",
            SweepKey::Vms => "policy.0.vms",
            SweepKey::Slo => "run.slo",
            SweepKey::Replications => "run.replications",
            SweepKey::Median => "stage.0.service.median",
        }
    }
}

#[derive(Arbitrary, Debug)]
enum SweepValues {
    Ints(Vec<i32>),
    Durs(Vec<Dur>),
    Range {
        from: i16,
        to: i16,
        step: f64,
        unit: Option<u8>,
    },
}

#[derive(Arbitrary, Debug)]
struct Sweep {
    key: SweepKey,
    values: SweepValues,
}

impl Sweep {
    fn render(&self) -> String {
        let v = match &self.values {
            SweepValues::Ints(xs) => format!(
                "[{}]",
                xs.iter()
                    .take(6)
                    .map(i32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            SweepValues::Durs(xs) => format!(
                "[{}]",
                xs.iter()
                    .take(6)
                    .map(|d| d.render())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            SweepValues::Range {
                from,
                to,
                step,
                unit,
            } => {
                let unit = match unit.map(|u| u % 5) {
                    None => String::new(),
                    Some(0) => ", unit = \"/s\"".into(),
                    Some(1) => ", unit = \"s\"".into(),
                    Some(2) => ", unit = \"ms\"".into(),
                    Some(3) => ", unit = \"MB\"".into(),
                    Some(_) => ", unit = \"\"".into(),
                };
                format!(
                    "{{ from = {from}, to = {to}, step = {}{unit} }}",
                    num(*step)
                )
            }
        };
        format!("\"{}\" = {v}\n", self.key.name())
    }
}

#[derive(Arbitrary, Debug)]
struct Input {
    horizon: Dur,
    warmup: Option<Dur>,
    slo: Option<Dur>,
    seed: u64,
    sample_interval: Option<Dur>,
    arrivals: Arrivals,
    input_kb: Option<u16>,
    service: Law,
    cold_start: Option<Law>,
    memory_mb: Option<u16>,
    keep_alive: Option<Dur>,
    concurrency_limit: Option<u16>,
    on_throttle: Throttle,
    tasks: Option<u8>,
    quorum: Option<u8>,
    second_stage: Option<Law>,
    policies: Vec<Policy>,
    sweep: Vec<Sweep>,
}

impl Input {
    fn render(&self) -> String {
        let mut s = String::from("name = \"fuzz-structured\"\n[run]\n");
        let _ = writeln!(
            s,
            "horizon = {}\nreplications = 1\nseed = {}",
            self.horizon.render(),
            self.seed
        );
        if let Some(w) = self.warmup {
            let _ = writeln!(s, "warmup = {}", w.render());
        }
        if let Some(w) = self.slo {
            let _ = writeln!(s, "slo = {}", w.render());
        }
        if let Some(w) = self.sample_interval {
            let _ = writeln!(s, "sample_interval = {}", w.render());
        }
        s.push_str(
            "[run.limits]\nrequests = 2000\nsamples = 2000\ntimer_events = 20000\ninstances = 1000\nretries = 10\ndrain = \"10m\"\n",
        );
        let _ = writeln!(s, "[workload]\narrivals = {}", self.arrivals.render());
        if let Some(kb) = self.input_kb {
            let _ = writeln!(s, "input = \"{kb}KB\"");
        }
        s.push_str("[platform.faas]\n");
        if let Some(m) = self.memory_mb {
            let _ = writeln!(s, "memory = \"{m}MB\"");
        }
        if let Some(k) = self.keep_alive {
            let _ = writeln!(s, "keep_alive = {}", k.render());
        }
        if let Some(c) = self.concurrency_limit {
            let _ = writeln!(s, "concurrency_limit = {c}");
        }
        if let Some(c) = &self.cold_start {
            let _ = writeln!(s, "cold_start = {}", c.render());
        }
        let _ = writeln!(
            s,
            "on_throttle = {}",
            match self.on_throttle {
                Throttle::Queue => "{ kind = \"queue\" }".to_string(),
                Throttle::Drop => "{ kind = \"drop\" }".to_string(),
                Throttle::Retry(d, n) => format!(
                    "{{ kind = \"retry\", delay = {}, max_attempts = {n} }}",
                    d.render()
                ),
            }
        );
        s.push_str("[platform.vm]\ninstance = \"c6i.xlarge\"\n");
        let _ = writeln!(
            s,
            "[[stage]]\nname = \"a\"\nservice = {}",
            self.service.render()
        );
        if let Some(t) = self.tasks {
            let _ = writeln!(s, "tasks = {t}");
        }
        if let Some(q) = self.quorum {
            let _ = writeln!(s, "quorum = {q}");
        }
        if let Some(l) = &self.second_stage {
            let _ = writeln!(s, "[[stage]]\nname = \"b\"\nservice = {}", l.render());
        }
        for (i, p) in self.policies.iter().take(4).enumerate() {
            p.render(i, &mut s);
        }
        if self.policies.is_empty() {
            s.push_str("[[policy]]\nkind = \"all-faas\"\n");
        }
        if !self.sweep.is_empty() {
            s.push_str("[sweep]\n");
            for e in self.sweep.iter().take(3) {
                s.push_str(&e.render());
            }
        }
        s
    }
}

const SIXTY_S: u64 = 60_000_000_000;

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(input) = Input::arbitrary(&mut u) else {
        return;
    };
    let text = input.render();
    if std::env::var_os("INFERSIM_FUZZ_PRINT").is_some() {
        eprintln!("{text}");
    }
    let path = dir().join("fuzz-structured.toml");
    // The base point, as `infersim run` reads the file.
    let stripped = infersim::scenario::strip_sweep_table(&text);
    let base = infersim::scenario::Scenario::from_str_at(&stripped, &path);
    // The sweep, as `infersim validate` and `infersim sweep` expand it.
    let Ok((_, spec)) = infersim::sweep::strip_sweep(&text, &path) else {
        return;
    };
    let points = spec.as_ref().map_or(1, |s| s.len());
    if points > 8 {
        return;
    }
    let scenarios = match infersim::sweep::Plan::from_text(&text, &path, None, None) {
        Ok(plan) => plan.points.into_iter().map(|p| p.scenario).collect(),
        Err(_) => base.into_iter().collect::<Vec<_>>(),
    };
    for sc in scenarios {
        if sc.run.horizon.as_nanos() <= SIXTY_S {
            let _ = infersim::run_scenario(&sc, None, Some(1));
        }
    }
});
