//! What a model card or GGUF file *declares* the license to be, for comparison
//! with what the license text says.

use crate::clauses::rule;
use crate::known::{self, Known};
use crate::text::{Document, Evidence};

#[derive(Debug, Clone)]
pub struct Declared {
    /// As written ("Apache 2.0", "other (license_name: yi-license)").
    pub value: String,
    /// The license it names, when this tool knows it.
    pub known: Option<&'static Known>,
    /// "other": the card files it under a custom name.
    pub evidence: Evidence,
}

/// Every "… the model weights are released under CC-BY-NC 4.0 …" in a card:
/// statements about the weights or the work as a whole (not the code) that
/// name a license, known to this tool or not. In the order they stand.
///
/// Second, the statements about the model's use by its name alone ("Use of
/// Acme 3 is governed by X"), which count where nothing else declares.
pub fn in_prose(doc: &Document) -> (Vec<Declared>, Vec<Declared>) {
    let mut weak = Vec::new();
    let mut out = Vec::new();
    let mut code: Vec<(usize, Declared)> = Vec::new();
    let prose = rule("declared_in_prose");
    for caps in prose.any.iter().flat_map(|r| r.captures_iter(&doc.norm)) {
        let (Some(all), Some(name)) = (caps.get(0), caps.get(1)) else { continue };
        // The clause is read in the original text, where a heading or a list item
        // ends at its line, with asides in parentheses left out.
        let o = doc.original(all.range());
        let raw = crate::text::before(&doc.text, o.start, 240);
        let mut before = String::with_capacity(raw.len());
        let mut depth = 0usize;
        for ch in raw.chars() {
            match ch {
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                _ if depth == 0 => before.extend(ch.to_lowercase()),
                _ => {}
            }
        }
        let clause_start = [". ", "; ", ", ", ": ", "\n"]
            .iter()
            .filter_map(|sep| before.rfind(sep).map(|i| i + sep.len()))
            .max()
            .unwrap_or(0);
        let mut clause = before.get(clause_start..).unwrap_or("");
        // "- **Model Weights**: Licensed under X": a bullet's label is its subject.
        if clause.trim().is_empty() {
            let line_start = before.rfind('\n').map_or(0, |i| i + 1);
            clause = before.get(line_start..).unwrap_or("");
        }
        let about_weights = rule("statement_about_weights").is_match(clause);
        let code_rule = rule("statement_about_code");
        let about_code = code_rule.is_match(clause) && !code_rule.lifted(clause);
        let derived = rule("statement_about_another_work").is_match(clause);
        let about_use = !about_weights && !about_code && rule("statement_about_use").is_match(clause);
        if !(about_weights || about_code || about_use) || derived {
            continue;
        }
        // "… under CC BY-NC 4.0 because of …": the longest leading words that name a license.
        let name = match resolve(name.as_str()) {
            Some(_) => name.range(),
            None => {
                let mut ends: Vec<usize> = name.as_str().match_indices(' ').map(|(i, _)| i).collect();
                ends.reverse();
                ends.into_iter()
                    .find(|&e| resolve(&name.as_str()[..e]).is_some())
                    .map_or(name.range(), |e| name.start()..name.start() + e)
            }
        };
        let r = doc.original(name.clone());
        let value = doc.text[r].trim().trim_matches(['[', ']']).trim().to_owned();
        let name_str = &doc.norm[name.clone()];
        let after = &doc.norm[name.end..];
        let followed_by_license = after.starts_with(" licen");
        let known = resolve(name_str);
        // A name this tool does not know counts when the text calls it a license or links its terms.
        let names_terms = known::speaks_of_license(name_str);
        if known.is_none() && !followed_by_license && !names_terms && !after.starts_with(']') {
            continue;
        }
        let mut value = if known.is_none() { format!("{value} License") } else { value };
        if rule("generic_license_name").is_match(&value.to_lowercase()) {
            continue;
        }
        // "[Apache 2.0](…) and [Acme Community License](…)": every license the statement links.
        let mut known = known;
        if let Some(more) = rule("and_linked").captures(after).and_then(|c| c.get(1)) {
            let o = doc.original(name.end + more.start()..name.end + more.end());
            value = format!("{value} + {}", doc.text[o].trim());
            known = resolve(&value);
        }
        let evidence = doc.evidence(all.range());
        let d = Declared { value, known, evidence };
        if about_weights && !about_code {
            out.push((all.start(), d));
        } else if about_code {
            code.push((all.start(), d));
        } else {
            weak.push(d);
        }
    }
    // "Code: licensed under A" just before "Weights: licensed under B" is one
    // declaration of two licenses, written with the code's first.
    let strong = out
        .into_iter()
        .map(|(at, mut d)| {
            let dual = |c: usize| rule("dual_licensing").is_match(crate::text::before(&doc.norm, c, 300));
            let pair = code.iter().rev().find(|(c, _)| *c < at && at - *c < 400 && dual(*c));
            if let Some((_, c)) = pair.filter(|(_, c)| !d.value.contains(" + ") && c.known.is_some()) {
                let code_name = c.known.and_then(|k| k.spdx).map_or(c.value.clone(), str::to_owned);
                d.value = format!("{code_name} + {}", d.value);
            }
            d
        })
        .collect();
    (strong, weak)
}

