//! Decoding dropped bytes into text, and a normalised view of that text whose
//! every byte maps back to the original, so a pattern matched on the
//! normalised view is quoted verbatim from the file the person dropped.

use std::ops::Range;

/// Texts beyond this are read only up to it: no license is this long, and a
/// 1 GB "LICENSE" must not stall the page.
pub const MAX_TEXT_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeNote {
    /// Bytes that are not UTF-8 were replaced with U+FFFD.
    InvalidUtf8,
    /// The file was UTF-16 (with a byte-order mark) and was converted.
    Utf16,
    /// Only the first `MAX_TEXT_BYTES` were read.
    Truncated { size: u64 },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("is empty")]
    Empty,
    #[error("is a binary file, not text (NUL bytes at the start)")]
    Binary,
}

/// Turns a file's bytes into text, naming what had to be repaired.
pub fn decode(bytes: &[u8], full_size: u64) -> Result<(String, Vec<DecodeNote>), DecodeError> {
    let mut notes = Vec::new();
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    let bytes = if bytes.len() > MAX_TEXT_BYTES {
        notes.push(DecodeNote::Truncated { size: full_size });
        &bytes[..MAX_TEXT_BYTES]
    } else {
        if full_size > bytes.len() as u64 {
            notes.push(DecodeNote::Truncated { size: full_size });
        }
        bytes
    };
    if let Some(text) = decode_utf16(bytes) {
        notes.push(DecodeNote::Utf16);
        return Ok((text, notes));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let head = &bytes[..bytes.len().min(8192)];
    if head.contains(&0) {
        return Err(DecodeError::Binary);
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t.to_owned(),
        Err(e) if e.error_len().is_none() && bytes.len() - e.valid_up_to() < 4 => {
            // Cut inside a multi-byte character by truncation: drop the tail.
            String::from_utf8_lossy(&bytes[..e.valid_up_to()]).into_owned()
        }
        Err(_) => {
            notes.push(DecodeNote::InvalidUtf8);
            String::from_utf8_lossy(bytes).into_owned()
        }
    };
    Ok((text, notes))
}

fn decode_utf16(bytes: &[u8]) -> Option<String> {
    let le = match bytes {
        [0xFF, 0xFE, ..] => true,
        [0xFE, 0xFF, ..] => false,
        _ => return None,
    };
    let units = bytes[2..].chunks_exact(2).map(|c| {
        if le {
            u16::from_le_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], c[1]])
        }
    });
    Some(char::decode_utf16(units).map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER)).collect())
}

/// A decoded file with a normalised twin for matching.
#[derive(Debug, Clone)]
pub struct Document {
    pub path: String,
    pub text: String,
    line_starts: Vec<usize>,
    /// Lower-cased, markdown emphasis removed, typographic quotes and dashes
    /// made ASCII, whitespace runs folded to one space.
    pub norm: String,
    /// `map[i]` is the byte in `text` that produced byte `i` of `norm`.
    map: Vec<usize>,
    /// For text converted from another format (HTML): the 1-based line of the
    /// file that each line of `text` (0-based) comes from.
    source_lines: Option<Vec<usize>>,
}

/// Where a quote stands: the file, its 1-based line and the exact text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Evidence {
    pub file: String,
    pub line: usize,
    pub quote: String,
}

/// Quotes are cut to about this many bytes around the match.
const QUOTE_REACH: usize = 220;

