//! `moodlens history`: the mood history as text, JSON, a plot or an export file, and deleting it.

use super::args::StoreArgs;
use anyhow::Result;
use clap::Args;
use moodlens_recommend::store::{format_time, RequestRecord};
use moodlens_recommend::RecommendError;
use moodlens_session::Emotion;
use std::io::Write;
use std::path::{Path, PathBuf};

/// `moodlens history [--json] [--plot out.png]`
#[derive(Args, Debug, Clone, PartialEq)]
pub struct HistoryArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Write a PNG of mood over time: valence (blue) and arousal (red) per session, and a strip
    /// coloured by the dominant mood.
    #[arg(long, value_name = "PNG")]
    pub plot: Option<PathBuf>,
    /// Only the last N entries.
    #[arg(long)]
    pub last: Option<usize>,
    /// Delete one entry (its ID from the list or `--json`) with what it recommended.
    #[arg(long, value_name = "ID", conflicts_with_all = ["clear", "export", "plot"])]
    pub delete: Option<i64>,
    /// Delete the whole mood history (likes and dislikes stay: `moodlens feedback`).
    #[arg(long, conflicts_with_all = ["export", "plot"])]
    pub clear: bool,
    /// Write the history to FILE.json or FILE.csv (by the extension).
    #[arg(long, value_name = "FILE")]
    pub export: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// `moodlens history [--json] [--plot out.png] [--delete ID | --clear | --export FILE]`. One
/// entry per mood reading ([`moodlens_recommend::Store::history`]).
pub fn run(args: &HistoryArgs, out: &mut dyn Write) -> Result<()> {
    let mut store = args.store.open()?;
    let place = store
        .path()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    if let Some(id) = args.delete {
        if !store.delete_history_entry(id)? {
            anyhow::bail!("no history entry with id {id} (see `moodlens history`)");
        }
        writeln!(out, "Deleted history entry {id} from {place}.")?;
        return Ok(());
    }
    if args.clear {
        let n = store.clear_history()?;
        writeln!(
            out,
            "Deleted {n} history entr{} from {place} (likes and dislikes stay).",
            if n == 1 { "y" } else { "ies" }
        )?;
        return Ok(());
    }
    let entries = store.history(args.last)?;
    if let Some(p) = &args.export {
        moodlens_recommend::export::export_history(&entries, p)?;
        writeln!(
            out,
            "Wrote {} history entr{} to {}",
            entries.len(),
            if entries.len() == 1 { "y" } else { "ies" },
            p.display()
        )?;
        return Ok(());
    }
    if let Some(p) = &args.plot {
        if entries.is_empty() {
            return Err(RecommendError::EmptyHistory.into());
        }
        plot_history(&entries, p)?;
    }
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &entries)?;
        writeln!(out)?;
    } else {
        if entries.is_empty() {
            writeln!(
                out,
                "No history yet: run `moodlens recommend` or `moodlens live`."
            )?;
        }
        for s in &entries {
            writeln!(
                out,
                "{:>5}  {} UTC  {:<7} {:<8} valence {:+.2} arousal {:+.2}  {:<6} {} items",
                s.id,
                format_time(s.time),
                s.source,
                s.mood.label(),
                s.valence,
                s.arousal,
                s.strategy,
                s.items.len()
            )?;
        }
        if let Some(p) = &args.plot {
            writeln!(out, "Plot written to {} — {PLOT_LEGEND}", p.display())?;
        }
    }
    Ok(())
}

/// Colour of each emotion in the history plot's mood strip.
pub fn emotion_color(e: Emotion) -> (u8, u8, u8) {
    match e {
        Emotion::Angry => (230, 120, 0),
        Emotion::Disgust => (120, 140, 0),
        Emotion::Fear => (130, 60, 180),
        Emotion::Happy => (240, 200, 0),
        Emotion::Sad => (0, 130, 150),
        Emotion::Surprise => (230, 90, 180),
        Emotion::Neutral => (140, 140, 140),
    }
}

/// Legend of the history plot (the PNG carries no text).
pub const PLOT_LEGEND: &str =
    "blue line: valence, red line: arousal (both -1..+1, grey line = 0); \
bottom strip: dominant mood (orange angry, olive disgust, purple fear, yellow happy, teal sad, \
pink surprise, grey neutral)";

/// Registers the embedded DejaVu Sans (moodlens-common) as plotters' "sans-serif" (once): plots
/// have text on any machine, and no system font folder is read.
fn plot_font_available() -> bool {
    static FONT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *FONT.get_or_init(|| {
        plotters::style::register_font(
            "sans-serif",
            plotters::style::FontStyle::Normal,
            moodlens_common::FONT_SANS_TTF,
        )
        .is_ok()
    })
}

/// A plotting error, with the file it was drawing.
fn plot_error(path: &Path, e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("plot {}: {e}", path.display())
}

type Chart<'a> = plotters::chart::ChartContext<
    'a,
    plotters::backend::BitMapBackend<'a>,
    plotters::coord::cartesian::Cartesian2d<
        plotters::coord::types::RangedCoordf64,
        plotters::coord::types::RangedCoordf64,
    >,