/// "- License: MPL 2.0" — a card's line or bullet that names the license.
pub fn in_license_line(doc: &Document) -> Option<Declared> {
    for caps in rule("declared_in_line").any.iter().flat_map(|r| r.captures_iter(&doc.text)) {
        let (Some(all), Some(name)) = (caps.get(0), caps.get(1)) else { continue };
        // "Research-Only RAIL License. See [model license](…)": the name ends at the sentence.
        let raw = name.as_str();
        let raw = raw.split(". ").next().unwrap_or(raw);
        let value = raw.trim().trim_end_matches(['.', '*', ':']).trim().trim_matches('*').trim();
        if value.len() < 2 || value.split_whitespace().count() > 8 {
            continue;
        }
        let lower = value.to_lowercase();
        // "A custom commercial license is available at …", "See below", "Proprietary": no name.
        let describes = rule("license_line_describes").is_match(&lower);
        // "licence: license" (a card template's placeholder): license words name no license.
        let placeholder = lower
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .all(|w| known::LICENSE_WORDS.contains(&w));
        if placeholder {
            continue;
        }
        let known = resolve(value).or_else(|| {
            // "CC-BY-NC, requires also adhering to …": the longest known prefix.
            let words: Vec<&str> = value.split_whitespace().collect();
            (1..words.len()).rev().find_map(|n| known::lookup(&words[..n].join(" ")))
        });
        let named = known.is_some() || ["licen", "rail", "terms"].iter().any(|w| lower.contains(w));
        if describes || !named {
            continue;
        }
        let line = doc.line_of(all.start());
        let quote = doc.text[all.range()].trim().to_owned();
        return Some(Declared {
            value: value.to_owned(),
            known,
            evidence: Evidence { file: doc.path.clone(), line, quote },
        });
    }
    None
}

/// "### Licensing" then "[Llama 3.2 Community](…/llama3_2/LICENSE)": the first
/// link of a card's license section to a license's published terms or name.
pub fn in_license_section(doc: &Document) -> Option<Declared> {
    let link = rule("markdown_link").only();
    for h in rule("license_section").only().find_iter(&doc.text) {
        let rest = &doc.text[h.end()..];
        // The section, up to the next heading, of which its first lines are enough.
        let section = crate::text::cut(&rest[..rest.find("\n#").unwrap_or(rest.len())], 800);
        for caps in link.captures_iter(section) {
            let (Some(all), Some(text), Some(url)) = (caps.get(0), caps.get(1), caps.get(2)) else { continue };
            let name = text.as_str().trim().trim_matches('*').trim();
            let Some(known) = known::by_url(url.as_str()).or_else(|| resolve(name)) else { continue };
            let at = h.end() + all.start();
            let line = doc.line_of(at);
            let quote = doc.text.lines().nth(line.saturating_sub(1)).unwrap_or("").trim().to_owned();
            return Some(Declared {
                value: name.to_owned(),
                known: Some(known),
                evidence: Evidence { file: doc.path.clone(), line, quote },
            });
        }
    }
    None
}

/// "**Permissive Apache 2.0 license:** …" — a card's bullet naming the license.
pub fn in_bold(doc: &Document) -> Option<Declared> {
    for caps in rule("declared_in_bold").any.iter().flat_map(|r| r.captures_iter(&doc.text)) {
        let (Some(all), Some(name)) = (caps.get(0), caps.get(1)) else { continue };
        let words: Vec<&str> = name.as_str().split_whitespace().collect();
        for i in 0..words.len() {
            let candidate = words[i..].join(" ");
            if let Some(k) = known::lookup(&candidate) {
                let line = doc.line_of(all.start());
                let quote = doc.text[all.range()].trim().to_owned();
                return Some(Declared {
                    value: candidate,
                    known: Some(k),
                    evidence: Evidence { file: doc.path.clone(), line, quote },
                });
            }
        }
    }
    None
}

