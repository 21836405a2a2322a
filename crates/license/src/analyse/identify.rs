//! Stage 2, identify: what each license document is (a model license by its
//! title, a standard license by its text, perhaps modified, a pointer to a
//! license it does not contain, or a text never seen), and which governs the
//! weights.

use crate::clauses::{self, Clauses};
use crate::declared::Declared;
use crate::discover::{self, Role};
use crate::fingerprint;
use crate::known::{self, Category, Known};
use crate::text::{self, Document, Evidence};

use super::folder::Folder;

/// How a license document was recognised.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Method {
    Title,
    TextMatch { score: f32 },
    Pointer,
    Unrecognised,
}

pub(crate) struct LicenseDoc {
    pub doc: usize,
    pub known: Option<&'static Known>,
    pub method: Method,
    /// 0-based line ranges a standard license does not contain.
    pub added: Vec<(usize, usize)>,
    /// The clauses that count if this document governs: the whole text of a
    /// custom license, the added paragraphs of a standard one.
    pub clauses: Clauses,
    /// A standard license's text under another license's title, or with
    /// paragraphs that change its terms.
    pub modified: bool,
    pub where_named: Evidence,
    /// The license's name as the document writes it.
    pub named_as: String,
}

impl LicenseDoc {
    /// A document that names a license without holding its text.
    fn pointer(doc: usize, known: &'static Known, where_named: Evidence, named_as: String) -> Self {
        LicenseDoc {
            doc,
            known: Some(known),
            method: Method::Pointer,
            added: Vec::new(),
            clauses: Clauses::default(),
            modified: false,
            where_named,
            named_as,
        }
    }
}

/// What the license of the weights rests on.
pub(crate) enum Basis<'a> {
    /// A license text in the folder.
    Text(&'a LicenseDoc),
    /// A file that names a license without containing it.
    Pointer(&'a LicenseDoc),
    /// No text in the folder: a declaration names the license.
    Named(&'a Declared),
    None,
}

impl Basis<'_> {
    pub fn known(&self) -> Option<&'static Known> {
        match self {
            Basis::Text(l) | Basis::Pointer(l) => l.known,
            Basis::Named(d) => d.known,
            Basis::None => None,
        }
    }
    pub fn text(&self) -> Option<&LicenseDoc> {
        match self {
            Basis::Text(l) => Some(l),
            _ => None,
        }
    }
}

