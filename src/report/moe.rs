//! The MoE reports: what each MoE policy deployed per layer and expert, and what each layer
//! cost in the simulation against the closed-form plan (`moe_layers.csv`, `moe_experts.csv`).

use std::fmt::Write;

use super::ScenarioResults;
use super::metric::Metric;
use super::write::{csv_field, num};
use crate::policy::PolicyConfig;
use crate::policy::moe::{MoeConfig, MoeKind};
use crate::scenario::Scenario;

/// The MoE policies of `sc` among the policies of `r`, in the order of `r`.
fn moe_policies<'a>(sc: &'a Scenario, r: &ScenarioResults) -> Vec<(usize, &'a MoeConfig)> {
    r.policies
        .iter()
        .enumerate()
        .filter_map(|(i, name)| {
            sc.policies.iter().find_map(|p| match p {
                PolicyConfig::Moe(c) if &c.name == name => Some((i, c)),
                _ => None,
            })
        })
        .collect()
}

fn mode_name(c: &MoeConfig, layer: usize) -> String {
    match c.kind {
        MoeKind::CpuCluster => "cpu-cluster".into(),
        _ => format!("{:?}", c.choice.deployment.layers[layer].mode)
            .chars()
            .fold(String::new(), |mut s, ch| {
                if ch.is_uppercase() && !s.is_empty() {
                    s.push('-');
                }
                s.push(ch.to_ascii_lowercase());
                s
            }),
    }
}

/// `moe_layers.csv`: per MoE policy × layer, its mode and β, the experts' memory sizes and
/// replicas, the closed-form cost and latency of a batch with the counts it planned for, and
/// the simulated billed cost and GB-s of the layer's expert functions per batch served (mean
/// over replications).
/// `None` without MoE policies.
pub fn layers_csv(sc: &Scenario, r: &ScenarioResults) -> Option<Vec<u8>> {
    let policies = moe_policies(sc, r);
    if policies.is_empty() {
        return None;
    }
    let p = &sc.prices;
    let mut out = String::from(
        "policy,layer,mode,beta,memory_mb,replicas,planned_usd,planned_latency_s,simulated_usd,simulated_gb_s\n",
    );
    for (i, c) in policies {
        let runs = &r.results[i];
        let dep = &c.choice.deployment;
        for (e, l) in dep.layers.iter().enumerate() {
            let planned = &c.choice.planned.evaluation.layers[e];
            let (mut usd, mut gb_s) = (0.0, 0.0);
            for run in runs {
                let batches = run.get(Metric::Requests).unwrap_or(f64::NAN);
                for f in run
                    .functions
                    .iter()
                    .filter(|f| f.moe_layer == Some(e as u16))
                {
                    gb_s += f.billed_gb_s / batches;
                    usd += (f.billed_gb_s * p.gb_s
                        + f.invocations as f64 * p.per_request
                        + f.storage_requests.0 as f64 * p.get
                        + f.storage_requests.1 as f64 * p.put)
                        / batches;
                }
            }
            let n = runs.len().max(1) as f64;
            let cluster = matches!(c.kind, MoeKind::CpuCluster);
            let join = |f: &dyn Fn(&crate::moe::cost::ExpertChoice) -> u32| {
                l.experts
                    .iter()
                    .map(|x| f(x).to_string())
                    .collect::<Vec<_>>()
                    .join("/")
            };
            let _ = writeln!(
                out,
                "{},{e},{},{},{},{},{},{},{},{}",
                csv_field(&c.name),
                mode_name(c, e),
                if cluster {
                    String::new()
                } else {
                    l.beta.to_string()
                },
                if cluster {
                    String::new()
                } else {
                    join(&|x| x.memory_mb)
                },
                if cluster {
                    String::new()
                } else {
                    join(&|x| x.replicas)
                },
                num(if cluster { f64::NAN } else { planned.usd }),
                num(if cluster {
                    f64::NAN
                } else {
                    (planned.latency_ns + planned.terms.next_compute_ns) as f64 / 1e9
                }),
                num(if cluster { f64::NAN } else { usd / n }),
                num(if cluster { f64::NAN } else { gb_s / n }),
            );
        }
    }
    Some(out.into_bytes())
}

/// `moe_experts.csv`: per MoE policy × layer × expert, its memory and replicas, the tokens it
/// was planned for, the mean predicted tokens (predicting policies) and the mean real tokens
/// over the served batches. `None` without MoE policies.
pub fn experts_csv(sc: &Scenario, r: &ScenarioResults) -> Option<Vec<u8>> {
    let policies = moe_policies(sc, r);
    if policies.is_empty() {
        return None;
    }
    let mut out = String::from(
        "policy,layer,expert,memory_mb,replicas,planned_tokens,predicted_tokens,real_tokens\n",
    );
    for (_, c) in policies {
        let ch = &c.choice;
        for (e, l) in ch.deployment.layers.iter().enumerate() {
            for (x, choice) in l.experts.iter().enumerate() {
                let predicted = ch.predicted.as_ref().map_or(f64::NAN, |p| p[e][x]);
                let _ = writeln!(
                    out,
                    "{},{e},{x},{},{},{},{},{}",
                    csv_field(&c.name),
                    choice.memory_mb,
                    choice.replicas,
                    ch.planned_counts[e][x],
                    num(predicted),
                    num(ch.real[e][x]),
                );
            }
        }
    }
    Some(out.into_bytes())
}

/// `moe_bo.csv`: per BO-refined policy × iteration, the mean simulated cost of the learning
/// batches, the best so far, the mispredictions by case, and the mean ε. `None` without one.
pub fn bo_csv(sc: &Scenario, r: &ScenarioResults) -> Option<Vec<u8>> {
    let policies: Vec<_> = moe_policies(sc, r)
        .into_iter()
        .filter(|(_, c)| !c.choice.bo_history.is_empty())
        .collect();
    if policies.is_empty() {
        return None;
    }
    let mut out = String::from(
        "policy,iteration,cost_usd,best_usd,memory_cases,payload_cases,other_cases,epsilon_mean\n",
    );
    for (_, c) in policies {
        for it in &c.choice.bo_history {
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{},{}",
                csv_field(&c.name),
                it.tau,
                num(it.cost_usd),
                num(it.best_usd),
                it.cases.memory,
                it.cases.payload,
                it.cases.other,
                num(it.mean_epsilon),
            );
        }
    }
    Some(out.into_bytes())
}
