//! Training curves with `plotters`: loss and accuracy per epoch, one line per series
//! (encrypted run, plaintext reference, …), side by side; SVG or PNG by the file's extension.
//!
//! Text is laid out with a TrueType font read at run time (pure-Rust `ab_glyph`, no system
//! libraries): `$BLINDTUNE_FONT` if set, else the first of the usual DejaVu / Liberation /
//! system paths that exists.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{ClientError, Result};

/// One line of the plot: a run's loss and accuracy (a fraction in `[0, 1]`) per epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct Curve {
    pub name: String,
    pub loss: Vec<f64>,
    pub accuracy: Vec<f64>,
}

/// The environment variable naming a `.ttf` / `.otf` font for plots.
pub const FONT_VARIABLE: &str = "BLINDTUNE_FONT";

const FONT_PATHS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
    "/Library/Fonts/Arial.ttf",
    "C:\\Windows\\Fonts\\arial.ttf",
];

/// The font file plots use, if one is found.
pub fn font_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(FONT_VARIABLE) {
        return Some(PathBuf::from(p));
    }
    FONT_PATHS.iter().map(PathBuf::from).find(|p| p.is_file())
}

/// Registers the font once per process (`sans-serif`); the error says where it looked.
fn ensure_font() -> std::result::Result<(), String> {
    static REGISTERED: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            let path = font_path().ok_or_else(|| {
                format!(
                    "no TrueType font found for the plot's text (looked at {}); set {FONT_VARIABLE}=/path/to/font.ttf",
                    FONT_PATHS.join(", ")
                )
            })?;
            let bytes = std::fs::read(&path).map_err(|e| format!("font {}: {e}", path.display()))?;
            // plotters keeps fonts for the life of the process
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
                .map_err(|_| format!("font {}: not a TrueType/OpenType font", path.display()))
        })
        .clone()
}

const COLORS: [RGBColor; 6] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
];

fn range(values: impl Iterator<Item = f64>, floor_zero: bool) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if floor_zero {
        lo = lo.min(0.0);
    }
    let pad = ((hi - lo) * 0.05).max(1e-6);
    (lo - pad, hi + pad)
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    y_desc: &str,
    series: &[(String, Vec<f64>)],
    floor_zero: bool,
    legend: SeriesLabelPosition,
) -> std::result::Result<(), String> {
    let epochs = series
        .iter()
        .map(|(_, v)| v.len())
        .max()
        .unwrap_or(1)
        .max(1);
    let (lo, hi) = range(
        series.iter().flat_map(|(_, v)| v.iter().copied()),
        floor_zero,
    );
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.5f64..epochs as f64 + 0.5, lo..hi)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(y_desc)
        .x_labels((epochs + 1).min(12))
        .x_label_formatter(&|x| {
            if (x - x.round()).abs() < 1e-9 {
                format!("{x:.0}")
            } else {
                String::new()
            }
        })
        .max_light_lines(2)
        .draw()
        .map_err(|e| e.to_string())?;
    for (k, (name, values)) in series.iter().enumerate() {
        let color = COLORS[k % COLORS.len()];
        let points: Vec<(f64, f64)> = values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(i, &v)| ((i + 1) as f64, v))
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label(name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        chart
            .draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 3, color.filled())),
            )
            .map_err(|e| e.to_string())?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(legend)
        .draw()
        .map_err(|e| e.to_string())?;
    Ok(())
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    series: &[Curve],
) -> std::result::Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let (left, right) = root.split_horizontally(root.dim_in_pixel().0 / 2);
    let loss: Vec<(String, Vec<f64>)> = series
        .iter()
        .map(|c| (c.name.clone(), c.loss.clone()))
        .collect();
    let acc: Vec<(String, Vec<f64>)> = series
        .iter()
        .map(|c| {
            (
                c.name.clone(),
                c.accuracy.iter().map(|a| a * 100.0).collect(),
            )
        })
        .collect();
    panel(
        &left,
        "loss",
        "mean cross-entropy",
        &loss,
        true,
        SeriesLabelPosition::UpperRight,
    )?;
    panel(
        &right,
        "accuracy",
        "accuracy (%)",
        &acc,
        false,
        SeriesLabelPosition::LowerRight,
    )?;
    root.present().map_err(|e| e.to_string())
}

/// Plots `series` to `path` (`.svg` or `.png`), 1200×480 pixels.
pub fn plot_training_curve(path: &Path, series: &[Curve]) -> Result<()> {
    let err = |message: String| ClientError::Plot {
        path: path.to_path_buf(),
        message,
    };
    if series.is_empty() {
        return Err(err("nothing to plot".into()));
    }
    ensure_font().map_err(err)?;
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let size = (1200, 480);
    // Drawn to a temporary file beside the target and renamed, like every other output.
    let tmp = path.with_file_name(format!(
        ".{}.tmp-{}.{ext}",
        path.file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default(),
        std::process::id()
    ));
    let drawn = match ext.as_str() {
        "svg" => draw(SVGBackend::new(&tmp, size).into_drawing_area(), series),
        "png" => draw(BitMapBackend::new(&tmp, size).into_drawing_area(), series),
        _ => Err(format!("unknown image type {ext:?} (use .svg or .png)")),
    };
    let done = drawn.and_then(|()| std::fs::rename(&tmp, path).map_err(|e| e.to_string()));
    if done.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    done.map_err(err)
}
