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

/// What a text says, clause by clause. `None` where it says nothing.
#[derive(Debug, Clone, Default)]
pub struct Clauses {
    pub grant: Option<Evidence>,
    pub distribution_grant: Option<Evidence>,
    pub no_distribution: Option<Evidence>,
    pub commercial_allowed: Option<Evidence>,
    pub commercial_registration: Option<Evidence>,
    pub non_commercial: Option<Evidence>,
    pub research_only: Option<Evidence>,
    pub mau: Option<(u64, Evidence)>,
    pub dau: Option<(u64, Evidence)>,
    pub revenue: Option<(Money, Evidence)>,
    pub use_restrictions: Option<Evidence>,
    pub attribution: Option<Evidence>,
    pub naming: Option<Evidence>,
    pub output_training: Option<Evidence>,
    pub share_alike: Option<Evidence>,
    pub eu_excluded: Option<Evidence>,
    pub termination: Option<Evidence>,
    pub terms_change: Option<Evidence>,
    pub jurisdiction: Option<(String, Evidence)>,
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
        no_distribution: re(&format!(r"{NEG} (?:re)?distribut")),
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
            re(r"(?:may|shall|must|will) not [^.]{0,80}for (?:any )?commercial (?:purposes?|use|advantage)"),
            re(r"primarily intended for or directed towards commercial advantage"),
        ],
        research_only: re(r"(?:research|evaluation|academic)(?: (?:or|and) (?:research|evaluation|academic|non-commercial|noncommercial))*(?: research)? (?:purposes? |use |uses )?only"),
        mau: re(&format!(r"(?:more than|greater than|exceeds?|exceeded|exceeding|over|above|in excess of)[^.]{{0,20}}? {AMOUNT} (?:monthly active users|mau|monthly users)")),
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
        attribution: re(r#"(?:retain|include|reproduce|provide|display)[^.]{0,120}(?:notice|attribution|copy of this (?:agreement|license))|"built with|"powered by|give appropriate credit|attribution notice"#),
        built_with: re(r#""(?:built with|powered by|improved using) [^"]{1,40}""#),
        naming: re(r#"(?:include|add|prefix) "?[^".]{1,40}"? (?:at the beginning of|in front of|as a prefix to)[^.]{0,60}name|names? [^.]{0,60}(?:must|shall) (?:begin|start) with"#),
        output_training: re(&format!(r"{NEG}[^.]{{0,30}}use[^.]{{0,200}}(?:outputs?|results|generated content)[^.]{{0,150}}(?:improve|train|develop|create|build)[^.]{{0,100}}(?:model|llm|ai)")),
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
    let mut c = Clauses {
        grant: first(doc, &p.grant),
        distribution_grant: first(doc, &p.distribution_grant),
        no_distribution: first(doc, &p.no_distribution),
        commercial_allowed: p
            .commercial_allowed
            .find_iter(&doc.norm)
            .find(|m| !crate::text::before(&doc.norm, m.start(), 12).contains("not"))
            .map(|m| doc.evidence(m.range())),
        commercial_registration: first_of(doc, &p.registration),
        non_commercial: first_of(doc, &p.non_commercial),
        research_only: first(doc, &p.research_only),
        use_restrictions: first_of(doc, &p.use_restrictions),
        // A named attribution ("Built with X") says more than a notice duty: prefer it.
        attribution: first(doc, &p.built_with).or_else(|| first(doc, &p.attribution)),
        naming: first(doc, &p.naming),
        output_training: first(doc, &p.output_training),
        share_alike: first(doc, &p.share_alike),
        eu_excluded: first(doc, &p.eu),
        termination: first(doc, &p.termination),
        terms_change: first(doc, &p.terms_change),
        ..Clauses::default()
    };
    // A title that says so settles it, whatever the body repeats.
    let title_line = crate::text::cut(title, title.find(". ").unwrap_or(title.len()).min(160));
    if c.non_commercial.is_none() && (title_line.contains("non-commercial") || title_line.contains("noncommercial")) {
        let at = title_line.find("non").unwrap_or(0);
        c.non_commercial = Some(doc.line_evidence(doc.original(at..at + 3).start));
    }
    if c.research_only.is_none() && title_line.contains("research license") && !title_line.contains("non-commercial") {
        let at = title_line.find("research license").unwrap_or(0);
        c.research_only = Some(doc.line_evidence(doc.original(at..at + 8).start));
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
    fn output_training_ban_needs_a_negation() {
        let c = read_text("You will not use the Materials or any output or results of the Materials to improve any other large language model.");
        assert!(c.output_training.is_some());
        let c = read_text("If you use the Materials or any outputs to create, train, fine tune, or otherwise improve an AI model, you shall include \"Foo\" at the beginning of any such AI model name.");
        assert!(c.output_training.is_none());
        assert!(c.naming.is_some());
    }

    #[test]
    fn non_commercial_and_research_only_are_told_apart() {
        let c = read_text("\"Non-Commercial\" shall mean for research or evaluation purposes only.");
        assert!(c.research_only.is_some());
        let c = read_text(
            "ACME NON-COMMERCIAL MODEL LICENSE\n\nYou may use the model for research or non-commercial purposes.",
        );
        assert!(c.non_commercial.is_some());
        assert!(c.research_only.is_none());
    }

    #[test]
    fn registration_for_commercial_use() {
        let c = read_text("Users who wish to use the models for commercial purposes must register here.");
        assert!(c.commercial_registration.is_some());
        let c = read_text("对于希望将模型用于商业目的的用户，需在这里完成登记。");
        assert!(c.commercial_registration.is_some());
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
