//! Choosing each token from the last position's logits: greedy, or drawn
//! after the repeat penalty, temperature, top-k and top-p, as the page's
//! settings say.
//!
//! Top-k is taken on the raw logits, then the softmax over those k only:
//! candle's sampler ran a softmax over the whole vocabulary and a selection
//! over an index per token, a cost that grows with the vocabulary (Gemma 3
//! has 262,144 tokens). Top-p then keeps the fewest most likely of
//! the k whose probabilities, renormalised over the k, reach p: as Hugging
//! Face's and llama.cpp's samplers do (candle measured p against the whole
//! vocabulary's probabilities). The draw is seeded, so a seed repeats a reply.

use fineprint_protocol::Sampling;
use rand::distr::weighted::WeightedIndex;
use rand::distr::Distribution;
use rand::rngs::StdRng;
use rand::SeedableRng;

/// How the next token is chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    /// The largest logit.
    Greedy,
    /// Drawn from the softmax of logit / `temperature`, over the `top_k` largest
    /// (all where `None`), then over the fewest of those whose probabilities
    /// reach `top_p`.
    Draw { temperature: f32, top_k: Option<usize>, top_p: f32 },
}

impl Rule {
    pub fn of(s: &Sampling) -> Self {
        // NaN settings (from a hand-edited request) fall back as zero would.
        if s.temperature.is_nan() || s.temperature <= 0.0 {
            return Rule::Greedy;
        }
        let top_p = match s.top_p {
            Some(p) if p > 0.0 && p < 1.0 => p as f32,
            _ => 1.0,
        };
        Rule::Draw { temperature: s.temperature as f32, top_k: s.top_k.filter(|&k| k > 0), top_p }
    }
}

/// One generation's chooser: its rule, its seeded draws, and scratch space
/// reused from token to token.
pub struct Chooser {
    rule: Rule,
    rng: StdRng,
    /// (logit, token) of the candidates, most likely first where top-p needs it.
    candidates: Vec<(f32, u32)>,
    /// All k, when top-p needs their total weight and looks among fewer.
    top_k: Vec<(f32, u32)>,
    weights: Vec<f32>,
}

impl Chooser {
    pub fn new(s: &Sampling) -> Self {
        Self {
            rule: Rule::of(s),
            rng: StdRng::seed_from_u64(s.seed),
            candidates: Vec::new(),
            top_k: Vec::new(),
            weights: Vec::new(),
        }
    }

    pub fn rule(&self) -> Rule {
        self.rule
    }

    /// The next token, with the best logit's lead over the second best. A
    /// vocabulary of NaNs or of −∞ only (nothing to draw from) gives the argmax.
    pub fn choose(&mut self, logits: &[f32]) -> (u32, f32) {
        let margin = top_two_gap(logits);
        let id = match self.rule {
            Rule::Greedy => argmax(logits),
            Rule::Draw { temperature, top_k, top_p } => {
                self.draw(logits, temperature, top_k, top_p).unwrap_or_else(|| argmax(logits))
            }
        };
        (id, margin)
    }

