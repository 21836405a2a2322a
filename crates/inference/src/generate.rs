//! A generation a token at a time: the prompt through the model, then each
//! step samples a token, streams its text, and ends the turn at an end-of-turn
//! token, a template-less role line, the token limit or a full context.

use fineprint_protocol::{Sampling, Stats, StopReason};

use crate::error::{InferenceError, Result};
use crate::sampling::{self, Chooser};
use crate::template;
use crate::tokenizer::TextStream;
use crate::Engine;

/// A generation in progress.
pub struct Generation {
    chooser: Chooser,
    logits: Option<Vec<f32>>,
    sampling: Sampling,
    pub generated: Vec<u32>,
    /// For each generated token, how far the best logit led the second best
    /// (after the repeat penalty): where it is a few tenths, another engine's
    /// rounding may pick the other token, so tests compare greedy output up to there.
    pub margins: Vec<f32>,
    stream: TextStream,
    pub stats: Stats,
    ignore_eos: bool,
    text: String,
    record_reply: bool,
    /// A chat without a template ends its turn where the model starts a new
    /// role line ("user:", "assistant:", …); text that may be the start of one
    /// is held back until it is not.
    stop: Option<&'static [&'static str]>,
    held: String,
}

impl Generation {
    pub fn text(&self) -> &str {
        &self.text
    }
}

pub enum Step {
    /// A token; `text` is what it adds (None while a character is incomplete).
    Token {
        id: u32,
        text: Option<String>,
    },
    Done {
        reason: StopReason,
        text: Option<String>,
    },
}

impl Engine {
    /// Starts a chat turn: renders the template, reuses the cached prefix.
    pub fn start_chat(
        &mut self,
        user: &str,
        system: Option<&str>,
        today: &str,
        sampling: &Sampling,
        now: &dyn Fn() -> f64,
    ) -> Result<Generation> {
        let prompt = self.chat_prompt(user, system, today)?;
        let ids = self.tokenize(&prompt)?;
        let mut g = self.start(&ids, sampling, now)?;
        if let Some(s) = system.filter(|s| !s.trim().is_empty()) {
            if self.history.is_empty() {
                self.history.push(("system".into(), s.into()));
            }
        }
        self.history.push(("user".into(), user.into()));
        g.record_reply = true;
        if self.template.is_none() {
            g.stop = Some(template::PLAIN_TURN_ENDS);
        }
        Ok(g)
    }

    /// Runs the prompt through the model and returns a generation ready to step.
    pub fn start(&mut self, ids: &[u32], sampling: &Sampling, now: &dyn Fn() -> f64) -> Result<Generation> {
        if ids.len() + 1 >= self.context {
            return Err(InferenceError::ContextFull { tokens: ids.len(), context: self.context });
        }
        // Reuse the cache when it holds a prefix of this prompt; otherwise start over.
        let reuse = !self.cached.is_empty() && ids.len() > self.cached.len() && ids.starts_with(&self.cached);
        if !reuse {
            self.cached.clear();
            self.model.clear_kv_cache();
        }
        let new = &ids[self.cached.len()..];
        let t0 = now();
        let logits = self.forward(new, self.cached.len()).inspect_err(|_| self.forget_cache())?;
        let prompt_ms = now() - t0;
        self.cached.extend_from_slice(new);
        Ok(Generation {
            chooser: Chooser::new(sampling),
            logits: Some(logits),
            sampling: sampling.clone(),
            generated: Vec::new(),
            margins: Vec::new(),
            stream: TextStream::default(),
            stats: Stats {
                prompt_tokens: new.len(),
                prompt_ms,
                prompt_tok_s: rate(new.len(), prompt_ms),
                ..Stats::default()
            },
            ignore_eos: false,
            text: String::new(),
            record_reply: false,
            stop: None,
            held: String::new(),
        })
    }

    /// For benchmarks and the golden test: generate `max_tokens` whatever comes.
    pub fn ignore_eos(g: &mut Generation) {
        g.ignore_eos = true;
    }

    /// One token: sample it, then (unless generation ends) run it through the model.
    pub fn step(&mut self, g: &mut Generation, now: &dyn Fn() -> f64) -> Result<Step> {
        let step = self.try_step(g, now);
        if step.is_err() {
            // The reply so far is kept so the conversation stays user/assistant
            // alternating (strict templates refuse two user turns in a row).
            self.finish(g, StopReason::Stopped);
            self.forget_cache();
        }
        step
    }

    fn try_step(&mut self, g: &mut Generation, now: &dyn Fn() -> f64) -> Result<Step> {
        let Some(mut logits) = g.logits.take() else {
            return Ok(Step::Done { reason: StopReason::MaxTokens, text: None });
        };
        let t0 = now();
        if g.sampling.repeat_penalty != 1.0 && g.sampling.repeat_last_n > 0 {
            let start = g.generated.len().saturating_sub(g.sampling.repeat_last_n);
            sampling::penalise_repeats(&mut logits, g.sampling.repeat_penalty, &g.generated[start..]);
        }
        let (id, margin) = g.chooser.choose(&logits);
        if !g.ignore_eos && self.eos.contains(&id) {
            return Ok(self.finish(g, StopReason::EndOfTurn));
        }
        g.generated.push(id);
        g.margins.push(margin);
        let text = g.stream.push(&self.tokenizer, id);
        let (text, turn_over) = match (g.stop, text) {
            (Some(stop), Some(t)) => hold_back(&mut g.held, &t, stop),
            (_, t) => (t, false),
        };
        if let Some(t) = &text {
            g.text.push_str(t);
        }
        if turn_over {
            // The reply's last token is in the cache; the next prompt re-renders the turn.
            let pos = self.cached.len();
            self.forward(&[id], pos)?;
            self.cached.push(id);
            g.held.clear();
            return Ok(self.finish_after(g, StopReason::EndOfTurn, text));
        }
        if g.generated.len() >= g.sampling.max_tokens {
            // The last token still goes into the cache so the conversation can continue.
            let pos = self.cached.len();
            self.forward(&[id], pos)?;
            self.cached.push(id);
            g.stats.decode_ms += now() - t0;
            return Ok(self.finish_after(g, StopReason::MaxTokens, text));
        }
        if self.cached.len() + 1 >= self.context {
            return Ok(self.finish_after(g, StopReason::ContextFull, text));
        }
        let pos = self.cached.len();
        g.logits = Some(self.forward(&[id], pos)?);
        self.cached.push(id);
        g.stats.decode_ms += now() - t0;
        Ok(Step::Token { id, text })
    }

