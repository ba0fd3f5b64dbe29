//! Choosing the next token from logits: greedy, or temperature with nucleus (top-p).

use super::job::Sampling;

/// Picks token ids from logits.
pub struct Sampler {
    config: Sampling,
    rng: fastrand::Rng,
}

impl Sampler {
    /// A sampler for one job.
    pub fn new(config: Sampling) -> Sampler {
        Sampler { config, rng: fastrand::Rng::with_seed(config.seed) }
    }

    /// The next token.
    pub fn pick(&mut self, logits: &[f32]) -> u32 {
        if self.config.temperature <= 0.0 {
            return argmax(logits);
        }
        let t = self.config.temperature;
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut probs: Vec<(u32, f32)> =
            logits.iter().enumerate().map(|(i, &l)| (i as u32, ((l - max) / t).exp())).collect();
        let total: f32 = probs.iter().map(|p| p.1).sum();
        probs.sort_unstable_by(|a, b| b.1.total_cmp(&a.1));
        let top_p = self.config.top_p.clamp(0.0, 1.0) * total;
        let mut kept = 0.0;
        let mut cut = probs.len();
        for (i, p) in probs.iter().enumerate() {
            kept += p.1;
            if kept >= top_p {
                cut = i + 1;
                break;
            }
        }
        let mut x = self.rng.f32() * kept;
        for &(id, p) in &probs[..cut] {
            if x < p {
                return id;
            }
            x -= p;
        }
        probs[0].0
    }
}

/// Index of the largest value (the first on ties).
pub fn argmax(v: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_takes_the_largest_and_top_p_keeps_the_nucleus() {
        let logits = [0.0, 5.0, 1.0, 4.9];
        assert_eq!(Sampler::new(Sampling::default()).pick(&logits), 1);
        let mut s = Sampler::new(Sampling { temperature: 1.0, top_p: 0.5, seed: 9 });
        for _ in 0..100 {
            assert!(matches!(s.pick(&logits), 1 | 3));
        }
        let mut s = Sampler::new(Sampling { temperature: 1.0, top_p: 1.0, seed: 9 });
        let picks: std::collections::HashSet<u32> = (0..2000).map(|_| s.pick(&logits)).collect();
        assert!(picks.contains(&2), "the tail is reachable without top-p");
    }
}
