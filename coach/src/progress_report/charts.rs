//! The report's charts as SVG, drawn with `plotters` (its SVG backend): self-contained (no script,
//! no external font or link: text is `<text>` in the viewer's sans-serif), labelled axes with
//! units. Drawn from the output alone, so the API renders them from the stored answer of any
//! provider (the guardrails hold its figures to the engine's).

use plotters::prelude::*;

use crate::date::IsoDate;
use crate::{CoachError, JobKind};

use super::{ChartName, ProgressReportOutput};

/// Width and height, px.
const SIZE: (u32, u32) = (860, 480);
/// Text sizes, px.
const TITLE_PX: u32 = 20;
const LABEL_PX: u32 = 13;

fn error(message: impl std::fmt::Display) -> CoachError {
    CoachError::Engine {
        kind: JobKind::ProgressReport,
        message: format!("chart: {message}"),
    }
}

/// The date of a day number (days since 1970-01-01), for axis labels.
fn label_of(day: i64) -> String {
    IsoDate::new(1970, 1, 1)
        .ok()
        .and_then(|epoch| epoch.plus_days(day))
        .map_or_else(String::new, |d| d.to_string())
}

/// A y range from 0 (or the data's floor) to a little above the top, never empty.
fn y_range(values: impl Iterator<Item = f64>, from_zero: bool) -> std::ops::Range<f64> {
    let (low, high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
        (l.min(v), h.max(v))
    });
    if !low.is_finite() {
        return 0.0..1.0;
    }
    let low = if from_zero { 0.0 } else { (low * 0.9).floor() };
    let high = (high * 1.1).ceil().max(low + 1.0);
    low..high
}

/// The chart `name` of a report, as an SVG document.
pub fn svg(output: &ProgressReportOutput, name: ChartName) -> Result<String, CoachError> {
    let title = output
        .charts
        .iter()
        .find(|c| c.name == name)
        .map_or_else(|| name.to_string(), |c| c.title.clone());
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(error)?;
        match name {
            ChartName::Strength => strength(&root, output, &title)?,
            ChartName::Volume => volume(&root, output, &title)?,
            ChartName::Sessions => sessions(&root, output, &title)?,
        }
        root.present().map_err(error)?;
    }
    Ok(svg)
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

/// Every chart's frame: the title on top, room for the axis labels.
fn builder<'a, 'b>(root: &'a Area<'b>, title: &str) -> ChartBuilder<'a, 'b, SVGBackend<'b>> {
    let mut builder = ChartBuilder::on(root);
    builder
        .caption(title, ("sans-serif", TITLE_PX))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(60);
    builder
}

/// Every chart's legend: the series' names in a framed box at `position`.
fn legend<'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, CT>,
    position: SeriesLabelPosition,
) -> Result<(), CoachError> {
    chart
        .configure_series_labels()
        .label_font(("sans-serif", LABEL_PX))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(position)
        .draw()
        .map_err(error)
}

fn strength(root: &Area<'_>, output: &ProgressReportOutput, title: &str) -> Result<(), CoachError> {
    let from = output.period.from.days_since_epoch();
    let to = output.period.to.days_since_epoch().max(from + 1);
    let y = y_range(
        output
            .lifts
            .iter()
            .flat_map(|l| l.e1rm_series.iter().map(|p| p.e1rm_kg)),
        false,
    );
    let mut chart = builder(root, title)
        .build_cartesian_2d(from..to, y)
        .map_err(error)?;
    chart
        .configure_mesh()
        .x_desc("Date")
        .y_desc("e1RM (kg)")
        .x_labels(6)
        .x_label_formatter(&|d| label_of(*d))
        .label_style(("sans-serif", LABEL_PX))
        .draw()
        .map_err(error)?;
    for (i, lift) in output.lifts.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let points: Vec<(i64, f64)> = lift
            .e1rm_series
            .iter()
            .map(|p| (p.date.days_since_epoch(), p.e1rm_kg))
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
            .map_err(error)?
            .label(lift.name.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
        chart
            .draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 3, color.filled())),
            )
            .map_err(error)?;
    }
    if !output.lifts.is_empty() {
        legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    }
    Ok(())
}

fn volume(root: &Area<'_>, output: &ProgressReportOutput, title: &str) -> Result<(), CoachError> {
    let weeks = i64::from(output.weeks.max(1));
    let y = y_range(
        output
            .weekly_volume
            .iter()
            .flat_map(|m| m.weeks.iter().map(|w| w.sets)),
        true,
    );
    let mut chart = builder(root, title)
        .build_cartesian_2d(1..weeks.max(2), y)
        .map_err(error)?;
    chart
        .configure_mesh()
        .x_desc("Week of the period")
        .y_desc("Working sets per week (secondary = ½)")
        .label_style(("sans-serif", LABEL_PX))
        .draw()
        .map_err(error)?;
    for (i, muscle) in output.weekly_volume.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let points: Vec<(i64, f64)> = muscle
            .weeks
            .iter()
            .zip(1..)
            .map(|(w, n)| (n, w.sets))
            .collect();
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))
            .map_err(error)?
            .label(muscle.muscle.to_string())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
    }
    if !output.weekly_volume.is_empty() {
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    }
    Ok(())
}

fn sessions(root: &Area<'_>, output: &ProgressReportOutput, title: &str) -> Result<(), CoachError> {
    let weekly = &output.consistency.weekly;
    let planned = output.consistency.planned_days_per_week.map(f64::from);
    let top = weekly
        .iter()
        .map(|w| f64::from(w.sessions))
        .chain(planned)
        .fold(1.0, f64::max)
        .min(7.0);
    let weeks = weekly.len().max(1) as f64;
    // Whole numbers only on both axes: weeks 1, 2, … under the bars, counts of sessions.
    let whole = |v: &f64| {
        if (v - v.round()).abs() < 1e-6 {
            format!("{v:.0}")
        } else {
            String::new()
        }
    };
    let mut chart = builder(root, title)
        .build_cartesian_2d(0.5..weeks + 0.5, 0.0..top + 1.0)
        .map_err(error)?;
    chart
        .configure_mesh()
        .x_desc("Week of the period")
        .y_desc("Sessions")
        .x_labels(weekly.len().max(1))
        .y_labels((top as usize) + 2)
        .x_label_formatter(&whole)
        .y_label_formatter(&whole)
        .label_style(("sans-serif", LABEL_PX))
        .disable_x_mesh()
        .draw()
        .map_err(error)?;
    let bar = RGBColor(52, 101, 164);
    chart
        .draw_series(weekly.iter().zip(1..).map(|(w, week)| {
            let x = f64::from(week);
            Rectangle::new(
                [(x - 0.35, 0.0), (x + 0.35, f64::from(w.sessions))],
                bar.filled(),
            )
        }))
        .map_err(error)?
        .label("Sessions")
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], bar.filled()));
    if let Some(plan) = planned {
        let red = RGBColor(204, 0, 0);
        chart
            .draw_series(LineSeries::new(
                vec![(0.5, plan), (weeks + 0.5, plan)],
                red.stroke_width(2),
            ))
            .map_err(error)?
            .label(format!("Planned: {plan:.0} a week"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], red.stroke_width(2)));
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)
}