    /// Ends a generation after a token whose text `shown` the caller has not
    /// streamed yet: the final step carries it with whatever was held back.
    fn finish_after(&mut self, g: &mut Generation, reason: StopReason, shown: Option<String>) -> Step {
        match self.finish(g, reason) {
            Step::Done { reason, text } => Step::Done { reason, text: join(shown, text) },
            step => step,
        }
    }

    /// Ends a generation early (the person pressed Stop) or at its natural end.
    pub fn finish(&mut self, g: &mut Generation, reason: StopReason) -> Step {
        g.logits = None;
        let tail = g.stream.finish(&self.tokenizer);
        let held = std::mem::take(&mut g.held);
        let rest = match (held.is_empty(), tail) {
            (true, t) => t,
            (false, t) => Some(held + t.as_deref().unwrap_or("")),
        };
        let rest = match (g.stop, rest) {
            (Some(stops), Some(r)) => Some(match first_stop(&r, stops) {
                Some(i) => r[..i].to_owned(),
                None => r,
            }),
            (_, r) => r,
        };
        if let Some(r) = &rest {
            g.text.push_str(r);
        }
        g.stats.generated_tokens = g.generated.len();
        g.stats.decode_tok_s = rate(g.generated.len(), g.stats.decode_ms);
        g.stats.kv_cache = self.cache_forms().map(|(k, v)| {
            if k == v {
                k.name().to_owned()
            } else {
                format!("{} keys, {} values", k.name(), v.name())
            }
        });
        if g.record_reply {
            self.history.push(("assistant".into(), g.text.clone()));
            g.record_reply = false;
        }
        Step::Done { reason, text: rest }
    }
}

/// Where the first of `stops` begins in `text`.
fn first_stop(text: &str, stops: &[&str]) -> Option<usize> {
    stops.iter().filter_map(|s| text.find(s)).min()
}

/// Adds `piece` to what is held back and returns what can be shown: all of it
/// but a tail that may begin one of `stops`, or what comes before the first
/// stop (true: the turn is over).
fn hold_back(held: &mut String, piece: &str, stops: &[&str]) -> (Option<String>, bool) {
    held.push_str(piece);
    if let Some(i) = first_stop(held, stops) {
        let shown = held[..i].to_owned();
        held.clear();
        return ((!shown.is_empty()).then_some(shown), true);
    }
    let keep = held
        .char_indices()
        .map(|(i, _)| i)
        .find(|&i| stops.iter().any(|s| s.starts_with(&held[i..])))
        .unwrap_or(held.len());
    let shown: String = held.drain(..keep).collect();
    ((!shown.is_empty()).then_some(shown), false)
}

fn join(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a + &b),
        (a, b) => a.or(b),
    }
}

fn rate(n: usize, ms: f64) -> f64 {
    if ms > 0.0 {
        n as f64 * 1000.0 / ms
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_turn_ends_before_the_next_role_line_and_never_shows_it() {
        let stops = template::PLAIN_TURN_ENDS;
        let mut held = String::new();
        assert_eq!(hold_back(&mut held, " Paris.", stops), (Some(" Paris.".into()), false));
        assert_eq!(hold_back(&mut held, "\n", stops), (None, false));
        assert_eq!(hold_back(&mut held, "us", stops), (None, false));
        assert_eq!(hold_back(&mut held, "er: more", stops), (None, true));
        // A newline that turns out not to start a role line is shown after all.
        let mut held = String::new();
        assert_eq!(hold_back(&mut held, "a\n", stops), (Some("a".into()), false));
        assert_eq!(hold_back(&mut held, "Café", stops), (Some("\nCafé".into()), false));
    }

    #[test]
    fn a_made_up_assistant_or_system_turn_ends_the_reply_too() {
        let stops = template::PLAIN_TURN_ENDS;
        for (pieces, shown) in [
            (&["4.", "\nassistant", ": Would you like to see the answer?"][..], "4."),
            (&["Sure.\n", "System: be brief"][..], "Sure."),
            (&["Yes.\nUser:", " and then?"][..], "Yes."),
        ] {
            let mut held = String::new();
            let mut out = String::new();
            let mut over = false;
            for p in pieces {
                let (text, done) = hold_back(&mut held, p, stops);
                out.push_str(text.as_deref().unwrap_or(""));
                if done {
                    over = true;
                    break;
                }
            }
            assert!(over, "{pieces:?}");
            assert_eq!(out, shown);
        }
        // A role word inside a sentence is not a new turn.
        let mut held = String::new();
        assert_eq!(hold_back(&mut held, "the user: a person\n", stops), (Some("the user: a person".into()), false));
    }
}
