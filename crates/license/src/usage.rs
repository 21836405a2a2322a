//! Answers "may I do this?" for a stated use, from a report's summary and the
//! clauses behind it.

use serde::{Deserialize, Serialize};

use crate::field::Field;
use crate::known::{Category, Commercial};
use crate::report::{Finding, Report, TriWord, Tristate};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Purpose {
    #[default]
    Personal,
    Research,
    /// Inside a company, not offered to others.
    Internal,
    /// Shipped in a product.
    Product,
    /// Offered to others as a hosted service.
    Hosted,
}

impl Purpose {
    pub fn is_commercial(self) -> bool {
        matches!(self, Purpose::Internal | Purpose::Product | Purpose::Hosted)
    }
    pub const ALL: [Purpose; 5] =
        [Purpose::Personal, Purpose::Research, Purpose::Internal, Purpose::Product, Purpose::Hosted];

    /// The word the command line and the page's form use for it.
    pub fn name(self) -> &'static str {
        match self {
            Purpose::Personal => "personal",
            Purpose::Research => "research",
            Purpose::Internal => "internal",
            Purpose::Product => "product",
            Purpose::Hosted => "hosted",
        }
    }

    /// Other words people use for it.
    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            Purpose::Product => &["commercial"],
            Purpose::Hosted => &["service", "hosted-service"],
            _ => &[],
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == s || p.aliases().contains(&s))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct UseProfile {
    pub purpose: Purpose,
    pub monthly_users: Option<u64>,
    pub annual_revenue_usd: Option<u64>,
    pub fine_tune_and_share: bool,
    pub train_on_outputs: bool,
    /// Where the user or company is based, e.g. "EU", "US".
    pub region: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Answer {
    Allowed,
    NotAllowed,
    NeedsAgreement,
    Unclear,
}

impl Answer {
    pub fn label(self) -> &'static str {
        match self {
            Answer::Allowed => "allowed",
            Answer::NotAllowed => "not allowed",
            Answer::NeedsAgreement => "needs a separate agreement",
            Answer::Unclear => "unclear",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UseAnswer {
    /// Stable key: "use", "scale", "share", "outputs", "attribution", "region".
    pub key: String,
    pub question: String,
    pub answer: Answer,
    pub reason: String,
    pub evidence: Option<Finding>,
}

fn ev(report: &Report, field: Field) -> Option<Finding> {
    report.findings_for(field.name()).next().cloned()
}

fn is_eu(region: &str) -> bool {
    const EU: &[&str] = &[
        "eu",
        "european union",
        "at",
        "be",
        "bg",
        "hr",
        "cy",
        "cz",
        "dk",
        "ee",
        "fi",
        "fr",
        "de",
        "gr",
        "hu",
        "ie",
        "it",
        "lv",
        "lt",
        "lu",
        "mt",
        "nl",
        "pl",
        "pt",
        "ro",
        "sk",
        "si",
        "es",
        "se",
    ];
    EU.contains(&region.trim().to_ascii_lowercase().as_str())
}

impl Answer {
    /// How much an answer holds a person back: the stricter of two answers wins.
    pub fn strictness(self) -> u8 {
        match self {
            Answer::Allowed => 0,
            Answer::Unclear => 1,
            Answer::NeedsAgreement => 2,
            Answer::NotAllowed => 3,
        }
    }
}

/// One answer per question a builder asks, for this use, under the stricter
/// of the folder's own terms and those of every base whose terms bind it.
pub fn answer(report: &Report, p: &UseProfile) -> Vec<UseAnswer> {
    let mut out = answer_terms(report, p);
    for link in report.lineage.iter().filter(|l| l.binds_derivatives) {
        let Some(k) = link.known() else { continue };
        let id = link.repo.as_deref().unwrap_or(&link.name);
        let Some(named) = report.findings_for("base_model").find(|f| f.value.as_str() == Some(id)) else { continue };
        let ev = crate::text::Evidence { file: named.file.clone(), line: named.line, quote: named.quote.clone() };
        let base = answer_terms(&crate::analyse::published_report(k, &ev), p);
        out = stricter(out, base, &format!("the base model's {}", k.name));
    }
    out
}

/// Each question's stricter answer; where the base's is stricter, its reason
/// and evidence, said to be the base's; where both allow with different
/// duties, the base's added to the folder's.
fn stricter(own: Vec<UseAnswer>, base: Vec<UseAnswer>, whose: &str) -> Vec<UseAnswer> {
    let mut out = own;
    for b in base {
        let said = format!("Under {whose}: {}", b.reason);
        match out.iter_mut().find(|a| a.key == b.key) {
            Some(a) if b.answer.strictness() > a.answer.strictness() => {
                *a = UseAnswer { reason: said, ..b };
            }
            Some(a) if b.answer == a.answer && b.reason != a.reason && a.answer == Answer::Allowed => {
                a.reason = format!("{} {said}", a.reason);
                if a.evidence.is_none() {
                    a.evidence = b.evidence;
                }
            }
            Some(_) => {}
            None => out.push(UseAnswer { reason: said, ..b }),
        }
    }
    out
}

/// The answers one set of terms gives (a folder's, or a base's as published).
fn answer_terms(report: &Report, p: &UseProfile) -> Vec<UseAnswer> {
    let s = &report.summary;
    let mut out = Vec::new();
    let none = s.category == Category::NoLicense;
    let mk = |key: &str, question: String, answer: Answer, reason: String, evidence: Option<Finding>| UseAnswer {
        key: key.into(),
        question,
        answer,
        reason,
        evidence,
    };
    let purpose = match p.purpose {
        Purpose::Personal => "personal use",
        Purpose::Research => "research",
        Purpose::Internal => "internal use in a company",
        Purpose::Product => "a commercial product",
        Purpose::Hosted => "a hosted service for others",
    };

    // 1. The use itself.
    let q = format!("May I use it for {purpose}?");
    let a = if none {
        mk("use", q, Answer::Unclear, "No license was found: without one, copyright law reserves every right to the author. Ask the author or find the license.".into(), None)
    } else if s.category == Category::ResearchOnly && p.purpose != Purpose::Research {
        let ans = if p.purpose.is_commercial() { Answer::NeedsAgreement } else { Answer::Unclear };
        mk("use", q, ans, "The license allows research and evaluation only.".into(), ev(report, Field::Category))
    } else if p.purpose.is_commercial() {
        match s.commercial_use {
            Commercial::Allowed => {
                mk("use", q, Answer::Allowed, "Commercial use is allowed.".into(), ev(report, Field::CommercialUse))
            }
            Commercial::Conditional => mk(
                "use",
                q,
                Answer::Allowed,
                "Commercial use is allowed under conditions (see the next answer).".into(),
                ev(report, Field::CommercialUse),
            ),
            Commercial::Forbidden => mk(
                "use",
                q,
                Answer::NotAllowed,
                "The license forbids commercial use; the licensor may sell a separate license.".into(),
                ev(report, Field::CommercialUse),
            ),
            Commercial::Unknown => {
                mk("use", q, Answer::Unclear, "The documents do not settle commercial use.".into(), None)
            }
        }
    } else {
        mk(
            "use",
            q,
            Answer::Allowed,
            "Personal and research use are within the license.".into(),
            ev(report, Field::Category),
        )
    };
    out.push(a);

    // 2. Scale: user and revenue caps, registration.
    if !none {
        let q = "Do my users or revenue need a separate license?".to_string();
        let a = if let (Some(cap), Some(users)) = (s.user_threshold_mau, p.monthly_users) {
            if users > cap {
                mk("scale", q, Answer::NeedsAgreement, format!("{users} monthly users is above the cap of {cap}: you must request a license from the licensor."), ev(report, Field::UserThresholdMau))
            } else {
                mk(
                    "scale",
                    q,
                    Answer::Allowed,
                    format!("{users} monthly users is below the cap of {cap}."),
                    ev(report, Field::UserThresholdMau),
                )
            }
        } else if let (Some(cap), Some(rev), true) =
            (s.revenue_threshold_usd, p.annual_revenue_usd, p.purpose.is_commercial())
        {
            if rev > cap {
                mk(
                    "scale",
                    q,
                    Answer::NeedsAgreement,
                    format!("USD {rev} annual revenue is above the cap of USD {cap}: an enterprise license is needed."),
                    ev(report, Field::RevenueThresholdUsd),
                )
            } else {
                mk(
                    "scale",
                    q,
                    Answer::Allowed,
                    format!("USD {rev} annual revenue is below the cap of USD {cap}."),
                    ev(report, Field::RevenueThresholdUsd),
                )
            }
        } else if s.user_threshold_mau.is_some() || s.revenue_threshold_usd.is_some() {
            mk(
                "scale",
                q,
                Answer::Unclear,
                "The license has a cap; state your monthly users and revenue to check it.".into(),
                ev(report, Field::UserThresholdMau).or_else(|| ev(report, Field::RevenueThresholdUsd)),
            )
        } else if s.commercial_use == Commercial::Conditional && p.purpose.is_commercial() {
            mk(
                "scale",
                q,
                Answer::NeedsAgreement,
                "Commercial use needs registration or approval from the licensor first.".into(),
                ev(report, Field::CommercialUse),
            )
        } else {
            mk("scale", q, Answer::Allowed, "The license sets no user or revenue cap.".into(), None)
        };
        out.push(a);
    }

    // 3. Fine-tune and share.
    if p.fine_tune_and_share {
        let q = "May I fine-tune it and share the result?".to_string();
        let a = if none {
            mk("share", q, Answer::Unclear, "No license was found.".into(), None)
        } else if s.redistribution_allowed == Tristate::Bool(false) {
            mk(
                "share",
                q,
                Answer::NotAllowed,
                "The license does not allow redistribution.".into(),
                ev(report, Field::RedistributionAllowed),
            )
        } else if s.license_id.as_deref().is_some_and(|id| id.contains("-nd")) {
            mk(
                "share",
                q,
                Answer::NotAllowed,
                "NoDerivatives: you may share the original, not modified versions.".into(),
                ev(report, Field::LicenseId),
            )
        } else {
            let mut duties = Vec::new();
            if s.share_alike {
                duties.push("release it under the same license");
            }
            if s.attribution_required {
                duties.push("keep the notices / attribution");
            }
            if s.derivative_naming {
                duties.push("put the required name in your model's name");
            }
            if s.use_restrictions {
                duties.push("pass the use restrictions on to your users");
            }
            if s.redistribution_allowed == Tristate::Word(TriWord::Conditional) {
                duties.push("include a copy of the license");
            }
            let reason = if duties.is_empty() {
                "Allowed.".to_string()
            } else {
                format!("Allowed if you {}.", duties.join(", "))
            };
            let e = ev(report, Field::DerivativeNaming)
                .or_else(|| ev(report, Field::ShareAlike))
                .or_else(|| ev(report, Field::RedistributionAllowed));
            mk("share", q, Answer::Allowed, reason, e)
        };
        out.push(a);
    }

    // 4. Outputs as training data.
    if p.train_on_outputs {
        let q = "May I train other models on its outputs?".to_string();
        let a = if none {
            mk("outputs", q, Answer::Unclear, "No license was found.".into(), None)
        } else if s.output_training_restriction {
            mk(
                "outputs",
                q,
                Answer::NotAllowed,
                "The license forbids using the model or its outputs to improve other models.".into(),
                ev(report, Field::OutputTrainingRestriction),
            )
        } else if s.derivative_naming {
            mk(
                "outputs",
                q,
                Answer::Allowed,
                "Allowed, but a model so trained and shared must carry the required name.".into(),
                ev(report, Field::DerivativeNaming),
            )
        } else {
            mk(
                "outputs",
                q,
                Answer::Allowed,
                "The license does not restrict using outputs to train other models.".into(),
                None,
            )
        };
        out.push(a);
    }

    // 5. Region.
    if let Some(region) = p.region.as_deref().filter(|r| !r.trim().is_empty()) {
        let q = format!("Does the license apply where I am ({region})?");
        let eu = report.findings_for("region").next().cloned();
        let a = match (eu, is_eu(region)) {
            (Some(f), true) => mk("region", q, Answer::NotAllowed, "The license (or its use policy) withholds rights from people and companies in the European Union for this model.".into(), Some(f)),
            _ if none => mk("region", q, Answer::Unclear, "No license was found.".into(), None),
            _ => mk("region", q, Answer::Allowed, "No geographic exclusion was found.".into(), None),
        };
        out.push(a);
    }

    // 6. What must be shown.
    if !none && s.attribution_required {
        let q = "What must I display or keep?".to_string();
        let mut reason = String::from("Keep the license and copyright notices with copies.");
        if let Some(f) = report.findings_for(Field::AttributionRequired.name()).next() {
            // The folder's sentence, or the license's published one.
            let said =
                format!("{} {}", f.quote, f.published.as_ref().map_or("", |p| p.sentence.as_str())).to_lowercase();
            if said.contains("built with") || said.contains("powered by") {
                reason =
                    "Display the attribution the license names (e.g. \"Built with ...\") and ship its notice.".into();
            }
        }
        out.push(mk("attribution", q, Answer::Allowed, reason, ev(report, Field::AttributionRequired)));
    }
    out
}
