//! License terms published as HTML (a saved terms-of-use page) turned into
//! plain text that the readers understand, keeping for every line of text the
//! line of the HTML file it came from, so a quote still points into the file
//! the person dropped.
//!
//! The WHATWG tokenizer of html5ever does the parsing (character references,
//! raw-text elements, broken markup); a tree is not needed to read prose.

use std::cell::RefCell;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::{
    BufferQueue, CharacterTokens, EndTag, NullCharacterToken, StartTag, TagToken, Token, TokenSink, TokenSinkResult,
    Tokenizer, TokenizerOpts,
};

/// Text of an HTML document and, per line of that text (0-based), the 1-based
/// line of the HTML it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HtmlText {
    pub text: String,
    pub source_lines: Vec<usize>,
}

/// Whether bytes of a file look like HTML whatever the file is called.
pub fn looks_like_html(text: &str) -> bool {
    let head = crate::text::cut(text.trim_start_matches('\u{feff}').trim_start(), 512).to_ascii_lowercase();
    head.starts_with("<!doctype html") || head.starts_with("<html") || head.contains("<html")
}

#[derive(Default)]
struct Sink {
    out: RefCell<Out>,
}

#[derive(Default)]
struct Out {
    text: String,
    source_lines: Vec<usize>,
    /// Inside `<script>`, `<style>` and the like: not prose.
    hidden: usize,
    /// Inside `<pre>`: keep the line breaks and spaces.
    pre: usize,
    /// The current output line has had visible text.
    line_has_text: bool,
    /// Lines in `text` so far (one more than its line breaks).
    lines: usize,
    /// Line of the HTML being read. The tokenizer reports a line with each token,
    /// but a run of text only once it has read past it; text starts where the
    /// token before it ended and its own line breaks count from there.
    line: usize,
}

impl Out {
    fn newline(&mut self) {
        self.text.push('\n');
        self.lines += 1;
        self.line_has_text = false;
    }

    /// Ends the paragraph: at most one blank line between blocks.
    fn paragraph(&mut self) {
        if self.line_has_text {
            self.newline();
        }
        if !self.text.is_empty() && !self.text.ends_with("\n\n") {
            self.newline();
        }
    }

    fn push_text(&mut self, s: &str) {
        for ch in s.chars() {
            let line = self.line;
            if ch == '\n' {
                self.line += 1;
            }
            if self.hidden > 0 {
                continue;
            }
            if ch == '\n' {
                if self.pre > 0 || self.line_has_text {
                    self.newline();
                }
                continue;
            }
            if ch.is_whitespace() && self.pre == 0 {
                if self.line_has_text && !self.text.ends_with(' ') {
                    self.text.push(' ');
                }
                continue;
            }
            if !self.line_has_text {
                // Lines without text before this one keep the source line they were opened on.
                self.source_lines.resize(self.lines, line);
                if let Some(last) = self.source_lines.last_mut() {
                    *last = line;
                }
                self.line_has_text = true;
            }
            self.text.push(ch);
        }
    }
}

/// Elements that end a paragraph of text.
fn is_block(name: &str) -> bool {
    matches!(
        name,
        "p" | "div"
            | "section"
            | "article"
            | "header"
            | "footer"
            | "main"
            | "nav"
            | "aside"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "li"
            | "ul"
            | "ol"
            | "dl"
            | "dt"
            | "dd"
            | "table"
            | "tr"
            | "blockquote"
            | "pre"
            | "hr"
            | "title"
            | "body"
            | "figure"
            | "figcaption"
            | "address"
            | "details"
            | "summary"
    )
}

fn is_hidden(name: &str) -> bool {
    matches!(name, "script" | "style" | "noscript" | "template" | "svg" | "math" | "iframe" | "object")
}

impl TokenSink for Sink {
    type Handle = ();

