//! A hand-written SVG bar chart of the comparison: req/s and CPU µs/request
//! per server, one group per load shape.

use super::Row;
use std::fmt::Write;

/// A panel: its title and the value it plots.
type Panel = (&'static str, fn(&Row) -> f64);

const COLORS: [&str; 6] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1",
];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Renders two panels (req/s, cpu µs/req) of grouped bars.
pub fn render(rows: &[Row], servers: &[String], shapes: &[String]) -> String {
    let (bar, gap, left, top, panel_h) = (28.0, 30.0, 70.0, 40.0, 220.0);
    let group_w = bar * servers.len() as f64 + gap;
    let width = left + group_w * shapes.len() as f64 + 160.0;
    let height = top + 2.0 * (panel_h + 60.0);
    let mut o = String::new();
    let _ = writeln!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" font-family="sans-serif" font-size="12">"#
    );
    let panels: [Panel; 2] = [
        ("requests/s (median)", |r| r.rps),
        ("server CPU µs/request (median)", |r| r.cpu_us),
    ];
    for (p, (title, metric)) in panels.iter().enumerate() {
        let y0 = top + p as f64 * (panel_h + 60.0);
        let max = rows.iter().map(metric).fold(0.0, f64::max).max(1e-9);
        let _ = writeln!(
            o,
            r#"<text x="{left}" y="{:.0}" font-weight="bold">{}</text>"#,
            y0 - 10.0,
            esc(title)
        );
        let base = y0 + panel_h;
        let _ = writeln!(
            o,
            r#"<line x1="{left}" y1="{base:.0}" x2="{:.0}" y2="{base:.0}" stroke="black"/>"#,
            width - 150.0
        );
        for (g, shape) in shapes.iter().enumerate() {
            let gx = left + g as f64 * group_w;
            for (s, server) in servers.iter().enumerate() {
                let Some(r) = rows
                    .iter()
                    .find(|r| &r.server == server && &r.shape == shape)
                else {
                    continue;
                };
                let v = metric(r);
                let h = v / max * (panel_h - 20.0);
                let x = gx + s as f64 * bar;
                let _ = writeln!(
                    o,
                    r#"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{h:.1}" fill="{}"><title>{} {}: {v:.2}</title></rect>"#,
                    base - h,
                    bar - 4.0,
                    COLORS[s % COLORS.len()],
                    esc(server),
                    esc(shape)
                );
            }
            let _ = writeln!(
                o,
                r#"<text x="{:.1}" y="{:.0}">{}</text>"#,
                gx,
                base + 16.0,
                esc(shape)
            );
        }
    }
    for (s, server) in servers.iter().enumerate() {
        let y = top + 20.0 * s as f64;
        let x = width - 140.0;
        let _ = writeln!(
            o,
            r#"<rect x="{x:.0}" y="{y:.0}" width="12" height="12" fill="{}"/>"#,
            COLORS[s % COLORS.len()]
        );
        let _ = writeln!(
            o,
            r#"<text x="{:.0}" y="{:.0}">{}</text>"#,
            x + 18.0,
            y + 11.0,
            esc(server)
        );
    }
    o.push_str("</svg>\n");
    o
}
