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

/// How sure the model was of `token` given `logits`: its log-probability and the
/// entropy of the whole distribution (nats). Masked logits (`-inf`) count as zero
/// probability. Two passes over the vocabulary; at 151,936 entries that is well under
/// a millisecond, against tens of milliseconds for the decode step that made them.
pub fn token_confidence(logits: &[f32], token: u32) -> (f32, f32) {
    let max = logits.iter().copied().filter(|l| l.is_finite()).fold(f32::NEG_INFINITY, f32::max);
    if !max.is_finite() {
        return (0.0, 0.0);
    }
    let (mut sum, mut weighted) = (0.0f64, 0.0f64);
    for &l in logits.iter().filter(|l| l.is_finite()) {
        let e = f64::from(l - max).exp();
        sum += e;
        weighted += e * f64::from(l - max);
    }
    let log_z = sum.ln();
    let chosen =
        logits.get(token as usize).copied().filter(|l| l.is_finite()).map_or(f64::NEG_INFINITY, |l| f64::from(l - max));
    let logprob = (chosen - log_z).max(-100.0);
    let entropy = (log_z - weighted / sum).max(0.0);
    (logprob as f32, entropy as f32)
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

    #[test]
    fn confidence_is_the_log_probability_and_the_entropy_of_the_softmax() {
        // Two equal logits and one masked: each has probability 1/2, entropy ln 2.
        let (logprob, entropy) = token_confidence(&[3.0, 3.0, f32::NEG_INFINITY], 0);
        assert!((logprob - 0.5f32.ln()).abs() < 1e-6 && (entropy - 2f32.ln()).abs() < 1e-6, "{logprob} {entropy}");
        let (logprob, entropy) = token_confidence(&[50.0, 0.0, 0.0], 0);
        assert!(logprob > -1e-6 && entropy < 1e-6, "a sure token: {logprob} {entropy}");
        let (logprob, _) = token_confidence(&[50.0, 0.0, 0.0], 1);
        assert!((logprob + 50.0).abs() < 1e-3, "an unlikely token: {logprob}");
        assert_eq!(token_confidence(&[f32::NEG_INFINITY; 3], 0), (0.0, 0.0), "no finite logits");
    }
}
