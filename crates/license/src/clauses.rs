//! Reads the terms that decide real use out of a license text, by what the
//! text says rather than by which license it is, so a license never seen
//! before is still read. Every clause keeps the sentence that states it.

use std::sync::OnceLock;

use regex::Regex;

use crate::field::Field;
use crate::text::{Document, Evidence};

/// An amount of money named by a revenue cap.
#[derive(Debug, Clone, PartialEq)]
pub struct Money {
    pub amount: u64,
    /// ISO code as written ("USD", "EUR", ...).
    pub currency: String,
}

/// The clauses read as "the text says so, here". One list: reading, the
/// check of what a standard license's added paragraphs change, and the
/// findings all go through it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Clause {
    Grant,
    DistributionGrant,
    NoDistribution,
    CommercialAllowed,
    CommercialRegistration,
    NonCommercial,
    ResearchOnly,
    UseRestrictions,
    Attribution,
    Naming,
    OutputTraining,
    ShareAlike,
    EuExcluded,
    Termination,
    TermsChange,
}

impl Clause {
    pub const ALL: [Clause; 15] = [
        Clause::Grant,
        Clause::DistributionGrant,
        Clause::NoDistribution,
        Clause::CommercialAllowed,
        Clause::CommercialRegistration,
        Clause::NonCommercial,
        Clause::ResearchOnly,
        Clause::UseRestrictions,
        Clause::Attribution,
        Clause::Naming,
        Clause::OutputTraining,
        Clause::ShareAlike,
        Clause::EuExcluded,
        Clause::Termination,
        Clause::TermsChange,
    ];

    /// The finding field a clause is reported under on its own, when it is
    /// not already the evidence of a summary field.
    pub fn finding_field(self) -> Option<&'static str> {
        Some(match self {
            Clause::Naming => Field::DerivativeNaming.name(),
            Clause::OutputTraining => Field::OutputTrainingRestriction.name(),
            Clause::ShareAlike => Field::ShareAlike.name(),
            Clause::NonCommercial => "non_commercial",
            Clause::ResearchOnly => "research_only",
            Clause::CommercialRegistration => "commercial_registration",
            Clause::Termination => "termination",
            Clause::TermsChange => "terms_change",
            _ => return None,
        })
    }

    /// Whether a paragraph that adds this clause to a standard license changes
    /// the license's terms (an added disclaimer or notice does not).
    pub fn changes_terms(self) -> bool {
        matches!(
            self,
            Clause::NonCommercial
                | Clause::ResearchOnly
                | Clause::UseRestrictions
                | Clause::Attribution
                | Clause::Naming
                | Clause::OutputTraining
                | Clause::CommercialRegistration
                | Clause::NoDistribution
                | Clause::EuExcluded
        )
    }

    /// Clauses every standard license states somewhere (grants, notices,
    /// termination): in a modified standard license they are read from the
    /// whole text, the others only from the paragraphs someone added.
    pub fn read_from_whole_standard_text(self) -> bool {
        matches!(
            self,
            Clause::Grant
                | Clause::DistributionGrant
                | Clause::CommercialAllowed
                | Clause::ShareAlike
                | Clause::Termination
                | Clause::Attribution
        )
    }
}

/// What a text says, clause by clause. Absent where it says nothing.
#[derive(Debug, Clone, Default)]
pub struct Clauses {
    found: std::collections::BTreeMap<Clause, Evidence>,
    pub mau: Option<(u64, Evidence)>,
    pub dau: Option<(u64, Evidence)>,
    pub revenue: Option<(Money, Evidence)>,
    pub jurisdiction: Option<(String, Evidence)>,
}

impl Clauses {
    pub fn get(&self, c: Clause) -> Option<&Evidence> {
        self.found.get(&c)
    }
    pub fn has(&self, c: Clause) -> bool {
        self.found.contains_key(&c)
    }
    pub fn set(&mut self, c: Clause, e: Option<Evidence>) {
        match e {
            Some(e) => {
                self.found.insert(c, e);
            }
            None => {
                self.found.remove(&c);
            }
        }
    }
    /// Keeps a clause found elsewhere where this text says nothing of it.
    pub fn fill(&mut self, c: Clause, e: Option<&Evidence>) {
        if let Some(e) = e {
            self.found.entry(c).or_insert_with(|| e.clone());
        }
    }
    pub fn iter(&self) -> impl Iterator<Item = (Clause, &Evidence)> {
        self.found.iter().map(|(c, e)| (*c, e))
    }
    /// Whether any clause changes a standard license's terms, or a cap applies.
    pub fn changes_terms(&self) -> bool {
        self.found.keys().any(|c| c.changes_terms()) || self.mau.is_some() || self.revenue.is_some()
    }
    /// What a standard license's own text states wherever it stands (grants,
    /// notices, termination, governing law), taken from a reading of the whole
    /// text where this reading (of what was added to it) is silent.
    pub fn with_whole_text(mut self, whole: Clauses) -> Clauses {
        for (c, e) in whole.found {
            if c.read_from_whole_standard_text() {
                self.found.entry(c).or_insert(e);
            }
        }
        self.jurisdiction = self.jurisdiction.or(whole.jurisdiction);
        self
    }
}