    fn draw(&mut self, logits: &[f32], temperature: f32, top_k: Option<usize>, top_p: f32) -> Option<u32> {
        let k = top_k.unwrap_or(logits.len()).min(logits.len());
        // Without top-p, every one of the k in any order; with it, the most
        // likely first, from a short list: a nucleus is mostly a few tokens,
        // so it is looked for there, the list grown while it falls short,
        // rather than in a whole vocabulary sorted.
        let mut short = if top_p < 1.0 { k.min(NUCLEUS) } else { k };
        largest(logits, short, top_p < 1.0, &mut self.candidates);
        let best = self.candidates.iter().fold(f32::NEG_INFINITY, |m, &(l, _)| m.max(l));
        if !best.is_finite() {
            return None;
        }
        let weight = |l: f32| ((l - best) / temperature).exp();
        if top_p < 1.0 {
            // The fewest most likely of the k whose weight reaches p of the k's.
            let total: f32 = if short == k {
                self.candidates.iter().map(|&(l, _)| weight(l)).sum()
            } else if k == logits.len() {
                logits.iter().filter(|l| !l.is_nan()).map(|&l| weight(l)).sum()
            } else {
                largest(logits, k, false, &mut self.top_k);
                self.top_k.iter().map(|&(l, _)| weight(l)).sum()
            };
            loop {
                let (mut sum, mut keep) = (0.0, 0);
                while keep < self.candidates.len() && sum < top_p * total {
                    sum += weight(self.candidates[keep].0);
                    keep += 1;
                }
                // Summed in another order than `total`, the k's weight may
                // fall short of p by a rounding: then all k are the nucleus.
                if sum >= top_p * total || short == k {
                    self.candidates.truncate(keep.max(1));
                    break;
                }
                // Past a quarter of the k, sorting them all costs less than growing again.
                short = if short * 16 > k { k } else { short * 4 };
                largest(logits, short, true, &mut self.candidates);
            }
        }
        self.weights.clear();
        self.weights.extend(self.candidates.iter().map(|&(l, _)| weight(l)));
        let pick = WeightedIndex::new(&self.weights).ok()?.sample(&mut self.rng);
        Some(self.candidates[pick].1)
    }
}

/// How many candidates a nucleus is first looked for among.
const NUCLEUS: usize = 64;

/// The `k` largest logits as (logit, token), if `sorted` largest first and
/// the lower token first among equals; NaNs are never candidates. One pass
/// that keeps a floor, the k-th largest so far: most of a vocabulary is
/// below it and is only compared.
fn largest(logits: &[f32], k: usize, sorted: bool, out: &mut Vec<(f32, u32)>) {
    out.clear();
    if k == 0 {
        return;
    }
    let order = |a: &(f32, u32), b: &(f32, u32)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
    let mut floor = f32::NEG_INFINITY;
    for (i, &l) in logits.iter().enumerate() {
        // Strictly: the k kept are at least the floor and come earlier, so a
        // later equal ranks after them (equals go by token). False for NaN.
        if l > floor {
            out.push((l, i as u32));
            if out.len() >= 2 * k.max(32) {
                out.select_nth_unstable_by(k - 1, order);
                out.truncate(k);
                floor = out[k - 1].0;
            }
        }
    }
    if sorted {
        out.sort_unstable_by(order);
    } else if out.len() > k {
        out.select_nth_unstable_by(k - 1, order);
    }
    out.truncate(k);
}

/// The best logit's lead over the second best.
fn top_two_gap(logits: &[f32]) -> f32 {
    let (mut first, mut second) = (f32::NEG_INFINITY, f32::NEG_INFINITY);
    for &l in logits {
        if l > first {
            second = first;
            first = l;
        } else if l > second {
            second = l;
        }
    }
    first - second
}

/// The index of the largest logit, the first of equals, as candle's `argmax`
/// picks it (a NaN in front wins there too): candle's reduction over a
/// 262,144-token vocabulary took about a millisecond a token in wasm.
fn argmax(logits: &[f32]) -> u32 {
    let (mut best, mut val) = (0, logits.first().copied().unwrap_or(f32::NAN));
    for (i, &l) in logits.iter().enumerate() {
        if val < l {
            (best, val) = (i, l);
        }
    }
    best as u32
}

