//! Reads the terms that decide real use out of a license text, by what the
//! text says rather than by which license it is, so a license never seen
//! before is still read. Every clause keeps the sentence that states it.

use std::sync::OnceLock;

use regex::Regex;

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
            Clause::Naming => "derivative_naming",
            Clause::OutputTraining => "output_training_restriction",
            Clause::ShareAlike => "share_alike",
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
    /// Only what stands in the given 0-based line ranges (the paragraphs added
    /// to a standard license), except what every standard text states.
    /// With `whole_text`, the clauses every standard text states are kept wherever they stand.
    pub fn within(self, ranges: &[(usize, usize)], doc: &Document, whole_text: bool) -> Clauses {
        let inside = |e: &Evidence| {
            ranges.iter().any(|&(a, b)| doc.line_of_text_line(a + 1) <= e.line && e.line <= doc.line_of_text_line(b))
        };
        Clauses {
            found: self
                .found
                .into_iter()
                .filter(|(c, e)| (whole_text && c.read_from_whole_standard_text()) || inside(e))
                .collect(),
            mau: self.mau.filter(|(_, e)| inside(e)),
            dau: self.dau.filter(|(_, e)| inside(e)),
            revenue: self.revenue.filter(|(_, e)| inside(e)),
            jurisdiction: self.jurisdiction,
        }
    }
}

struct Patterns {
    grant: Regex,
    distribution_grant: Regex,
    no_distribution: Regex,
    commercial_allowed: Regex,
    registration: Vec<Regex>,
    non_commercial: Vec<Regex>,
    research_only: Regex,
    mau: Regex,
    dau: Regex,
    revenue: Vec<Regex>,
    use_restrictions: Vec<Regex>,
    attribution: Regex,
    built_with: Regex,
    naming: Regex,
    output_training: Regex,
    share_alike: Regex,
    eu: Regex,
    termination: Regex,
    terms_change: Regex,
    jurisdiction: Regex,
}

fn re(p: &str) -> Regex {
    // The patterns are constants of this file; a typo is a bug caught by the tests.
    Regex::new(p).unwrap_or_else(|e| panic!("bad pattern {p}: {e}"))
}

