//! Scenarios: the TOML file a researcher writes, parsed ([`spec`]) and validated into the model
//! the engine runs ([`Scenario`]). Every problem is reported with the file, the line, the key
//! path, what was wrong and what is allowed.

pub mod limits;
pub mod spec;
/// Quantities with units live in [`crate::units`] (the workload and report layers parse them
/// too); re-exported here, where scenario files use them.
pub use crate::units;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::cloud::deploy::FunctionSpec;
use crate::cloud::faas::{ColdMode, CpuCurve, FaasConfig, Reuse, Throttle};
use crate::cloud::pricing::{self, InstanceType, LambdaPreset};
use crate::cloud::storage::{DataConfig, Handoff, Link, Transfer};
use crate::cloud::vm::VmConfig;
use crate::cloud::{billing::Prices, coldstart_data};
use crate::kernel::SimDuration;
use crate::policy::coded::settings::CodedSettings;
use crate::policy::moe::scenario::MoeScenario;
use crate::policy::{ConfigContext, PolicyConfig};
use crate::workload::{ArrivalModel, Dist, DistSpec, ExitModel};
use spec::{ScaleRateSpec, ScenarioSpec, ThrottleSpec, VmBillingSpec};

/// A problem in a scenario file.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// Dotted key path, when known (e.g. `platform.faas.memory`).
    pub key: Option<String>,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": key `{}`", display_key(key))?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ScenarioError {}

/// `stage.0.service` → `stage[0].service` (the form serde paths use).
fn display_key(key: &str) -> String {
    let mut out = String::new();
    for part in key.split('.') {
        if part.parse::<usize>().is_ok() {
            out.push_str(&format!("[{part}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(part);
        }
    }
    out
}

/// One validated stage of the request plan.
#[derive(Clone, Debug)]
pub struct Stage {
    /// Name.
    pub name: String,
    /// Service time on one vCPU.
    pub service: StageService,
    /// vCPUs a task can use.
    pub parallelism: f64,
    /// Fan-out.
    pub tasks: u32,
    /// Tasks needed to complete.
    pub quorum: u32,
    /// Probability that a request reaching the stage exits after it (over time).
    pub exit: ExitModel,
    /// Output bytes to the next stage.
    pub output: u64,
    /// How the output moves.
    pub transfer: Transfer,
    /// Function memory for this stage (MB), if overridden.
    pub memory_mb: Option<u32>,
    /// Profiled service times per resource (used as drawn, without vCPU scaling).
    pub service_on: Vec<(Resource, Dist)>,
    /// When the output moves to the next stage.
    pub handoff: Handoff,
    /// Compression ratio of the output (≥ 1).
    pub compression: f64,
    /// Compression speed in raw bytes per second (`None`: free).
    pub compression_throughput: Option<f64>,
    /// Explicit tasks, each on a declared function (empty: `tasks` copies of one task on the
    /// stage's own function, routed by the policy).
    pub task_list: Vec<TaskDecl>,
    /// How the stage completes.
    pub completion: StageCompletion,
}

/// One explicit task of a stage.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskDecl {
    /// Index of its function in [`Scenario::functions`].
    pub function: usize,
    /// Its work.
    pub work: TaskWork,
}

/// How long an explicit task's work takes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TaskWork {
    /// Drawn from the stage's `service` (and profiles).
    Service,
    /// This long on one full vCPU, run at the function's vCPU share.
    Cpu(SimDuration),
    /// Exactly this long.
    Exact(SimDuration),
}

/// When a stage completes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StageCompletion {
    /// Every task returns.
    All,
    /// Any k of the tasks.
    AnyK(u32),
    /// Per member of the group: alternative sets of task indices.
    PerMember(Vec<Vec<Vec<u16>>>),
}

/// The largest group the batcher forms (members are bits of one 64-bit word).
pub const MAX_GROUP: u16 = 64;

/// The batcher's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grouping {
    /// Members per group.
    pub size: u16,
    /// A partial group closes this long after its first member arrived.
    pub timeout: Option<SimDuration>,
}

/// A resource a stage's service time was profiled on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resource {
    /// One slot of a VM of this instance type.
    Instance(String),
    /// A function of any memory size.
    Function,
    /// A function of this memory (MB).
    FunctionMemory(u32),
}

impl Stage {
    /// The function this stage deploys for requests of `class`: its own memory is the stage's
    /// `memory`, else the memory the trace records for the class.
    pub fn function_spec(
        &self,
        name: String,
        class: Option<&crate::workload::trace::Class>,
    ) -> FunctionSpec {
        FunctionSpec {
            name,
            memory_mb: self.memory_mb.or(class.and_then(|c| c.memory_mb)),
            keep_alive: None,
            provisioned_concurrency: None,
        }
    }

    /// The profiled distribution for a VM slot of `instance`, if any.
    pub fn service_on_vm(&self, instance: &str) -> Option<&Dist> {
        self.service_on
            .iter()
            .find(|(r, _)| matches!(r, Resource::Instance(n) if n == instance))
            .map(|(_, d)| d)
    }

    /// The profiled distribution for a function of `memory_mb`, if any (an exact memory
    /// first, then `function`).
    pub fn service_on_function(&self, memory_mb: u32) -> Option<&Dist> {
        let exact = self
            .service_on
            .iter()
            .find(|(r, _)| *r == Resource::FunctionMemory(memory_mb));
        exact
            .or_else(|| {
                self.service_on
                    .iter()
                    .find(|(r, _)| *r == Resource::Function)
            })
            .map(|(_, d)| d)
    }

    /// Bytes of the output that cross the network (after compression) and the time to
    /// compress them.
    pub fn handoff_bytes(&self) -> (u64, SimDuration) {
        let raw = self.output * self.quorum as u64;
        let sent = (raw as f64 / self.compression).ceil() as u64;
        let t = self
            .compression_throughput
            .map(|bps| SimDuration::from_secs_f64(raw as f64 / bps))
            .unwrap_or_default();
        (sent, t)
    }
}

/// Where a stage's service times come from.
#[derive(Clone, Debug)]
pub enum StageService {
    /// Drawn from a distribution (from the request's own stream).
    Dist(Dist),
    /// The duration recorded in the request's trace record.
    FromTrace,
}

/// Run control.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// Arrivals stop here.
    pub horizon: SimDuration,
    /// Metrics ignore requests arriving earlier.
    pub warmup: SimDuration,
    /// Master seed.
    pub seed: u64,
    /// Replications.
    pub replications: u32,
    /// Time-series interval.
    pub sample_interval: SimDuration,
    /// Latency target.
    pub slo: Option<SimDuration>,
    /// Resource guards and the drain limit.
    pub limits: limits::Limits,
}

