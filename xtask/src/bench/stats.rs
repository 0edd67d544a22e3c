//! The statistics of a bench: each side's samples, their median and spread, and the ratio of
//! two medians. Medians, not means: one run slowed by a neighbour on the machine moves a mean
//! but not a median.

use std::time::Duration;

use serde::Serialize;

/// The samples of one side of a measure, in seconds, sorted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    samples: Vec<f64>,
}

impl Stats {
    /// `None` without samples: a median of nothing would be a made-up number.
    pub fn new(samples: impl IntoIterator<Item = f64>) -> Option<Stats> {
        let mut samples: Vec<f64> = samples.into_iter().collect();
        if samples.is_empty() || samples.iter().any(|sample| !sample.is_finite()) {
            return None;
        }
        samples.sort_by(f64::total_cmp);
        Some(Stats { samples })
    }

    pub fn of_durations(durations: &[Duration]) -> Option<Stats> {
        Stats::new(durations.iter().map(Duration::as_secs_f64))
    }

    pub fn samples(&self) -> &[f64] {
        &self.samples
    }

    pub fn runs(&self) -> usize {
        self.samples.len()
    }

    pub fn median(&self) -> f64 {
        self.quantile(0.5)
    }

    pub fn min(&self) -> f64 {
        self.samples[0]
    }

    pub fn max(&self) -> f64 {
        self.samples[self.samples.len() - 1]
    }

    /// The first and third quartiles.
    pub fn quartiles(&self) -> (f64, f64) {
        (self.quantile(0.25), self.quantile(0.75))
    }

    /// The `q` quantile (0 to 1), interpolated between the two nearest samples (the "type 7"
    /// rule of R and numpy), so that the 0.5 quantile is the usual median.
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    pub fn quantile(&self, q: f64) -> f64 {
        let position = q.clamp(0.0, 1.0) * (self.samples.len() - 1) as f64;
        let below = position.floor() as usize;
        let above = position.ceil() as usize;
        let weight = position - below as f64;
        self.samples[below] + (self.samples[above] - self.samples[below]) * weight
    }

    /// The spread around the median, as a fraction of it: (max − min) / median.
    pub fn relative_spread(&self) -> f64 {
        let median = self.median();
        if median == 0.0 {
            0.0
        } else {
            (self.max() - self.min()) / median
        }
    }
}

/// `candidate`'s median over `baseline`'s: below 1, the candidate takes less time.
pub fn ratio(candidate: &Stats, baseline: &Stats) -> f64 {
    candidate.median() / baseline.median()
}

/// Least squares fit of `y = intercept + slope·x`, with its coefficient of determination.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LinearFit {
    pub intercept: f64,
    pub slope: f64,
    /// 1 when every point is on the line.
    pub r_squared: f64,
}

/// `None` with fewer than two distinct `x`.
#[allow(clippy::cast_precision_loss)]
pub fn linear_fit(points: &[(f64, f64)]) -> Option<LinearFit> {
    let n = points.len() as f64;
    let mean_x = points.iter().map(|(x, _)| x).sum::<f64>() / n;
    let mean_y = points.iter().map(|(_, y)| y).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|(x, _)| (x - mean_x).powi(2)).sum();
    let sxy: f64 = points
        .iter()
        .map(|(x, y)| (x - mean_x) * (y - mean_y))
        .sum();
    let syy: f64 = points.iter().map(|(_, y)| (y - mean_y).powi(2)).sum();
    if points.len() < 2 || sxx == 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    let intercept = mean_y - slope * mean_x;
    let r_squared = if syy == 0.0 {
        1.0
    } else {
        (sxy * sxy) / (sxx * syy)
    };
    Some(LinearFit {
        intercept,
        slope,
        r_squared,
    })
}

/// How time grows with size: the slope of `log(time)` over `log(size)`, 1 for linear growth,
/// 2 for quadratic. `None` with fewer than two sizes or a time that is not positive.
pub fn growth_exponent(points: &[(f64, f64)]) -> Option<f64> {
    if points.iter().any(|&(x, y)| x <= 0.0 || y <= 0.0) {
        return None;
    }
    let logs: Vec<(f64, f64)> = points.iter().map(|(x, y)| (x.ln(), y.ln())).collect();
    linear_fit(&logs).map(|fit| fit.slope)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: f64, expected: f64) {
        assert!(
            (actual - expected).abs() < 1e-9,
            "{actual} is not {expected}"
        );
    }

    #[test]
    fn the_median_of_an_odd_count_is_the_middle_sample() {
        let stats = Stats::new([3.0, 1.0, 2.0, 10.0, 4.0]).unwrap();
        close(stats.median(), 3.0);
        close(stats.min(), 1.0);
        close(stats.max(), 10.0);
        assert_eq!(stats.samples(), [1.0, 2.0, 3.0, 4.0, 10.0]);
    }

    #[test]
    fn the_median_of_an_even_count_is_between_the_middle_two() {
        let stats = Stats::new([4.0, 1.0, 3.0, 2.0]).unwrap();
        close(stats.median(), 2.5);
        let (q1, q3) = stats.quartiles();
        close(q1, 1.75);
        close(q3, 3.25);
    }

    #[test]
    fn one_sample_is_its_own_median_and_spread() {
        let stats = Stats::new([0.25]).unwrap();
        close(stats.median(), 0.25);
        close(stats.quartiles().0, 0.25);
        close(stats.relative_spread(), 0.0);
    }

    #[test]
    fn no_samples_or_a_nan_give_no_statistics() {
        assert!(Stats::new([]).is_none());
        assert!(Stats::new([1.0, f64::NAN]).is_none());
    }

    #[test]
    fn an_outlier_moves_the_spread_not_the_median() {
        let calm = Stats::new([1.0, 1.0, 1.1, 1.2, 1.2]).unwrap();
        let noisy = Stats::new([1.0, 1.0, 1.1, 1.2, 9.0]).unwrap();
        close(calm.median(), noisy.median());
        close(calm.relative_spread(), 0.2 / 1.1);
        assert!(noisy.relative_spread() > 7.0);
    }

    #[test]
    fn the_ratio_is_of_medians_candidate_over_baseline() {
        let candidate = Stats::of_durations(&[
            Duration::from_millis(600),
            Duration::from_millis(700),
            Duration::from_secs(5),
        ])
        .unwrap();
        let baseline = Stats::new([1.0, 0.9, 1.1]).unwrap();
        close(ratio(&candidate, &baseline), 0.7);
        close(ratio(&baseline, &candidate), 1.0 / 0.7);
    }

    #[test]
    fn a_line_fits_exactly_and_its_growth_exponent_is_one() {
        let points = [
            (100.0, 0.012),
            (250.0, 0.027),
            (500.0, 0.052),
            (1000.0, 0.102),
        ];
        let fit = linear_fit(&points).unwrap();
        close(fit.slope, 0.0001);
        close(fit.intercept, 0.002);
        close(fit.r_squared, 1.0);
        let proportional = [(100.0, 1.0), (200.0, 2.0), (400.0, 4.0)];
        close(growth_exponent(&proportional).unwrap(), 1.0);
        let quadratic = [(100.0, 1.0), (200.0, 4.0), (400.0, 16.0)];
        close(growth_exponent(&quadratic).unwrap(), 2.0);
        assert!(linear_fit(&[(1.0, 1.0)]).is_none());
        assert!(linear_fit(&[(1.0, 1.0), (1.0, 2.0)]).is_none());
        assert!(growth_exponent(&[(0.0, 1.0), (1.0, 1.0)]).is_none());
    }
}
