//! The console's charts, drawn with `plotters` (SVG backend) and placed inline in the page
//! (`role="img"` with a label; each chart's figures are also in a table beside it): jobs
//! finished per second over the last hour, and a quantity per day stacked by model.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use plotters::prelude::*;

use crate::error::ApiError;

/// Width and height, px (scaled down to the page by the stylesheet).
const SIZE: (u32, u32) = (880, 300);
/// Text size, px.
const LABEL_PX: u32 = 14;
/// The bars' colour when there is one series.
const BAR: RGBColor = RGBColor(52, 101, 164);

fn error(message: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(format!("drawing a chart: {message}"))
}

/// The SVG with its accessible name, ready to place inline.
fn labelled(svg: &str, label: &str) -> String {
    let label = label
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;");
    svg.replacen(
        "<svg ",
        &format!("<svg role=\"img\" aria-label=\"{label}\" class=\"chart\" "),
        1,
    )
}

/// A y range from 0 to a little above the top, never empty.
fn y_top(values: impl Iterator<Item = f64>) -> f64 {
    let top = values.fold(0.0, f64::max);
    if top <= 0.0 { 1.0 } else { top * 1.15 }
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

/// Draws on a white SVG canvas of [`SIZE`] and labels the result.
fn drawn(
    label: &str,
    draw: impl FnOnce(&Area<'_>) -> Result<(), ApiError>,
) -> Result<String, ApiError> {
    let mut svg = String::new();
    {
        let root: Area<'_> = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(error)?;
        draw(&root)?;
        root.present().map_err(error)?;
    }
    Ok(labelled(&svg, label))
}

/// Every chart's frame, with room for the y labels (`y_labels_px`).
fn frame<'a, 'b>(root: &'a Area<'b>, y_labels_px: u32) -> ChartBuilder<'a, 'b, SVGBackend<'b>> {
    let mut builder = ChartBuilder::on(root);
    builder
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(y_labels_px);
    builder
}

/// Jobs finished per second in each minute of the last hour (the last one still running).
pub(super) fn throughput(
    minutes: &[(DateTime<Utc>, f64)],
    label: &str,
) -> Result<String, ApiError> {
    let n = minutes.len() as i32;
    let top = y_top(minutes.iter().map(|m| m.1));
    drawn(label, |root| {
        let mut chart = frame(root, 56)
            .build_cartesian_2d(-n..1, 0.0..top)
            .map_err(error)?;
        chart
            .configure_mesh()
            .x_desc("Minutes ago")
            .y_desc("Jobs finished / s")
            .x_labels(7)
            .x_label_formatter(&|m| (-m - 1).max(0).to_string())
            .label_style(("sans-serif", LABEL_PX))
            .disable_x_mesh()
            .draw()
            .map_err(error)?;
        chart
            .draw_series(
                minutes
                    .iter()
                    .zip(-n..)
                    .map(|((_, rate), x)| Rectangle::new([(x, 0.0), (x + 1, *rate)], BAR.filled())),
            )
            .map_err(error)?;
        Ok(())
    })
}

/// A quantity per day, stacked by series (models), with a legend.
pub(super) fn per_day(
    days: &[(DateTime<Utc>, BTreeMap<String, f64>)],
    y_desc: &str,
    label: &str,
) -> Result<String, ApiError> {
    let series: Vec<&String> = {
        let mut names: Vec<&String> = days.iter().flat_map(|(_, d)| d.keys()).collect();
        names.sort();
        names.dedup();
        names
    };
    let top = y_top(days.iter().map(|(_, d)| d.values().sum::<f64>()));
    let n = days.len() as i32;
    let dates: Vec<String> = days
        .iter()
        .map(|(d, _)| d.format("%m-%d").to_string())
        .collect();
    drawn(label, |root| {
        let mut chart = frame(root, 72)
            .build_cartesian_2d(0..n.max(1), 0.0..top)
            .map_err(error)?;
        chart
            .configure_mesh()
            .x_desc("Day (UTC)")
            .y_desc(y_desc)
            .x_labels(days.len().clamp(1, 14))
            .x_label_formatter(&|i| {
                usize::try_from(*i)
                    .ok()
                    .and_then(|i| dates.get(i))
                    .cloned()
                    .unwrap_or_default()
            })
            .label_style(("sans-serif", LABEL_PX))
            .disable_x_mesh()
            .draw()
            .map_err(error)?;
        let mut base = vec![0.0; days.len()];
        for (s, name) in series.iter().enumerate() {
            let color = if series.len() == 1 {
                BAR.to_rgba()
            } else {
                Palette99::pick(s).to_rgba()
            };
            let bars: Vec<Rectangle<(i32, f64)>> = days
                .iter()
                .zip(0..)
                .zip(base.iter_mut())
                .map(|(((_, values), x), below)| {
                    let value = values.get(*name).copied().unwrap_or(0.0);
                    let bar =
                        Rectangle::new([(x, *below), (x + 1, *below + value)], color.filled());
                    *below += value;
                    bar
                })
                .collect();
            chart
                .draw_series(bars)
                .map_err(error)?
                .label(name.as_str())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 14, y + 5)], color.filled())
                });
        }
        if !series.is_empty() {
            chart
                .configure_series_labels()
                .label_font(("sans-serif", LABEL_PX))
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .position(SeriesLabelPosition::UpperLeft)
                .draw()
                .map_err(error)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    #[test]
    fn charts_are_labelled_svg_with_a_bar_per_figure() {
        let at = Utc.with_ymd_and_hms(2026, 12, 6, 9, 0, 0).unwrap();
        let minutes: Vec<_> = (0..60)
            .map(|i| (at + chrono::Duration::minutes(i), f64::from(i as i32)))
            .collect();
        let svg = throughput(&minutes, "Jobs finished per second, <last> hour").unwrap();
        assert!(svg.starts_with(
            "<svg role=\"img\" aria-label=\"Jobs finished per second, &lt;last> hour\""
        ));
        assert!(svg.contains("viewBox"));
        assert!(svg.contains("Minutes ago"));
        // 60 bars (the first is zero-high) besides the background.
        assert!(
            svg.matches("<rect").count() >= 60,
            "{}",
            svg.matches("<rect").count()
        );
        let days: Vec<_> = (0..14)
            .map(|i| {
                let mut d = BTreeMap::new();
                d.insert("gpt-x".to_owned(), 2.0);
                d.insert("builtin".to_owned(), i as f64);
                (at + chrono::Duration::days(i), d)
            })
            .collect();
        let svg = per_day(&days, "Tokens", "Tokens per day").unwrap();
        assert!(svg.contains("gpt-x") && svg.contains("builtin") && svg.contains("12-19"));
        assert!(!svg.contains("<script"));
        let empty = per_day(&[], "Tokens", "none").unwrap();
        assert!(empty.contains("aria-label=\"none\""));
    }
}