/// A validated scenario, ready to run.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// The file it came from.
    pub path: PathBuf,
    /// Run control.
    pub run: RunConfig,
    /// Arrival process.
    pub arrivals: ArrivalModel,
    /// Request classes: the functions a trace names (one class otherwise).
    pub classes: Vec<crate::workload::trace::Class>,
    /// Request input size.
    pub input_bytes: u64,
    /// FaaS platform.
    pub faas: FaasConfig,
    /// Prices for the ledger.
    pub prices: Prices,
    /// VM platform (default instance type).
    pub vm: VmConfig,
    /// Extra instance types declared by the scenario.
    pub instance_types: Vec<InstanceType>,
    /// Slots per VM if the scenario sets them.
    pub vm_slots: Option<u32>,
    /// Payload and storage.
    pub data: DataConfig,
    /// Functions declared by name (`[[function]]`), deployed before the stages' own.
    pub functions: Vec<FunctionSpec>,
    /// Consecutive arrivals grouped by the batcher (`None`: every request alone).
    pub group: Option<Grouping>,
    /// The request plan.
    pub stages: Vec<Stage>,
    /// The policies, validated (each kind's config, defaults applied).
    pub policies: Vec<PolicyConfig>,
    /// `[moe]`: the mixture-of-experts model and routing, if the scenario has one.
    pub moe: Option<std::sync::Arc<MoeScenario>>,
}

impl Scenario {
    /// Reads and validates a scenario file. A `[sweep]` table is ignored ([`strip_sweep_table`]):
    /// this is the scenario's base point (use [`crate::sweep`] to check and run the sweep).
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
            file: path.to_path_buf(),
            line: None,
            key: None,
            message: format!("cannot read the scenario: {e}"),
        })?;
        Self::from_str_at(&strip_sweep_table(&text), path)
    }

    /// Validates scenario text; `path` names it in errors and anchors relative file paths.
    pub fn from_str_at(text: &str, path: &Path) -> Result<Scenario, ScenarioError> {
        let spec = parse(text, path)?;
        let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let v = Validator {
            text,
            path,
            base: &base,
        };
        v.build(spec)
    }

    /// Index of a policy by its display name.
    pub fn policy_index(&self, name: &str) -> Option<usize> {
        self.policies.iter().position(|p| p.display_name() == name)
    }

    /// The memory (MB) of the function that serves `stage` for requests of `class`: the
    /// policy's deployment override (`deployment`), else the stage's `memory`, else the memory
    /// the trace records for the class, else the platform's `memory` (the rule of
    /// [`FunctionSpec::resolve`], for the function [`Stage::function_spec`] declares).
    pub fn function_memory_mb(
        &self,
        deployment: Option<u32>,
        stage: &Stage,
        class: Option<&crate::workload::trace::Class>,
    ) -> u32 {
        stage
            .function_spec(String::new(), class)
            .memory(deployment, self.faas.memory_mb)
    }

    /// Looks up an instance type: the scenario's own first, then the preset table.
    pub fn instance_type(&self, name: &str) -> Option<InstanceType> {
        self.instance_types
            .iter()
            .find(|t| t.name == name)
            .cloned()
            .or_else(|| pricing::ec2_instance(name))
    }

    /// The VM configuration with another instance type (slots follow its vCPUs unless the
    /// scenario sets `slots`).
    pub fn vm_config_for(&self, instance: &InstanceType) -> VmConfig {
        let mut c = self.vm.clone();
        c.slots = self.vm_slots.unwrap_or(instance.vcpus).max(1);
        c.vcpus_per_slot = instance.vcpus as f64 / c.slots as f64;
        c.instance = instance.clone();
        c
    }
}

/// The scenario text without its `[sweep]` table: the scenario loader ignores a `[sweep]` table
/// ([`crate::sweep`] reads it). The table's lines are blanked, not removed, so the line numbers of
/// the rest of the file are unchanged and errors in it still point at the right line. Text that is
/// not valid TOML, or has no `[sweep]`, is returned unchanged.
pub fn strip_sweep_table(text: &str) -> String {
    use std::ops::Range;
    use toml_edit::{Item, Table};
    /// Collects the spans of an item's keys, headers and values.
    fn collect_spans(item: &Item, out: &mut Vec<Range<usize>>) {
        match item {
            Item::None => {}
            Item::Value(v) => out.extend(v.span()),
            Item::Table(t) => collect_table(t, out),
            Item::ArrayOfTables(a) => {
                for t in a.iter() {
                    collect_table(t, out);
                }
            }
        }
    }
    fn collect_table(t: &Table, out: &mut Vec<Range<usize>>) {
        out.extend(t.span());
        for (k, _) in t.iter() {
            if let Some((key, it)) = t.get_key_value(k) {
                out.extend(key.span());
                collect_spans(it, out);
            }
        }
    }
    let Ok(doc) = toml_edit::Document::parse(text.to_string()) else {
        return text.to_string();
    };
    let Some((key, item)) = doc.as_table().get_key_value("sweep") else {
        return text.to_string();
    };
    // The byte ranges of the sweep's parts, to blank.
    let mut ranges = Vec::new();
    if let Some(s) = key.span() {
        ranges.push(s);
    }
    collect_spans(item, &mut ranges);
    let mut blank = vec![false; text.matches('\n').count() + 2];
    for r in &ranges {
        let (a, b) = (
            line_of(text, r.start),
            line_of(text, r.end.saturating_sub(1).max(r.start)),
        );
        blank[a..=b].iter_mut().for_each(|x| *x = true);
    }
    let mut stripped = String::with_capacity(text.len());
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if blank[i + 1] {
            if line.ends_with("\r\n") {
                stripped.push_str("\r\n");
            } else if line.ends_with('\n') {
                stripped.push('\n');
            }
        } else {
            stripped.push_str(line);
        }
    }
    stripped
}

/// Parses TOML into the raw spec, mapping serde errors to file/line/key.
fn parse(text: &str, path: &Path) -> Result<ScenarioSpec, ScenarioError> {
    let de = toml::Deserializer::parse(text).map_err(|e| toml_error(&e, text, path, None))?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let key = e.path().to_string();
        let key = (key != "." && !key.is_empty()).then_some(key);
        toml_error(e.inner(), text, path, key)
    })
}

fn toml_error(e: &toml::de::Error, text: &str, path: &Path, key: Option<String>) -> ScenarioError {
    let mut line = e.span().map(|s| line_of(text, s.start));
    let mut key = key;
    let mut message = e.message().trim().to_string();
    if let Some(hint) = suggest_unknown_field(&message) {
        message.push_str(&hint);
    }
    if let Some((found, allowed)) = integer_error(&message) {
        // Inside a `kind = "…"` table serde loses the field's name: find it by its value.
        if let Some(field) = found
            .parse::<f64>()
            .ok()
            .and_then(|x| field_with_value(text, key.as_deref().unwrap_or(""), x))
        {
            key = Some(field);
            line = key.as_deref().and_then(|k| line_of_key(text, k)).or(line);
        }
        let last = key.as_deref().and_then(|k| k.rsplit('.').next());
        message = match last.filter(|n| !n.contains(['[', ']']) && n.parse::<usize>().is_err()) {
            Some(name) => format!("`{name}` must be {allowed}; found {found}"),
            None => format!("expected {allowed}; found {found}"),
        };
    }
    ScenarioError {
        file: path.to_path_buf(),
        line,
        key,
        message,
    }
}