/// The licenses a combined declaration names ("Apache 2.0 + Foo Community
/// License", "MIT and CC-BY-4.0"): the parts this tool knows.
pub fn parts(value: &str) -> Vec<&'static Known> {
    let lower = value.to_lowercase();
    lower
        .split(['+', '&', '/'])
        .flat_map(|p| p.split(" and "))
        .flat_map(|p| p.split(" or "))
        .filter_map(known::lookup)
        .collect()
}

/// A `license:` value from front matter, GGUF metadata or config.json.
pub fn from_metadata(license: &str, name: Option<&str>, evidence: Evidence) -> Declared {
    let license = license.trim();
    if license.eq_ignore_ascii_case("other") {
        let known = name.and_then(resolve);
        let value = match name {
            Some(n) => format!("other (license_name: {n})"),
            None => "other".to_owned(),
        };
        return Declared { value, known, evidence };
    }
    Declared { value: license.to_owned(), known: resolve(license), evidence }
}

/// A declared name: a combined one by the part that governs weights.
fn resolve(value: &str) -> Option<&'static Known> {
    if parts(value).len() > 1 {
        weights_part(value)
    } else {
        known::lookup(value).or_else(|| weights_part(value))
    }
}

/// Of a combined declaration, the part that governs weights: a model license
/// over a standard one (code is what the standard half usually covers).
fn weights_part(value: &str) -> Option<&'static Known> {
    let parts = parts(value);
    parts.iter().find(|k| !k.is_standard()).or(parts.first()).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(t: &str) -> Document {
        Document::new("README.md", t.to_owned())
    }

    #[test]
    fn weights_statement_wins_over_code_statement() {
        let d =
            in_prose(&doc("**License:** Code is released under MIT, model weights are released under CC-BY-NC 4.0.")).0;
        assert_eq!(d.iter().map(|d| d.value.as_str()).collect::<Vec<_>>(), ["CC-BY-NC 4.0"]);
        assert!(in_prose(&doc("This library is licensed under the Apache 2.0 License.")).0.is_empty());
        assert!(in_prose(&doc(
            "The 8B model is derived from X and is originally licensed under the Llama3.1 license."
        ))
        .0
        .is_empty());
        let d = in_prose(&doc("This work is made available under the [Acme Source Code License](LICENSE.txt).")).0;
        let (strong, weak) = in_prose(&doc("Use of Acme 3 is governed by the [Acme 3 Community License](LICENSE)."));
        assert!(strong.is_empty() && weak.len() == 1, "{weak:?}");
        assert_eq!(d[0].value, "Acme Source Code License");
        assert!(d[0].known.is_none());
    }

    #[test]
    fn license_lines_and_combined_declarations() {
        let d = in_license_line(&doc("# Card\n\n- License: MPL 2.0\n")).expect("declared");
        assert_eq!((d.value.as_str(), d.evidence.line), ("MPL 2.0", 3));
        assert_eq!(d.known.map(|k| k.id), Some("mpl-2.0"));
        let d = in_license_line(&doc("* **License:** Research-Only RAIL License. See [model license](LICENSE_MODEL)"))
            .expect("declared");
        assert_eq!(d.value, "Research-Only RAIL License");
        let d = in_license_line(&doc("License: CC-BY-NC, requires also adhering to the Acceptable Use Policy"))
            .expect("declared");
        assert_eq!(d.known.map(|k| k.id), Some("cc-by-nc-4.0"));
        let ev = Evidence { file: "README.md".into(), line: 2, quote: String::new() };
        let d = from_metadata("other", Some("Apache 2.0 + Llama 3.1 Community License"), ev);
        assert_eq!(d.known.map(|k| k.id), Some("llama3.1"));
    }

    #[test]
    fn a_license_section_is_cut_on_a_character_boundary() {
        // A link past the first 800 bytes of a section of multi-byte text is not read, and nothing panics.
        let body = "许可".repeat(200);
        let card = format!("## License\n\n{body} [Apache 2.0](https://www.apache.org/licenses/LICENSE-2.0)\n");
        assert!(in_license_section(&doc(&card)).is_none());
        let d =
            in_license_section(&doc("### **Licensing**\n[Apache 2.0](https://www.apache.org/licenses/LICENSE-2.0)\n"));
        assert_eq!(d.and_then(|d| d.known).map(|k| k.id), Some("apache-2.0"));
    }

    #[test]
    fn bold_bullet_names_the_license() {
        let d = in_bold(&doc("- **Permissive Apache 2.0 license:** Build freely.")).expect("declared");
        assert_eq!(d.value, "Apache 2.0");
        assert!(in_bold(&doc("**License** A custom commercial license is available at: x")).is_none());
    }
}
