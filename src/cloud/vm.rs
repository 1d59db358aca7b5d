//! VM pools (IaaS): instances that boot, run a number of tasks at once ("slots") with a FIFO
//! queue, and are billed per second with a minimum (or per hour) from launch to termination.
//!
//! A pool grows and shrinks when a policy says so; a VM being retired stops taking tasks and is
//! terminated once its running tasks finish. The module owns the state; the engine schedules the
//! events (boot completions, task completions).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::cloud::billing::{Ledger, vm_billed_seconds};
use crate::cloud::pricing::InstanceType;
use crate::kernel::{Integral, SimDuration, SimTime};
use crate::workload::Dist;

/// How a pool hands tasks to its VMs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Dispatch {
    /// One FIFO queue for the pool; a free slot on any VM takes its head (M/M/c).
    #[default]
    SharedQueue,
    /// Each VM has its own FIFO queue; a task joins the VM with the fewest tasks (busy + queued).
    LeastLoaded,
}

/// The validated VM platform of a scenario.
#[derive(Clone, Debug)]
pub struct VmConfig {
    /// Instance type.
    pub instance: InstanceType,
    /// Tasks one VM runs at once.
    pub slots: u32,
    /// vCPUs per slot (service-time scaling).
    pub vcpus_per_slot: f64,
    /// Boot time.
    pub boot: Dist,
    /// Minimum billed time per VM.
    pub minimum_billed: SimDuration,
    /// Bill whole hours instead of seconds.
    pub per_hour: bool,
    /// Dispatch rule.
    pub dispatch: Dispatch,
}

/// Lifecycle of a VM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmState {
    /// Launched, not yet serving.
    Booting,
    /// Serving.
    Running,
    /// Retired: finishes its tasks, takes no new ones.
    Draining,
    /// Gone (billed).
    Terminated,
}

/// One VM.
#[derive(Clone, Debug)]
pub struct Vm {
    /// State.
    pub state: VmState,
    /// Launch request time (billing starts here).
    pub launched: SimTime,
    /// Busy slots.
    pub busy: u32,
    /// Own queue (least-loaded dispatch): (task key, task sequence).
    pub queue: VecDeque<(u32, u64)>,
}

/// A task handed to a pool: where it goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Starts now on VM `vm`.
    Start(u32),
    /// Waits in the queue of the pool or of a VM.
    Queued,
}

/// A pool of identical VMs.
#[derive(Debug)]
pub struct Pool {
    /// Display name.
    pub name: String,
    /// Configuration.
    pub config: VmConfig,
    /// VMs ever launched (index = id).
    pub vms: Vec<Vm>,
    /// Shared FIFO queue: (task key, task sequence).
    pub queue: VecDeque<(u32, u64)>,
    /// Busy slots over time.
    pub busy_slots: Integral,
    /// Slots of running VMs over time.
    pub running_slots: Integral,
    /// VMs booting now.
    pub booting: u32,
    /// VMs running (not draining) now.
    pub running: u32,
    /// VMs draining now.
    pub draining: u32,
    /// Tasks queued now (all queues, including cancelled entries not yet skipped).
    pub queued: u32,
    /// VMs launched over the run.
    pub launched: u64,
    /// `1 / vcpus_per_slot` (at least 1e-9 vCPU), the service-time factor of a task that can
    /// use every vCPU of its slot: computed once, not divided per task.
    inv_vcpus_per_slot: f64,
}

impl Pool {
    /// An empty pool.
    pub fn new(name: String, config: VmConfig) -> Self {
        Pool {
            inv_vcpus_per_slot: 1.0 / config.vcpus_per_slot.max(1e-9),
            name,
            config,
            vms: Vec::new(),
            queue: VecDeque::new(),
            busy_slots: Integral::default(),
            running_slots: Integral::default(),
            booting: 0,
            running: 0,
            draining: 0,
            queued: 0,
            launched: 0,
        }
    }

    /// Launches a VM at `now`; returns its id. The caller schedules its boot completion, or
    /// calls [`Pool::booted`] at once for a VM that is ready at the start.
    pub fn launch(&mut self, now: SimTime) -> u32 {
        self.vms.push(Vm {
            state: VmState::Booting,
            launched: now,
            busy: 0,
            queue: VecDeque::new(),
        });
        self.booting += 1;
        self.launched += 1;
        (self.vms.len() - 1) as u32
    }

