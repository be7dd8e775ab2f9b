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

fn err(path: &Path, e: impl std::fmt::Display) -> PlotError {
    PlotError {
        path: path.display().to_string(),
        msg: e.to_string(),
    }
}

/// Dual-subplot PNG: accuracy (left) and loss (right), train vs validation, per epoch.
pub fn training_curves(history: &[EpochRecord], path: &Path) -> Result<(), PlotError> {
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

/// Confusion-matrix heat map (rows: true class, columns: predicted), cells shaded by row-normalised
/// rate and labelled with counts.
pub fn confusion_matrix(m: &Metrics, title: &str, path: &Path) -> Result<(), PlotError> {
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
        .build_cartesian_2d(0..k, 0..k)
        .map_err(|e| err(path, e))?;
    let labels = m.labels.clone();
    let labels2 = m.labels.clone();
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("predicted")
        .y_desc("true")
        .x_labels(k)
        .y_labels(k)
        .x_label_formatter(&|i| labels.get(*i).map(|s| s.to_string()).unwrap_or_default())
        .y_label_formatter(&|i| {
            labels2
                .get(k.saturating_sub(1 + *i))
                .map(|s| s.to_string())
                .unwrap_or_default()
        })
        .draw()
        .map_err(|e| err(path, e))?;
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
                    [(p, y), (p + 1, y + 1)],
                    shade.filled(),
                )))
                .map_err(|e| err(path, e))?;
            let color = if rate > 0.5 { WHITE } else { BLACK };
            chart
                .draw_series(std::iter::once(Text::new(
                    format!("{c}"),
                    (p, y + 1),
                    ("sans-serif", 18).into_font().color(&color),
                )))
                .map_err(|e| err(path, e))?;
        }
    }
    root.present().map_err(|e| err(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::metrics;
    use crate::Emotion;

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
    }
}
