//! Decimal rounding, half away from zero, of figures that double arithmetic has blurred:
//! snap to a grid of 10⁻⁹, then round in integers.

/// Grid steps per score point: 10⁻⁹ is far below any meaningful difference and far above
/// the rounding noise of doubles up to 100 (about 10⁻¹⁴).
const GRID: f64 = 1e9;

/// Grid steps per cent (0.01 point).
pub(super) const CENT: i64 = 10_000_000;

/// Beyond this magnitude a figure is returned as it is: the grid would not fit an `i64`,
/// and no score figure comes near it.
const LARGEST: f64 = 1e6;

/// `x` on the grid. Saturates for absurd magnitudes; NaN gives 0.
pub(super) fn units(x: f64) -> i64 {
    (x * GRID).round() as i64
}

/// Grid units `u` rounded half away from zero to whole cents.
pub(super) fn cents(u: i64) -> i64 {
    half_away(u, CENT)
}

/// `u / per` rounded half away from zero.
fn half_away(u: i64, per: i64) -> i64 {
    let (q, r) = (u / per, u % per);
    // `per` is at most 10⁹, so doubling the remainder cannot overflow.
    if 2 * r.abs() >= per { q + u.signum() } else { q }
}

/// `x` rounded half away from zero to `decimals` decimals (at most 9), decimally: 39.995 →
/// 40.00 although the double nearest 39.995 lies just below it. Values that are not finite
/// or of magnitude 10⁶ and more are returned unchanged.
pub fn round_to(x: f64, decimals: u32) -> f64 {
    if !x.is_finite() || x.abs() >= LARGEST {
        return x;
    }
    let decimals = decimals.min(9);
    let per = 10_i64.pow(9 - decimals);
    half_away(units(x), per) as f64 / 10_f64.powi(decimals as i32)
}