    /// VM `id` finished booting. Returns false if it was retired while booting (then it is
    /// terminated and billed now).
    pub fn booted(&mut self, id: u32, now: SimTime) -> bool {
        let vm = &mut self.vms[id as usize];
        match vm.state {
            VmState::Booting => {
                vm.state = VmState::Running;
                self.booting -= 1;
                self.running += 1;
                self.running_slots
                    .set(now, self.running as u64 * self.config.slots as u64);
                true
            }
            // Retired during boot: already terminated and billed.
            _ => false,
        }
    }

    /// Free slots on running VMs.
    #[inline]
    pub fn free_slots(&self) -> u32 {
        (self.running * self.config.slots).saturating_sub(self.busy_running())
    }

    #[inline]
    fn busy_running(&self) -> u32 {
        // Busy slots of running (not draining) VMs.
        self.busy_slots.value() as u32 - self.draining_busy()
    }

    #[inline]
    fn draining_busy(&self) -> u32 {
        if self.draining == 0 {
            return 0;
        }
        self.draining_busy_scan()
    }

    /// Busy slots of draining VMs (there are some): a scan, out of line.
    #[inline(never)]
    fn draining_busy_scan(&self) -> u32 {
        self.vms
            .iter()
            .filter(|v| v.state == VmState::Draining)
            .map(|v| v.busy)
            .sum()
    }

    /// Places a task: on a free slot if there is one, else in a queue.
    #[inline(always)]
    pub fn place(&mut self, task: (u32, u64), now: SimTime) -> Placement {
        match self.config.dispatch {
            Dispatch::SharedQueue => {
                if let Some(vm) = self.vm_with_free_slot() {
                    self.occupy(vm, now);
                    Placement::Start(vm)
                } else {
                    self.queue.push_back(task);
                    self.queued += 1;
                    Placement::Queued
                }
            }
            Dispatch::LeastLoaded => self.place_least_loaded(task, now),
        }
    }

    /// [`Pool::place`] with least-loaded dispatch (a scan of the VMs, out of line).
    #[inline(never)]
    fn place_least_loaded(&mut self, task: (u32, u64), now: SimTime) -> Placement {
        let best = self
            .vms
            .iter()
            .enumerate()
            .filter(|(_, v)| v.state == VmState::Running)
            .min_by_key(|(_, v)| v.busy as usize + v.queue.len())
            .map(|(i, _)| i as u32);
        match best {
            Some(vm) if self.vms[vm as usize].busy < self.config.slots => {
                self.occupy(vm, now);
                Placement::Start(vm)
            }
            Some(vm) => {
                self.vms[vm as usize].queue.push_back(task);
                self.queued += 1;
                Placement::Queued
            }
            None => {
                // Nothing running yet: wait in the pool queue for the first boot.
                self.queue.push_back(task);
                self.queued += 1;
                Placement::Queued
            }
        }
    }

    #[inline]
    fn vm_with_free_slot(&self) -> Option<u32> {
        if self.free_slots() == 0 {
            return None;
        }
        // Lowest-numbered running VM with a free slot (packs work onto the oldest VMs, so
        // scale-in finds idle ones).
        self.vms
            .iter()
            .position(|v| v.state == VmState::Running && v.busy < self.config.slots)
            .map(|i| i as u32)
    }

    #[inline]
    fn occupy(&mut self, vm: u32, now: SimTime) {
        self.vms[vm as usize].busy += 1;
        let b = self.busy_slots.value() + 1;
        self.busy_slots.set(now, b);
    }

    /// Frees one slot of `vm` at `now`. Returns true if the VM was draining and is now empty
    /// (the caller then terminates it).
    #[inline]
    pub fn free(&mut self, vm: u32, now: SimTime) -> bool {
        let v = &mut self.vms[vm as usize];
        v.busy -= 1;
        let b = self.busy_slots.value() - 1;
        self.busy_slots.set(now, b);
        let v = &self.vms[vm as usize];
        v.state == VmState::Draining && v.busy == 0
    }

    /// True if `vm` has a slot free.
    #[inline]
    pub fn has_free_slot(&self, vm: u32) -> bool {
        self.vms[vm as usize].busy < self.config.slots
    }

