//! Markdown tables and the target ledger.

use std::fmt::Write as _;

/// A markdown table.
#[derive(Debug, Clone, Default)]
pub struct Table {
    headers: Vec<String>,
    align_left: usize,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers; the first `align_left` columns are
    /// left-aligned (labels), the rest right-aligned (numbers).
    #[must_use]
    pub fn new(headers: &[&str], align_left: usize) -> Self {
        Self {
            headers: headers.iter().map(|h| (*h).to_string()).collect(),
            align_left,
            rows: Vec::new(),
        }
    }

    /// Appends a row (missing cells are left empty).
    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }

    /// The table as markdown, ending with a newline.
    #[must_use]
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "| {} |", self.headers.join(" | "));
        let rule: Vec<&str> = (0..self.headers.len())
            .map(|i| if i < self.align_left { "---" } else { "---:" })
            .collect();
        let _ = writeln!(out, "|{}|", rule.join("|"));
        for row in &self.rows {
            let cells: Vec<&str> = (0..self.headers.len())
                .map(|i| row.get(i).map_or("", String::as_str))
                .collect();
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
        out
    }
}

/// One target of the issue, with the figure measured for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// What is measured.
    pub name: String,
    /// The goal, as stated.
    pub goal: String,
    /// The measured figure (usually a ratio).
    pub measured: String,
    /// Whether the goal was met.
    pub met: bool,
}

impl Target {
    /// A target that is met when `met` holds.
    pub fn new(
        name: impl Into<String>,
        goal: impl Into<String>,
        measured: impl Into<String>,
        met: bool,
    ) -> Self {
        Self {
            name: name.into(),
            goal: goal.into(),
            measured: measured.into(),
            met,
        }
    }

    /// "met" or "**missed**".
    #[must_use]
    pub fn verdict(&self) -> &'static str {
        if self.met {
            "met"
        } else {
            "**missed**"
        }
    }

    /// One markdown row: name, goal, measured, verdict.
    #[must_use]
    pub fn row(&self) -> String {
        format!(
            "| {} | {} | {} | {} |",
            self.name,
            self.goal,
            self.measured,
            self.verdict()
        )
    }
}

/// A duration in nanoseconds, human-readable with 3 significant digits.
#[must_use]
pub fn ns(v: f64) -> String {
    if v < 1e3 {
        format!("{} ns", sig3(v))
    } else if v < 1e6 {
        format!("{} µs", sig3(v / 1e3))
    } else if v < 1e9 {
        format!("{} ms", sig3(v / 1e6))
    } else {
        format!("{} s", sig3(v / 1e9))
    }
}

/// A ratio such as "12.3x".
#[must_use]
pub fn ratio(v: f64) -> String {
    format!("{}x", sig3(v))
}

/// A byte count with thousands separators.
#[must_use]
pub fn bytes(v: u64) -> String {
    let s = v.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Three significant digits, no scientific notation.
#[must_use]
pub fn sig3(v: f64) -> String {
    if !v.is_finite() {
        return "∞".to_string();
    }
    let a = v.abs();
    if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else if a >= 0.1 {
        format!("{v:.3}")
    } else if a == 0.0 {
        "0".to_string()
    } else {
        format!("{v:.4}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_markdown() {
        let mut t = Table::new(&["op", "ours"], 1);
        t.row(["insert", "12 ns"]);
        assert_eq!(
            t.render(),
            "| op | ours |\n|---|---:|\n| insert | 12 ns |\n"
        );
        assert_eq!(ns(1234.0), "1.23 µs");
        assert_eq!(bytes(1234567), "1,234,567");
        assert_eq!(ratio(0.0171), "0.0171x");
    }
}