    fn process_token(&self, token: Token, line_number: u64) -> TokenSinkResult<()> {
        let mut o = self.out.borrow_mut();
        let line = usize::try_from(line_number).unwrap_or(usize::MAX);
        if !matches!(token, CharacterTokens(_) | NullCharacterToken) {
            o.line = line;
        }
        match token {
            TagToken(tag) => {
                let name: &str = &tag.name;
                if is_hidden(name) {
                    match tag.kind {
                        StartTag if !tag.self_closing => o.hidden += 1,
                        EndTag => o.hidden = o.hidden.saturating_sub(1),
                        _ => {}
                    }
                } else if name == "br" {
                    if o.line_has_text {
                        o.newline();
                    }
                } else if is_block(name) {
                    if name == "pre" {
                        match tag.kind {
                            StartTag => o.pre += 1,
                            EndTag => o.pre = o.pre.saturating_sub(1),
                        }
                    }
                    o.paragraph();
                } else if matches!(name, "td" | "th") && tag.kind == StartTag && o.line_has_text {
                    o.text.push(' ');
                }
                // Raw-text elements (script, style) are tokenized as text until their end tag.
                if tag.kind == StartTag && is_hidden(name) {
                    return TokenSinkResult::RawData(match name {
                        "script" => html5ever::tokenizer::states::RawKind::ScriptData,
                        "style" | "iframe" | "noscript" => html5ever::tokenizer::states::RawKind::Rawtext,
                        _ => return TokenSinkResult::Continue,
                    });
                }
            }
            CharacterTokens(t) => o.push_text(&t),
            NullCharacterToken => o.push_text("\u{FFFD}"),
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

/// Converts an HTML document to text with a line map back into the HTML.
pub fn to_text(html: &str) -> HtmlText {
    // The tokenizer turns a lone CR into a line break; the file's lines are counted
    // by LF (as every other document's are), so a lone CR is only a space here.
    let lf_only: String;
    let html = if html.contains('\r') {
        let bytes = html.as_bytes();
        lf_only = html
            .char_indices()
            .map(|(i, c)| if c == '\r' && bytes.get(i + 1) != Some(&b'\n') { ' ' } else { c })
            .collect();
        &lf_only
    } else {
        html
    };
    let queue = BufferQueue::default();
    queue.push_back(StrTendril::from_slice(html));
    let sink = Sink { out: RefCell::new(Out { line: 1, lines: 1, ..Out::default() }) };
    let tok = Tokenizer::new(sink, TokenizerOpts::default());
    // A tokenizer only pauses for scripts, which this sink never asks it to run.
    while let html5ever::TokenizerResult::Script(()) = tok.feed(&queue) {}
    tok.end();
    let mut out = tok.sink.out.take();
    // In malformed markup (a doctype spread over lines) the tokenizer may report a
    // line past the token that ended; no line points past the file.
    let last_line = html.matches('\n').count() + 1;
    out.source_lines.iter_mut().for_each(|l| *l = (*l).clamp(1, last_line));
    let text = out.text.trim_end().to_owned();
    let lines = text.matches('\n').count() + 1;
    let last = out.source_lines.last().copied().unwrap_or(1);
    out.source_lines.resize(lines, last);
    HtmlText { text, source_lines: out.source_lines }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_keeps_paragraphs_and_source_lines() {
        let html = "<!DOCTYPE html>\n<html><head><title>Acme Terms of Use</title>\n<style>p { color: red }</style>\n<script>var x = '<p>no</p>';</script></head>\n<body>\n<h1>Acme   Terms</h1>\n<p>You may not use the\nModel for <b>military</b> purposes &amp; weapons.</p>\n<ul><li>One</li><li>Two</li></ul>\n</body></html>\n";
        let t = to_text(html);
        assert!(
            t.text.starts_with(
                "Acme Terms of Use\n\nAcme Terms\n\nYou may not use the\nModel for military purposes & weapons."
            ),
            "{:?}",
            t.text
        );
        assert!(!t.text.contains("color") && !t.text.contains("var x"), "{:?}", t.text);
        let line_of = |needle: &str| {
            let i = t.text.lines().position(|l| l.contains(needle)).expect(needle);
            t.source_lines[i]
        };
        assert_eq!(line_of("Acme Terms of Use"), 2);
        assert_eq!(line_of("Acme Terms"), 2);
        assert_eq!(line_of("You may not use"), 7);
        assert_eq!(line_of("military"), 8);
        assert_eq!(line_of("Two"), 9);
        assert_eq!(t.source_lines.len(), t.text.lines().count());
    }

    #[test]
    fn broken_markup_and_multibyte_text_do_not_abort() {
        for html in
            ["<p>caf\u{e9} <b>", "<<<>>>&&&#x;&#99999999;", "<pre>\n a\n\n b</pre>", "", "<script>", "\u{0}<p>\u{0}"]
        {
            let t = to_text(html);
            assert_eq!(t.source_lines.len(), t.text.lines().count().max(1), "{html:?}");
        }
    }

    #[test]
    fn lone_carriage_returns_do_not_move_lines_past_the_file() {
        // Found by the html fuzz target: CRs inside a paragraph counted as lines.
        let html = "<p>You may not use th\r\r\r\r\r\re\nModel for <b>military</b></p>\r\n<p>x</p>";
        let t = to_text(html);
        let lines_in_file = html.matches('\n').count() + 1;
        assert!(t.source_lines.iter().all(|&l| (1..=lines_in_file).contains(&l)), "{:?}", t.source_lines);
        assert_eq!(t.source_lines[t.text.lines().position(|l| l.contains('x')).expect("x")], 3 - 1 + 1);
    }

    #[test]
    fn a_doctype_over_several_lines_keeps_lines_inside_the_file() {
        // Found by the html fuzz target (reduced).
        let html = "<p>x</p> w<!DOCTYPE\n\n\n\n<!doctype html>\n<html><p>y</p>";
        let t = to_text(html);
        let last = html.matches('\n').count() + 1;
        assert!(t.source_lines.iter().all(|&l| (1..=last).contains(&l)), "{:?}", t.source_lines);
    }

    #[test]
    fn sniffs_html() {
        assert!(looks_like_html("  <!DOCTYPE html><html>"));
        assert!(looks_like_html("<html lang=\"en\">"));
        assert!(!looks_like_html("# Gemma Terms of Use\n"));
    }
}
