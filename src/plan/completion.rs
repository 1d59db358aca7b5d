//! Completion rules: when a stage's tasks have answered enough, which members of the request's
//! group are done, and which tasks became stragglers.
//!
//! A rule sees each task of the stage return or fail, by its index in the stage, and reports
//! the stage [`Outcome`] and the members that became done (or lost) with that task. When the
//! stage completes, the tasks that have not returned are stragglers: the engine cancels them
//! (queued ones vanish, VM tasks are aborted, function invocations run on and are billed).

/// How a stage completes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Completion {
    /// Every task returns.
    All,
    /// Any `k` of the tasks return (the first `k` to finish).
    AnyK(u16),
    /// Per member: rule `k` of the plan's [`MemberRule`] table. Member `i` of the request's
    /// group is done when every task of one of its alternatives has returned (e.g. its own
    /// task, or the parity task and the other members' tasks); the stage completes when every
    /// member is done or lost.
    PerMember(u16),
}

/// The alternatives of each member of a group under a per-member rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberRule {
    /// Per member: alternative task sets, each a bit mask over the stage's task indices
    /// (bit `j` is task `j`; at most 64 tasks).
    pub members: Vec<Vec<u64>>,
    /// Besides: every member is done once `k` tasks of this set (a bit mask) have returned
    /// (a code that decodes the whole group from any k answers, e.g. ApproxIFER).
    pub any_k: Option<(u64, u16)>,
}

impl MemberRule {
    /// A rule from task index lists: `members[i]` lists member `i`'s alternatives.
    pub fn from_indices(members: &[Vec<Vec<u16>>]) -> Self {
        MemberRule {
            members: members
                .iter()
                .map(|alts| {
                    alts.iter()
                        .map(|set| set.iter().fold(0u64, |m, &j| m | 1u64 << j))
                        .collect()
                })
                .collect(),
            any_k: None,
        }
    }

    /// A rule under which all `members` are done together once any `k` of the tasks in
    /// `tasks` (a bit mask) have returned.
    pub fn any_k_of(members: u16, tasks: u64, k: u16) -> Self {
        MemberRule {
            members: vec![Vec::new(); members as usize],
            any_k: Some((tasks, k)),
        }
    }

    /// The tasks (bit mask) that can still help a member not yet done or lost: those of its
    /// alternatives without a lost task, and the any-k set while it can still be met.
    pub fn useful(&self, group: u16, p: &MemberProgress) -> u64 {
        let mut useful = 0;
        let mut open = false;
        for (m, alts) in self.members.iter().enumerate().take(group as usize) {
            if (p.members_done | p.members_lost) & (1u64 << m) != 0 {
                continue;
            }
            open = true;
            for &set in alts {
                if set & p.lost_tasks == 0 {
                    useful |= set;
                }
            }
        }
        if let Some((tasks, _)) = self.any_k
            && open
        {
            useful |= tasks & !p.lost_tasks;
        }
        useful
    }

    /// The alternative (index into the member's list) that made member `m` done, if one did
    /// (none when the any-k set did).
    pub fn answered_by(&self, m: u16, p: &MemberProgress) -> Option<usize> {
        self.members[m as usize]
            .iter()
            .position(|&set| set & !p.returned == 0)
    }
}

/// Where a stage stands after a task returned or failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// More tasks are needed.
    Pending,
    /// The stage is complete (for a per-member rule: every member done or lost, at least one
    /// done); the tasks that have not returned are stragglers.
    Complete,
    /// The stage can no longer complete: the request (every member not yet done) is dropped.
    Failed,
}

/// The members' side of a per-member stage's progress (the task counts live in the request).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemberProgress {
    /// Tasks returned (bit per task index).
    pub returned: u64,
    /// Tasks failed.
    pub lost_tasks: u64,
    /// Members done.
    pub members_done: u64,
    /// Members that can no longer be done.
    pub members_lost: u64,
}