/// Serde's "invalid value: integer `-1`, expected u32" (or "invalid type: floating point
/// `1000000000000`, expected u32") as (what was found, what is allowed), in words.
fn integer_error(message: &str) -> Option<(String, &'static str)> {
    let (head, ty) = message.rsplit_once(", expected ")?;
    let allowed = match ty.trim() {
        "u8" => "a whole number from 0 to 255",
        "u16" => "a whole number from 0 to 65535",
        "u32" => "a whole number from 0 to 4294967295",
        "u64" | "usize" => "a whole number from 0 to 18446744073709551615",
        "i32" => "a whole number from -2147483648 to 2147483647",
        "i64" | "isize" => "a whole number from -9223372036854775808 to 9223372036854775807",
        _ => return None,
    };
    let found = if let Some(v) = head
        .strip_prefix("invalid value: integer `")
        .or_else(|| head.strip_prefix("invalid type: integer `"))
    {
        v.trim_end_matches('`').to_string()
    } else if let Some(v) = head
        .strip_prefix("invalid type: floating point `")
        .or_else(|| head.strip_prefix("invalid value: floating point `"))
    {
        v.trim_end_matches('`').to_string()
    } else if let Some(v) = head.strip_prefix("invalid type: ") {
        v.replace('`', "")
    } else {
        return None;
    };
    Some((found, allowed))
}

/// The dotted path of the key under the table at `key` (a path such as `policy.0`) whose value
/// is the number `x`; `None` unless exactly one matches.
fn field_with_value(text: &str, key: &str, x: f64) -> Option<String> {
    use toml_edit::{ArrayOfTables, Item, TableLike, Value};
    enum Node<'a> {
        Table(&'a dyn TableLike),
        Tables(&'a ArrayOfTables),
        Value(&'a Value),
    }
    fn of_item(it: &Item) -> Option<Node<'_>> {
        match it {
            Item::Value(v) => Some(Node::Value(v)),
            Item::ArrayOfTables(a) => Some(Node::Tables(a)),
            other => other.as_table_like().map(Node::Table),
        }
    }
    // serde writes `policy[0].x`; walk it as `policy.0.x`.
    let key = key.replace('[', ".").replace(']', "");
    let doc = toml_edit::Document::parse(text).ok()?;
    let mut node = Node::Table(doc.as_table());
    for part in key.split('.').filter(|p| !p.is_empty()) {
        let index = part.parse::<usize>().ok();
        node = match node {
            Node::Table(t) => of_item(t.get(part)?)?,
            Node::Tables(a) => Node::Table(a.get(index?)?),
            Node::Value(Value::InlineTable(t)) => Node::Value(t.get(part)?),
            Node::Value(Value::Array(a)) => Node::Value(a.get(index?)?),
            Node::Value(_) => return None,
        };
    }
    let table: &dyn TableLike = match node {
        Node::Table(t) => t,
        Node::Value(Value::InlineTable(t)) => t,
        _ => return None,
    };
    let mut hits = Vec::new();
    let mut visit = |k: &str, v: &Value| {
        let n = match v {
            Value::Integer(i) => *i.value() as f64,
            Value::Float(f) => *f.value(),
            _ => return,
        };
        if n == x {
            hits.push(k.to_string());
        }
    };
    for (k, it) in table.iter() {
        if let Some(v) = it.as_value() {
            visit(k, v);
        }
    }
    match hits.as_slice() {
        [one] if key.is_empty() => Some(one.clone()),
        [one] => Some(format!("{key}.{one}")),
        _ => None,
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// For serde's "unknown field `x`, expected one of `a`, `b`" adds "did you mean `a`?".
fn suggest_unknown_field(message: &str) -> Option<String> {
    let rest = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("unknown variant `"))?;
    let (bad, tail) = rest.split_once('`')?;
    let candidates: Vec<&str> = tail.split('`').skip(1).step_by(2).collect();
    let best = candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(bad, c), *c))
        .max_by(|a, b| a.0.total_cmp(&b.0))?;
    (best.0 > 0.7).then(|| format!(" — did you mean `{}`?", best.1))
}