/// The repeat penalty over the tokens in `recent`, each once, as candle and
/// llama.cpp apply it: a positive logit divided by `penalty`, a negative one
/// multiplied (both made less likely). Ids beyond the vocabulary are skipped.
pub fn penalise_repeats(logits: &mut [f32], penalty: f32, recent: &[u32]) {
    let mut seen = std::collections::HashSet::with_capacity(recent.len());
    for &id in recent {
        if !seen.insert(id) {
            continue;
        }
        if let Some(l) = logits.get_mut(id as usize) {
            *l = if *l >= 0.0 { *l / penalty } else { *l * penalty };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draw_settings(temperature: f64, top_k: Option<usize>, top_p: Option<f64>, seed: u64) -> Sampling {
        Sampling { temperature, top_k, top_p, seed, ..Sampling::default() }
    }

    /// Greedy decoding picks what candle's `argmax` picked before it: the
    /// first of equal maxima, and a NaN in front as candle takes it.
    #[test]
    fn argmax_picks_as_candle_does() {
        let cases: Vec<Vec<f32>> = vec![
            vec![1.0, 3.0, 3.0, 2.0],
            vec![f32::NAN, 5.0, 1.0],
            vec![-1.0, f32::NAN, -0.5],
            vec![f32::NEG_INFINITY, f32::NEG_INFINITY],
            vec![0.0],
            (0..5000).map(|i| ((i * 7919 % 997) as f32).sin()).collect(),
        ];
        for v in cases {
            let t = candle_core::Tensor::from_vec(v.clone(), v.len(), &candle_core::Device::Cpu).unwrap();
            let want = t.argmax(0).unwrap().to_scalar::<u32>().unwrap();
            assert_eq!(argmax(&v), want, "{v:?}");
        }
    }

    #[test]
    fn the_k_largest_come_first_to_last_and_equals_by_token() {
        let mut logits: Vec<f32> = (0..10_000).map(|i| ((i * 7919) % 1000) as f32).collect();
        logits[4321] = f32::NAN;
        let mut out = Vec::new();
        for k in [1, 5, 40, 100] {
            largest(&logits, k, true, &mut out);
            let mut every: Vec<(f32, u32)> =
                logits.iter().enumerate().filter(|(_, l)| !l.is_nan()).map(|(i, &l)| (l, i as u32)).collect();
            every.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            assert_eq!(out, every[..k], "k = {k}");
        }
        largest(&[f32::NAN, 1.0], 5, true, &mut out);
        assert_eq!(out, [(1.0, 1)]);
    }

    /// Draws follow the softmax of the top k at the temperature: the share
    /// of each token over many draws is within a few standard errors of it.
    #[test]
    fn draws_follow_the_tempered_softmax_of_the_top_k() {
        let logits = [1.0f32, 3.0, 2.5, -1.0, 2.0, 0.0];
        let (t, k) = (0.7f32, 4);
        let mut chooser = Chooser::new(&draw_settings(t as f64, Some(k), None, 7));
        let n = 40_000;
        let mut counts = [0usize; 6];
        for _ in 0..n {
            counts[chooser.choose(&logits).0 as usize] += 1;
        }
        let top = [1usize, 2, 4, 0];
        let w: Vec<f64> = top.iter().map(|&i| (((logits[i] - 3.0) / t) as f64).exp()).collect();
        let total: f64 = w.iter().sum();
        for (&i, w) in top.iter().zip(&w) {
            let p = w / total;
            let sd = (p * (1.0 - p) / n as f64).sqrt();
            let share = counts[i] as f64 / n as f64;
            assert!((share - p).abs() < 5.0 * sd, "token {i}: {share:.4} drawn, {p:.4} expected");
        }
        assert_eq!(counts[3] + counts[5], 0, "outside the top {k}: {counts:?}");
    }

    /// Top-p keeps the fewest most likely candidates whose probabilities,
    /// over the top k, reach p, and draws only among them.
    #[test]
    fn top_p_keeps_the_fewest_that_reach_p() {
        // Weights at temperature 1: e^0 = 1, e^-1, e^-2, e^-3, normalised over
        // these four: 0.644, 0.237, 0.087, 0.032.
        let logits = [0.0f32, -1.0, -2.0, -3.0, -30.0];
        for (p, allowed) in [(0.5, vec![0]), (0.8, vec![0, 1]), (0.9, vec![0, 1, 2]), (0.99, vec![0, 1, 2, 3])] {
            let mut chooser = Chooser::new(&draw_settings(1.0, Some(4), Some(p), 11));
            let mut drawn = std::collections::BTreeSet::new();
            for _ in 0..5_000 {
                drawn.insert(chooser.choose(&logits).0);
            }
            assert_eq!(drawn.into_iter().collect::<Vec<_>>(), allowed, "top-p {p}");
        }
    }

    /// A nucleus wider than the first short list: equal logits, so the
    /// nucleus of p is the first p of the k tokens (equals go by token).
    #[test]
    fn a_wide_nucleus_is_found_past_the_first_candidates() {
        let logits = vec![0.0f32; 1000];
        for (top_k, p, nucleus) in [(None, 0.5, 500), (Some(800), 0.5, 400), (Some(300), 0.99, 297)] {
            let mut chooser = Chooser::new(&draw_settings(1.0, top_k, Some(p), 3));
            let drawn: std::collections::BTreeSet<u32> = (0..20_000).map(|_| chooser.choose(&logits).0).collect();
            let last = drawn.last().copied();
            assert_eq!(last, Some(nucleus - 1), "top-k {top_k:?}, top-p {p}: drew up to {last:?}");
            assert!(drawn.len() > nucleus as usize * 9 / 10, "top-k {top_k:?}, top-p {p}: {} tokens", drawn.len());
        }
    }

    #[test]
    fn a_seed_repeats_its_draws_and_another_seed_does_not() {
        let logits: Vec<f32> = (0..1000).map(|i| ((i * 31) % 97) as f32 / 20.0).collect();
        let run = |seed| {
            let mut c = Chooser::new(&draw_settings(0.8, Some(40), Some(0.95), seed));
            (0..64).map(|_| c.choose(&logits).0).collect::<Vec<_>>()
        };
        assert_eq!(run(1), run(1));
        assert_ne!(run(1), run(2));
    }

    #[test]
    fn nothing_to_draw_from_gives_the_argmax() {
        let mut c = Chooser::new(&Sampling::default());
        assert_eq!(c.choose(&[f32::NEG_INFINITY; 3]).0, 0);
        assert_eq!(c.choose(&[f32::NAN, f32::NAN]).0, 0);
        assert_eq!(c.choose(&[f32::NEG_INFINITY, f32::INFINITY, 1.0]).0, 1);
        assert_eq!(c.choose(&[]).0, 0);
    }

    #[test]
    fn greedy_settings_take_the_argmax_and_give_the_margin() {
        let mut c = Chooser::new(&Sampling::greedy(8));
        assert_eq!(c.rule(), Rule::Greedy);
        assert_eq!(c.choose(&[0.0, 2.5, 1.0, 2.5]), (1, 0.0));
        assert_eq!(c.choose(&[0.0, 2.5, 1.0]), (1, 1.5));
        let nan = Sampling { temperature: f64::NAN, ..Sampling::default() };
        assert_eq!(Rule::of(&nan), Rule::Greedy);
    }

    /// As candle's `apply_repeat_penalty`: each recent token once, positive
    /// logits divided and negative ones multiplied.
    #[test]
    fn the_repeat_penalty_is_candles() {
        use candle_core::{Device, Tensor};
        let logits = vec![2.0f32, -1.0, 0.5, 0.0, -3.0, 4.0];
        let recent = [0u32, 1, 1, 4, 0, 99];
        let mut mine = logits.clone();
        penalise_repeats(&mut mine, 1.3, &recent);
        let t = Tensor::from_vec(logits.clone(), logits.len(), &Device::Cpu).expect("tensor");
        let theirs = candle_transformers::utils::apply_repeat_penalty(&t, 1.3, &recent[..5])
            .and_then(|t| t.to_vec1::<f32>())
            .expect("candle");
        assert_eq!(mine, theirs);
    }
}
