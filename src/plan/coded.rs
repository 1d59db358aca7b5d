//! The coded planner: a group of K queries served by one of the straggler-tolerant schemes that
//! ApproxIFER (Soleymani et al., AAAI 2022) compares — uncoded, replication, ParM, ApproxIFER.
//!
//! Each scheme is one stage of worker tasks on the same worker (the scenario's single
//! `[[stage]]`: its service law, memory and profiles) with a per-member completion rule:
//!
//! | scheme | tasks for K queries | member i is answered by |
//! |---|---|---|
//! | uncoded | K | task i |
//! | replication (c copies) | c·K | the first of tasks i, i + K, … |
//! | ParM (r = 1) | K + 1 | task i, or the parity task K and the K − 1 others |
//! | ApproxIFER (S, E) | N = K + S, or 2(K + E) + S − 1 | any N − S tasks (the whole group) |
//!
//! Task i < K is query i's own worker in every scheme, and workers draw from their own streams,
//! so the schemes of a scenario see the same worker delays. A partial group (closed by the
//! batcher's timeout) is padded with dummy queries to K, or sent uncoded.

use super::StageSpec;
use super::completion::{Completion, MemberProgress, MemberRule};
use super::faults::WorkerFaults;
use super::law::Law;
use super::staged::Staged;
use super::task::{Io, Target, TaskSpec, Work};
use crate::cloud::deploy::FunctionSpec;
use crate::kernel::SimDuration;

/// A scheme of serving a group of queries on redundant workers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// One worker per query.
    Uncoded,
    /// Each query on `copies` workers (S + 1 for S stragglers); the first answer wins and the
    /// other copies are cancelled.
    Replication {
        /// Workers per query.
        copies: u16,
    },
    /// K queries and one parity worker running the parity model on the sum of the K inputs.
    Parm,
    /// Berrut-coded: N coded queries, decoded from the first N − S answers.
    ApproxIfer {
        /// Stragglers tolerated, S.
        stragglers: u16,
        /// Byzantine workers located and dropped, E.
        byzantine: u16,
    },
}

impl Scheme {
    /// Worker tasks for a group of `k` queries.
    pub fn workers(self, k: u16) -> u16 {
        match self {
            Scheme::Uncoded => k,
            Scheme::Replication { copies } => k * copies,
            Scheme::Parm => k + 1,
            Scheme::ApproxIfer {
                stragglers,
                byzantine: 0,
            } => k + stragglers,
            Scheme::ApproxIfer {
                stragglers,
                byzantine,
            } => 2 * (k + byzantine) + stragglers - 1,
        }
    }

    /// Answers ApproxIFER decodes from (N − S); `None` for the per-member schemes.
    pub fn decode_from(self, k: u16) -> Option<u16> {
        match self {
            Scheme::ApproxIfer { stragglers, .. } => Some(self.workers(k) - stragglers),
            _ => None,
        }
    }
}

/// What a partial group does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Partial {
    /// Pad it with dummy queries to K and code it as a full group.
    #[default]
    Pad,
    /// Send its members uncoded (one worker each).
    Uncoded,
}

/// The expected accuracy of answers, by how they were produced (from an accuracy table).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AccuracyModel {
    /// A query answered by its own, honest worker (the base model).
    pub base: f64,
    /// A query answered by decoding (ApproxIFER at this K, S, E) or reconstruction (ParM at
    /// this K).
    pub decoded: f64,
    /// A query whose answer used a Byzantine output that was not removed (chance).
    pub corrupted: f64,
    /// The locator's rate of finding Byzantine workers at this K, S, E, when measured.
    pub detected_rate: Option<f64>,
}

