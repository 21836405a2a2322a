//! Stage 3, terms: from the governing license to the terms that decide use.
//! A standard license as published (plus what was added to it), a custom
//! one as its text says, a license known only by name as published.

use crate::clauses::{self, Clause, Clauses};
use crate::discover::Role;
use crate::known::{self, Category, Commercial, Known, Redistribution, Terms};
use crate::text::Evidence;

use super::folder::Folder;
use super::identify::{self, Basis};

pub(crate) struct Settled {
    pub terms: Terms,
    pub clauses: Clauses,
    /// The sentence that settles commercial use, when a text does.
    pub commercial_ev: Option<Evidence>,
    pub license_id: Option<String>,
    pub spdx: Option<String>,
    pub family: String,
    pub license_name: Option<String>,
    pub osi: bool,
    pub no_license: bool,
    pub modified: bool,
    /// Terms read from a text in the folder rather than a license's published terms.
    pub custom_text: bool,
}

const UNSETTLED: Terms = Terms {
    category: Category::OpenWeightsRestricted,
    commercial: Commercial::Unknown,
    mau: None,
    revenue_usd: None,
    use_restrictions: false,
    attribution: false,
    naming: false,
    output_training: false,
    share_alike: false,
    redistribution: Redistribution::Conditional,
    eu_excluded: false,
};

/// What a license's name alone says of its terms ("… Research License", "… Non-Commercial …").
fn terms_from_name(name: &str) -> Option<(Category, Commercial)> {
    let n = name.to_lowercase();
    if n.contains("research") {
        Some((Category::ResearchOnly, Commercial::Forbidden))
    } else if n.contains("non-commercial") || n.contains("noncommercial") || n.split(['-', ' ', '_']).any(|w| w == "nc")
    {
        Some((Category::NonCommercial, Commercial::Forbidden))
    } else {
        None
    }
}

/// A card sentence that makes an acceptable-use policy binding.
fn policy_required(doc: &crate::text::Document) -> Option<Evidence> {
    clauses::rule("acceptable_use_required").find(&doc.norm).map(|m| doc.evidence(m.range()))
}

/// A license a card binds the model to besides its own, named or by its brand,
/// with the sentence that does.
fn also_bound(folder: &Folder, own: Option<&'static Known>) -> Option<(&'static Known, Evidence)> {
    let rule = clauses::rule("also_bound_by");
    folder.cards().find_map(|doc| {
        let m = rule.find(&doc.norm)?;
        let said = m.as_str();
        let other = known::by_marker(said).first().copied().or_else(|| {
            let brand = known::brand_in(said)?;
            // A brand alone names no version: its licenses' use restrictions, where any has them.
            let family = || known::KNOWN.iter().filter(|k| k.family == brand && !k.sheet.is_empty());
            family().find(|k| k.terms.use_restrictions).or_else(|| family().next())
        })?;
        let differs = own.is_none_or(|k| k.family != other.family);
        differs.then(|| (other, doc.evidence(m.range())))
    })
}