/// All members of a group of `size` (bit per member).
#[inline]
pub fn all_members(size: u16) -> u64 {
    if size >= 64 {
        u64::MAX
    } else {
        (1u64 << size) - 1
    }
}

impl Completion {
    /// Tasks that must return, for [`Completion::All`] and [`Completion::AnyK`] of `n` tasks
    /// (all of them for a per-member rule).
    #[inline]
    pub fn needed(self, n: u16) -> u16 {
        match self {
            Completion::AnyK(k) => k,
            Completion::All | Completion::PerMember(_) => n,
        }
    }

    /// [`Completion::All`] and [`Completion::AnyK`]: the outcome once `done` of `n` tasks
    /// returned and `failed` failed.
    #[inline(always)]
    pub fn counted(self, n: u16, done: u16, failed: u16) -> Outcome {
        let k = self.needed(n);
        if done >= k {
            Outcome::Complete
        } else if failed > n - k {
            Outcome::Failed
        } else {
            Outcome::Pending
        }
    }
}

impl MemberRule {
    /// Task `index` returned, in a group of `group` members. Returns the outcome and the
    /// members that became done with it (bit per member).
    pub fn returned(&self, group: u16, p: &mut MemberProgress, index: u16) -> (Outcome, u64) {
        p.returned |= 1u64 << index;
        let before = p.members_done;
        let decoded = self
            .any_k
            .is_some_and(|(tasks, k)| (p.returned & tasks).count_ones() >= k as u32);
        for (m, alts) in self.members.iter().enumerate().take(group as usize) {
            let bit = 1u64 << m;
            if (p.members_done | p.members_lost) & bit == 0
                && (decoded || alts.iter().any(|&set| set & !p.returned == 0))
            {
                p.members_done |= bit;
            }
        }
        (p.outcome(group), p.members_done & !before)
    }

    /// Task `index` failed (it will never return). Returns the outcome and the members lost
    /// with it.
    pub fn failed(&self, group: u16, p: &mut MemberProgress, index: u16) -> (Outcome, u64) {
        p.lost_tasks |= 1u64 << index;
        let before = p.members_lost;
        let undecodable = self
            .any_k
            .is_none_or(|(tasks, k)| (tasks & !p.lost_tasks).count_ones() < k as u32);
        for (m, alts) in self.members.iter().enumerate().take(group as usize) {
            let bit = 1u64 << m;
            if (p.members_done | p.members_lost) & bit == 0
                && undecodable
                && alts.iter().all(|&set| set & p.lost_tasks != 0)
            {
                p.members_lost |= bit;
            }
        }
        (p.outcome(group), p.members_lost & !before)
    }
}

