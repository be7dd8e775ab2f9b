//! Training plots with plotters: accuracy and loss curves (train vs validation per epoch) side by
//! side in one PNG, and a confusion-matrix heat map with counts.

use crate::eval::Metrics;
use crate::train::EpochRecord;
use plotters::prelude::*;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
#[error("cannot draw {path}: {msg}")]
pub struct PlotError {
    pub path: String,
    pub msg: String,
}

/// Registers the embedded DejaVu Sans as plotters' "sans-serif" (once): no system font is read.
fn use_embedded_font() {
    static DONE: std::sync::Once = std::sync::Once::new();
    DONE.call_once(|| {
        if plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            moodlens_common::FONT_SANS_TTF,
        )
        .is_err()
        {
            tracing::warn!("the embedded plot font did not load: plots will lack text");
        }
    });
}

fn err(path: &Path, e: impl std::fmt::Display) -> PlotError {
    PlotError {
        path: path.display().to_string(),
        msg: e.to_string(),
    }
}

/// Dual-subplot PNG: accuracy (left) and loss (right), train vs validation, per epoch.
pub fn training_curves(history: &[EpochRecord], path: &Path) -> Result<(), PlotError> {
    use_embedded_font();
    if history.is_empty() {
        return Err(err(path, "no epochs to plot"));
    }
    let root = BitMapBackend::new(path, (1200, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(path, e))?;
    let panels = root.split_evenly((1, 2));
    let n = history.len() as f64;
    let x_max = n.max(2.0);
    type Getter = fn(&EpochRecord) -> f64;
    let specs: [(&str, Getter, Getter); 2] = [
        ("accuracy", |r| r.train_accuracy, |r| r.val_accuracy),
        ("loss", |r| r.train_loss, |r| r.val_loss),
    ];
    for (panel, (name, tr, va)) in panels.iter().zip(specs) {
        let vals: Vec<f64> = history.iter().flat_map(|r| [tr(r), va(r)]).collect();
        let lo = vals.iter().cloned().fold(f64::INFINITY, f64::min);
        let hi = vals.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let pad = ((hi - lo) * 0.1).max(0.01);
        let mut chart = ChartBuilder::on(panel)
            .caption(format!("{name} per epoch"), ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(1f64..x_max, (lo - pad)..(hi + pad))
            .map_err(|e| err(path, e))?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc(name)
            .draw()
            .map_err(|e| err(path, e))?;
        for (label, get, color) in [("train", tr, BLUE), ("validation", va, RED)] {
            let pts: Vec<(f64, f64)> = history.iter().map(|r| (r.epoch as f64, get(r))).collect();
            chart
                .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
                .map_err(|e| err(path, e))?
                .label(label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                });
            chart
                .draw_series(pts.into_iter().map(|p| Circle::new(p, 3, color.filled())))
                .map_err(|e| err(path, e))?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(path, e))?;
    }
    root.present().map_err(|e| err(path, e))
}

/// Row label of the confusion-matrix chart at segment `y` (row 0 of the matrix is drawn on top).
fn confusion_row_label(labels: &[&str], y: usize) -> String {
    let k = labels.len();
    labels
        .get(k.wrapping_sub(1).wrapping_sub(y))
        .map(|s| s.to_string())
        .unwrap_or_default()
}

/// Confusion-matrix heat map (rows: true class, top to bottom in label order; columns: predicted),
/// cells shaded by row-normalised rate and labelled with counts in their centres.
pub fn confusion_matrix(m: &Metrics, title: &str, path: &Path) -> Result<(), PlotError> {
    use_embedded_font();
    let k = m.labels.len();
    let root = BitMapBackend::new(path, (760, 700)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(path, e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("{title} (accuracy {:.1}%)", m.accuracy * 100.0),
            ("sans-serif", 22),
        )
        .margin(16)
        .x_label_area_size(60)
        .y_label_area_size(90)
        // segments 0..=k-1: exactly k cells a side (0..k would add an empty one)
        .build_cartesian_2d((0..k - 1).into_segmented(), (0..k - 1).into_segmented())
        .map_err(|e| err(path, e))?;
    let seg = |v: &SegmentValue<usize>| match v {
        SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => Some(*i),
        SegmentValue::Last => None,
    };
    let labels = m.labels.clone();
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("predicted")
        .y_desc("true")
        .x_labels(k)
        .y_labels(k)
        .x_label_formatter(&|v| {
            seg(v)
                .and_then(|i| labels.get(i))
                .map(|s| s.to_string())
                .unwrap_or_default()
        })
        .y_label_formatter(&|v| {
            seg(v)
                .map(|i| confusion_row_label(&labels, i))
                .unwrap_or_default()
        })
        .draw()
        .map_err(|e| err(path, e))?;
    let centre = TextStyle::from(("sans-serif", 18).into_font()).pos(
        plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Center,
            plotters::style::text_anchor::VPos::Center,
        ),
    );
    for (t, row) in m.confusion.iter().enumerate() {
        let total: usize = row.iter().sum::<usize>().max(1);
        for (p, &c) in row.iter().enumerate() {
            let rate = c as f64 / total as f64;
            let y = k - 1 - t;
            let shade = RGBColor(
                (255.0 * (1.0 - rate * 0.85)) as u8,
                (255.0 * (1.0 - rate * 0.6)) as u8,
                255,
            );
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [
                        (SegmentValue::Exact(p), SegmentValue::Exact(y)),
                        (SegmentValue::Exact(p + 1), SegmentValue::Exact(y + 1)),
                    ],
                    shade.filled(),
                )))
                .map_err(|e| err(path, e))?;
            let color = if rate > 0.5 { WHITE } else { BLACK };
            chart
                .draw_series(std::iter::once(Text::new(
                    format!("{c}"),
                    (SegmentValue::CenterOf(p), SegmentValue::CenterOf(y)),
                    centre.clone().color(&color),
                )))
                .map_err(|e| err(path, e))?;
        }
    }
    root.present().map_err(|e| err(path, e))
}

