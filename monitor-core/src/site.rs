//! What a call site is: the static description the macros write for each annotated function
//! ([`Metadata`]: its name, [`Kind`], where it is, its thresholds and datasets), readable from
//! every layer, and the slow threshold that follows from it and the configuration.
//!
//! May import: `config`.

/// What an annotated function is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// `#[monitor_step]`: a pipeline step.
    Step,
    /// `#[monitor_query("name")]`: a database call.
    Query,
}

impl Kind {
    /// `"step"` or `"query"`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::Step => "step",
            Kind::Query => "query",
        }
    }
}

/// A dataset named in `#[monitor_step(inputs = "..", outputs = "..")]`: its OpenLineage
/// namespace and name, split by the macro at compile time (see [`crate::lineage`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DatasetName {
    /// Where the dataset lives: `file`, `postgres://db:5432`, `sqlite://shop.sqlite`, ...
    pub namespace: &'static str,
    /// The dataset within its namespace: a path, `db.schema.table`, ...
    pub name: &'static str,
}

impl DatasetName {
    /// A dataset name.
    #[must_use]
    pub const fn new(namespace: &'static str, name: &'static str) -> Self {
        DatasetName { namespace, name }
    }
}

/// Static description of a call site, written by the macros with `const fn` setters so that new
/// options never break previously generated code.
#[derive(Debug, Clone, Copy)]
pub struct Metadata {
    /// The step or query name.
    pub name: &'static str,
    /// Step or query.
    pub kind: Kind,
    /// `module_path!()` of the annotated function.
    pub module_path: &'static str,
    /// `file!()` of the annotated function.
    pub file: &'static str,
    /// `line!()` of the annotated function.
    pub line: u32,
    /// Per-site slow threshold in nanoseconds; 0 means "use the global threshold".
    pub slow_ns: u64,
    /// Whether to read RSS at entry and exit and track the call's peak.
    pub memory: bool,
    /// Per-site memory warning threshold in bytes; 0 means "use the global threshold".
    pub memory_warn: u64,
    /// Peak-memory budget in bytes; 0 means none.
    pub max_peak: u64,
    /// Duration budget in nanoseconds; 0 means none.
    pub max_duration_ns: u64,
    /// Whether the return value carries a row count (`#[monitor_step(rows)]`).
    pub rows: bool,
    /// Whether the site captures plans (`explain(..)`): its slow warning waits for the plan.
    pub explain: bool,
    /// Datasets the site reads (`inputs = ".."`), for OpenLineage.
    pub inputs: &'static [DatasetName],
    /// Datasets the site writes (`outputs = ".."`), for OpenLineage.
    pub outputs: &'static [DatasetName],
}

impl Metadata {
    /// The duration past which a call of this site is slow: its own `slow = ".."`, else
    /// `MONITOR_SLOW_QUERY` for a query; a step without its own threshold is never slow.
    #[inline]
    #[must_use]
    pub fn slow_threshold_ns(&self) -> u64 {
        match (self.slow_ns, self.kind) {
            (0, Kind::Query) => crate::config::slow_query_ns(),
            (0, Kind::Step) => u64::MAX,
            (t, _) => t,
        }
    }

    /// Metadata with every option at its default: steps track memory, queries time only.
    #[must_use]
    pub const fn new(
        name: &'static str,
        kind: Kind,
        module_path: &'static str,
        file: &'static str,
        line: u32,
    ) -> Self {
        Metadata {
            name,
            kind,
            module_path,
            file,
            line,
            slow_ns: 0,
            memory: matches!(kind, Kind::Step),
            memory_warn: 0,
            max_peak: 0,
            max_duration_ns: 0,
            rows: false,
            explain: false,
            inputs: &[],
            outputs: &[],
        }
    }

    /// Sets the slow threshold (nanoseconds).
    #[must_use]
    pub const fn slow_ns(mut self, ns: u64) -> Self {
        self.slow_ns = ns;
        self
    }

    /// Turns RSS tracking on or off.
    #[must_use]
    pub const fn memory(mut self, on: bool) -> Self {
        self.memory = on;
        self
    }

    /// Sets the memory warning threshold (bytes).
    #[must_use]
    pub const fn memory_warn(mut self, bytes: u64) -> Self {
        self.memory_warn = bytes;
        self
    }

    /// Sets the peak-memory budget (bytes).
    #[must_use]
    pub const fn max_peak(mut self, bytes: u64) -> Self {
        self.max_peak = bytes;
        self
    }

    /// Sets the duration budget (nanoseconds).
    #[must_use]
    pub const fn max_duration_ns(mut self, ns: u64) -> Self {
        self.max_duration_ns = ns;
        self
    }

    /// Marks the site as capturing plans (`explain(..)`).
    #[must_use]
    pub const fn explain(mut self, on: bool) -> Self {
        self.explain = on;
        self
    }

    /// Sets the datasets the site reads (`inputs = ".."`).
    #[must_use]
    pub const fn inputs(mut self, datasets: &'static [DatasetName]) -> Self {
        self.inputs = datasets;
        self
    }

    /// Sets the datasets the site writes (`outputs = ".."`).
    #[must_use]
    pub const fn outputs(mut self, datasets: &'static [DatasetName]) -> Self {
        self.outputs = datasets;
        self
    }

    /// Marks the return value as carrying a row count.
    #[must_use]
    pub const fn rows(mut self, on: bool) -> Self {
        self.rows = on;
        self
    }
}