/// One rule of `data/rules` (generated by build.rs, which checks that
/// its patterns compile and find its example sentences).
#[derive(Debug)]
pub struct ClauseRule {
    pub name: &'static str,
    /// Matched over the text as written rather than the normalised text.
    pub over_text: bool,
    pub patterns: &'static [&'static str],
    /// Patterns that lift the rule where they also match.
    pub unless: &'static [&'static str],
    pub says: &'static [&'static str],
    pub not: &'static [&'static str],
}

include!(concat!(env!("OUT_DIR"), "/clause_rules.rs"));

/// A rule's patterns compiled, by its name in `data/rules`.
pub(crate) struct Rule {
    pub any: Vec<Regex>,
    pub unless: Vec<Regex>,
}

impl Rule {
    /// The earliest match of any pattern.
    pub fn find<'t>(&self, text: &'t str) -> Option<regex::Match<'t>> {
        self.any.iter().filter_map(|r| r.find(text)).min_by_key(|m| m.start())
    }
    pub fn is_match(&self, text: &str) -> bool {
        self.any.iter().any(|r| r.is_match(text))
    }
    pub fn lifted(&self, text: &str) -> bool {
        self.unless.iter().any(|r| r.is_match(text))
    }
    /// The pattern of a rule that has one (the tests check every rule's patterns).
    pub fn only(&self) -> &Regex {
        &self.any[0]
    }
    /// The first pattern's captures (rules whose groups carry a value).
    pub fn captures<'t>(&self, text: &'t str) -> Option<regex::Captures<'t>> {
        self.any.iter().find_map(|r| r.captures(text))
    }
}

pub(crate) fn rule(name: &str) -> &'static Rule {
    static RULES: OnceLock<Vec<(&'static str, Rule)>> = OnceLock::new();
    let rules = RULES.get_or_init(|| {
        // build.rs compiled every pattern already: a failure here is impossible short of a build bug.
        let compile = |ps: &[&str]| ps.iter().map(|p| Regex::new(p).unwrap_or_else(|e| panic!("{p}: {e}"))).collect();
        CLAUSE_RULES.iter().map(|r| (r.name, Rule { any: compile(r.patterns), unless: compile(r.unless) })).collect()
    });
    rules.iter().find(|(n, _)| *n == name).map(|(_, r)| r).unwrap_or_else(|| panic!("data/rules has no rule [{name}]"))
}

fn parse_amount(num: &str, unit: Option<&str>) -> Option<u64> {
    let num = num.trim_end_matches(['.', ',']);
    // "1,000,000" uses commas as thousands separators; "1.5" is a decimal.
    let value: f64 = if num.matches(',').count() >= 1 && !num.contains('.') {
        num.replace(',', "").parse().ok()?
    } else if num.matches('.').count() > 1 {
        num.replace('.', "").parse().ok()?
    } else {
        num.replace(',', "").parse().ok()?
    };
    let mult = match unit {
        Some("million" | "m" | "mn") => 1e6,
        Some("billion" | "b" | "bn") => 1e9,
        Some("thousand" | "k") => 1e3,
        _ => 1.0,
    };
    let v = value * mult;
    (v.is_finite() && v >= 1.0).then_some(v.round() as u64)
}

/// The first place a rule matches, in a sentence rather than a heading or a
/// title where the text says it in both ("2.3 Use Restrictions", then the list).
fn first(doc: &Document, name: &str) -> Option<Evidence> {
    let mut found: Vec<regex::Match> = rule(name).any.iter().flat_map(|r| r.find_iter(&doc.norm)).collect();
    found.sort_by_key(|m| m.start());
    let evidence = |m: &regex::Match| doc.evidence(m.range());
    found.iter().map(evidence).find(|e| !heading_like(&e.quote)).or_else(|| found.first().map(evidence))
}

/// A quote that is a heading or a title: a markdown heading, or a short line
/// with no sentence in it.
pub(crate) fn heading_like(quote: &str) -> bool {
    let q = quote.trim();
    let words = q.split_whitespace().count();
    let sentence = q.contains(['.', ';', ':', '\u{3002}', '\u{ff1b}']) || q.ends_with(')');
    q.starts_with('#') || (words <= 10 && !sentence && !q.chars().any(|c| c > '\u{2e80}'))
}

