//! Fault injection: `--faults "429:0.05,500:0.02,503:0.02,reset:0.01,slow:0.01@3000"`.
//! Each request draws once from a seeded generator, so a run with the same `--seed` and the
//! same request order injects the same faults.

use std::sync::Mutex;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// What to do to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status (429, 500, 503…) without processing.
    Status(u16),
    /// Drop the connection without answering.
    Reset,
    /// Answer normally after this delay.
    Slow(Duration),
}

/// A parsed fault specification with its generator.
#[derive(Debug)]
pub struct Faults {
    rules: Vec<(Fault, f64)>,
    rng: Mutex<StdRng>,
}

impl Faults {
    /// No faults.
    pub fn none() -> Self {
        Faults {
            rules: Vec::new(),
            rng: Mutex::new(StdRng::seed_from_u64(0)),
        }
    }

    /// Parses a spec such as `429:0.05,reset:0.01,slow:0.01@3000`.
    pub fn parse(spec: &str, seed: u64) -> Result<Self, String> {
        let mut rules = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (kind, rest) = part
                .split_once(':')
                .ok_or_else(|| format!("fault {part:?} needs KIND:PROBABILITY"))?;
            let (probability, argument) = rest
                .split_once('@')
                .map_or((rest, None), |(p, a)| (p, Some(a)));
            let probability: f64 = probability
                .parse()
                .map_err(|_| format!("fault {part:?}: {probability:?} is not a probability"))?;
            if !(0.0..=1.0).contains(&probability) {
                return Err(format!(
                    "fault {part:?}: probability must be between 0 and 1"
                ));
            }
            let fault = match (kind, argument) {
                ("reset", None) => Fault::Reset,
                ("slow", Some(ms)) => {
                    Fault::Slow(Duration::from_millis(ms.parse().map_err(|_| {
                        format!("fault {part:?}: {ms:?} is not milliseconds")
                    })?))
                }
                ("slow", None) => return Err(format!("fault {part:?}: slow needs @MILLISECONDS")),
                (status, None) => match status.parse::<u16>() {
                    Ok(code) if (400..600).contains(&code) => Fault::Status(code),
                    _ => {
                        return Err(format!(
                            "fault {part:?}: kind must be an HTTP status (4xx/5xx), reset or slow"
                        ));
                    }
                },
                _ => return Err(format!("fault {part:?}: only slow takes @")),
            };
            rules.push((fault, probability));
        }
        if rules.iter().map(|(_, p)| p).sum::<f64>() > 1.0 + 1e-9 {
            return Err("fault probabilities add up to more than 1".into());
        }
        Ok(Faults {
            rules,
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
        })
    }

    /// Draws the fault for one request, if any.
    pub fn draw(&self) -> Option<Fault> {
        if self.rules.is_empty() {
            return None;
        }
        let roll: f64 = self.rng.lock().unwrap_or_else(|e| e.into_inner()).random();
        let mut edge = 0.0;
        self.rules.iter().find_map(|(fault, p)| {
            edge += p;
            (roll < edge).then_some(*fault)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_spec_and_draws_in_proportion() {
        let faults =
            Faults::parse("429:0.05,500:0.02,503:0.02,reset:0.01,slow:0.01@3000", 7).unwrap();
        let draws: Vec<Option<Fault>> = (0..100_000).map(|_| faults.draw()).collect();
        let share = |f: Fault| draws.iter().filter(|d| **d == Some(f)).count() as f64 / 100_000.0;
        assert!((share(Fault::Status(429)) - 0.05).abs() < 0.005);
        assert!((share(Fault::Reset) - 0.01).abs() < 0.003);
        assert!((share(Fault::Slow(Duration::from_secs(3))) - 0.01).abs() < 0.003);
        let again =
            Faults::parse("429:0.05,500:0.02,503:0.02,reset:0.01,slow:0.01@3000", 7).unwrap();
        assert!(
            (0..1000)
                .map(|_| again.draw())
                .eq(draws[..1000].iter().copied()),
            "same seed, same faults"
        );
    }

    #[test]
    fn rejects_bad_specs_with_a_reason() {
        for bad in [
            "429",
            "429:2",
            "200:0.1",
            "slow:0.1",
            "reset:0.1@5",
            "429:0.7,500:0.7",
            "x:0.1",
        ] {
            assert!(Faults::parse(bad, 0).is_err(), "{bad}");
        }
        assert!(Faults::parse("", 0).unwrap().draw().is_none());
    }
}