impl Document {
    pub fn new(path: impl Into<String>, text: String) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        let (norm, map) = normalise(&text);
        Self { path: path.into(), text, line_starts, norm, map, source_lines: None }
    }

    /// Text converted from a file in another format, with the file's line for
    /// each line of the text, so quotes name the line of the file itself.
    pub fn converted(path: impl Into<String>, text: String, source_lines: Vec<usize>) -> Self {
        Self { source_lines: Some(source_lines), ..Self::new(path, text) }
    }

    /// Whether `text` is a conversion (quotes then stand in the file after its markup is removed).
    pub fn is_converted(&self) -> bool {
        self.source_lines.is_some()
    }

    /// 1-based line of a byte offset in `text`.
    fn text_line(&self, byte: usize) -> usize {
        match self.line_starts.binary_search(&byte) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }

    /// 1-based line of the file that a 1-based line of `text` comes from.
    pub fn line_of_text_line(&self, line: usize) -> usize {
        match &self.source_lines {
            Some(map) => map.get(line.saturating_sub(1)).or(map.last()).copied().unwrap_or(line),
            None => line,
        }
    }

    /// 1-based line of the file that a byte offset in `text` comes from.
    pub fn line_of(&self, byte: usize) -> usize {
        self.line_of_text_line(self.text_line(byte))
    }

    /// The original byte range behind a range of `norm`.
    pub fn original(&self, r: Range<usize>) -> Range<usize> {
        if self.map.is_empty() || r.start >= self.map.len() {
            return self.text.len()..self.text.len();
        }
        let a = self.map[r.start];
        let last = self.map[r.end.clamp(r.start + 1, self.map.len()) - 1];
        let b = last + self.text[last..].chars().next().map_or(0, char::len_utf8);
        a..b
    }

    /// The sentence around a match in `norm`, quoted from the original text.
    pub fn evidence(&self, r: Range<usize>) -> Evidence {
        let o = self.original(r);
        let (a, b) = sentence_around(&self.text, o.start, o.end);
        let quote = self.text[a..b].trim();
        let lead = self.text[a..b].len() - self.text[a..b].trim_start().len();
        Evidence { file: self.path.clone(), line: self.line_of(a + lead), quote: quote.to_owned() }
    }

    /// The same document with every line `keep` refuses blanked: its lines,
    /// and so the lines its quotes name, stay those of the file.
    pub fn masked(&self, keep: impl Fn(usize) -> bool) -> Document {
        let text: String = self
            .text
            .split_inclusive('\n')
            .enumerate()
            .map(|(i, l)| {
                if keep(i) {
                    l.to_owned()
                } else if l.ends_with('\n') {
                    "\n".to_owned()
                } else {
                    String::new()
                }
            })
            .collect();
        Document { source_lines: self.source_lines.clone(), ..Document::new(self.path.clone(), text) }
    }

    /// Exactly the original text behind a range of `norm` (a known sentence found in it).
    pub fn exact(&self, r: Range<usize>) -> Evidence {
        let o = self.original(r);
        let raw = self.text.get(o.clone()).unwrap_or_default();
        let lead = raw.len() - raw.trim_start().len();
        Evidence { file: self.path.clone(), line: self.line_of(o.start + lead), quote: raw.trim().to_owned() }
    }

    /// The whole original line holding a byte of `text` (for titles).
    pub fn line_evidence(&self, byte: usize) -> Evidence {
        let line = self.text_line(byte);
        let start = self.line_starts[line - 1];
        let end = self.line_starts.get(line).map_or(self.text.len(), |e| e - 1);
        let quote = cut(&self.text[start..end], 300).trim();
        Evidence { file: self.path.clone(), line: self.line_of(start), quote: quote.to_owned() }
    }

    pub fn lines(&self) -> impl Iterator<Item = (usize, &str)> {
        self.text.lines().enumerate().map(|(i, l)| (i + 1, l))
    }

    /// The first non-blank line, normalised: usually the license's title.
    pub fn title_norm(&self) -> &str {
        cut(&self.norm, 400)
    }
}

/// At most `max` bytes of `s` that end at byte `at`, starting on a character
/// boundary (a fixed look-behind in bytes could start inside a character).
pub(crate) fn before(s: &str, at: usize, max: usize) -> &str {
    let at = at.min(s.len());
    let mut start = at.saturating_sub(max);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    s.get(start..at).unwrap_or("")
}

/// At most `max` bytes of `s`, ending on a character boundary.
pub(crate) fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn normalise(text: &str) -> (String, Vec<usize>) {
    let mut norm = String::with_capacity(text.len());
    let mut map = Vec::with_capacity(text.len());
    let mut last_space = true;
    for (i, ch) in text.char_indices() {
        let repl: Option<char> = match ch {
            c if c.is_whitespace() => {
                if !last_space {
                    norm.push(' ');
                    map.push(i);
                    last_space = true;
                }
                continue;
            }
            '*' | '_' | '`' | '\\' | '#' | '|' => continue,
            '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{00AB}' | '\u{00BB}' => Some('"'),
            '\u{2018}' | '\u{2019}' | '\u{201A}' => Some('\''),
            '\u{2013}' | '\u{2014}' | '\u{2212}' => Some('-'),
            _ => None,
        };
        last_space = false;
        match repl {
            Some(c) => {
                norm.push(c);
                map.push(i);
            }
            None => {
                for lc in ch.to_lowercase() {
                    let before = norm.len();
                    norm.push(lc);
                    map.extend(std::iter::repeat_n(i, norm.len() - before));
                }
            }
        }
    }
    (norm, map)
}

