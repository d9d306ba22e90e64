//! What a load run measured: per-transaction timestamps reduced to per-second rows, latency
//! percentiles, the CSV and a hand-written SVG plot (throughput and latency over time).

use std::fmt::Write as _;
use std::time::Duration;

/// Timestamps of one transaction, relative to the start of the measured window.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TxTimes {
    /// When it was due under the offered rate.
    pub due: Option<Duration>,
    /// When its bulk request was sent.
    pub sent: Option<Duration>,
    /// When the member acknowledged it (signed receipt).
    pub accepted: Option<Duration>,
    /// When it came out of the stream as plaintext.
    pub delivered: Option<Duration>,
}

impl TxTimes {
    /// Submit → plaintext: from sending its request to seeing its plaintext.
    pub fn latency(&self) -> Option<Duration> {
        Some(self.delivered?.saturating_sub(self.sent?))
    }
}

/// Nearest-rank percentile (`p` in 0..=1) of a sorted slice; zero when empty.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// p50, p90, p99 of a set of latencies.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Percentiles {
    /// Median.
    pub p50: Duration,
    /// 90th percentile.
    pub p90: Duration,
    /// 99th percentile.
    pub p99: Duration,
}

impl Percentiles {
    /// From unsorted samples.
    pub fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort_unstable();
        Self {
            p50: percentile(&samples, 0.50),
            p90: percentile(&samples, 0.90),
            p99: percentile(&samples, 0.99),
        }
    }
}

/// One second of the run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SecondRow {
    /// Second index from the start of the window.
    pub second: u64,
    /// Transactions due in this second (the offered load).
    pub offered: u64,
    /// Transactions acknowledged in this second.
    pub accepted: u64,
    /// Transactions delivered as plaintext in this second.
    pub delivered: u64,
    /// Latency percentiles of the transactions delivered in this second.
    pub latency: Percentiles,
    /// CPU use of each member in this second, in cores (1.0 = one core busy).
    pub member_cpu: Vec<f64>,
}

/// Reduces per-transaction times to one row per second, `seconds` rows long.
/// `member_cpu[s][m]` is member `m`'s CPU use (cores) during second `s`, if sampled.
pub fn per_second(txs: &[TxTimes], seconds: u64, member_cpu: &[Vec<f64>]) -> Vec<SecondRow> {
    let mut rows: Vec<SecondRow> = (0..seconds)
        .map(|s| SecondRow {
            second: s,
            member_cpu: member_cpu.get(s as usize).cloned().unwrap_or_default(),
            ..SecondRow::default()
        })
        .collect();
    let mut lat: Vec<Vec<Duration>> = vec![Vec::new(); seconds as usize];
    let slot = |d: Duration| (d.as_secs() < seconds).then_some(d.as_secs() as usize);
    for t in txs {
        if let Some(s) = t.due.and_then(slot) {
            rows[s].offered += 1;
        }
        if let Some(s) = t.accepted.and_then(slot) {
            rows[s].accepted += 1;
        }
        if let Some(s) = t.delivered.and_then(slot) {
            rows[s].delivered += 1;
            if let Some(l) = t.latency() {
                lat[s].push(l);
            }
        }
    }
    for (row, l) in rows.iter_mut().zip(lat) {
        row.latency = Percentiles::of(l);
    }
    rows
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The CSV: a header, then one line per second.
pub fn csv(rows: &[SecondRow], members: usize) -> String {
    let mut out = String::from("second,offered,accepted,delivered,p50_ms,p90_ms,p99_ms");
    for m in 1..=members {
        let _ = write!(out, ",cpu_member{m}");
    }
    out.push('\n');
    for r in rows {
        let _ = write!(
            out,
            "{},{},{},{},{:.1},{:.1},{:.1}",
            r.second,
            r.offered,
            r.accepted,
            r.delivered,
            ms(r.latency.p50),
            ms(r.latency.p90),
            ms(r.latency.p99)
        );
        for m in 0..members {
            let _ = write!(out, ",{:.3}", r.member_cpu.get(m).copied().unwrap_or(0.0));
        }
        out.push('\n');
    }
    out
}

/// A "nice" axis maximum (1, 2 or 5 times a power of ten) at or above `v`.
pub fn nice_ceiling(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if m * p >= v {
            return m * p;
        }
    }
    10.0 * p
}

struct Panel {
    top: f64,
    height: f64,
    y_max: f64,
    x_max: f64,
}