impl MemberProgress {
    fn outcome(&self, group: u16) -> Outcome {
        let all = all_members(group);
        if (self.members_done | self.members_lost) & all != all {
            Outcome::Pending
        } else if self.members_done & all == 0 {
            Outcome::Failed
        } else {
            Outcome::Complete
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ParM with K = 2: tasks 0 and 1 are the members' own, task 2 the parity.
    fn parm() -> MemberRule {
        MemberRule::from_indices(&[vec![vec![0], vec![1, 2]], vec![vec![1], vec![0, 2]]])
    }

    #[test]
    fn any_k_completes_at_k_and_fails_past_n_minus_k() {
        let r = Completion::AnyK(2);
        assert_eq!(r.counted(4, 1, 1), Outcome::Pending);
        assert_eq!(r.counted(4, 2, 1), Outcome::Complete);
        assert_eq!(r.counted(4, 0, 2), Outcome::Pending);
        assert_eq!(r.counted(4, 1, 3), Outcome::Failed);
    }

    #[test]
    fn all_fails_at_the_first_failure() {
        assert_eq!(Completion::All.counted(2, 1, 0), Outcome::Pending);
        assert_eq!(Completion::All.counted(2, 1, 1), Outcome::Failed);
        assert_eq!(Completion::All.counted(2, 2, 0), Outcome::Complete);
    }

    #[test]
    fn parm_member_is_done_by_its_own_task_or_by_parity_and_the_other() {
        let rule = parm();
        // Returns: parity (2), then member 1's task (1): member 1 is done by its own task and
        // member 0 is reconstructed from {1, 2} at the same return; task 0 is a straggler.
        let mut p = MemberProgress::default();
        assert_eq!(rule.returned(2, &mut p, 2), (Outcome::Pending, 0));
        assert_eq!(rule.returned(2, &mut p, 1), (Outcome::Complete, 0b11));
        // Returns: 0 then 1: each member by its own task, one at a time.
        let mut p = MemberProgress::default();
        assert_eq!(rule.returned(2, &mut p, 0), (Outcome::Pending, 0b01));
        assert_eq!(rule.returned(2, &mut p, 1), (Outcome::Complete, 0b10));
    }

    #[test]
    fn a_member_whose_every_alternative_lost_a_task_is_lost() {
        let rule = parm();
        let mut p = MemberProgress::default();
        // Task 0 fails: member 0 can still be reconstructed from {1, 2}.
        assert_eq!(rule.failed(2, &mut p, 0), (Outcome::Pending, 0));
        // The parity fails too: member 0 is lost; member 1 still waits for its own task.
        assert_eq!(rule.failed(2, &mut p, 2), (Outcome::Pending, 0b01));
        assert_eq!(rule.returned(2, &mut p, 1), (Outcome::Complete, 0b10));
        // Both members' own tasks fail: neither can be done (each alternative has a lost
        // task), so the stage fails at the second failure.
        let mut p = MemberProgress::default();
        assert_eq!(rule.failed(2, &mut p, 0), (Outcome::Pending, 0));
        assert_eq!(rule.failed(2, &mut p, 1), (Outcome::Failed, 0b11));
    }

    #[test]
    fn an_any_k_rule_answers_every_member_at_the_kth_return_and_fails_past_n_minus_k() {
        // ApproxIFER with K = 3, S = 2: five coded tasks, decoded from any three.
        let rule = MemberRule::any_k_of(3, 0b11111, 3);
        let mut p = MemberProgress::default();
        assert_eq!(rule.returned(3, &mut p, 4), (Outcome::Pending, 0));
        assert_eq!(rule.returned(3, &mut p, 0), (Outcome::Pending, 0));
        assert_eq!(rule.useful(3, &p), 0b11111);
        assert_eq!(rule.returned(3, &mut p, 2), (Outcome::Complete, 0b111));
        assert_eq!(rule.answered_by(1, &p), None);
        // Three of five fail: two answers can no longer decode.
        let mut p = MemberProgress::default();
        assert_eq!(rule.failed(3, &mut p, 0), (Outcome::Pending, 0));
        assert_eq!(rule.failed(3, &mut p, 1), (Outcome::Pending, 0));
        assert_eq!(rule.failed(3, &mut p, 2), (Outcome::Failed, 0b111));
    }

    #[test]
    fn a_done_members_replicas_are_no_longer_useful() {
        // Replication of two members on two workers each: member i on tasks i and i + 2.
        let rule = MemberRule::from_indices(&[vec![vec![0], vec![2]], vec![vec![1], vec![3]]]);
        let mut p = MemberProgress::default();
        assert_eq!(rule.returned(2, &mut p, 2), (Outcome::Pending, 0b01));
        assert_eq!(rule.answered_by(0, &p), Some(1));
        // Task 0 (member 0's other replica) can be cancelled; member 1's two still run.
        assert_eq!(rule.useful(2, &p), 0b1010);
    }

    #[test]
    fn members_beyond_a_partial_group_are_ignored() {
        let rule = parm();
        let mut p = MemberProgress::default();
        // A group of one: only member 0 counts; its own task completes the stage.
        assert_eq!(rule.returned(1, &mut p, 0), (Outcome::Complete, 0b01));
    }
}