/// Finds the line of a dotted key path (`stage.1.service`) in the document.
fn line_of_key(text: &str, key: &str) -> Option<usize> {
    use toml_edit::{Item, Table, Value};
    enum Node<'a> {
        Item(&'a Item),
        Table(&'a Table),
        Value(&'a Value),
    }
    let doc = toml_edit::Document::parse(text).ok()?;
    let mut node = Node::Table(doc.as_table());
    let mut span: Option<std::ops::Range<usize>> = None;
    for part in key.split('.') {
        let index = part.parse::<usize>().ok();
        let next = match (&node, index) {
            (Node::Table(t), None) => {
                if let Some((k, _)) = t.get_key_value(part) {
                    span = k.span().or(span);
                }
                t.get(part).map(Node::Item)
            }
            (Node::Item(Item::Table(t)), None) => {
                if let Some((k, _)) = t.get_key_value(part) {
                    span = k.span().or(span);
                }
                t.get(part).map(Node::Item)
            }
            (
                Node::Item(Item::Value(Value::InlineTable(t))) | Node::Value(Value::InlineTable(t)),
                None,
            ) => {
                if let Some((k, _)) = t.get_key_value(part) {
                    span = k.span().or(span);
                }
                t.get(part).map(Node::Value)
            }
            (Node::Item(Item::ArrayOfTables(a)), Some(i)) => a.get(i).map(Node::Table),
            (Node::Item(Item::Value(Value::Array(a))) | Node::Value(Value::Array(a)), Some(i)) => {
                a.get(i).map(Node::Value)
            }
            _ => None,
        };
        let Some(n) = next else { break };
        let own = match &n {
            Node::Item(it) => it.span(),
            Node::Table(t) => t.span(),
            Node::Value(v) => v.span(),
        };
        if index.is_some() || span.is_none() {
            span = own.or(span);
        }
        node = n;
    }
    span.map(|s| line_of(text, s.start))
}

/// An instance type by name: the scenario's own `types` first, then the preset table; the error
/// names the closest known one and lists them all.
fn find_instance(name: &str, types: &[InstanceType]) -> Result<InstanceType, String> {
    types
        .iter()
        .find(|t| t.name == name)
        .cloned()
        .or_else(|| pricing::ec2_instance(name))
        .ok_or_else(|| {
            let mut known: Vec<&str> = pricing::EC2_2026.iter().map(|t| t.0).collect();
            known.extend(types.iter().map(|t| t.name.as_str()));
            let best = known
                .iter()
                .max_by(|a, b| strsim::jaro_winkler(name, a).total_cmp(&strsim::jaro_winkler(name, b)))
                .copied()
                .unwrap_or("");
            format!(
                "unknown instance type \"{name}\" (did you mean \"{best}\"?); known: {}; or declare it in [[platform.vm.instance_types]]",
                known.join(", ")
            )
        })
}

struct Validator<'a> {
    text: &'a str,
    path: &'a Path,
    base: &'a Path,
}

impl Validator<'_> {
    fn err(&self, key: &str, message: impl Into<String>) -> ScenarioError {
        ScenarioError {
            file: self.path.to_path_buf(),
            line: line_of_key(self.text, key),
            key: Some(key.to_string()),
            message: message.into(),
        }
    }

    fn dist(&self, key: &str, spec: &DistSpec) -> Result<Dist, ScenarioError> {
        spec.build(self.base).map_err(|m| self.err(key, m))
    }

    /// Names end up in CSV fields, figure legends and directory names: no line breaks, tabs or
    /// other control characters.
    fn plain_name(&self, key: &str, what: &str, name: &str) -> Result<(), ScenarioError> {
        match name.chars().find(|c| c.is_control()) {
            None => Ok(()),
            Some(c) => {
                let found = match c {
                    '\n' | '\r' => "a line break".to_string(),
                    '\t' => "a tab".to_string(),
                    c => format!("the control character U+{:04X}", c as u32),
                };
                Err(self.err(
                    key,
                    format!(
                        "the {what} name \"{}\" contains {found}; names may hold letters, digits, spaces and punctuation, but no line breaks, tabs or other control characters",
                        name.escape_debug()
                    ),
                ))
            }
        }
    }

    fn build(&self, s: ScenarioSpec) -> Result<Scenario, ScenarioError> {
        self.plain_name("name", "scenario", &s.name)?;
        if s.name.trim().is_empty() || s.name.contains(['/', '\\']) || s.name.starts_with('.') {
            return Err(self.err(
                "name",
                format!("name \"{}\" must be non-empty, not start with '.', and contain no '/' (it names the report directory)", s.name),
            ));
        }
        // Run control.
        let horizon = s.run.horizon.0;
        if horizon.as_nanos() == 0 {
            return Err(self.err("run.horizon", "horizon must be > 0 (e.g. \"10m\")"));
        }
        let warmup = s.run.warmup.map(|d| d.0).unwrap_or_default();
        if warmup >= horizon {
            return Err(self.err(
                "run.warmup",
                format!("warmup ({warmup}) must be shorter than the horizon ({horizon})"),
            ));
        }
        let replications = s.run.replications.unwrap_or(1);
        if replications == 0 {
            return Err(self.err("run.replications", "replications must be ≥ 1"));
        }
        let sample_interval = match s.run.sample_interval {
            Some(d) if d.0.as_nanos() == 0 => {
                return Err(self.err("run.sample_interval", "sample_interval must be > 0"));
            }
            Some(d) => d.0,
            None => SimDuration((horizon.as_nanos() / 200).max(1_000_000_000)),
        };
        if s.run.slo.is_some_and(|d| d.0.as_nanos() == 0) {
            return Err(self.err(
                "run.slo",
                "slo must be > 0: it is the latency target requests are counted against (e.g. \"300ms\")",
            ));
        }
        let run = RunConfig {
            horizon,
            warmup,
            seed: s.run.seed.unwrap_or(1),
            replications,
            sample_interval,
            slo: s.run.slo.map(|d| d.0),
            limits: limits::Limits::from_spec(s.run.limits.as_ref(), horizon)
                .map_err(|(key, m)| self.err(&key, m))?,
        };
        let arrivals = s
            .workload
            .arrivals
            .build(self.base)
            .map_err(|m| self.err("workload.arrivals", m))?;

        let (faas, prices) = self.faas(&s)?;
        let (vm, instance_types) = self.vm(&s)?;
        let mut data = self.data(&s)?;
        let trace_service = matches!(&arrivals, ArrivalModel::Trace(t) if t.has_service());
        let functions = self.functions(&s)?;
        let moe = self.moe(&s, &faas, &prices, &mut data)?;
        let stages = if moe.is_some() {
            Vec::new()
        } else {
            self.stages(&s, &data, trace_service, &instance_types, &functions)?
        };
        let group = self.group(&s, &stages)?;
        if s.policy.is_empty() {
            return Err(self.err("policy", "a scenario needs at least one [[policy]]"));
        }
        let lookup = |name: &str| find_instance(name, &instance_types);
        let coded = match &s.coded {
            None => CodedSettings::default(),
            Some(c) => {
                let dir = self.path.parent().unwrap_or(Path::new("."));
                CodedSettings::from_spec(c, dir)
                    .map_err(|(key, m)| self.err(&format!("coded.{key}"), m))?
            }
        };
        let cx = ConfigContext {
            default_instance: &vm.instance,
            lookup_instance: &lookup,
            stages: stages.len(),
            traced_service: stages
                .iter()
                .any(|st| matches!(st.service, StageService::FromTrace)),
            group_size: group.map(|g| g.size),
            coded: &coded,
            moe: moe.as_deref(),
        };
        let mut names = std::collections::BTreeSet::new();
        let mut policies = Vec::with_capacity(s.policy.len());
        for (i, p) in s.policy.iter().enumerate() {
            let key = format!("policy.{i}");
            let name = PolicyConfig::name_of(p);
            self.plain_name(&format!("{key}.name"), "policy", &name)?;
            if !names.insert(name.clone()) {
                return Err(self.err(
                    &key,
                    format!("two policies are named \"{name}\"; give each a distinct `name`"),
                ));
            }
            let config = PolicyConfig::from_spec(p, &cx).map_err(|e| match e.field {
                Some(field) => self.err(&format!("{key}.{field}"), e.message),
                None => self.err(&key, e.message),
            })?;
            if moe.is_some() && !matches!(config, PolicyConfig::Moe(_)) {
                return Err(self.err(
                    &format!("{key}.kind"),
                    format!(
                        "\"{}\" serves a [[stage]] plan; a scenario with [moe] compares the MoE policies \"moe-deploy\", \"moe-lambdaml\" and \"moe-cpu-cluster\"",
                        config.kind()
                    ),
                ));
            }
            policies.push(config);
        }
        let scenario = Scenario {
            name: s.name.clone(),
            description: s.description.clone().unwrap_or_default(),
            path: self.path.to_path_buf(),
            run,
            classes: arrivals.classes(),
            arrivals,
            input_bytes: s.workload.input.map(|b| b.0).unwrap_or(0),
            faas,
            prices,
            vm,
            instance_types,
            vm_slots: s.platform.vm.slots,
            data,
            functions,
            group,
            stages,
            policies,
            moe,
        };
        limits::check(&scenario, &scenario.run.limits).map_err(|(key, m)| self.err(&key, m))?;
        Ok(scenario)
    }

    /// The `[moe]` table, if any. Its direct transfers use the payload path, which becomes the
    /// model's function-to-function link (no latency, `f2f_bandwidth`, its payload limit).
    fn moe(
        &self,
        s: &ScenarioSpec,
        faas: &FaasConfig,
        prices: &Prices,
        data: &mut DataConfig,
    ) -> Result<Option<std::sync::Arc<MoeScenario>>, ScenarioError> {
        let Some(spec) = &s.moe else {
            return Ok(None);
        };
        if !s.stage.is_empty() {
            return Err(self.err(
                "stage",
                "a scenario with [moe] has the model's plan (head, one stage per MoE layer and its gather, tail); remove the [[stage]] tables",
            ));
        }
        let p = &s.platform.payload;
        if p.latency.is_some() || p.bandwidth.is_some() || p.limit.is_some() {
            return Err(self.err(
                "platform.payload",
                "in a scenario with [moe] direct transfers use [moe.platform] f2f_bandwidth and payload_limit; remove [platform.payload] latency, bandwidth and limit",
            ));
        }
        if !matches!(faas.warm_start, Dist::Constant(d) if d == SimDuration::ZERO) {
            return Err(self.err(
                "platform.faas.warm_start",
                "in a scenario with [moe] the warm-start time is [moe.platform] warm_start, inside every invocation's time; remove [platform.faas] warm_start",
            ));
        }
        if s.workload.group.is_some() {
            return Err(self.err(
                "workload.group",
                "a MoE request is already a batch of tokens ([moe] batch_tokens); remove `group`",
            ));
        }
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let sc = MoeScenario::build(spec, dir, prices, faas.granularity)
            .map_err(|(key, m)| self.err(&key, m))?;
        data.payload =
            crate::cloud::storage::Link::free(SimDuration::ZERO, sc.setup.platform.f2f_bandwidth);
        data.payload_limit = sc.setup.platform.payload_limit;
        Ok(Some(std::sync::Arc::new(sc)))
    }

    fn faas(&self, s: &ScenarioSpec) -> Result<(FaasConfig, Prices), ScenarioError> {
        let f = &s.platform.faas;
        let preset: LambdaPreset = match f.preset.as_deref() {
            None => pricing::AWS_LAMBDA_2025,
            Some(name) => pricing::LAMBDA_PRESETS
                .iter()
                .find(|p| p.name == name)
                .cloned()
                .ok_or_else(|| {
                    self.err(
                        "platform.faas.preset",
                        format!(
                            "unknown FaaS preset \"{name}\"; allowed: {}",
                            pricing::LAMBDA_PRESETS
                                .iter()
                                .map(|p| p.name)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                })?,
        };
        let arch = f.architecture.unwrap_or_default();
        let memory_mb = f.memory.map(|m| m.0).unwrap_or(1024);
        let granularity = f
            .billing_granularity
            .map(|d| d.0)
            .unwrap_or(preset.granularity);
        if granularity.as_nanos() == 0 {
            return Err(self.err(
                "platform.faas.billing_granularity",
                "billing granularity must be > 0 (AWS: \"1ms\"; before Dec 2020: \"100ms\")",
            ));
        }
        let mb_per_vcpu = f.mb_per_vcpu.unwrap_or(1769.0);
        let max_vcpus = f.max_vcpus.unwrap_or(6.0);
        if !(mb_per_vcpu > 0.0) || !(max_vcpus > 0.0) {
            return Err(self.err(
                "platform.faas.mb_per_vcpu",
                "mb_per_vcpu and max_vcpus must be > 0",
            ));
        }
        let concurrency_limit = f.concurrency_limit.unwrap_or(preset.concurrency_limit);
        if concurrency_limit == 0 {
            return Err(self.err(
                "platform.faas.concurrency_limit",
                "concurrency_limit must be ≥ 1",
            ));
        }
        let (scale_burst, scale_period) = match &f.scale_rate {
            None => (Some(preset.scale_burst), preset.scale_period),
            Some(ScaleRateSpec::Named(n)) if n == "unlimited" => (None, preset.scale_period),
            Some(ScaleRateSpec::Named(n)) => {
                return Err(self.err(
                    "platform.faas.scale_rate",
                    format!("scale_rate \"{n}\" is not allowed; write \"unlimited\" or {{ burst = 1000, per = \"10s\" }}"),
                ));
            }
            Some(ScaleRateSpec::Bucket { burst, per }) => {
                if *burst == 0 || per.0.as_nanos() == 0 {
                    return Err(self.err(
                        "platform.faas.scale_rate",
                        "scale_rate needs burst ≥ 1 and per > 0",
                    ));
                }
                (Some(*burst), per.0)
            }
        };
        let on_throttle = match &f.on_throttle {
            None | Some(ThrottleSpec::Queue) => Throttle::Queue,
            Some(ThrottleSpec::Drop) => Throttle::Drop,
            Some(ThrottleSpec::Retry {
                delay,
                max_attempts,
            }) => {
                if *max_attempts == 0 {
                    return Err(self.err(
                        "platform.faas.on_throttle.max_attempts",
                        "max_attempts must be ≥ 1",
                    ));
                }
                Throttle::Retry {
                    delay: delay.0,
                    max_attempts: *max_attempts,
                }
            }
        };
        let cold_start = match (&f.cold_start, &f.cold_start_measured) {
            (Some(_), Some(_)) => {
                return Err(self.err(
                    "platform.faas.cold_start_measured",
                    "give either `cold_start` (a distribution) or `cold_start_measured`, not both",
                ));
            }
            (Some(d), None) => self.dist("platform.faas.cold_start", d)?,
            (None, Some(m)) => {
                let v = coldstart_data::load(m, memory_mb, self.base)
                    .map_err(|e| self.err("platform.faas.cold_start_measured", e))?;
                Dist::Empirical(v.into())
            }
            (None, None) => Dist::LogNormal(
                rand_distr::LogNormal::new(
                    0.25f64.ln(),
                    (4.0f64).ln() / crate::workload::dist::Z99,
                )
                .map_err(|e| self.err("platform.faas.cold_start", e.to_string()))?,
                0.25f64.ln(),
                (4.0f64).ln() / crate::workload::dist::Z99,
            ),
        };
        let warm_start = match &f.warm_start {
            Some(d) => self.dist("platform.faas.warm_start", d)?,
            None => Dist::Constant(SimDuration::ZERO),
        };
        let keep_alive = f
            .keep_alive
            .map(|d| d.0)
            .unwrap_or(SimDuration::from_secs(600));
        let config = FaasConfig {
            memory_mb,
            arch,
            granularity,
            bill_init: f.bill_init.unwrap_or(preset.bill_init),
            keep_alive: Some(keep_alive),
            max_lifetime: f.max_lifetime.map(|d| d.0),
            reuse: f.reuse.unwrap_or(Reuse::MostRecentlyUsed),
            concurrency_limit,
            scale_burst,
            scale_period,
            on_throttle,
            cold_start,
            cold_mode: f.cold_start_mode.unwrap_or(ColdMode::AddsToService),
            warm_start,
            cpu: CpuCurve {
                mb_per_vcpu,
                max_vcpus,
            },
            provisioned_concurrency: f.provisioned_concurrency.unwrap_or(0),
        };
        let gb_s = f.price_per_gb_s.unwrap_or(match arch {
            crate::cloud::faas::Arch::X86_64 => preset.gb_s_x86,
            crate::cloud::faas::Arch::Arm64 => preset.gb_s_arm,
        });
        let per_request = f.price_per_request.unwrap_or(preset.per_request);
        for (k, v) in [("price_per_gb_s", gb_s), ("price_per_request", per_request)] {
            if !(v >= 0.0) {
                return Err(self.err(&format!("platform.faas.{k}"), "prices must be ≥ 0"));
            }
        }
        let st = &s.platform.storage;
        let prices = Prices {
            gb_s,
            per_request,
            pc_gb_s: preset.pc_gb_s,
            pc_duration_gb_s: preset.pc_duration_gb_s,
            put: st.put_price.unwrap_or(pricing::S3_PUT_PER_REQUEST),
            get: st.get_price.unwrap_or(pricing::S3_GET_PER_REQUEST),
        };
        Ok((config, prices))
    }

    fn vm(&self, s: &ScenarioSpec) -> Result<(VmConfig, Vec<InstanceType>), ScenarioError> {
        let v = &s.platform.vm;
        if let Some(p) = &v.preset
            && !pricing::EC2_PRESETS.contains(&p.as_str())
        {
            return Err(self.err(
                "platform.vm.preset",
                format!(
                    "unknown VM preset \"{p}\"; allowed: {}",
                    pricing::EC2_PRESETS.join(", ")
                ),
            ));
        }
        let mut types = Vec::new();
        for (i, t) in v.instance_types.iter().enumerate() {
            if t.vcpus == 0 || !(t.price_per_hour >= 0.0) {
                return Err(self.err(
                    &format!("platform.vm.instance_types.{i}"),
                    "an instance type needs vcpus ≥ 1 and price_per_hour ≥ 0",
                ));
            }
            types.push(InstanceType {
                name: t.name.clone(),
                vcpus: t.vcpus,
                memory_gib: t.memory.0 as f64 / (1u64 << 30) as f64,
                price_per_hour: t.price_per_hour,
            });
        }
        let name = v.instance.as_deref().unwrap_or("c6i.large");
        let instance = self.lookup_instance(name, &types, "platform.vm.instance")?;
        if v.slots == Some(0) {
            return Err(self.err("platform.vm.slots", "slots must be ≥ 1"));
        }
        let slots = v.slots.unwrap_or(instance.vcpus).max(1);
        let boot = match &v.boot {
            Some(d) => self.dist("platform.vm.boot", d)?,
            None => Dist::Normal(
                rand_distr::Normal::new(100.0, 10.0)
                    .map_err(|e| self.err("platform.vm.boot", e.to_string()))?,
            ),
        };
        Ok((
            VmConfig {
                vcpus_per_slot: instance.vcpus as f64 / slots as f64,
                instance,
                slots,
                boot,
                minimum_billed: v
                    .minimum_billed
                    .map(|d| d.0)
                    .unwrap_or(SimDuration::from_secs(60)),
                per_hour: v.billing == Some(VmBillingSpec::PerHour),
                dispatch: v.dispatch.unwrap_or_default(),
            },
            types,
        ))
    }

    fn lookup_instance(
        &self,
        name: &str,
        types: &[InstanceType],
        key: &str,
    ) -> Result<InstanceType, ScenarioError> {
        find_instance(name, types).map_err(|m| self.err(key, m))
    }

    /// A price that must be finite and ≥ 0 (default 0).
    fn price(&self, key: &str, value: Option<f64>) -> Result<f64, ScenarioError> {
        match value {
            None => Ok(0.0),
            Some(v) if v.is_finite() && v >= 0.0 => Ok(v),
            Some(v) => Err(self.err(key, format!("price {v} must be a number ≥ 0 (dollars)"))),
        }
    }

    fn data(&self, s: &ScenarioSpec) -> Result<DataConfig, ScenarioError> {
        let p = &s.platform.payload;
        let st = &s.platform.storage;
        let n = &s.platform.network;
        Ok(DataConfig {
            payload: Link {
                latency: p
                    .latency
                    .map(|d| d.0)
                    .unwrap_or(SimDuration::from_millis(1)),
                bandwidth: p.bandwidth.map(|b| b.0).unwrap_or(100e6),
                price_per_gb: self.price("platform.payload.price_per_gb", p.price_per_gb)?,
                price_per_transfer: self
                    .price("platform.payload.price_per_transfer", p.price_per_transfer)?,
            },
            network: Link {
                latency: n.latency.map(|d| d.0).unwrap_or(SimDuration(200_000)),
                bandwidth: n.bandwidth.map(|b| b.0).unwrap_or(1.25e9),
                price_per_gb: self.price("platform.network.price_per_gb", n.price_per_gb)?,
                price_per_transfer: 0.0,
            },
            payload_limit: p
                .limit
                .map(|b| b.0)
                .unwrap_or(pricing::LAMBDA_PAYLOAD_LIMIT),
            storage: Link::free(
                st.latency
                    .map(|d| d.0)
                    .unwrap_or(SimDuration::from_millis(20)),
                st.bandwidth.map(|b| b.0).unwrap_or(80e6),
            ),
            storage_max_object: st.max_object.map(|b| b.0).unwrap_or(5_000_000_000_000),
            put_price: st.put_price.unwrap_or(pricing::S3_PUT_PER_REQUEST),
            get_price: st.get_price.unwrap_or(pricing::S3_GET_PER_REQUEST),
        })
    }

    /// Exit probabilities of every stage from the `[exits]` table, if any.
    fn exit_table(&self, s: &ScenarioSpec) -> Result<Option<Vec<f64>>, ScenarioError> {
        let Some(t) = &s.exits else { return Ok(None) };
        if t.table != "branchynet" {
            return Err(self.err(
                "exits.table",
                format!(
                    "unknown exit table \"{}\"; allowed: \"branchynet\"",
                    t.table
                ),
            ));
        }
        let file = t.file.as_ref().map(|f| self.base.join(f));
        let exits = crate::workload::branchynet_exits(file.as_deref(), &t.network, &t.thresholds)
            .map_err(|m| self.err("exits", m))?;
        if exits.len() != s.stage.len() {
            return Err(self.err(
                "exits.network",
                format!(
                    "{} has {} exits but the plan has {} stages; give it one [[stage]] per exit",
                    t.network,
                    exits.len(),
                    s.stage.len()
                ),
            ));
        }
        Ok(Some(exits))
    }

    fn service_on(
        &self,
        key: &str,
        st: &spec::StageSpec,
        instance_types: &[InstanceType],
    ) -> Result<Vec<(Resource, Dist)>, ScenarioError> {
        let mut out = Vec::new();
        for (name, d) in st.service_on.iter().flatten() {
            let k = format!("{key}.service_on.{name}");
            let resource = if name == "function" {
                Resource::Function
            } else if let Some(mb) = name.strip_prefix("function:") {
                let mb = mb
                    .trim_end_matches("MB")
                    .parse::<u32>()
                    .ok()
                    .filter(|m| *m >= 128);
                match mb {
                    Some(m) => Resource::FunctionMemory(m),
                    None => {
                        return Err(self.err(
                            &k,
                            format!("`{name}`: write `function:<MB>` with a memory ≥ 128, e.g. `function:1024`"),
                        ));
                    }
                }
            } else if instance_types.iter().any(|t| t.name == *name)
                || pricing::ec2_instance(name).is_some()
            {
                Resource::Instance(name.clone())
            } else {
                return Err(self.err(
                    &k,
                    format!("`{name}` is neither an instance type (a preset or one declared in [[platform.vm.instance_types]]) nor `function` / `function:<MB>`"),
                ));
            };
            if matches!(d, DistSpec::FromTrace) {
                return Err(self.err(&k, "`from-trace` is not allowed in service_on"));
            }
            out.push((resource, self.dist(&k, d)?));
        }
        Ok(out)
    }

    fn stages(
        &self,
        s: &ScenarioSpec,
        data: &DataConfig,
        trace_service: bool,
        instance_types: &[InstanceType],
        functions: &[FunctionSpec],
    ) -> Result<Vec<Stage>, ScenarioError> {
        if s.stage.is_empty() {
            return Err(self.err("stage", "the request plan needs at least one [[stage]]"));
        }
        let table_exits = self.exit_table(s)?;
        let mut out = Vec::new();
        let mut prev_output = s.workload.input.map(|b| b.0).unwrap_or(0);
        let mut prev_transfer = Transfer::Payload;
        for (i, st) in s.stage.iter().enumerate() {
            let key = format!("stage.{i}");
            if let Some(name) = &st.name {
                self.plain_name(&format!("{key}.name"), "stage", name)?;
            }
            let task_list = self.task_list(&key, st, functions)?;
            let tasks = match (&st.task, st.tasks) {
                (Some(_), Some(_)) => {
                    return Err(self.err(
                        &format!("{key}.tasks"),
                        "give either `tasks` (copies of one task) or `task` (a list of explicit tasks), not both",
                    ));
                }
                (Some(_), None) => task_list.len() as u32,
                (None, n) => n.unwrap_or(1),
            };
            if tasks == 0 {
                return Err(self.err(&format!("{key}.tasks"), "tasks must be ≥ 1"));
            }
            let completion = self.completion(&key, st, tasks)?;
            let quorum = match &completion {
                StageCompletion::AnyK(k) => *k,
                _ => tasks,
            };
            let parallelism = st.parallelism.unwrap_or(1.0);
            if !(parallelism > 0.0) {
                return Err(self.err(
                    &format!("{key}.parallelism"),
                    "parallelism (vCPUs a task can use) must be > 0",
                ));
            }
            let transfer = st.transfer.unwrap_or_default();
            let output = st.output.map(|b| b.0).unwrap_or(0);
            let (limit, what) = match transfer {
                Transfer::Payload => (
                    data.payload_limit,
                    "the payload limit ([platform.payload] limit)",
                ),
                Transfer::Storage => (data.storage_max_object, "the largest storage object"),
            };
            if output > limit {
                return Err(self.err(
                    &format!("{key}.output"),
                    format!("output of {output} bytes exceeds {what} of {limit} bytes; use transfer = \"storage\" or a smaller output"),
                ));
            }
            // The next stage receives the outputs of the quorum in one invocation payload.
            let fan_in = output.saturating_mul(quorum as u64);
            if transfer == Transfer::Payload && i + 1 < s.stage.len() && fan_in > data.payload_limit
            {
                return Err(self.err(
                    &format!("{key}.output"),
                    format!(
                        "the next stage receives quorum ({quorum}) × output = {fan_in} bytes in one payload, above the payload limit of {} bytes; use transfer = \"storage\" or a smaller output",
                        data.payload_limit
                    ),
                ));
            }
            if i == 0 && prev_transfer == Transfer::Payload && prev_output > data.payload_limit {
                return Err(self.err(
                    "workload.input",
                    format!("request input of {prev_output} bytes exceeds the payload limit of {} bytes", data.payload_limit),
                ));
            }
            if st.handoff == Some(Handoff::OnChange) && transfer == Transfer::Storage {
                return Err(self.err(
                    &format!("{key}.handoff"),
                    "handoff = \"on-change\" moves the output directly (payload or VM network); it cannot be combined with transfer = \"storage\"",
                ));
            }
            prev_output = output;
            prev_transfer = transfer;
            out.push(Stage {
                name: st.name.clone().unwrap_or_else(|| format!("stage{}", i + 1)),
                service: match &st.service {
                    None if task_list.iter().all(|t| t.work != TaskWork::Service)
                        && !task_list.is_empty() =>
                    {
                        // Every task gives its own work: the stage's law is never drawn.
                        StageService::Dist(Dist::Constant(SimDuration::ZERO))
                    }
                    None => {
                        return Err(self.err(
                            &key,
                            "missing `service` (the service time of one task on one vCPU); only a stage whose every explicit task gives `cpu` or `time` may omit it",
                        ));
                    }
                    Some(DistSpec::FromTrace) => {
                        if !trace_service {
                            return Err(self.err(
                                &format!("{key}.service"),
                                "`from-trace` needs trace arrivals that record durations (azure-functions-2019 with `durations`, csv with `duration_column`) or token counts (azure-llm-2023, mooncake)",
                            ));
                        }
                        StageService::FromTrace
                    }
                    Some(other) => {
                        StageService::Dist(self.dist(&format!("{key}.service"), other)?)
                    }
                },
                parallelism,
                tasks,
                quorum,
                exit: match (&st.exit, &table_exits) {
                    (Some(_), Some(_)) => {
                        return Err(self.err(
                            &format!("{key}.exit"),
                            "the [exits] table sets every stage's exit probability; remove this `exit` or the [exits] table",
                        ));
                    }
                    (Some(e), None) => e
                        .build()
                        .map_err(|m| self.err(&format!("{key}.exit"), m))?,
                    (None, Some(t)) if i + 1 < t.len() => ExitModel::constant(t[i]),
                    (None, _) => ExitModel::NEVER,
                },
                output,
                transfer,
                memory_mb: st.memory.map(|m| m.0),
                service_on: self.service_on(&key, st, instance_types)?,
                handoff: st.handoff.unwrap_or_default(),
                compression: match st.compression {
                    None => 1.0,
                    Some(c) if c >= 1.0 && c.is_finite() => c,
                    Some(c) => {
                        return Err(self.err(
                            &format!("{key}.compression"),
                            format!("compression ratio {c} must be ≥ 1 (raw size ÷ compressed size)"),
                        ));
                    }
                },
                compression_throughput: st.compression_throughput.map(|b| b.0),
                task_list,
                completion,
            });
        }
        Ok(out)
    }

    /// `[[function]]` tables: unique names.
    fn functions(&self, s: &ScenarioSpec) -> Result<Vec<FunctionSpec>, ScenarioError> {
        let mut out: Vec<FunctionSpec> = Vec::with_capacity(s.function.len());
        for (i, f) in s.function.iter().enumerate() {
            let key = format!("function.{i}");
            if f.name.trim().is_empty() {
                return Err(self.err(&format!("{key}.name"), "a function needs a non-empty name"));
            }
            self.plain_name(&format!("{key}.name"), "function", &f.name)?;
            if out.iter().any(|o| o.name == f.name) {
                return Err(self.err(
                    &format!("{key}.name"),
                    format!(
                        "two [[function]] tables are named \"{}\"; names must be unique",
                        f.name
                    ),
                ));
            }
            self.positive(&key, "keep_alive", f.keep_alive)?;
            out.push(FunctionSpec {
                name: f.name.clone(),
                memory_mb: f.memory.map(|m| m.0),
                keep_alive: f.keep_alive.map(|d| d.0),
                provisioned_concurrency: f.provisioned_concurrency,
            });
        }
        Ok(out)
    }

    /// A stage's explicit tasks, each on a declared function.
    fn task_list(
        &self,
        key: &str,
        st: &spec::StageSpec,
        functions: &[FunctionSpec],
    ) -> Result<Vec<TaskDecl>, ScenarioError> {
        let Some(list) = &st.task else {
            return Ok(Vec::new());
        };
        if list.is_empty() {
            return Err(self.err(
                &format!("{key}.task"),
                "the task list is empty: give at least one task",
            ));
        }
        let mut out = Vec::with_capacity(list.len());
        for (j, t) in list.iter().enumerate() {
            let tkey = format!("{key}.task.{j}");
            let Some(function) = functions.iter().position(|f| f.name == t.function) else {
                let names: Vec<&str> = functions.iter().map(|f| f.name.as_str()).collect();
                let hint = names
                    .iter()
                    .max_by(|a, b| {
                        strsim::jaro_winkler(&t.function, a)
                            .total_cmp(&strsim::jaro_winkler(&t.function, b))
                    })
                    .map(|n| format!(" (did you mean \"{n}\"?)"))
                    .unwrap_or_else(|| " (there are no [[function]] tables: declare one)".into());
                return Err(self.err(
                    &format!("{tkey}.function"),
                    format!("no [[function]] is named \"{}\"{hint}", t.function),
                ));
            };
            let work = match (t.cpu, t.time) {
                (Some(_), Some(_)) => {
                    return Err(self.err(
                        &tkey,
                        "give a task either `cpu` (work on one vCPU, scaled by the function's vCPU share) or `time` (an exact duration), not both",
                    ));
                }
                (Some(c), None) => TaskWork::Cpu(c.0),
                (None, Some(d)) => TaskWork::Exact(d.0),
                (None, None) => TaskWork::Service,
            };
            out.push(TaskDecl { function, work });
        }
        Ok(out)
    }

    /// A stage's completion rule (`quorum` is the short form of `any`).
    fn completion(
        &self,
        key: &str,
        st: &spec::StageSpec,
        tasks: u32,
    ) -> Result<StageCompletion, ScenarioError> {
        let ckey = format!("{key}.completion");
        let rule = match (&st.completion, st.quorum) {
            (Some(_), Some(_)) => {
                return Err(self.err(
                    &ckey,
                    "give either `quorum` or `completion`, not both (`quorum = k` is `completion = { kind = \"any\", k = k }`)",
                ));
            }
            (None, None) | (Some(spec::CompletionSpec::All), None) => StageCompletion::All,
            (None, Some(q)) => {
                if q == 0 || q > tasks {
                    return Err(self.err(
                        &format!("{key}.quorum"),
                        format!("quorum {q} must be between 1 and tasks ({tasks})"),
                    ));
                }
                if q == tasks {
                    StageCompletion::All
                } else {
                    StageCompletion::AnyK(q)
                }
            }
            (Some(spec::CompletionSpec::Any { k }), None) => {
                if *k == 0 || *k > tasks {
                    return Err(self.err(
                        &ckey,
                        format!("k = {k} must be between 1 and the stage's tasks ({tasks})"),
                    ));
                }
                if *k == tasks {
                    StageCompletion::All
                } else {
                    StageCompletion::AnyK(*k)
                }
            }
            (Some(spec::CompletionSpec::PerMember { members }), None) => {
                if tasks > 64 {
                    return Err(self.err(
                        &ckey,
                        format!(
                            "a per-member rule allows at most 64 tasks; this stage has {tasks}"
                        ),
                    ));
                }
                if members.is_empty() || members.len() > 64 {
                    return Err(self.err(
                        &ckey,
                        format!(
                            "`members` lists {} members: give 1 to 64, one per member of the group",
                            members.len()
                        ),
                    ));
                }
                let mut out = Vec::with_capacity(members.len());
                for (m, alts) in members.iter().enumerate() {
                    if alts.is_empty() || alts.iter().any(|set| set.is_empty()) {
                        return Err(self.err(
                            &ckey,
                            format!("member {m} needs at least one non-empty set of task indices"),
                        ));
                    }
                    if let Some(&bad) = alts.iter().flatten().find(|&&j| j >= tasks) {
                        return Err(self.err(&ckey, format!("member {m} names task {bad}, but the stage's tasks are numbered 0 to {}", tasks - 1)));
                    }
                    out.push(
                        alts.iter()
                            .map(|set| set.iter().map(|&j| j as u16).collect())
                            .collect(),
                    );
                }
                StageCompletion::PerMember(out)
            }
        };
        Ok(rule)
    }

    /// `[workload] group`: the batcher; a per-member rule needs one member per group member.
    fn group(&self, s: &ScenarioSpec, stages: &[Stage]) -> Result<Option<Grouping>, ScenarioError> {
        let group = match s.workload.group {
            None => None,
            Some(g) => {
                // Members are tracked as bits of one 64-bit word.
                if g.size == 0 || g.size > MAX_GROUP as u32 {
                    return Err(self.err(
                        "workload.group.size",
                        format!("group size {} must be between 1 and {MAX_GROUP}", g.size),
                    ));
                }
                self.positive("workload.group", "timeout", g.timeout)?;
                Some(Grouping {
                    size: g.size as u16,
                    timeout: g.timeout.map(|d| d.0),
                })
            }
        };
        let size = group.map_or(1, |g| g.size as usize);
        for (i, st) in stages.iter().enumerate() {
            if let StageCompletion::PerMember(m) = &st.completion
                && m.len() != size
            {
                return Err(self.err(
                    &format!("stage.{i}.completion"),
                    format!("the per-member rule lists {} members but groups have {size} (set [workload] group = {{ size = {} }} or list one entry per member)", m.len(), m.len()),
                ));
            }
        }
        Ok(group)
    }

    /// A duration that, when given, must be > 0.
    fn positive(
        &self,
        key: &str,
        field: &str,
        d: Option<units::Duration>,
    ) -> Result<(), ScenarioError> {
        if d.is_some_and(|d| d.0.as_nanos() == 0) {
            return Err(self.err(&format!("{key}.{field}"), format!("{field} must be > 0")));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_field_gets_a_suggestion() {
        let hint = suggest_unknown_field(
            "unknown field `horizn`, expected one of `horizon`, `warmup`, `seed`",
        );
        assert_eq!(hint.as_deref(), Some(" — did you mean `horizon`?"));
    }

    #[test]
    fn function_memory_precedence_is_deployment_stage_class_platform() {
        let text = r#"name = "mem"
[run]
horizon = "1s"
[workload]
arrivals = { kind = "poisson", rate = "1/s" }
[platform.faas]
memory = "512MB"
[[stage]]
service = { kind = "constant", value = "1s" }
memory = "2048MB"
[[stage]]
service = { kind = "constant", value = "1s" }
[[policy]]
kind = "all-faas"
"#;
        let sc = Scenario::from_str_at(text, Path::new("mem.toml")).unwrap();
        let (with, without) = (&sc.stages[0], &sc.stages[1]);
        let class = crate::workload::trace::Class {
            name: "f".into(),
            memory_mb: Some(1536),
        };
        let bare = crate::workload::trace::Class {
            name: "g".into(),
            memory_mb: None,
        };
        assert_eq!(sc.function_memory_mb(Some(3008), with, Some(&class)), 3008);
        assert_eq!(sc.function_memory_mb(Some(3008), without, None), 3008);
        assert_eq!(sc.function_memory_mb(None, with, Some(&class)), 2048);
        assert_eq!(sc.function_memory_mb(None, without, Some(&class)), 1536);
        assert_eq!(sc.function_memory_mb(None, without, Some(&bare)), 512);
        assert_eq!(sc.function_memory_mb(None, without, None), 512);
    }

    #[test]
    fn the_loader_ignores_a_sweep_table() {
        let text =
            "name = \"x\"\n[sweep]\n\"run.seed\" = [1, 2]\nbad = 3\n[run]\nhorizon = \"1s\"\n";
        let s = strip_sweep_table(text);
        assert_eq!(s, "name = \"x\"\n\n\n\n[run]\nhorizon = \"1s\"\n");
        let plain = "name = \"x\"\n[run]\nhorizon = \"1s\"\n";
        assert_eq!(strip_sweep_table(plain), plain);
        assert_eq!(strip_sweep_table("not = [toml"), "not = [toml");
    }

    #[test]
    fn key_lines_are_found_in_arrays_of_tables() {
        let text = "name = \"x\"\n[run]\nhorizon = \"1s\"\n\n[[stage]]\nservice = 1\n\n[[stage]]\nexit = 0.5\nservice = 2\n";
        assert_eq!(line_of_key(text, "run.horizon"), Some(3));
        assert_eq!(line_of_key(text, "stage.1.service"), Some(10));
        assert_eq!(line_of_key(text, "stage.0"), Some(5));
    }
}
