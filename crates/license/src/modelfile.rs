//! Ollama's `Modelfile`, the manifest a model published through Ollama ships
//! beside its weights: its `LICENSE` instructions carry the license text
//! (`LICENSE """…"""` over several lines, or `LICENSE text` on one). Each
//! becomes a document of its own whose lines are the Modelfile's, so quotes
//! name the Modelfile and its line.

use crate::text::Document;

/// The license texts of a Modelfile, in order. Instructions are
/// case-insensitive; an unterminated `"""` block runs to the end of the file.
pub fn licenses(path: &str, text: &str) -> Vec<Document> {
    let mut out = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim_start();
        let is_license = line.get(..7).is_some_and(|w| w.eq_ignore_ascii_case("license"))
            && line[7..].starts_with(|c: char| c.is_whitespace());
        if !is_license {
            i += 1;
            continue;
        }
        let value = line[7..].trim_start();
        let (mut body, mut source) = (String::new(), Vec::new());
        if let Some(rest) = value.strip_prefix("\"\"\"") {
            // A block: from after the opening quotes to the closing ones.
            let mut piece = rest;
            let mut at = i;
            loop {
                if let Some(end) = piece.find("\"\"\"") {
                    push(&mut body, &mut source, &piece[..end], at + 1);
                    break;
                }
                push(&mut body, &mut source, piece, at + 1);
                at += 1;
                match lines.get(at) {
                    Some(l) => piece = l,
                    None => break,
                }
            }
            i = at + 1;
        } else {
            push(&mut body, &mut source, value.trim_matches('"'), i + 1);
            i += 1;
        }
        if !body.trim().is_empty() {
            out.push(Document::converted(path, body, source));
        }
    }
    out
}

fn push(body: &mut String, source: &mut Vec<usize>, line: &str, file_line: usize) {
    body.push_str(line);
    body.push('\n');
    source.push(file_line);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn license_blocks_and_lines_keep_the_modelfile_lines() {
        let mf = "FROM ./model.gguf\nPARAMETER temperature 0.7\nLICENSE \"\"\"Acme License\nYou may use the model for research only.\n\"\"\"\nlicense MIT\nTEMPLATE \"\"\"{{ .Prompt }}\"\"\"\n";
        let docs = licenses("Modelfile", mf);
        assert_eq!(docs.len(), 2);
        assert!(docs[0].text.contains("research only"));
        assert_eq!(docs[0].line_of(docs[0].text.find("You may").expect("text")), 4);
        assert_eq!(docs[1].text.trim(), "MIT");
        assert_eq!(docs[1].line_of(0), 6);
    }

    #[test]
    fn an_unterminated_block_runs_to_the_end_and_odd_input_does_not_panic() {
        let docs = licenses("Modelfile", "LICENSE \"\"\"Acme\nterms");
        assert_eq!(docs.len(), 1);
        assert!(docs[0].text.contains("terms"));
        for s in
            ["LICENSE", "LICENSE \"\"\"", "licensé x", "LICENSE\u{00a0}x", "LICENS", "\u{feff}LICENSE \"\"\"\"\"\""]
        {
            let _ = licenses("Modelfile", s);
        }
    }
}
