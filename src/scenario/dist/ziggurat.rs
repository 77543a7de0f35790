//! Standard normal and standard exponential variates by the ziggurat
//! method (G. Marsaglia and W. W. Tsang, "The ziggurat method for generating
//! random variables", J. Stat. Software 5(8), 2000), each with 256 layers of
//! equal area.
//!
//! The exponential's density e^-x is covered the same way as the normal's
//! below (base layer: rectangle and tail beyond `E_R`). In 97.8% of draws the
//! point is under the density at once: one draw, one multiplication, one
//! comparison, no `exp`. A wedge costs one `exp`; the tail, being
//! memoryless, is `E_R` plus a fresh exponential draw; no draw takes `ln`
//! (the inversion `-ln U` it replaces took one every time).
//!
//! The density's upper half is covered by a base layer (a rectangle plus
//! the tail beyond `R`) and 255 rectangles stacked on it, all of area `V`.
//! A draw picks a layer and a point in it from one 64-bit number; in 98.8%
//! of draws the point lies under the density for certain and is returned
//! at once: one draw, one multiplication, one comparison. Otherwise it
//! falls in a wedge (tested against the density, one `exp`) or in the tail
//! (Marsaglia's exponential method, two `ln`).
//!
//! The layer tables are computed once with `libm` and IEEE arithmetic, and
//! the wedges' `exp` is the portable one of `exp.rs`, so draws are the same
//! on every machine (see the parent module).

use std::sync::OnceLock;

use rand::Rng;

use super::exp::exp;
use super::sample::{open_unit, unit};

const LAYERS: usize = 256;
/// Right edge of the base rectangle: where the tail starts.
const R: f64 = 3.654_152_885_361_009;
/// Area of every layer (base rectangle and tail included), for the
/// unnormalised density exp(-x²/2).
const V: f64 = 4.928_673_233_99e-3;

struct Table {
    /// x[i]: the right edge of layer i's rectangle, decreasing; x[0] is
    /// the base layer's virtual width V / f(R), x[256] = 0.
    x: [f64; LAYERS + 1],
    /// f[i] = exp(-x[i]²/2), increasing; f[256] = 1.
    f: [f64; LAYERS + 1],
}

#[inline]
fn density(x: f64) -> f64 {
    libm::exp(-0.5 * x * x)
}

/// The layers of a ziggurat under `density` (decreasing from 1 at 0):
/// x[0] = v / density(r), x[1] = r, each next edge where the layer above
/// reaches area `v` (`inverse` of the density), x[256] = 0; f[i] =
/// density(x[i]).
fn layers(r: f64, v: f64, density: fn(f64) -> f64, inverse: fn(f64) -> f64) -> Table {
    let mut x = [0.0; LAYERS + 1];
    x[0] = v / density(r);
    x[1] = r;
    for i in 2..LAYERS {
        // Layer i-1 spans heights f(x[i-1])..f(x[i]) at width x[i-1].
        let h = v / x[i - 1] + density(x[i - 1]);
        x[i] = if h < 1.0 { inverse(h) } else { 0.0 };
    }
    x[LAYERS] = 0.0;
    let mut f = [0.0; LAYERS + 1];
    for (fi, &xi) in f.iter_mut().zip(&x) {
        *fi = density(xi);
    }
    Table { x, f }
}

fn build() -> Table {
    layers(R, V, density, |h| (-2.0 * libm::log(h)).sqrt())
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(build)
}

/// Right edge of the exponential's base rectangle: where its tail starts.
const E_R: f64 = 7.697_117_470_131_487;
/// Area of every layer of the exponential's ziggurat (density e^-x).
const E_V: f64 = 3.949_659_822_581_572e-3;

/// The exponential's layers: x[0] = E_V / e^-E_R, x[1] = E_R, decreasing to
/// x[256] = 0; f[i] = e^-x[i].
fn build_exp() -> Table {
    layers(E_R, E_V, |x| libm::exp(-x), |h| -libm::log(h))
}

fn exp_table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(build_exp)
}