    /// Takes every queued entry out of a pool that has no VM left to run them (none running
    /// or booting): the pool's queue first, then each VM's, in order. Empty otherwise.
    pub fn take_stranded(&mut self) -> Vec<(u32, u64)> {
        if self.queued == 0 || self.running + self.booting > 0 {
            return Vec::new();
        }
        let mut stranded: Vec<(u32, u64)> = self.queue.drain(..).collect();
        for vm in &mut self.vms {
            stranded.extend(vm.queue.drain(..));
        }
        self.queued = 0;
        stranded
    }

    /// Pops the next queued task for a free slot on `vm` (its own queue first, then the pool's).
    /// `valid` says whether a queued entry is still wanted (cancelled tasks are skipped).
    #[inline]
    pub fn next_queued(
        &mut self,
        vm: u32,
        mut valid: impl FnMut(u32, u64) -> bool,
    ) -> Option<(u32, u64)> {
        if self.vms[vm as usize].state != VmState::Running {
            return None;
        }
        while let Some(t) = self.vms[vm as usize].queue.pop_front() {
            self.queued -= 1;
            if valid(t.0, t.1) {
                return Some(t);
            }
        }
        while let Some(t) = self.queue.pop_front() {
            self.queued -= 1;
            if valid(t.0, t.1) {
                return Some(t);
            }
        }
        None
    }

    /// Marks a slot of `vm` busy for a task taken from a queue.
    #[inline]
    pub fn start_queued(&mut self, vm: u32, now: SimTime) {
        self.occupy(vm, now);
    }

    /// Retires up to `n` VMs, booting ones first, then the least busy running ones. Empty VMs
    /// are terminated at once; others drain. Returns how many were retired.
    pub fn retire(&mut self, n: u32, now: SimTime, ledger: &mut Ledger) -> u32 {
        let mut done = 0;
        while done < n {
            let booting = self.vms.iter().rposition(|v| v.state == VmState::Booting);
            if let Some(i) = booting {
                // A pending instance can be terminated at once (billed from launch, with the
                // minimum).
                self.booting -= 1;
                self.terminate(i as u32, now, ledger);
                done += 1;
                continue;
            }
            let running = self
                .vms
                .iter()
                .enumerate()
                .filter(|(_, v)| v.state == VmState::Running)
                .min_by_key(|(i, v)| (v.busy, std::cmp::Reverse(*i)))
                .map(|(i, _)| i);
            let Some(i) = running else { break };
            // Re-queue its own waiting tasks to the pool queue.
            let own: Vec<_> = self.vms[i].queue.drain(..).collect();
            for t in own.into_iter().rev() {
                self.queue.push_front(t);
            }
            self.running -= 1;
            self.running_slots
                .set(now, self.running as u64 * self.config.slots as u64);
            if self.vms[i].busy == 0 {
                self.terminate(i as u32, now, ledger);
            } else {
                self.vms[i].state = VmState::Draining;
                self.draining += 1;
            }
            done += 1;
        }
        done
    }

    /// Terminates a VM and bills it (counters are the caller's business).
    fn terminate(&mut self, vm: u32, now: SimTime, ledger: &mut Ledger) {
        let v = &mut self.vms[vm as usize];
        v.state = VmState::Terminated;
        let billed = vm_billed_seconds(
            now.since(v.launched),
            self.config.minimum_billed,
            self.config.per_hour,
        );
        ledger.add_vm(billed, self.config.instance.price_per_hour);
    }

    /// A draining VM's last task ended: terminate and bill it.
    pub fn drained(&mut self, vm: u32, now: SimTime, ledger: &mut Ledger) {
        self.draining -= 1;
        self.terminate(vm, now, ledger);
    }

    /// Bills every VM still alive at the end of the run.
    pub fn finish(&mut self, end: SimTime, ledger: &mut Ledger) {
        for i in 0..self.vms.len() {
            if self.vms[i].state != VmState::Terminated {
                self.terminate(i as u32, end, ledger);
            }
        }
    }

    /// Service-time factor for a task that can use `parallelism` vCPUs (relative to one vCPU).
    #[inline]
    pub fn slowdown(&self, parallelism: f64) -> f64 {
        // `min` ignores a NaN parallelism: so does this test.
        if !(parallelism < self.config.vcpus_per_slot) {
            // The common case (the task can use the whole slot): no division.
            return self.inv_vcpus_per_slot;
        }
        1.0 / parallelism.max(1e-9)
    }

    /// VMs alive (booting, running or draining).
    pub fn alive(&self) -> u32 {
        self.booting + self.running + self.draining
    }
}