/// Widens `[a, b)` to the enclosing sentence (or list item), at most
/// `QUOTE_REACH` bytes each side, on character boundaries.
fn sentence_around(text: &str, a: usize, b: usize) -> (usize, usize) {
    let is_stop = |c: char| matches!(c, '.' | ';' | '!' | '?');
    let is_cjk_stop = |c: char| matches!(c, '\u{3002}' | '\u{ff1b}');
    // Walk left, a character at a time, to the start of the sentence.
    let floor = a.saturating_sub(QUOTE_REACH);
    let mut s = a;
    let before: Vec<(usize, char)> = text[..a].char_indices().rev().take_while(|(i, _)| *i >= floor).collect();
    for (k, &(i, c)) in before.iter().enumerate() {
        let prev = before.get(k + 1).map(|p| p.1);
        if c == '\n' && matches!(prev, None | Some('\n') | Some('\r')) {
            break;
        }
        // A markdown heading above the sentence is not part of it.
        if c == '\n' && text[..i].rsplit('\n').next().is_some_and(|l| l.trim_start().starts_with('#')) {
            break;
        }
        if c.is_whitespace() && prev.is_some_and(is_stop) {
            break;
        }
        if is_cjk_stop(c) {
            break;
        }
        s = i;
    }
    // Walk right to the end of the sentence.
    let ceil = b.saturating_add(QUOTE_REACH).min(text.len());
    let base = b.max(s);
    let mut e = base;
    let mut it = text[base..].char_indices().peekable();
    while let Some((off, c)) = it.next() {
        let at = base + off;
        if at >= ceil {
            e = at;
            break;
        }
        let next = it.peek().map(|p| p.1);
        if is_stop(c) && next.is_none_or(char::is_whitespace) {
            e = at + c.len_utf8();
            break;
        }
        if is_cjk_stop(c) {
            e = at + c.len_utf8();
            break;
        }
        if c == '\n' && matches!(next, Some('\n') | Some('\r')) {
            e = at;
            break;
        }
        e = at + c.len_utf8();
    }
    // At the reach limits, cut at a word boundary rather than inside a word.
    if s == floor && s > 0 {
        if let Some(off) = text[s..a].find(char::is_whitespace) {
            s += off;
        }
    }
    if e >= ceil && e < text.len() {
        if let Some(off) = text[b.max(s)..e].rfind(char::is_whitespace) {
            e = b.max(s) + off;
        }
    }
    (s, e.max(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalised_matches_quote_verbatim() {
        let doc =
            Document::new("L", "Title\r\n\r\nYou **must** display \u{201C}Built with X\u{201D} on it. Next.".into());
        let at = doc.norm.find("\"built with x\"").expect("normalised");
        let ev = doc.evidence(at..at + 14);
        assert_eq!(ev.line, 3);
        assert_eq!(ev.quote, "You **must** display \u{201C}Built with X\u{201D} on it.");
    }

    #[test]
    fn decodes_utf16_and_rejects_binary() {
        let mut b = vec![0xFF, 0xFE];
        for u in "MIT License".encode_utf16() {
            b.extend_from_slice(&u.to_le_bytes());
        }
        let (t, notes) = decode(&b, b.len() as u64).expect("utf16");
        assert_eq!(t, "MIT License");
        assert_eq!(notes, vec![DecodeNote::Utf16]);
        assert_eq!(decode(&[0, 1, 2, 0], 4), Err(DecodeError::Binary));
        assert_eq!(decode(&[], 0), Err(DecodeError::Empty));
        let (t, notes) = decode(b"ok \xFF\xFE bad", 9).expect("lossy");
        assert!(t.contains('\u{FFFD}'));
        assert_eq!(notes, vec![DecodeNote::InvalidUtf8]);
    }

    #[test]
    fn line_numbers_are_one_based() {
        let doc = Document::new("L", "a\nb\nc".into());
        assert_eq!(doc.line_of(0), 1);
        assert_eq!(doc.line_of(2), 2);
        assert_eq!(doc.line_of(4), 3);
    }
}
