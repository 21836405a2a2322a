//! The model's own chat template (Jinja, as Hugging Face writes them), rendered
//! with minijinja and the helpers those templates expect.

use minijinja::{context, Environment, Error, ErrorKind};
use serde::Serialize;

use crate::error::{InferenceError, Result};

#[derive(Debug, Clone)]
pub struct ChatTemplate {
    source: String,
    /// Where it came from: "tokenizer_config.json" or "GGUF tokenizer.chat_template".
    pub source_name: String,
    pub bos_token: String,
    pub eos_token: String,
}

#[derive(Serialize)]
struct Msg<'a> {
    role: &'a str,
    content: &'a str,
}

impl ChatTemplate {
    pub fn new(source: String, source_name: &str, bos_token: String, eos_token: String) -> Self {
        Self { source, source_name: source_name.to_owned(), bos_token, eos_token }
    }

    /// Picks `chat_template` out of a tokenizer_config.json (a string, or a
    /// list of named templates of which "default" is used).
    pub fn from_tokenizer_config(json: &serde_json::Value) -> Option<(String, Option<String>, Option<String>)> {
        let tpl = match json.get("chat_template")? {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Array(list) => list
                .iter()
                .find(|t| t.get("name").and_then(|n| n.as_str()) == Some("default"))
                .or_else(|| list.first())
                .and_then(|t| t.get("template"))
                .and_then(|t| t.as_str())?
                .to_owned(),
            _ => return None,
        };
        let token = |k: &str| match json.get(k) {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(serde_json::Value::Object(o)) => o.get("content").and_then(|c| c.as_str()).map(str::to_owned),
            _ => None,
        };
        Some((tpl, token("bos_token"), token("eos_token")))
    }

    /// Renders the conversation; `today` feeds templates that print the date.
    pub fn render(&self, messages: &[(&str, &str)], add_generation_prompt: bool, today: &str) -> Result<String> {
        let mut env = Environment::new();
        minijinja_contrib::add_to_environment(&mut env);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", |msg: String| -> std::result::Result<String, Error> {
            Err(Error::new(ErrorKind::InvalidOperation, msg))
        });
        let today = today.to_owned();
        env.add_function("strftime_now", move |_fmt: String| today.clone());
        let err = |e: Error| InferenceError::Template { source_name: self.source_name.clone(), reason: e.to_string() };
        env.add_template("chat", &self.source).map_err(err)?;
        let tpl = env.get_template("chat").map_err(err)?;
        let msgs: Vec<Msg<'_>> = messages.iter().map(|(role, content)| Msg { role, content }).collect();
        tpl.render(context! {
            messages => msgs,
            add_generation_prompt => add_generation_prompt,
            bos_token => self.bos_token,
            eos_token => self.eos_token,
        })
        .map_err(err)
    }
}

/// Where a template-less chat turn ends: a new line that opens any role's turn,
/// as [`plain_prompt`] writes them or capitalised, since a model left to
/// itself goes on to write the next turn, whoever's it is.
pub const PLAIN_TURN_ENDS: &[&str] = &["\nuser:", "\nassistant:", "\nsystem:", "\nUser:", "\nAssistant:", "\nSystem:"];

/// A prompt for a model without a template: the visible fallback.
pub fn plain_prompt(messages: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (role, content) in messages {
        out.push_str(&format!("{role}: {content}\n"));
    }
    out.push_str("assistant:");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHATML: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    #[test]
    fn every_role_a_plain_prompt_writes_ends_a_turn() {
        let prompt = plain_prompt(&[("system", "s"), ("user", "u"), ("assistant", "a"), ("user", "v")]);
        for line in prompt.lines() {
            let role = line.split(':').next().unwrap_or_default();
            assert!(PLAIN_TURN_ENDS.contains(&format!("\n{role}:").as_str()), "{role}");
        }
    }

    #[test]
    fn renders_chatml_with_generation_prompt() {
        let t = ChatTemplate::new(CHATML.into(), "test", String::new(), "<|im_end|>".into());
        let out = t.render(&[("user", "Hi")], true, "1 Jan 2026").expect("renders");
        assert_eq!(out, "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    }

    #[test]
    fn python_methods_and_raise_exception_work() {
        let t = ChatTemplate::new("{{ messages[0]['content'].strip() }}{% if messages|length > 1 %}{{ raise_exception('one only') }}{% endif %}".into(), "test", String::new(), String::new());
        assert_eq!(t.render(&[("user", "  x  ")], false, "").expect("renders"), "x");
        let err = t.render(&[("user", "a"), ("user", "b")], false, "").expect_err("raises");
        assert!(err.to_string().contains("one only"), "{err}");
        let bad = ChatTemplate::new("{% for %}".into(), "tokenizer_config.json", String::new(), String::new());
        assert!(matches!(bad.render(&[], true, ""), Err(InferenceError::Template { .. })));
    }
}