/// Known licenses mentioned by name in a short text that is not itself a license.
fn named_in(doc: &Document) -> Option<(&'static Known, Evidence, String)> {
    let mut best: Option<(usize, &'static Known, usize)> = None;
    for k in known::KNOWN {
        let names = std::iter::once(k.name).chain(k.aliases.iter().copied()).chain(k.markers.iter().copied());
        for n in names {
            let n = n.to_lowercase();
            if n.len() < 6 {
                continue;
            }
            if let Some(at) = doc.norm.find(&n) {
                if best.is_none_or(|(b, _, _)| at < b) {
                    best = Some((at, k, n.len()));
                }
            }
        }
    }
    best.map(|(at, k, len)| {
        let named = doc.text.get(doc.original(at..at + len)).unwrap_or_default().trim().to_owned();
        (k, doc.evidence(at..at + len), named)
    })
}

/// The license's title, normalised like `Document::norm`: the first short line
/// near the top that names a license (a preamble may stand before it), else
/// the first line.
pub(crate) fn title_line(doc: &Document) -> String {
    let line = title_index(doc).and_then(|i| doc.text.lines().nth(i)).unwrap_or("").trim();
    Document::new("", text::cut(line, 300).to_owned()).norm.trim_matches(['"', '\'', ' ']).to_owned()
}

/// The words of a license's name that tell it from others: not "license",
/// "agreement" and the like, nor a version number.
fn distinctive_words(name: &str) -> Vec<String> {
    let generic = ["license", "licence", "agreement", "terms", "of", "use", "the", "version", "community"];
    name.split(|c: char| !c.is_alphanumeric() && c != '.')
        .map(|w| w.trim_matches('.').to_lowercase())
        .filter(|w| !w.is_empty() && !generic.contains(&w.as_str()))
        .filter(|w| !w.chars().all(|c| c.is_ascii_digit() || c == '.') || w.len() == 1)
        .collect()
}

/// The 0-based line of the title `title_line` reads.
fn title_index(doc: &Document) -> Option<usize> {
    let lines: Vec<&str> = doc.text.lines().collect();
    let nonblank = lines.iter().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let first = nonblank.clone().next().map(|(i, _)| i);
    nonblank
        .take(12)
        .find(|(_, l)| {
            let t = l.trim();
            let lower = t.to_lowercase();
            let short = t.chars().count() <= 90 && !t.ends_with(['.', ':', ',', ';']);
            short && (known::speaks_of_license(&lower) || lower.contains("rail"))
        })
        .map(|(i, _)| i)
        .or(first)
}

/// A title naming some other license ("Acme Model License" over Apache-2.0's text).
fn retitled(doc: &Document, k: &Known) -> bool {
    let title = title_line(doc);
    let names_a_license = known::speaks_of_license(&title);
    if !names_a_license {
        return false;
    }
    if title.contains("modified") {
        return true;
    }
    let generic = ["license", "licence", "public", "general", "version", "the", "international"];
    let own_words = k
        .name
        .split(|c: char| !c.is_alphanumeric() && c != '-')
        .map(str::to_lowercase)
        .filter(|w| w.len() >= 3 && !generic.contains(&w.as_str()))
        .collect::<Vec<_>>();
    !own_words.iter().any(|w| title.contains(w.as_str()))
}

pub(crate) fn identify(doc: &Document, idx: usize) -> LicenseDoc {
    let head = text::cut(&doc.norm, 3000);
    let first = doc.text.find(|c: char| !c.is_whitespace()).unwrap_or(0);
    if let Some(k) = fingerprint::closest(&doc.text, &known::by_marker(head)) {
        let (at, len) = k.markers.iter().filter_map(|m| head.find(m).map(|at| (at, m.len()))).min().unwrap_or((0, 1));
        // A file that names a license by its title without holding its text
        // ("title: gemma terms of use", then a link) points at the license.
        if !fingerprint::holds_text(&doc.text, k) {
            let named_as = doc.text.get(doc.original(at..at + len)).unwrap_or_default().trim().to_owned();
            return LicenseDoc::pointer(idx, k, doc.evidence(at..at + len), named_as);
        }
        let ev = doc.line_evidence(doc.original(at..at + 1).start);
        let clauses = if k.is_standard() { Clauses::default() } else { clauses::read(doc) };
        return LicenseDoc {
            doc: idx,
            known: Some(k),
            method: Method::Title,
            added: Vec::new(),
            clauses,
            modified: false,
            where_named: ev,
            named_as: String::new(),
        };
    }
    let matched = fingerprint::best(&doc.text);
    // A model license known by its text, when its title (if it has one) is the
    // license's own: a text under another title ("SDXL 0.9 Research License"
    // over LLaMA's words, "Falcon 180B" over Falcon 2's) is a license of its
    // own, read from its text.
    let own_title = |k: &Known| {
        let title = title_line(doc);
        let names_a_license = known::speaks_of_license(&title);
        !names_a_license || distinctive_words(k.name).iter().all(|w| title.contains(w.as_str()))
    };
    if let Some(m) = matched.as_ref().filter(|m| !m.known.is_standard() && m.score >= 0.55 && own_title(m.known)) {
        return LicenseDoc {
            doc: idx,
            known: Some(m.known),
            method: Method::TextMatch { score: m.score },
            added: Vec::new(),
            clauses: clauses::read(doc),
            modified: false,
            where_named: doc.line_evidence(first),
            named_as: String::new(),
        };
    }
    if let Some(m) = matched {
        if let Some(k) = Some(m.known).filter(|k| k.is_standard()) {
            let added = fingerprint::added_paragraphs(&doc.text, k);
            // Only what the added paragraphs (and a title of its own) say can change
            // a standard license's terms: they are read on their own, so a clause
            // is found there even when the standard words also say something like it.
            let title_at = title_index(doc);
            let own =
                clauses::read(&doc.masked(|i| Some(i) == title_at || added.iter().any(|&(a, b)| a <= i && i < b)));
            let added_terms = own.changes_terms();
            // A title that calls the text modified is the author's own word for it.
            let says_modified = title_line(doc).split(|c: char| !c.is_alphanumeric()).any(|w| w == "modified");
            let modified = added_terms || says_modified || (retitled(doc, k) && (!added.is_empty() || m.score < 0.9));
            let clauses = own.with_whole_text(clauses::read(doc));
            return LicenseDoc {
                doc: idx,
                known: Some(k),
                method: Method::TextMatch { score: m.score.max(m.coverage) },
                added,
                clauses,
                modified,
                // A title or copyright line is a fine place to point at for the whole text.
                where_named: doc.line_evidence(first),
                named_as: String::new(),
            };
        }
    }
    // A short file that names a license and states no terms of its own points at it
    // ("The source code is licensed separately under the MIT License" in a weights
    // license that has its own terms does not).
    // The same reading is the unrecognised text's terms.
    let own = clauses::read(doc);
    let states_terms = own.changes_terms() || own.has(clauses::Clause::Grant);
    if doc.norm.len() < 4000 && !states_terms {
        if let Some((k, ev, named_as)) = named_in(doc) {
            return LicenseDoc::pointer(idx, k, ev, named_as);
        }
    }
    LicenseDoc {
        doc: idx,
        known: None,
        method: Method::Unrecognised,
        added: Vec::new(),
        clauses: own,
        modified: false,
        where_named: doc.line_evidence(first),
        named_as: String::new(),
    }
}

pub(crate) fn all(folder: &Folder) -> Vec<LicenseDoc> {
    folder.of_role(Role::License).map(|(i, d)| identify(d, i)).collect()
}

fn rank(folder: &Folder, l: &LicenseDoc) -> i32 {
    let doc = &folder.docs[l.doc].0;
    let path = &doc.path;
    let mut r = discover::weights_affinity(path) * 100;
    r += match (l.method, l.known) {
        (Method::Title, Some(k)) if !k.is_standard() => 50,
        (Method::Title | Method::TextMatch { .. }, Some(_)) => 20,
        (Method::Unrecognised, _) => 10,
        (Method::Pointer, _) => 5,
        _ => 0,
    };
    // Files at the top of the folder describe the folder; nested ones, their subfolder.
    r -= 3 * path.matches('/').count() as i32;
    // COPYING.LESSER beside COPYING: the LGPL is what applies (it supplements the GPL).
    if l.known.is_some_and(|k| k.id.starts_with("lgpl")) {
        r += 5;
    }
    // Terms carried in a card's front matter give way to a license file.
    if discover::role(path) == Role::ModelCard {
        r -= 60;
    }
    r
}

/// Which license governs the weights. A license file does, unless it is a
/// generic LICENSE while the card states, about the weights, a license that
/// no file of the folder holds: then the LICENSE is the code's.
pub(crate) fn governing<'a>(folder: &Folder, licenses: &'a [LicenseDoc], declared: &'a Declarations) -> Basis<'a> {
    let best = licenses.iter().max_by_key(|l| rank(folder, l));
    if let Some(l) = best {
        let generic_file = discover::weights_affinity(&folder.docs[l.doc].0.path) <= 0;
        let in_folder = |k: &Known| licenses.iter().any(|x| x.known.is_some_and(|y| std::ptr::eq(y, k)));
        if generic_file {
            let differs = |k: &Known| !in_folder(k) && l.known.is_none_or(|g| !std::ptr::eq(g, k));
            let weights_statement = declared
                .statements
                .iter()
                .find(|d| d.about_weights && d.declared.known.is_some_and(differs))
                .map(|d| &d.declared);
            // The card's metadata is the model's own declaration: a model license (or a
            // non-commercial one) there, beside a standard LICENSE, is the weights' license.
            let code_file = l.known.is_some_and(Known::is_standard) && !l.modified;
            let model_metadata = declared.metadata.as_ref().filter(|d| {
                code_file
                    && d.known.is_some_and(|k| {
                        differs(k)
                            && (!k.is_standard()
                                || !matches!(k.terms.category, Category::Permissive | Category::PublicDomain))
                    })
            });
            if let Some(d) = weights_statement.or(model_metadata) {
                return Basis::Named(d);
            }
        }
        return match l.method {
            Method::Pointer => Basis::Pointer(l),
            _ => Basis::Text(l),
        };
    }
    let named = declared.metadata.as_ref().or_else(|| declared.statements.first().map(|s| &s.declared));
    match named.or(declared.weak.first()) {
        Some(d) if !matches!(d.value.to_lowercase().as_str(), "unknown" | "none" | "no license") => Basis::Named(d),
        _ => Basis::None,
    }
}

/// A card statement that names a license.
pub(crate) struct Statement {
    pub declared: Declared,
    /// Said of the weights or the work as a whole (prose), not a bare "License:" line.
    pub about_weights: bool,
}

/// Everything the folder declares: metadata (front matter, GGUF, config.json)
/// first, then what the cards say in words.
#[derive(Default)]
pub(crate) struct Declarations {
    pub metadata: Option<Declared>,
    pub statements: Vec<Statement>,
    /// What declares only where nothing above does and the folder holds no
    /// license text: "Use of X is governed by …", a license section's bare link.
    pub weak: Vec<Declared>,
}

pub(crate) fn declarations(folder: &Folder) -> Declarations {
    use crate::declared;
    let mut metadata = None;
    for (i, fm) in &folder.front_matter {
        if let Some(l) = &fm.license {
            let doc = &folder.docs[*i].0;
            let line = fm.license_line.unwrap_or(1);
            let quote = doc.text.lines().nth(line - 1).unwrap_or("").trim().to_owned();
            metadata = Some(declared::from_metadata(
                l,
                fm.license_name.as_deref(),
                Evidence { file: doc.path.clone(), line, quote },
            ));
            break;
        }
    }
    if metadata.is_none() {
        metadata = folder.gguf.iter().find_map(|(path, m)| {
            let l = m.text("general.license")?;
            let ev = Evidence { file: path.clone(), line: 0, quote: String::new() };
            Some(declared::from_metadata(l, m.text("general.license.name"), ev))
        });
    }
    if metadata.is_none() {
        metadata = folder.config_license.first().map(|(path, l)| {
            declared::from_metadata(l, None, Evidence { file: path.clone(), line: 0, quote: String::new() })
        });
    }
    if let Some(d) = metadata.as_mut() {
        refine_by_link(folder, d);
    }
    let mut statements = Vec::new();
    let mut weak = Vec::new();
    for card in folder.cards() {
        let (strong, w) = declared::in_prose(card);
        statements.extend(strong.into_iter().map(|d| Statement { declared: d, about_weights: true }));
        weak.extend(w);
    }
    for card in folder.cards() {
        let line = declared::in_license_line(card).or_else(|| declared::in_bold(card));
        statements.extend(line.map(|d| Statement { declared: d, about_weights: false }));
        weak.extend(declared::in_license_section(card));
    }
    for st in &mut statements {
        refine_by_link(folder, &mut st.declared);
    }
    for d in &mut weak {
        refine_by_link(folder, d);
    }
    Declarations { metadata, statements, weak }
}

/// A standard license declared while the folder links the published terms of
/// a license that adds to it (Cohere's C4AI terms to CC-BY-NC 4.0): the
/// declaration is of those terms.
fn refine_by_link(folder: &Folder, d: &mut Declared) {
    let Some(spdx) = d.known.and_then(|k| k.spdx) else { return };
    let linked = folder.cards().flat_map(|c| links(&c.text)).filter_map(known::by_url);
    if let Some(k) = linked.into_iter().find(|k| k.refines == Some(spdx)) {
        d.known = Some(k);
    }
}

/// The http(s) addresses a text writes out.
fn links(text: &str) -> impl Iterator<Item = &str> {
    text.match_indices("http").filter_map(move |(at, _)| {
        let rest = text.get(at..)?;
        let end = rest
            .find(|c: char| c.is_whitespace() || matches!(c, ')' | ']' | '"' | '>' | '<' | '\''))
            .unwrap_or(rest.len());
        let url = &rest[..end];
        url.contains("://").then_some(url)
    })
}