pub(crate) fn settle(folder: &Folder, basis: &Basis) -> Settled {
    let known = basis.known();
    let gov = basis.text();
    let modified = gov.is_some_and(|l| l.modified);
    let no_license = matches!(basis, Basis::None);

    let mut c = gov.map(|l| l.clauses.clone()).unwrap_or_default();
    for (_, doc) in folder.of_role(Role::UsePolicy) {
        let p = clauses::read(doc);
        c.fill(Clause::UseRestrictions, p.get(Clause::UseRestrictions));
        c.fill(Clause::EuExcluded, p.get(Clause::EuExcluded));
        // A policy's prohibitions bind like the license's own: it may ban training on outputs.
        c.fill(Clause::OutputTraining, p.get(Clause::OutputTraining));
    }

    let standard_unmodified = known.is_some_and(Known::is_standard) && !modified;
    // "License: CC-BY-NC, requires also adhering to the Acceptable Use Policy": a card
    // that makes a use policy part of the terms adds prohibited uses to any license.
    if !standard_unmodified || matches!(basis, Basis::Named(_)) {
        let aup = folder.cards().find_map(policy_required);
        c.fill(Clause::UseRestrictions, aup.as_ref());
    }
    let base: Option<Terms> = known.map(|k| k.terms);
    let custom_text = gov.is_some_and(|l| l.known.is_none()) || modified;
    let mut t: Terms = match (base, custom_text) {
        (Some(b), false) => b,
        _ => UNSETTLED,
    };
    let mut commercial_ev: Option<Evidence> = None;
    if custom_text {
        let std_base = base.filter(|_| modified);
        t.mau = c.mau.as_ref().map(|m| m.0);
        t.revenue_usd = c.revenue.as_ref().filter(|(m, _)| m.currency == "USD").map(|(m, _)| m.amount);
        let ev = |cl: Clause| c.get(cl).cloned();
        let (commercial, category, e) = if let Some((_, e)) = &c.mau {
            (Commercial::Conditional, Category::OpenWeightsRestricted, Some(e.clone()))
        } else if let Some((_, e)) = &c.revenue {
            (Commercial::Conditional, Category::OpenWeightsRestricted, Some(e.clone()))
        } else if let Some(e) = ev(Clause::ResearchOnly) {
            (Commercial::Forbidden, Category::ResearchOnly, Some(e))
        } else if let Some(e) = ev(Clause::NonCommercial) {
            (Commercial::Forbidden, Category::NonCommercial, Some(e))
        } else if let Some(e) = ev(Clause::CommercialRegistration) {
            (Commercial::Conditional, Category::OpenWeightsRestricted, Some(e))
        } else if let Some(b) = std_base {
            (
                b.commercial,
                if c.has(Clause::UseRestrictions) { Category::OpenWeightsRestricted } else { b.category },
                None,
            )
        } else if let Some(e) = ev(Clause::CommercialAllowed).or_else(|| ev(Clause::Grant)) {
            (Commercial::Allowed, Category::OpenWeightsRestricted, Some(e))
        } else if let Some(b) = base {
            (b.commercial, b.category, None)
        } else {
            (Commercial::Unknown, Category::Proprietary, None)
        };
        t.commercial = commercial;
        t.category = category;
        commercial_ev = e;
        t.use_restrictions = c.has(Clause::UseRestrictions);
        t.attribution = c.has(Clause::Attribution) || base.is_some_and(|b| b.attribution);
        t.naming = c.has(Clause::Naming);
        t.output_training = c.has(Clause::OutputTraining);
        t.share_alike = c.has(Clause::ShareAlike) || std_base.is_some_and(|b| b.share_alike);
        // "You must not publish or share the model parameters" bans sharing the weights
        // whatever else the text lets you distribute (its outputs, say).
        let weights_ban = c.get(Clause::NoDistribution).is_some_and(|e| {
            let q = e.quote.to_lowercase();
            let r = clauses::rule("no_distribution_of_weights");
            r.is_match(&q) && !r.lifted(&q)
        });
        t.redistribution = if weights_ban || (c.has(Clause::NoDistribution) && !c.has(Clause::DistributionGrant)) {
            Redistribution::Forbidden
        } else if std_base.is_some() && t.category != Category::OpenWeightsRestricted && !t.use_restrictions {
            std_base.map_or(Redistribution::Conditional, |b| b.redistribution)
        } else {
            Redistribution::Conditional
        };
        t.eu_excluded = c.has(Clause::EuExcluded);
    } else {
        if c.has(Clause::UseRestrictions) && (!standard_unmodified || matches!(basis, Basis::Named(_))) {
            t.use_restrictions = true;
        }
        // A license known only by a name this tool has no terms for: the name, and
        // what the card itself says of commercial use, are all there is.
        if known.is_none() {
            if let Basis::Named(d) = basis {
                let card = folder
                    .cards()
                    .map(clauses::read)
                    .find(|k| k.has(Clause::ResearchOnly) || k.has(Clause::NonCommercial));
                if let Some((category, commercial)) = terms_from_name(&d.value) {
                    t.category = category;
                    t.commercial = commercial;
                } else if let Some(k) = &card {
                    let research = k.has(Clause::ResearchOnly);
                    t.category = if research { Category::ResearchOnly } else { Category::NonCommercial };
                    t.commercial = Commercial::Forbidden;
                }
                commercial_ev =
                    card.and_then(|k| k.get(Clause::ResearchOnly).or(k.get(Clause::NonCommercial)).cloned());
            }
        }
    }

    // "Please also follow the Llama license and terms": the other license's use
    // restrictions pass through to this model, and with them the duty to pass
    // them on when redistributing.
    let also = if no_license { None } else { also_bound(folder, known) };
    if let Some((other, _)) = &also {
        if other.terms.use_restrictions && !t.use_restrictions {
            t.use_restrictions = true;
            c.fill(Clause::UseRestrictions, also.as_ref().map(|(_, e)| e));
            if t.redistribution == Redistribution::Allowed {
                t.redistribution = Redistribution::Conditional;
            }
        }
    }

    // Identity.
    let custom_family = || {
        gov.map(|l| {
            let doc = &folder.docs[l.doc].0;
            known::family_of_custom(&identify::title_line(doc), crate::text::cut(&doc.norm, 8000))
        })
        .or_else(|| match basis {
            Basis::Named(d) => Some(known::family_of_custom(&d.value.to_lowercase(), &d.value.to_lowercase())),
            _ => None,
        })
        .flatten()
        .unwrap_or("other")
    };
    let (license_id, spdx, family, license_name) = if no_license {
        (None, None, "none".to_string(), None)
    } else if modified {
        // A modified standard text keeps its family unless its title gives it a brand.
        let brand = gov.and_then(|l| known::brand_in(&identify::title_line(&folder.docs[l.doc].0)));
        (Some("other".to_string()), None, brand.or(known.map(|k| k.family)).unwrap_or("other").to_string(), None)
    } else if let Some(k) = known {
        (Some(k.id.to_string()), k.spdx.map(str::to_string), k.family.to_string(), k.hub_name.map(str::to_string))
    } else {
        (Some("other".to_string()), None, custom_family().to_string(), None)
    };
    let osi = !modified && known.is_some_and(Known::osi_approved);
    Settled {
        terms: t,
        clauses: c,
        commercial_ev,
        license_id,
        spdx,
        family,
        license_name,
        osi,
        no_license,
        modified,
        custom_text,
    }
}