/// Reliability diagram: per confidence bin, the accuracy (bars) against the diagonal of perfect
/// calibration, with the bin counts. `bins` as from [`crate::eval::reliability_bins`].
pub fn reliability_diagram(
    bins: &[(f64, f64, usize)],
    title: &str,
    path: &Path,
) -> Result<(), PlotError> {
    use_embedded_font();
    let n = bins.len().max(1);
    let root = BitMapBackend::new(path, (640, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(path, e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..1f64, 0f64..1f64)
        .map_err(|e| err(path, e))?;
    chart
        .configure_mesh()
        .x_desc("confidence (top probability)")
        .y_desc("accuracy")
        .draw()
        .map_err(|e| err(path, e))?;
    let w = 1.0 / n as f64;
    for (i, (acc, conf, count)) in bins.iter().enumerate() {
        if *count == 0 {
            continue;
        }
        let x0 = i as f64 * w;
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(x0, 0.0), (x0 + w, *acc)],
                RGBColor(70, 110, 200).mix(0.7).filled(),
            )))
            .map_err(|e| err(path, e))?;
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(x0, *acc), (x0 + w, *conf)],
                RGBColor(220, 60, 60).mix(0.25).filled(),
            )))
            .map_err(|e| err(path, e))?;
        chart
            .draw_series(std::iter::once(Text::new(
                format!("{count}"),
                (x0 + 0.1 * w, (acc.max(*conf) + 0.03).min(0.97)),
                ("sans-serif", 11).into_font(),
            )))
            .map_err(|e| err(path, e))?;
    }
    chart
        .draw_series(LineSeries::new(
            [(0.0, 0.0), (1.0, 1.0)],
            BLACK.stroke_width(1),
        ))
        .map_err(|e| err(path, e))?;
    root.present().map_err(|e| err(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::metrics;
    use crate::Emotion;

    #[test]
    fn confusion_rows_are_labelled_top_to_bottom_in_label_order() {
        let labels = [
            "angry", "disgust", "fear", "happy", "sad", "surprise", "neutral",
        ];
        // segment 6 is the top row (true angry), segment 0 the bottom (true neutral)
        assert_eq!(confusion_row_label(&labels, 6), "angry");
        assert_eq!(confusion_row_label(&labels, 5), "disgust");
        assert_eq!(confusion_row_label(&labels, 0), "neutral");
        assert_eq!(confusion_row_label(&labels, 7), "");
    }

    #[test]
    fn writes_pngs() {
        let dir = tempfile::tempdir().unwrap();
        let hist: Vec<EpochRecord> = (1..=3)
            .map(|e| EpochRecord {
                epoch: e,
                train_loss: 2.0 / e as f64,
                train_accuracy: 0.2 * e as f64,
                val_loss: 2.1 / e as f64,
                val_accuracy: 0.18 * e as f64,
                val_ferplus_accuracy: None,
                val_selection: None,
                lr: 1e-3,
                seconds: 1.0,
            })
            .collect();
        let c = dir.path().join("curves.png");
        training_curves(&hist, &c).unwrap();
        let img = image::open(&c).unwrap();
        assert_eq!((img.width(), img.height()), (1200, 480));

        let mut p = [0f32; 7];
        p[3] = 1.0;
        let m = metrics(&[p, p], [Emotion::Happy, Emotion::Sad]);
        let cm = dir.path().join("cm.png");
        confusion_matrix(&m, "test", &cm).unwrap();
        assert!(image::open(&cm).is_ok());
        assert!(training_curves(&[], &c).is_err());
        let rd = dir.path().join("rel.png");
        let bins = crate::eval::reliability_bins(&[p, p], &[Emotion::Happy, Emotion::Sad], 15);
        reliability_diagram(&bins, "test", &rd).unwrap();
        assert_eq!(image::open(&rd).unwrap().width(), 640);
    }
}