/// Everything a coded policy decides about its plan.
#[derive(Clone, Debug)]
pub struct CodedSetup {
    /// The scheme.
    pub scheme: Scheme,
    /// Queries per group (the scenario's batcher size).
    pub k: u16,
    /// What partial groups do.
    pub partial: Partial,
    /// Where the workers run: the worker function (`Target::Function(0)`) or a VM pool.
    pub target: Target,
    /// The worker's law.
    pub law: Law,
    /// The worker function.
    pub function: FunctionSpec,
    /// Worker faults.
    pub faults: WorkerFaults,
    /// The master's encoding time per group (before the workers start).
    pub encode: SimDuration,
    /// The master's decoding time per group (before the answers leave).
    pub decode: SimDuration,
    /// The input's delay and cost before the workers (the scenario's admission).
    pub admission: Option<(SimDuration, f64)>,
    /// The response's delay after the workers (the scenario's).
    pub respond: Option<SimDuration>,
    /// Expected accuracy of answers, when the scenario gives an accuracy table.
    pub accuracy: Option<AccuracyModel>,
    /// The stage's name in reports.
    pub name: String,
}

/// What a coded plan knows beyond its tables: the scheme, the faults, how answers were made.
/// Its stage tables are a one-stage [`Staged`] with one variant per group size 1..=K.
#[derive(Clone, Debug)]
pub struct Coded {
    setup: CodedSetup,
    /// Per group size: the group is coded (not sent uncoded as a partial group).
    coded: Vec<bool>,
    /// Per group size: its per-member rule.
    rules: Vec<MemberRule>,
}

impl Coded {
    /// The plan of `setup`: its extras and its tables (every group size, built once per run).
    pub fn new(setup: CodedSetup) -> (Self, Staged) {
        let k = setup.k.max(1);
        let task = TaskSpec {
            target: setup.target,
            work: Work::Worker(0),
            io: Io::default(),
        };
        let mut specs = Vec::with_capacity(k as usize);
        let mut coded = Vec::with_capacity(k as usize);
        let mut rules = Vec::with_capacity(k as usize);
        for m in 1..=k {
            let (scheme, size) = match (setup.scheme, setup.partial) {
                // Per-query schemes need no padding: a partial group runs its members only.
                (Scheme::Uncoded | Scheme::Replication { .. }, _) => (setup.scheme, m),
                (_, Partial::Uncoded) if m < k => (Scheme::Uncoded, m),
                _ => (setup.scheme, k),
            };
            let rule = member_rule(scheme, size);
            let n = scheme.workers(size);
            specs.push(StageSpec::new(
                vec![task; n as usize],
                Completion::PerMember(rules.len() as u16),
            ));
            rules.push(rule);
            coded.push(size == k || !matches!(scheme, Scheme::Uncoded));
        }
        // The master encodes before the workers start and decodes before answering.
        let (coding, decoding) = match setup.scheme {
            Scheme::ApproxIfer { .. } | Scheme::Parm => (setup.encode, setup.decode),
            _ => (SimDuration::ZERO, SimDuration::ZERO),
        };
        let admission = match (setup.admission, coding) {
            (a, SimDuration::ZERO) => a,
            (Some((d, c)), e) => Some((d + e, c)),
            (None, e) => Some((e, 0.0)),
        };
        let respond = match (setup.respond, decoding) {
            (r, SimDuration::ZERO) => r,
            (Some(r), d) => Some(r + d),
            (None, d) => Some(d),
        };
        let tables = Staged::single_stage(
            setup.name.clone(),
            specs,
            vec![setup.law.clone()],
            vec![setup.function.clone()],
            rules.clone(),
            admission,
            respond,
        );
        (
            Coded {
                setup,
                coded,
                rules,
            },
            tables,
        )
    }

    /// The variant (stage-table column) of a group of `group` members.
    pub fn variant(&self, group: u16) -> u32 {
        (group.clamp(1, self.setup.k.max(1)) - 1) as u32
    }

    /// The workers' faults.
    pub fn faults(&self) -> &WorkerFaults {
        &self.setup.faults
    }

    /// The scheme and its settings.
    pub fn setup(&self) -> &CodedSetup {
        &self.setup
    }