const NEG: &str = r"(?:will not|shall not|can ?not|cannot|may not|must not|agree not to|do not|are not permitted to|is not permitted to|prohibited from|not allowed to)";
const AMOUNT: &str = r"([0-9][0-9,.]*) ?(million|billion|thousand|m|b|k|mn|bn)?";

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| Patterns {
        grant: re(r"(?:perpetual|worldwide|world-wide|royalty-free|royalty free|no-charge|non-exclusive)[^.]{0,300}(?:license|licence|right)"),
        distribution_grant: re(r"(?:license|right|permission)[^.]{0,250}(?:distribut|redistribut|share|sublicens)"),
        no_distribution: re(&format!(r"{NEG} (?:re)?distribut|{NEG} (?:publish|share)(?: or (?:share|publish|distribute))? [^.]{{0,40}}(?:model|weights|parameters|materials|checkpoints)")),
        commercial_allowed: re(r"(?:supports?|permits?|allows?|free|open for|available for|grants?[^.]{0,40}for)[^.]{0,30}commercial (?:use|usage|purposes?)"),
        registration: vec![
            re(r"commercial(?:ly)? (?:purposes?|use|usage|activit(?:y|ies)|using)[^.]{0,160}(?:must|shall|should|need to|are required to|is required to|please) [^.]{0,100}(?:register|registration|apply|application|authori[sz]ation|approval|permission|request a license|obtain a (?:commercial )?license)"),
            re(r"(?:register|registration|apply for|application for|obtain|request)[^.]{0,60}commercial (?:license|use|usage|purposes?|authori[sz]ation)"),
            re(r"商业[^。]{0,40}(?:登记|授权)"),
            re(r"登记[^。]{0,40}商业"),
        ],
        non_commercial: vec![
            re(r"non-?commercial (?:research )?(?:purposes?|uses?) only"),
            re(r"(?:solely|only|exclusively) (?:for|to) non-?commercial"),
            re(r"not for commercial (?:use|purposes?)"),
            re(r"(?:free of charge |only |solely )?for (?:certain |your own |personal )?non-?commercial (?:use|uses|purposes?)"),
            re(r"(?:may|shall|must|will) not [^.]{0,80}for (?:any )?commercial (?:purposes?|use|advantage)"),
            re(r"primarily intended for or directed towards commercial advantage"),
        ],
        research_only: re(r"(?:research|evaluation|academic)(?: (?:or|and) (?:research|evaluation|academic|non-commercial|noncommercial))*(?: research)? (?:purposes? |use |uses )?only"),
        mau: re(&format!(r"(?:more than|greater than|exceeds?|exceeded|exceeding|over|above|in excess of|not exceed|no more than|fewer than|less than|up to)[^.]{{0,20}}? {AMOUNT} (?:monthly active users|mau|monthly users|active users per month|users per month|visits per month|monthly visits)")),
        dau: re(&format!(r"(?:more than|greater than|exceeds?|exceeded|exceeding|over|above|in excess of)[^.]{{0,20}}? {AMOUNT} (?:daily active users|dau)")),
        revenue: vec![
            re(&format!(r"(?:more than|greater than|exceeds?|exceeded|exceeding|over|above|in excess of|at least) (usd|us ?\$|\$|€|eur|£|gbp|rmb|cny|¥)? ?\$?{AMOUNT}(?: (usd|us dollars|dollars|eur|euros))?[^.;]{{0,60}}revenue")),
            re(&format!(r"revenue[^.;]{{0,80}}(?:more than|greater than|exceeds?|exceeding|over|above|in excess of) (usd|us ?\$|\$|€|eur|£|gbp|rmb|cny|¥)? ?\$?{AMOUNT}(?: (usd|us dollars|dollars|eur|euros))?")),
        ],
        use_restrictions: vec![
            re(r"agree not to use"),
            re(r"will not use,? or allow others to use"),
            re(r"use restrictions"),
            re(r"use-based restrictions"),
            re(r"prohibited uses?"),
            re(r"acceptable use policy"),
            re(r"prohibited use policy"),
            re(&format!(r"{NEG} use [^.]{{0,120}}(?:military|weapon|surveillance|harass|discriminat|illegal)")),
            re(r"不得[^。]{0,80}(?:军事|非法)"),
        ],
        attribution: re(r#"(?:retain|include|reproduce|provide|display)[^.]{0,120}(?:notice|attribution|copy of this (?:agreement|license))|(?:copyright|permission|license) (?:notice|statement)[^.]{0,80}(?:shall|must|should|are to|is to) be (?:included|retained|reproduced)|"built with|"powered by|give appropriate credit|attribution notice"#),
        built_with: re(r#""(?:built with|powered by|improved using) [^"]{1,40}""#),
        naming: re(r#"(?:include|add|prefix) "?[^".]{1,40}"? (?:at the beginning of|in front of|as a prefix to)[^.]{0,60}name|names? [^.]{0,60}(?:must|shall) (?:begin|start) with"#),
        // Either a negated sentence, or an item of a prohibited-use list ("Use Output to train …").
        output_training: re(&format!(r"{NEG}[^.]{{0,30}}use[^.]{{0,200}}(?:outputs?|results|generated content)[^.]{{0,150}}(?:improve|train|develop|create|build)[^.]{{0,100}}(?:model|llm|ai)|(?:^|[.;:] |[0-9]\. |- )use (?:the )?(?:outputs?|results) to (?:train|create|develop|improve)[^.]{{0,60}}(?:model|llm|ai|machine learning)")),
        share_alike: re(r"sharealike|share-alike|share alike|under the same license|under identical terms|same license as"),
        eu: re(r"(?:not (?:being )?granted|domiciled|principal place of business)[^.]{0,200}european union|european union[^.]{0,200}(?:not (?:being )?granted|domiciled)"),
        termination: re(r"(?:may|will|shall) (?:immediately |automatically )?terminate|terminate this (?:agreement|license)|automatically terminate"),
        terms_change: re(r"(?:may|reserves? the right to|right to) (?:modify|update|change|amend|revise) (?:this agreement|these terms|the terms|this license)|(?:update|modify|change) (?:this|the) (?:agreement|license|terms) from time to time"),
        jurisdiction: re(r"governed by (?:and construed in accordance with )?the laws of (?:the )?([a-z][a-z ,.'()-]{2,60}?)(?:,|\.| without| and| excluding| regardless)"),
    })
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

fn first(doc: &Document, r: &Regex) -> Option<Evidence> {
    r.find(&doc.norm).map(|m| doc.evidence(m.range()))
}

fn first_of(doc: &Document, rs: &[Regex]) -> Option<Evidence> {
    rs.iter().filter_map(|r| r.find(&doc.norm)).min_by_key(|m| m.start()).map(|m| doc.evidence(m.range()))
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
    let p = patterns();
    let title = doc.title_norm();
    let mut c = Clauses::default();
    let commercial_allowed = p
        .commercial_allowed
        .find_iter(&doc.norm)
        .find(|m| !crate::text::before(&doc.norm, m.start(), 12).contains("not"))
        .map(|m| doc.evidence(m.range()));
    for (clause, found) in [
        (Clause::Grant, first(doc, &p.grant)),
        (Clause::DistributionGrant, first(doc, &p.distribution_grant)),
        (Clause::NoDistribution, first(doc, &p.no_distribution)),
        (Clause::CommercialAllowed, commercial_allowed),
        (Clause::CommercialRegistration, first_of(doc, &p.registration)),
        (Clause::NonCommercial, first_of(doc, &p.non_commercial)),
        (Clause::ResearchOnly, first(doc, &p.research_only)),
        (Clause::UseRestrictions, first_of(doc, &p.use_restrictions)),
        // A named attribution ("Built with X") says more than a notice duty: prefer it.
        (Clause::Attribution, first(doc, &p.built_with).or_else(|| first(doc, &p.attribution))),
        (Clause::Naming, first(doc, &p.naming)),
        (Clause::OutputTraining, first(doc, &p.output_training)),
        (Clause::ShareAlike, first(doc, &p.share_alike)),
        (Clause::EuExcluded, first(doc, &p.eu)),
        (Clause::Termination, first(doc, &p.termination)),
        (Clause::TermsChange, first(doc, &p.terms_change)),
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
    if let Some(caps) = p.mau.captures(&doc.norm) {
        if let Some(n) = parse_amount(&caps[1], caps.get(2).map(|m| m.as_str())) {
            c.mau = caps.get(0).map(|m| (n, doc.evidence(m.range())));
        }
    }
    if let Some(caps) = p.dau.captures(&doc.norm) {
        if let Some(n) = parse_amount(&caps[1], caps.get(2).map(|m| m.as_str())) {
            c.dau = caps.get(0).map(|m| (n, doc.evidence(m.range())));
        }
    }
    for r in &p.revenue {
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
        let duty = ["display", "attribution", "credit", "acknowledg"].iter().any(|w| q.contains(w));
        let licence = ["license", "licence", "permission", "agreement", "authori", "approval", "register"]
            .iter()
            .any(|w| q.contains(w));
        duty && !licence
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
    if let Some(caps) = p.jurisdiction.captures(&doc.norm) {
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