const LEFT: f64 = 70.0;
const WIDTH: f64 = 800.0;

impl Panel {
    fn x(&self, v: f64) -> f64 {
        LEFT + WIDTH * v / self.x_max
    }
    fn y(&self, v: f64) -> f64 {
        self.top + self.height * (1.0 - (v / self.y_max).min(1.0))
    }
    fn frame(&self, out: &mut String, title: &str, unit: &str) {
        let _ = writeln!(
            out,
            r##"<rect x="{LEFT}" y="{}" width="{WIDTH}" height="{}" fill="none" stroke="#888"/>"##,
            self.top, self.height
        );
        let _ = writeln!(
            out,
            r##"<text x="{LEFT}" y="{}" font-weight="bold">{title}</text>"##,
            self.top - 8.0
        );
        for i in 0..=4 {
            let v = self.y_max * f64::from(i) / 4.0;
            let y = self.y(v);
            let _ = writeln!(
                out,
                r##"<line x1="{LEFT}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{} {unit}</text>"##,
                LEFT + WIDTH,
                LEFT - 6.0,
                y + 4.0,
                trim(v)
            );
        }
        let step = nice_ceiling(self.x_max / 10.0).max(1.0);
        let mut s = 0.0;
        while s <= self.x_max + 1e-9 {
            let _ = writeln!(
                out,
                r##"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"##,
                self.x(s),
                self.top + self.height + 16.0,
                trim(s)
            );
            s += step;
        }
    }
    fn line(&self, out: &mut String, points: &[(f64, f64)], color: &str, dash: bool) {
        if points.is_empty() {
            return;
        }
        let d: Vec<String> = points
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", self.x(x), self.y(y)))
            .collect();
        let dash = if dash {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        let _ = writeln!(
            out,
            r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"{dash}/>"#,
            d.join(" ")
        );
    }
}

fn trim(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        format!("{v:.1}")
    }
}