/// A standard exponential variate (mean 1).
#[inline]
pub fn std_exp<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let t = exp_table();
    let mut base = 0.0;
    loop {
        let bits = rng.next_u64();
        let i = (bits & 0xff) as usize;
        // The top 53 bits, independent of the layer's 8: u in [0, 1).
        let x = (bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64) * t.x[i];
        if x < t.x[i + 1] {
            return base + x;
        }
        if i == 0 {
            // Beyond E_R the density is E_R's times a fresh exponential's.
            base += E_R;
            continue;
        }
        if t.f[i] + (t.f[i + 1] - t.f[i]) * unit(rng) < exp(-x) {
            return base + x;
        }
    }
}

/// A standard normal variate (mean 0, sd 1).
#[inline(always)]
pub fn std_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let t = table();
    loop {
        let bits = rng.next_u64();
        let i = (bits & 0xff) as usize;
        // The top 52 bits, independent of the layer's 8: u in (-1, 1).
        let u = ((bits >> 12) as f64 + 0.5) * (1.0 / (1u64 << 51) as f64) - 1.0;
        let x = u * t.x[i];
        if x.abs() < t.x[i + 1] {
            return x;
        }
        if i == 0 {
            return tail(rng, u < 0.0);
        }
        if t.f[i] + (t.f[i + 1] - t.f[i]) * unit(rng) < exp(-0.5 * x * x) {
            return x;
        }
    }
}

/// A draw from the normal tail beyond R (Marsaglia 1964).
#[cold]
fn tail<G: Rng + ?Sized>(rng: &mut G, negative: bool) -> f64 {
    loop {
        let a = -libm::log(open_unit(rng)) / R;
        let b = -libm::log(open_unit(rng));
        if 2.0 * b >= a * a {
            return if negative { -(R + a) } else { R + a };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exponential's layers tile e^-x: decreasing edges, every layer of
    /// area E_V (to 1e-9 relative); the base layer is the rectangle
    /// E_R·e^-E_R plus the tail ∫_E_R^∞ e^-x dx = e^-E_R.
    #[test]
    fn exp_table_is_a_ziggurat() {
        let t = exp_table();
        assert!(t.x.windows(2).all(|w| w[0] > w[1]), "edges decrease");
        assert!(t.x[255] > 0.0 && t.x[255] < 0.1, "{}", t.x[255]);
        for i in 1..LAYERS {
            let area = t.x[i] * (t.f[i + 1] - t.f[i]);
            assert!((area / E_V - 1.0).abs() < 1e-9, "layer {i}: {area}");
        }
        let base = (E_R + 1.0) * libm::exp(-E_R);
        assert!((base / E_V - 1.0).abs() < 1e-9);
        // The share of draws returned at once: the mean of x[i+1]/x[i].
        let fast = (0..LAYERS).map(|i| t.x[i + 1] / t.x[i]).sum::<f64>() / LAYERS as f64;
        assert!((fast - 0.9778).abs() < 1e-4, "{fast}");
    }

    /// The layers tile the density: decreasing edges, every layer of area
    /// V (to 1e-9 relative), and the top one closing at the peak.
    #[test]
    fn table_is_a_ziggurat() {
        let t = table();
        assert!(t.x.windows(2).all(|w| w[0] > w[1]), "edges decrease");
        assert!(t.x[255] > 0.0 && t.x[255] < 0.3, "{}", t.x[255]);
        for i in 1..LAYERS {
            let area = t.x[i] * (t.f[i + 1] - t.f[i]);
            assert!((area / V - 1.0).abs() < 1e-9, "layer {i}: {area}");
        }
        // Base layer: rectangle R·f(R) plus the tail ∫_R^∞ exp(-x²/2) dx
        // = sqrt(π/2)·erfc(R/√2).
        let tail = (std::f64::consts::PI / 2.0).sqrt() * libm::erfc(R / std::f64::consts::SQRT_2);
        assert!(((R * density(R) + tail) / V - 1.0).abs() < 1e-9);
    }
}
