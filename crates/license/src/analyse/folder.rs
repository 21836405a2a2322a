//! Stage 1, find the documents: decode every license-bearing file of the
//! folder (HTML terms to text), read the model card's front matter, the GGUF
//! metadata and config.json, and note what could not be read.

use crate::discover::{self, Role};
use crate::frontmatter::{self, FrontMatter};
use crate::gguf;
use crate::html;
use crate::report::{Problem, SourceText};
use crate::text::{self, DecodeNote, Document};
use crate::InputFile;

#[derive(Default)]
pub(crate) struct Folder {
    pub docs: Vec<(Document, Role)>,
    pub front_matter: Vec<(usize, FrontMatter)>,
    pub gguf: Vec<(String, gguf::Metadata)>,
    pub config_license: Vec<(String, String)>,
    /// The model a config names as its source: config.json's `_name_or_path`,
    /// adapter_config.json's `base_model_name_or_path`, with where it stands.
    pub config_bases: Vec<ConfigBase>,
    pub problems: Vec<Problem>,
    /// Each license-bearing file as decoded, before HTML became text (when asked for).
    pub sources: Vec<SourceText>,
}

impl Folder {
    pub fn cards(&self) -> impl Iterator<Item = &Document> {
        self.docs.iter().filter(|(_, r)| *r == Role::ModelCard).map(|(d, _)| d)
    }
    pub fn of_role(&self, role: Role) -> impl Iterator<Item = (usize, &Document)> {
        self.docs.iter().enumerate().filter(move |(_, (_, r))| *r == role).map(|(i, (d, _))| (i, d))
    }
}

/// A base named by a JSON config of the folder.
pub(crate) struct ConfigBase {
    pub value: String,
    pub adapter: bool,
    pub evidence: crate::text::Evidence,
}

/// The base a JSON config names, quoted from the line that holds its key.
fn config_base(path: &str, bytes: &[u8], v: &serde_json::Value) -> Option<ConfigBase> {
    let (key, adapter) = [("base_model_name_or_path", true), ("_name_or_path", false)]
        .into_iter()
        .find(|(k, _)| v.get(k).and_then(|x| x.as_str()).is_some_and(|s| !s.trim().is_empty()))?;
    let value = v.get(key)?.as_str()?.trim().to_owned();
    let raw = String::from_utf8_lossy(bytes);
    let quoted = format!("\"{key}\"");
    let (line, quote) = raw
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains(&quoted))
        .map_or((0, format!("{key}: {value}")), |(i, l)| (i + 1, l.trim().to_owned()));
    Some(ConfigBase { value, adapter, evidence: crate::text::Evidence { file: path.to_owned(), line, quote } })
}

pub(crate) fn problem(file: &str, message: impl Into<String>) -> Problem {
    Problem { file: file.to_owned(), message: message.into() }
}

/// A license text carried in the card's front matter (`extra_gated_prompt`,
/// the text a gated repository asks people to accept) becomes a document of
/// its own, its lines still those of the card.
fn front_matter_terms(card: &Document) -> Option<Document> {
    let mut lines = card.text.lines().enumerate();
    let (start, first) = lines.find(|(_, l)| l.starts_with("extra_gated_prompt:"))?;
    let value = first["extra_gated_prompt:".len()..].trim();
    let double_quoted = value.starts_with('"');
    let mut text = String::new();
    let mut source = Vec::new();
    let mut add = |raw: &str, line: usize| {
        // A double-quoted YAML scalar carries its line breaks as `\n` escapes: each
        // becomes a line of the text, all of them mapped to the line of the card.
        let piece = if double_quoted { unescape(raw) } else { raw.to_owned() };
        for part in piece.split('\n') {
            text.push_str(part);
            text.push('\n');
            source.push(line);
        }
    };
    let inline = value.trim_start_matches(['|', '>', '-', '+']).trim_start_matches(['"', '\'']);
    if !inline.trim().is_empty() {
        add(inline.trim_end_matches('"'), start + 1);
    }
    for (i, line) in card.text.lines().enumerate().skip(start + 1) {
        // The value ends at the next key (no indentation) or the end of the front matter.
        if !line.trim().is_empty() && !line.starts_with([' ', '\t']) {
            break;
        }
        add(line.trim().trim_end_matches('"'), i + 1);
    }
    // A short prompt ("share your contact details", "agree to Google's usage license") is not a license.
    let lower = text.to_lowercase();
    let terms = crate::known::speaks_of_license(&lower);
    (text.len() >= 600 && terms).then(|| Document::converted(card.path.clone(), text, source))
}