    /// The expected accuracy of member `m`'s answer in a group of `group`, now that it is done
    /// with the returns in `progress`, given the group's Byzantine workers (bit mask); `None`
    /// without an accuracy table.
    pub fn answer_accuracy(
        &self,
        group: u16,
        m: u16,
        progress: &MemberProgress,
        byzantine: u64,
    ) -> Option<f64> {
        let acc = self.setup.accuracy?;
        let i = (group.clamp(1, self.setup.k.max(1)) - 1) as usize;
        let rule = &self.rules[i];
        let honest = |set: u64| set & byzantine == 0;
        if !self.coded[i] {
            // Sent uncoded: its own worker.
            return Some(if honest(1 << m) {
                acc.base
            } else {
                acc.corrupted
            });
        }
        Some(match self.setup.scheme {
            Scheme::Uncoded | Scheme::Replication { .. } => {
                // The first copy to return answered; if several have, any honest one is used.
                let returned = rule.members[m as usize]
                    .iter()
                    .filter(|&&set| set & !progress.returned == 0)
                    .fold(0, |a, &s| a | s);
                if returned & !byzantine != 0 {
                    acc.base
                } else {
                    acc.corrupted
                }
            }
            Scheme::Parm => match rule.answered_by(m, progress) {
                Some(0) if honest(1 << m) => acc.base,
                Some(a) if a > 0 && honest(rule.members[m as usize][a]) => acc.decoded,
                _ => acc.corrupted,
            },
            Scheme::ApproxIfer { byzantine: e, .. } => {
                // The locator removes up to E corrupted answers among those decoded from.
                if (progress.returned & byzantine).count_ones() <= e as u32 {
                    acc.decoded
                } else {
                    acc.corrupted
                }
            }
        })
    }
}

/// The per-member rule of `scheme` for a group of `k` queries.
fn member_rule(scheme: Scheme, k: u16) -> MemberRule {
    let members: Vec<Vec<Vec<u16>>> = match scheme {
        Scheme::Uncoded => (0..k).map(|i| vec![vec![i]]).collect(),
        Scheme::Replication { copies } => (0..k)
            .map(|i| (0..copies).map(|c| vec![i + c * k]).collect())
            .collect(),
        Scheme::Parm => (0..k)
            .map(|i| {
                let others: Vec<u16> = (0..=k).filter(|&j| j != i).collect();
                vec![vec![i], others]
            })
            .collect(),
        Scheme::ApproxIfer { .. } => {
            let n = scheme.workers(k);
            let all = if n >= 64 { u64::MAX } else { (1u64 << n) - 1 };
            let from = scheme.decode_from(k).expect("ApproxIFER decodes");
            return MemberRule::any_k_of(k, all, from);
        }
    };
    MemberRule::from_indices(&members)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_counts_follow_the_paper() {
        let a = |s, e| Scheme::ApproxIfer {
            stragglers: s,
            byzantine: e,
        };
        // Stragglers only: N = K + S (1.083 workers per query at K = 12, S = 1).
        assert_eq!(a(1, 0).workers(12), 13);
        // Byzantine: N = 2(K + E) + S − 1, decoded from N − S = 2K + 2E − 1.
        assert_eq!(a(1, 2).workers(12), 28);
        assert_eq!(a(1, 2).decode_from(12), Some(27));
        assert_eq!(Scheme::Replication { copies: 2 }.workers(12), 24);
        assert_eq!(Scheme::Parm.workers(12), 13);
    }

    #[test]
    fn parm_members_are_answered_by_their_own_task_or_by_parity_and_the_others() {
        let rule = member_rule(Scheme::Parm, 3);
        assert_eq!(rule.members[1], vec![0b0010, 0b1101]);
        let rep = member_rule(Scheme::Replication { copies: 3 }, 2);
        assert_eq!(rep.members[1], vec![0b000010, 0b001000, 0b100000]);
    }
}