fn currency(sym: Option<&str>, word: Option<&str>) -> String {
    let s = sym.or(word).unwrap_or("$").trim();
    match s {
        "€" | "eur" | "euros" => "EUR",
        "£" | "gbp" => "GBP",
        "rmb" | "cny" | "¥" => "CNY",
        _ => "USD",
    }
    .to_owned()
}

/// Reads every clause this module knows from one document.
pub fn read(doc: &Document) -> Clauses {
    let title = doc.title_norm();
    let mut c = Clauses::default();
    let commercial_allowed = rule("commercial_allowed")
        .any
        .iter()
        .flat_map(|r| r.find_iter(&doc.norm))
        .find(|m| !crate::text::before(&doc.norm, m.start(), 12).contains("not"))
        .map(|m| doc.evidence(m.range()));
    for (clause, found) in [
        (Clause::Grant, first(doc, "grant")),
        (Clause::DistributionGrant, first(doc, "distribution_grant")),
        (Clause::NoDistribution, first(doc, "no_distribution")),
        (Clause::CommercialAllowed, commercial_allowed),
        (Clause::CommercialRegistration, first(doc, "commercial_registration")),
        (Clause::NonCommercial, first(doc, "non_commercial")),
        (Clause::ResearchOnly, first(doc, "research_only")),
        (Clause::UseRestrictions, first(doc, "use_restrictions")),
        // A named attribution ("Built with X") says more than a notice duty: prefer it.
        (Clause::Attribution, first(doc, "built_with").or_else(|| first(doc, "attribution"))),
        (Clause::Naming, first(doc, "naming")),
        (Clause::OutputTraining, first(doc, "output_training")),
        (Clause::ShareAlike, first(doc, "share_alike")),
        (Clause::EuExcluded, first(doc, "eu_excluded")),
        (Clause::Termination, first(doc, "termination")),
        (Clause::TermsChange, first(doc, "terms_change")),
    ] {
        c.set(clause, found);
    }
    // A title that says so settles it, whatever the body repeats.
    let title_line = crate::text::cut(title, title.find(". ").unwrap_or(title.len()).min(160));
    if !c.has(Clause::NonCommercial) && (title_line.contains("non-commercial") || title_line.contains("noncommercial"))
    {
        let at = title_line.find("non").unwrap_or(0);
        c.set(Clause::NonCommercial, Some(doc.line_evidence(doc.original(at..at + 3).start)));
    }
    let research_title = ["research license", "research-only", "research only"].iter().find_map(|w| title_line.find(w));
    if let Some(at) = research_title.filter(|_| !c.has(Clause::ResearchOnly) && !title_line.contains("non-commercial"))
    {
        c.set(Clause::ResearchOnly, Some(doc.line_evidence(doc.original(at..at + 8).start)));
    }
    if let Some(caps) = rule("mau").captures(&doc.norm) {
        if let Some(n) = parse_amount(&caps[1], caps.get(2).map(|m| m.as_str())) {
            c.mau = caps.get(0).map(|m| (n, doc.evidence(m.range())));
        }
    }
    if let Some(caps) = rule("dau").captures(&doc.norm) {
        if let Some(n) = parse_amount(&caps[1], caps.get(2).map(|m| m.as_str())) {
            c.dau = caps.get(0).map(|m| (n, doc.evidence(m.range())));
        }
    }
    for r in &rule("revenue").any {
        if let Some(caps) = r.captures(&doc.norm) {
            if let Some(n) = parse_amount(&caps[2], caps.get(3).map(|m| m.as_str())) {
                let money = Money {
                    amount: n,
                    currency: currency(caps.get(1).map(|m| m.as_str()), caps.get(4).map(|m| m.as_str())),
                };
                c.revenue = caps.get(0).map(|m| (money, doc.evidence(m.range())));
                break;
            }
        }
    }
    // "Above 100 million monthly users you shall display 'X' in your product": past the
    // threshold the duty is attribution, not a separate license.
    let display_duty = |e: &Evidence| {
        let q = e.quote.to_lowercase();
        let duty = rule("display_duty");
        duty.is_match(&q) && !duty.lifted(&q)
    };
    let duties: Vec<Evidence> = [c.mau.as_ref().map(|m| &m.1), c.revenue.as_ref().map(|m| &m.1)]
        .into_iter()
        .flatten()
        .filter(|e| display_duty(e))
        .cloned()
        .collect();
    for e in &duties {
        c.fill(Clause::Attribution, Some(e));
    }
    if c.mau.as_ref().is_some_and(|m| display_duty(&m.1)) {
        c.mau = None;
    }
    if c.revenue.as_ref().is_some_and(|m| display_duty(&m.1)) {
        c.revenue = None;
    }
    if let Some(caps) = rule("jurisdiction").captures(&doc.norm) {
        let place = caps[1].trim().to_owned();
        c.jurisdiction = caps.get(0).map(|m| (place, doc.evidence(m.range())));
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_text(t: &str) -> Clauses {
        read(&Document::new("LICENSE", t.to_owned()))
    }

    /// Every example sentence of data/rules, read by the engine as a
    /// whole document, is found by its rule (build.rs checked the patterns alone).
    #[test]
    fn every_rule_finds_its_examples() {
        assert!(CLAUSE_RULES.len() >= 20, "data/rules lost its rules");
        for r in CLAUSE_RULES {
            let over = |doc: &Document| if r.over_text { doc.text.clone() } else { doc.norm.clone() };
            for e in r.says {
                let doc = Document::new("LICENSE", (*e).to_owned());
                assert!(rule(r.name).find(&over(&doc)).is_some(), "[{}] misses {e:?}", r.name);
            }
            for e in r.not {
                let doc = Document::new("LICENSE", (*e).to_owned());
                assert!(rule(r.name).find(&over(&doc)).is_none(), "[{}] finds {e:?}", r.name);
            }
        }
        let c = read_text("Your use must comply with the Acceptable Use Policy.");
        assert!(c.has(Clause::UseRestrictions));
    }

    #[test]
    fn reads_user_and_revenue_caps_in_any_wording() {
        let c = read_text("If the products of Licensee have greater than 700 million monthly active users in the preceding month, you must request a license.");
        assert_eq!(c.mau.map(|m| m.0), Some(700_000_000));
        let c = read_text("Companies that exceed 2,500,000 monthly active users need another agreement.");
        assert_eq!(c.mau.map(|m| m.0), Some(2_500_000));
        let c = read_text(
            "If You generate more than USD $1,000,000 in annual revenue, you must obtain an enterprise license.",
        );
        assert_eq!(c.revenue.as_ref().map(|m| m.0.amount), Some(1_000_000));
        let c = read_text("Entities whose annual revenue is over €10 million must contact us.");
        let (money, _) = c.revenue.expect("revenue");
        assert_eq!((money.amount, money.currency.as_str()), (10_000_000, "EUR"));
    }

    #[test]
    fn a_threshold_with_a_display_duty_is_attribution_not_a_cap() {
        let c = read_text("If the Software is used in products with more than 100 million monthly active users, or more than 20 million US dollars in monthly revenue, you shall prominently display \"Foo\" on the user interface.");
        assert!(c.mau.is_none() && c.revenue.is_none());
        assert!(c.has(Clause::Attribution));
        let c = read_text("Commercial use must not exceed 1 million visits per month; above that, request a license.");
        assert_eq!(c.mau.map(|m| m.0), Some(1_000_000));
    }

    #[test]
    fn output_training_ban_needs_a_negation() {
        let c = read_text("You will not use the Materials or any output or results of the Materials to improve any other large language model.");
        assert!(c.has(Clause::OutputTraining));
        let c = read_text("If you use the Materials or any outputs to create, train, fine tune, or otherwise improve an AI model, you shall include \"Foo\" at the beginning of any such AI model name.");
        assert!(!c.has(Clause::OutputTraining));
        assert!(c.has(Clause::Naming));
    }

    #[test]
    fn non_commercial_and_research_only_are_told_apart() {
        let c = read_text("\"Non-Commercial\" shall mean for research or evaluation purposes only.");
        assert!(c.has(Clause::ResearchOnly));
        let c = read_text(
            "ACME NON-COMMERCIAL MODEL LICENSE\n\nYou may use the model for research or non-commercial purposes.",
        );
        assert!(c.has(Clause::NonCommercial));
        assert!(!c.has(Clause::ResearchOnly));
    }

    #[test]
    fn registration_for_commercial_use() {
        let c = read_text("Users who wish to use the models for commercial purposes must register here.");
        assert!(c.has(Clause::CommercialRegistration));
        let c = read_text("对于希望将模型用于商业目的的用户，需在这里完成登记。");
        assert!(c.has(Clause::CommercialRegistration));
    }

    #[test]
    fn a_title_cut_inside_a_multibyte_character_does_not_panic() {
        // Found by the license_text fuzz target: U+FFFD (3 bytes) straddling byte 160.
        let mut bytes = vec![b' '; 29];
        bytes.extend(std::iter::repeat_n(0xFF, 120));
        let (text, _) = crate::text::decode(&bytes, bytes.len() as u64).expect("decodes");
        let _ = read_text(&text);
    }

    #[test]
    fn amounts_parse() {
        assert_eq!(parse_amount("1,000,000", None), Some(1_000_000));
        assert_eq!(parse_amount("1.5", Some("million")), Some(1_500_000));
        assert_eq!(parse_amount("700", Some("million")), Some(700_000_000));
    }
}
