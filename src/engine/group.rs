//! Grouped requests: the batcher's groups, each executing one plan, and the per-member answers
//! of per-member completion rules. A group's members keep their own arrival times and get
//! their own latencies.
//!
//! The engine is in grouped mode when the scenario groups arrivals or a stage completes per
//! member; otherwise none of this runs (one request is one member, answered with its plan).

use rand::RngExt;

use super::{Event, Sim};
use crate::plan::{Completion, MemberProgress, Outcome};
use crate::workload::batch::{Added, Member};

use super::request::{Loc, Request};

/// The grouped state of one request: its members and their answers.
#[derive(Default)]
pub(super) struct Group {
    /// Members, in arrival order.
    pub members: Vec<Member>,
    /// The current stage's per-member progress.
    pub progress: MemberProgress,
    /// Members answered (response recorded or on its way, or dropped).
    pub answered: u64,
    /// Members whose answer has been recorded.
    pub responded: u16,
    /// The plan is over (completed or failed): the request is freed with its last answer.
    pub finished: bool,
    /// Tasks of the current stage (bit per index) that fail at their end: failed workers.
    pub failing: u64,
    /// Its Byzantine workers (bit per task index), once a coded plan's accuracy needs them.
    pub byzantine: Option<u64>,
}

impl Sim<'_> {
    /// An arrival in grouped mode: it joins the open group, which starts when it is full (or
    /// at once without a batcher).
    #[inline(never)]
    pub(super) fn arrive_member(&mut self, member: Member) {
        let now = self.now();
        match &mut self.batch {
            None => {
                self.open_group.clear();
                self.open_group.push(member);
                self.start_group();
            }
            Some((batcher, timeout)) => match batcher.add(member) {
                Added::Opened { generation } => {
                    if let Some(t) = *timeout {
                        let _ = self.queue.push(now + t, Event::GroupTimeout { generation });
                    }
                }
                Added::Joined => {}
                Added::Full => {
                    batcher.take(&mut self.open_group);
                    self.start_group();
                }
            },
        }
        // No arrival follows: a partial group without a timeout closes now (one with a timeout
        // waits for it, as a batcher that cannot know the future would).
        if self.next_arrival.is_none()
            && let Some((batcher, None)) = &mut self.batch
            && batcher.is_open()
        {
            batcher.take(&mut self.open_group);
            self.start_group();
        }
    }

    /// A group's timeout ran out: a partial group starts.
    #[inline(never)]
    pub(super) fn group_timeout(&mut self, generation: u32) {
        if let Some((batcher, _)) = &mut self.batch
            && batcher.timed_out(generation)
        {
            batcher.take(&mut self.open_group);
            self.start_group();
        }
    }

    /// Starts the plan of the closed group in `open_group`: its first member's class, stream
    /// and (when stages exit early) exit draw stand for the group.
    fn start_group(&mut self) {
        let members = std::mem::take(&mut self.open_group);
        let first = members[0];
        let rng = self.request_rngs.get(first.index);
        let mut request = Request::new(
            first.arrival,
            first.measured,
            rng,
            first.class,
            first.service,
            first.index,
        );
        request.group = members.len() as u16;
        // The group's column of the plan's tables (its size, for a coded plan).
        request.class = self.planner.variant(first.class, request.group);
        if self.has_exits {
            request.exit_u = request.rng.random::<f64>();
        }
        let req = self.requests.insert(request) as u32;
        let i = req as usize;
        if i >= self.groups.len() {
            self.groups.resize_with(i + 1, Group::default);
        }
        let g = &mut self.groups[i];
        // Keep the vector's allocation for the next group.
        self.open_group = std::mem::replace(&mut g.members, members);
        g.progress = MemberProgress::default();
        g.answered = 0;
        g.responded = 0;
        g.finished = false;
        g.failing = 0;
        g.byzantine = None;
        let now = self.now();
        match self.admission {
            Some((delay, cost)) => {
                self.ledger.transfer_usd += cost;
                let _ = self.queue.push(now + delay, Event::StageReady { req });
            }
            None => self.start_stage(req),
        }
    }

    /// Task `index` of a per-member stage (rule `rule`) returned or failed: members become
    /// done (answered now, in the last stage) or lost (dropped). Returns the stage outcome.
    #[inline(never)]
    pub(super) fn member_progress(&mut self, req: u32, index: u16, returned: bool) -> Outcome {
        let (stage, size, class) = {
            let r = &self.requests[req as usize];
            (r.stage, r.group, r.class)
        };
        let Completion::PerMember(rule) = self.planner.stage(stage, class).completion else {
            return Outcome::Pending;
        };
        let rule = &self.planner.member_rules()[rule as usize];
        let g = &mut self.groups[req as usize];
        let (outcome, changed) = if returned {
            rule.returned(size, &mut g.progress, index)
        } else {
            rule.failed(size, &mut g.progress, index)
        };
        if changed != 0 && outcome == Outcome::Pending {
            // Members became done or lost: tasks no open member can use are cancelled (the
            // other copies of a replicated query), as the stage's stragglers are at its end.
            let p = g.progress;
            let useless = !rule.useful(size, &p) & !p.returned & !p.lost_tasks;
            let n = self.planner.stage(stage, class).tasks.len();
            let useless = useless & super::all_tasks(n);
            if useless != 0 {
                self.cancel_tasks(req, useless);
            }
        }
        if returned && changed != 0 {
            self.record_accuracy(req, changed);
        }
        if changed != 0 && (!returned || self.planner.is_last(stage)) {
            let now = self.now();
            let delay = self.planner.response_delay(stage);
            for m in 0..size {
                if changed & (1u64 << m) == 0
                    || self.groups[req as usize].answered & (1u64 << m) != 0
                {
                    continue;
                }
                self.groups[req as usize].answered |= 1u64 << m;
                match (returned, delay) {
                    (true, Some(d)) => {
                        let _ = self
                            .queue
                            .push(now + d, Event::MemberRespond { req, member: m });
                    }
                    _ => self.record_member(req, m, returned),
                }
            }
        }
        outcome
    }

    /// Answers every member not yet answered (`ok`: with a response, else dropped) and frees
    /// the request once every answer is recorded.
    #[inline(never)]
    pub(super) fn finish_group(&mut self, req: u32, ok: bool) {
        let size = self.requests[req as usize].group;
        self.groups[req as usize].finished = true;
        for m in 0..size {
            let g = &mut self.groups[req as usize];
            if g.answered & (1u64 << m) == 0 {
                g.answered |= 1u64 << m;
                self.record_member(req, m, ok);
            }
        }
        if self.groups[req as usize].responded == size {
            self.requests.free(req as usize);
        }
    }

    /// Task `index` (which ran at `loc`) of a per-member stage returned, or, for a failed
    /// worker, ended with an error.
    #[inline(never)]
    pub(super) fn member_task_done(&mut self, req: u32, index: u16, loc: Loc) {
        if self.groups[req as usize].failing >> index & 1 == 1 {
            // A failed worker: its invocation ends in an error, with no answer.
            self.requests[req as usize].done -= 1;
            return self.task_failed(req, index);
        }
        let stage = self.requests[req as usize].stage;
        match self.member_progress(req, index, true) {
            Outcome::Complete if self.planner.is_last(stage) => {
                self.cancel_siblings(req);
                self.finish_group(req, true);
            }
            Outcome::Complete => {
                self.cancel_siblings(req);
                self.complete_stage(req, loc);
            }
            Outcome::Pending | Outcome::Failed => {}
        }
    }

    /// Task `index` of a per-member stage failed.
    #[inline(never)]
    pub(super) fn member_task_failed(&mut self, req: u32, index: u16) {
        let stage = self.requests[req as usize].stage;
        match self.member_progress(req, index, false) {
            Outcome::Failed => {
                self.cancel_siblings(req);
                self.finish_group(req, false);
            }
            Outcome::Complete if self.planner.is_last(stage) => {
                self.cancel_siblings(req);
                self.finish_group(req, true);
            }
            Outcome::Complete => {
                self.cancel_siblings(req);
                self.complete_stage(req, Loc::None);
            }
            Outcome::Pending => {}
        }
    }

    /// A member's response reached its client.
    #[inline(never)]
    pub(super) fn member_respond(&mut self, req: u32, member: u16) {
        self.record_member(req, member, true);
        let g = &self.groups[req as usize];
        if g.finished && g.responded == self.requests[req as usize].group {
            self.requests.free(req as usize);
        }
    }

    /// Coded plans with an accuracy table: adds the expected accuracy of the answers of the
    /// members in `done` (bit mask), just made done, for the measured ones.
    fn record_accuracy(&mut self, req: u32, done: u64) {
        let Some(coded) = self.planner.coded_plan() else {
            return;
        };
        if coded.setup().accuracy.is_none() {
            return;
        }
        let r = &self.requests[req as usize];
        let (size, index) = (r.group, r.index);
        let byzantine = match self.groups[req as usize].byzantine {
            Some(mask) => mask,
            None => {
                // Drawn once per group, at its first answer.
                let n = self.planner.stage(r.stage, r.class).tasks.len() as u16;
                let mask = coded.faults().byzantine_mask(&self.fault_streams, index, n);
                self.groups[req as usize].byzantine = Some(mask);
                mask
            }
        };
        let g = &self.groups[req as usize];
        for m in 0..size {
            if done >> m & 1 == 0 || !g.members[m as usize].measured {
                continue;
            }
            if let Some(a) = coded.answer_accuracy(size, m, &g.progress, byzantine) {
                self.counters.accuracy_sum += a;
                self.counters.accuracy_n += 1;
            }
        }
    }

    /// Records member `m`'s outcome at the current time.
    fn record_member(&mut self, req: u32, m: u16, ok: bool) {
        let now = self.now();
        let g = &mut self.groups[req as usize];
        let Member {
            arrival, measured, ..
        } = g.members[m as usize];
        g.responded += 1;
        self.in_flight -= 1;
        self.in_system.set(now, self.in_flight);
        if measured {
            self.record_outcome(now.since(arrival).as_nanos(), ok);
        }
    }
}