>;

/// Mood over time as a PNG: valence (blue) and arousal (red) per session, zero line in grey, and a
/// strip coloured by the dominant mood. Axis labels, title and legend when a font is available.
pub fn plot_history(entries: &[RequestRecord], path: &Path) -> Result<()> {
    use plotters::prelude::*;
    let text = plot_font_available();
    let root = BitMapBackend::new(path, (1000, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| plot_error(path, e))?;
    let (chart_area, legend_area) = if text {
        let (l, r) = root.split_horizontally(870);
        (l, Some(r))
    } else {
        (root.clone(), None)
    };
    let n = entries.len().max(2) as f64;
    let mut builder = ChartBuilder::on(&chart_area);
    builder.margin(16);
    if text {
        builder
            .caption("moodlens — mood over time", ("sans-serif", 22))
            .x_label_area_size(40)
            .y_label_area_size(50);
    }
    let mut chart = builder
        .build_cartesian_2d(-0.5f64..(n - 0.5), -1.08f64..1.05f64)
        .map_err(|e| plot_error(path, e))?;
    if text {
        draw_axes(&mut chart, entries).map_err(|e| plot_error(path, e))?;
    }
    draw_series(&mut chart, entries, n).map_err(|e| plot_error(path, e))?;
    if let Some(legend) = &legend_area {
        draw_legend(legend).map_err(|e| plot_error(path, e))?;
    }
    root.present().map_err(|e| plot_error(path, e))?;
    Ok(())
}

type DrawResult = std::result::Result<
    (),
    plotters::drawing::DrawingAreaErrorKind<
        <plotters::backend::BitMapBackend<'static> as plotters::backend::DrawingBackend>::ErrorType,
    >,
>;

/// Axis labels: entries by their (UTC) time, valence/arousal from -1 to +1.
fn draw_axes(chart: &mut Chart<'_>, entries: &[RequestRecord]) -> DrawResult {
    let labels: Vec<String> = entries.iter().map(|s| format_time(s.time)).collect();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_desc("session")
        .y_desc("valence / arousal")
        .x_labels(entries.len().clamp(2, 8))
        .y_label_formatter(&|y| {
            if y.abs() < 1e-9 {
                "0".to_string()
            } else {
                format!("{y:+.1}")
            }
        })
        .x_label_formatter(&|x| {
            let i = x.round();
            if (i - x).abs() > 1e-6 || i < 0.0 {
                return String::new();
            }
            labels
                .get(i as usize)
                .map(|t| t.get(5..).unwrap_or(t).to_string())
                .unwrap_or_default()
        })
        .draw()
}

/// The zero line, valence and arousal per session, and the dominant mood's strip.
fn draw_series(chart: &mut Chart<'_>, entries: &[RequestRecord], n: f64) -> DrawResult {
    use plotters::prelude::*;
    chart.draw_series(LineSeries::new(
        vec![(-0.5, 0.0), (n - 0.5, 0.0)],
        &RGBColor(170, 170, 170),
    ))?;
    for (color, value) in [
        (
            BLUE,
            (|s: &RequestRecord| s.valence) as fn(&RequestRecord) -> f64,
        ),
        (RED, |s: &RequestRecord| s.arousal),
    ] {
        let points: Vec<(f64, f64)> = entries
            .iter()
            .enumerate()
            .map(|(i, s)| (i as f64, value(s)))
            .collect();
        chart.draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?;
        chart.draw_series(points.iter().map(|p| Circle::new(*p, 4, color.filled())))?;
    }
    chart.draw_series(entries.iter().enumerate().map(|(i, s)| {
        let (r, g, b) = emotion_color(s.mood);
        Rectangle::new(
            [(i as f64 - 0.4, -1.075), (i as f64 + 0.4, -1.005)],
            RGBColor(r, g, b).filled(),
        )
    }))?;
    Ok(())
}

/// The legend: the two lines, then a swatch per emotion.
fn draw_legend(
    legend: &plotters::drawing::DrawingArea<
        plotters::backend::BitMapBackend<'_>,
        plotters::coord::Shift,
    >,
) -> DrawResult {
    use plotters::prelude::*;
    let entries: Vec<(String, RGBColor, bool)> = [
        ("valence".to_string(), BLUE, true),
        ("arousal".to_string(), RED, true),
    ]
    .into_iter()
    .chain(Emotion::ALL.iter().map(|e| {
        let (r, g, b) = emotion_color(*e);
        (e.label().to_string(), RGBColor(r, g, b), false)
    }))
    .collect();
    for (k, (label, color, line)) in entries.into_iter().enumerate() {
        let y = 30 + 24 * k as i32;
        if line {
            legend.draw(&PathElement::new(
                vec![(8, y), (32, y)],
                color.stroke_width(3),
            ))?;
        } else {
            legend.draw(&Rectangle::new([(8, y - 6), (32, y + 6)], color.filled()))?;
        }
        legend.draw(&Text::new(label, (40, y - 8), ("sans-serif", 15)))?;
    }
    Ok(())
}