/// The escapes of a YAML double-quoted scalar that license texts use.
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some(' ') => out.push(' '),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            // A `\` at the end of a line continues the scalar without a space.
            None => {}
        }
    }
    out
}

pub(crate) fn read(files: &[InputFile], keep_texts: bool) -> Folder {
    let mut f = Folder::default();
    for file in files {
        let role = discover::role(&file.path);
        match role {
            Role::License | Role::Notice | Role::UsePolicy | Role::ModelCard => {
                match text::decode(&file.bytes, file.size) {
                    Ok((t, notes)) => {
                        for n in notes {
                            f.problems.push(problem(&file.path, match n {
                                DecodeNote::InvalidUtf8 => "contains bytes that are not UTF-8; they were replaced, so quotes may show \u{FFFD}".to_string(),
                                DecodeNote::Utf16 => "is UTF-16 text; it was converted to read it".to_string(),
                                DecodeNote::Truncated { size } => format!("is {size} bytes; only the first {} were read", text::MAX_TEXT_BYTES),
                            }));
                        }
                        if keep_texts {
                            f.sources.push(SourceText { path: file.path.clone(), text: t.clone() });
                        }
                        let lower = file.path.to_ascii_lowercase();
                        let doc = if lower.ends_with(".html") || lower.ends_with(".htm") || html::looks_like_html(&t) {
                            let h = html::to_text(&t);
                            Document::converted(file.path.clone(), h.text, h.source_lines)
                        } else {
                            Document::new(file.path.clone(), t)
                        };
                        if role == Role::ModelCard {
                            match frontmatter::parse(&doc.text) {
                                Ok(Some(fm)) => {
                                    f.front_matter.push((f.docs.len(), fm));
                                    if let Some(terms) = front_matter_terms(&doc) {
                                        f.docs.push((terms, Role::License));
                                        // Keep the index the front matter points at: the card itself.
                                        let at = f.front_matter.len() - 1;
                                        f.front_matter[at].0 = f.docs.len();
                                    }
                                }
                                Ok(None) => {}
                                Err(e) => f.problems.push(problem(&file.path, e.to_string())),
                            }
                        }
                        f.docs.push((doc, role));
                    }
                    Err(e) => {
                        let advice = match role {
                            Role::License => "; replace it with the license text from the model's source",
                            _ => "",
                        };
                        f.problems.push(problem(&file.path, format!("{e}{advice}")));
                    }
                }
            }
            Role::Manifest => match text::decode(&file.bytes, file.size) {
                // Its LICENSE instructions are license texts; the rest is the model's recipe.
                Ok((t, _)) => {
                    f.docs.extend(crate::modelfile::licenses(&file.path, &t).into_iter().map(|d| (d, Role::License)))
                }
                Err(e) => f.problems.push(problem(&file.path, e.to_string())),
            },
            Role::Config | Role::TokenizerConfig => match serde_json::from_slice::<serde_json::Value>(&file.bytes) {
                Ok(v) => {
                    if let Some(l) = v.get("license").and_then(|l| l.as_str()) {
                        f.config_license.push((file.path.clone(), l.to_owned()));
                    }
                    f.config_bases.extend(config_base(&file.path, &file.bytes, &v));
                }
                Err(e) => {
                    f.problems.push(problem(&file.path, format!("is not valid JSON ({e}); the model may not load")))
                }
            },
            Role::Gguf => match gguf::read_metadata(&file.bytes, file.size) {
                Ok(m) => f.gguf.push((file.path.clone(), m)),
                Err(e) => f.problems.push(problem(&file.path, e.to_string())),
            },
            _ => {}
        }
    }
    f
}