fn legend(out: &mut String, x: f64, y: f64, items: &[(&str, &str, bool)]) {
    let mut cx = x;
    for (name, color, dash) in items {
        let dash = if *dash {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        let _ = writeln!(
            out,
            r#"<line x1="{cx}" y1="{y}" x2="{}" y2="{y}" stroke="{color}" stroke-width="2"{dash}/><text x="{}" y="{}">{name}</text>"#,
            cx + 24.0,
            cx + 28.0,
            y + 4.0
        );
        cx += 40.0 + 7.0 * name.len() as f64;
    }
}

/// The plot: throughput (offered, accepted, delivered per second) above, latency
/// (p50/p90/p99 of the transactions delivered in each second) below. Plain SVG 1.1.
pub fn svg(rows: &[SecondRow], title: &str) -> String {
    let x_max = (rows.len() as f64).max(1.0);
    let rate_max = nice_ceiling(
        rows.iter()
            .map(|r| r.offered.max(r.delivered).max(r.accepted) as f64)
            .fold(0.0, f64::max),
    );
    let lat_max = nice_ceiling(rows.iter().map(|r| ms(r.latency.p99)).fold(0.0, f64::max));
    let top = Panel {
        top: 60.0,
        height: 200.0,
        y_max: rate_max,
        x_max,
    };
    let bottom = Panel {
        top: 330.0,
        height: 200.0,
        y_max: lat_max,
        x_max,
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="900" height="580" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="900" height="580" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="450" y="24" text-anchor="middle" font-size="15">{}</text>"#,
        escape(title)
    );
    top.frame(&mut out, "throughput per second", "tx/s");
    let at = |f: &dyn Fn(&SecondRow) -> f64| -> Vec<(f64, f64)> {
        rows.iter().map(|r| (r.second as f64 + 0.5, f(r))).collect()
    };
    top.line(&mut out, &at(&|r| r.offered as f64), "#999", true);
    top.line(&mut out, &at(&|r| r.accepted as f64), "#1f77b4", false);
    top.line(&mut out, &at(&|r| r.delivered as f64), "#2ca02c", false);
    legend(
        &mut out,
        LEFT + 260.0,
        52.0,
        &[
            ("offered", "#999", true),
            ("accepted", "#1f77b4", false),
            ("delivered (plaintext)", "#2ca02c", false),
        ],
    );
    bottom.frame(&mut out, "submit → plaintext latency", "ms");
    let delivered: Vec<&SecondRow> = rows.iter().filter(|r| r.delivered > 0).collect();
    let lat = |f: &dyn Fn(&SecondRow) -> Duration| -> Vec<(f64, f64)> {
        delivered
            .iter()
            .map(|r| (r.second as f64 + 0.5, ms(f(r))))
            .collect()
    };
    bottom.line(&mut out, &lat(&|r| r.latency.p50), "#2ca02c", false);
    bottom.line(&mut out, &lat(&|r| r.latency.p90), "#ff7f0e", false);
    bottom.line(&mut out, &lat(&|r| r.latency.p99), "#d62728", false);
    legend(
        &mut out,
        LEFT + 260.0,
        322.0,
        &[
            ("p50", "#2ca02c", false),
            ("p90", "#ff7f0e", false),
            ("p99", "#d62728", false),
        ],
    );
    let _ = writeln!(
        out,
        r#"<text x="{}" y="570" text-anchor="middle">seconds since the first submission</text>"#,
        LEFT + WIDTH / 2.0
    );
    out.push_str("</svg>\n");
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<Duration> = (1..=100).map(d).collect();
        assert_eq!(percentile(&v, 0.5), d(50));
        assert_eq!(percentile(&v, 0.9), d(90));
        assert_eq!(percentile(&v, 0.99), d(99));
        assert_eq!(percentile(&v, 1.0), d(100));
        assert_eq!(percentile(&v, 0.0), d(1));
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);
        assert_eq!(percentile(&[d(7)], 0.99), d(7));
        let p = Percentiles::of(vec![d(3), d(1), d(2)]);
        assert_eq!((p.p50, p.p90, p.p99), (d(2), d(3), d(3)));
    }

    #[test]
    fn rows_count_each_event_in_its_second() {
        let txs = vec![
            TxTimes {
                due: Some(d(100)),
                sent: Some(d(120)),
                accepted: Some(d(900)),
                delivered: Some(d(1_400)),
            },
            TxTimes {
                due: Some(d(1_100)),
                sent: Some(d(1_100)),
                accepted: Some(d(1_200)),
                delivered: Some(d(1_300)),
            },
            // Never accepted; and one delivered after the window.
            TxTimes {
                due: Some(d(1_500)),
                sent: Some(d(1_500)),
                accepted: None,
                delivered: None,
            },
            TxTimes {
                due: Some(d(1_900)),
                sent: Some(d(1_900)),
                accepted: Some(d(1_950)),
                delivered: Some(d(5_000)),
            },
        ];
        let rows = per_second(&txs, 2, &[vec![0.5, 0.25]]);
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[0].offered, rows[0].accepted, rows[0].delivered),
            (1, 1, 0)
        );
        assert_eq!(
            (rows[1].offered, rows[1].accepted, rows[1].delivered),
            (3, 2, 2)
        );
        assert_eq!(rows[1].latency.p50, d(200));
        assert_eq!(rows[1].latency.p99, d(1_280));
        assert_eq!(rows[0].member_cpu, vec![0.5, 0.25]);
        assert!(rows[1].member_cpu.is_empty());
        let text = csv(&rows, 2);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "second,offered,accepted,delivered,p50_ms,p90_ms,p99_ms,cpu_member1,cpu_member2"
        );
        assert_eq!(lines[1], "0,1,1,0,0.0,0.0,0.0,0.500,0.250");
        assert_eq!(lines[2], "1,3,2,2,200.0,1280.0,1280.0,0.000,0.000");
    }

    #[test]
    fn axis_ceilings_are_round() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(3.0), 5.0);
        assert_eq!(nice_ceiling(10.0), 10.0);
        assert_eq!(nice_ceiling(1_001.0), 2_000.0);
        assert_eq!(nice_ceiling(480.0), 500.0);
    }

    #[test]
    fn the_plot_is_one_svg_with_a_line_per_series() {
        let rows: Vec<SecondRow> = (0..5)
            .map(|s| SecondRow {
                second: s,
                offered: 100,
                accepted: 100,
                delivered: 90 + s,
                latency: Percentiles {
                    p50: d(300),
                    p90: d(400),
                    p99: d(500 + 10 * s),
                },
                member_cpu: vec![],
            })
            .collect();
        let s = svg(&rows, "rate <100> & co");
        assert!(s.starts_with("<svg") && s.trim_end().ends_with("</svg>"));
        assert_eq!(s.matches("<polyline").count(), 6);
        assert!(s.contains("rate &lt;100&gt; &amp; co"));
        // The latency axis tops out at the next round value above the largest p99 (540 ms).
        assert!(s.contains(">1000 ms<"));
    }
}
