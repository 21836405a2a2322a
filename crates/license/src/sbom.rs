//! Reports in the standard formats compliance pipelines read: CycloneDX 1.6
//! (an ML-BOM: one `machine-learning-model` component per model, its
//! licenses, its model card's training data sets) and SPDX 2.3 (one package
//! per model, custom terms as `LicenseRef-` entries).
//!
//! Pure functions of the reports: the caller supplies the time and the
//! document's name, so the same folders give the same bytes.

use serde_json::{json, Value};

use crate::Report;

/// One model for a bill of materials.
pub struct Model<'a> {
    /// How the model is known (its folder or hub name).
    pub name: &'a str,
    /// A revision, where known (a hub snapshot's commit).
    pub version: Option<&'a str>,
    pub report: &'a Report,
}

/// An SPDX expression every id of which SPDX lists, or None.
fn spdx_expression(report: &Report) -> Option<String> {
    let s = report.summary.spdx.as_deref()?;
    let expr = spdx::Expression::parse(s).ok()?;
    let standard = expr.requirements().all(|r| matches!(r.req.license, spdx::LicenseItem::Spdx { .. }));
    standard.then(|| s.to_owned())
}

/// The name custom terms go by.
fn custom_name(report: &Report) -> String {
    report
        .verdict
        .license_name
        .clone()
        .or_else(|| report.license_name.clone())
        .unwrap_or_else(|| "No license found".to_owned())
}

/// What the folder says of custom terms, for the SBOM's license text.
fn custom_text(m: &Model) -> String {
    let r = m.report;
    let docs: Vec<&str> = r.documents.iter().map(|d| d.file.as_str()).collect();
    let mut text = format!(
        "{} — {}. Identified by Fine Print from {}.",
        custom_name(r),
        r.verdict.headline,
        if docs.is_empty() { "the model card".to_owned() } else { docs.join(", ") }
    );
    for f in &r.verdict.osd_failures {
        text.push_str(&format!("\n- {f}"));
    }
    text
}

/// Facts of the report that neither format has a field for, as name/value pairs.
fn facts(r: &Report) -> Vec<(&'static str, String)> {
    let s = &r.summary;
    let mut out = vec![
        ("fineprint:verdict", r.verdict.headline.clone()),
        ("fineprint:osi_approved", s.osi_approved.to_string()),
        ("fineprint:commercial_use", format!("{:?}", s.commercial_use).to_lowercase()),
        ("fineprint:use_restrictions", s.use_restrictions.to_string()),
        ("fineprint:attribution_required", s.attribution_required.to_string()),
        ("fineprint:output_training_restriction", s.output_training_restriction.to_string()),
    ];
    if let Some(n) = s.user_threshold_mau {
        out.push(("fineprint:user_threshold_mau", n.to_string()));
    }
    if let Some(n) = s.revenue_threshold_usd {
        out.push(("fineprint:revenue_threshold_usd", n.to_string()));
    }
    out
}

/// The bases of a report's lineage (every link but the model itself).
fn bases(r: &Report) -> &[crate::lineage::Link] {
    &r.lineage[..r.lineage.len().saturating_sub(1)]
}

/// A base's license as CycloneDX writes one: an SPDX id, else its name.
fn base_license(l: &crate::lineage::Link) -> Option<Value> {
    let k = l.known()?;
    Some(match k.spdx.filter(|_| k.refines.is_none()) {
        Some(id) => json!([{ "license": { "id": id } }]),
        None => json!([{ "license": { "name": k.name } }]),
    })
}

/// The openness of a report as name/value properties of its model card.
fn openness_properties(r: &Report) -> Vec<Value> {
    let o = &r.openness;
    let mut p = vec![
        json!({ "name": "fineprint:openness:framework", "value": o.framework }),
        json!({ "name": "fineprint:openness:mof_class", "value": o.mof_class.clone().unwrap_or_else(|| "none".into()) }),
        json!({ "name": "fineprint:openness:osaid_conforms", "value": o.osaid.conforms.to_string() }),
    ];
    for u in &o.osaid.unmet {
        p.push(json!({ "name": "fineprint:openness:osaid_unmet", "value": u }));
    }
    for m in &o.missing {
        p.push(json!({ "name": "fineprint:openness:mof_missing", "value": m }));
    }
    for c in &o.components {
        let status =
            serde_json::to_value(c.status).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        p.push(json!({ "name": format!("fineprint:mof:{}", c.id), "value": status }));
    }
    p.push(json!({ "name": "fineprint:openness:note", "value": o.note }));
    p
}

/// A CycloneDX 1.6 JSON BOM. `timestamp` is RFC 3339 (`2026-11-29T10:00:00Z`).
pub fn cyclonedx(models: &[Model], tool_version: &str, timestamp: &str) -> Value {
    let components: Vec<Value> = models
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let r = m.report;
            let licenses = match spdx_expression(r) {
                Some(e) if e.contains(' ') => json!([{ "expression": e }]),
                Some(id) => json!([{ "license": { "id": id } }]),
                None => {
                    let mut l = json!({
                        "name": custom_name(r),
                        "text": { "contentType": "text/plain", "content": custom_text(m) },
                    });
                    if let Some(url) = r.license_link.as_deref().filter(|u| u.starts_with("http")) {
                        l["url"] = json!(url);
                    }
                    json!([{ "license": l }])
                }
            };
            let mut c = json!({
                "type": "machine-learning-model",
                "bom-ref": format!("model-{}", i + 1),
                "name": m.name,
                "licenses": licenses,
                "properties": facts(r).into_iter().map(|(n, v)| json!({ "name": n, "value": v })).collect::<Vec<_>>(),
            });
            if let Some(v) = m.version {
                c["version"] = json!(v);
            }
            let mut card = json!({ "properties": openness_properties(r) });
            if !r.datasets.is_empty() {
                let data: Vec<Value> = r.datasets.iter().map(|d| json!({ "type": "dataset", "name": d })).collect();
                card["modelParameters"] = json!({ "datasets": data });
            }
            c["modelCard"] = card;
            // Where the model comes from: its bases, with their licenses.
            let ancestors: Vec<Value> = bases(r)
                .iter()
                .enumerate()
                .map(|(j, l)| {
                    let mut a = json!({
                        "type": "machine-learning-model",
                        "bom-ref": format!("model-{}-base-{}", i + 1, j + 1),
                        "name": l.repo.as_deref().unwrap_or(&l.name),
                    });
                    if let Some(repo) = &l.repo {
                        a["purl"] = json!(format!("pkg:huggingface/{repo}"));
                    }
                    if let Some(lic) = base_license(l) {
                        a["licenses"] = lic;
                    }
                    a
                })
                .collect();
            if !ancestors.is_empty() {
                c["pedigree"] = json!({ "ancestors": ancestors });
            }
            c
        })
        .collect();
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "metadata": {
            "timestamp": timestamp,
            "tools": { "components": [{ "type": "application", "name": "fineprint", "version": tool_version }] },
        },
        "components": components,
    })
}

/// `LicenseRef-` ids allow letters, digits, '.' and '-'.
fn license_ref(name: &str) -> String {
    let mut id = String::from("LicenseRef-");
    for c in name.chars() {
        match c {
            c if c.is_ascii_alphanumeric() || c == '.' || c == '-' => id.push(c),
            _ if !id.ends_with('-') => id.push('-'),
            _ => {}
        }
    }
    id.trim_end_matches('-').to_owned()
}

/// An SPDX 2.3 JSON document. `namespace` must be a unique URI for this document.
pub fn spdx(models: &[Model], name: &str, namespace: &str, tool_version: &str, created: &str) -> Value {
    let mut packages = Vec::new();
    let mut extracted: Vec<Value> = Vec::new();
    let mut relationships = Vec::new();
    for (i, m) in models.iter().enumerate() {
        let r = m.report;
        let id = format!("SPDXRef-Model-{}", i + 1);
        let license = match (&r.summary.category, spdx_expression(r)) {
            (crate::known::Category::NoLicense, _) => "NONE".to_owned(),
            (_, Some(e)) => e,
            (_, None) => {
                let lr = license_ref(&custom_name(r));
                if !extracted.iter().any(|e| e["licenseId"] == lr.as_str()) {
                    let mut e = json!({ "licenseId": lr, "name": custom_name(r), "extractedText": custom_text(m) });
                    if let Some(url) = r.license_link.as_deref().filter(|u| u.starts_with("http")) {
                        e["seeAlsos"] = json!([url]);
                    }
                    extracted.push(e);
                }
                lr
            }
        };
        let declared = r.summary.declared_license.as_deref().map_or("NOASSERTION".to_owned(), |d| {
            spdx::Expression::parse(d)
                .ok()
                .filter(|e| e.requirements().all(|q| matches!(q.req.license, spdx::LicenseItem::Spdx { .. })))
                .map_or_else(|| license.clone(), |_| d.to_owned())
        });
        let mut p = json!({
            "SPDXID": id,
            "name": m.name,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "licenseConcluded": license,
            "licenseDeclared": declared,
            "copyrightText": "NOASSERTION",
            "primaryPackagePurpose": "OTHER",
            "comment": facts(r).into_iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join("; "),
        });
        if let Some(v) = m.version {
            p["versionInfo"] = json!(v);
        }
        packages.push(p);
        relationships.push(json!({
            "spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": id,
        }));
        // Each base as a package of its own: a quantization is a variant of
        // its base, a fine-tune, adapter or merge a descendant.
        let variant = r.lineage.last().and_then(|l| l.relation) == Some(crate::lineage::Relation::Quantized);
        for (j, l) in bases(r).iter().enumerate() {
            let base_id = format!("{id}-Base-{}", j + 1);
            let concluded = match l.known() {
                Some(k) if k.spdx.is_some() && k.refines.is_none() => k.spdx.unwrap_or_default().to_owned(),
                Some(k) => {
                    let lr = license_ref(k.name);
                    if !extracted.iter().any(|e| e["licenseId"] == lr.as_str()) {
                        extracted.push(json!({ "licenseId": lr, "name": k.name, "extractedText": format!("{} (published terms; the base model's license as Fine Print's data records it)", k.name) }));
                    }
                    lr
                }
                None => "NOASSERTION".to_owned(),
            };
            packages.push(json!({
                "SPDXID": base_id,
                "name": l.repo.as_deref().unwrap_or(&l.name),
                "downloadLocation": l.repo.as_ref().map_or("NOASSERTION".to_owned(), |r| format!("https://huggingface.co/{r}")),
                "filesAnalyzed": false,
                "licenseConcluded": concluded,
                "licenseDeclared": "NOASSERTION",
                "copyrightText": "NOASSERTION",
                "primaryPackagePurpose": "OTHER",
            }));
            relationships.push(json!({
                "spdxElementId": id,
                "relationshipType": if variant { "VARIANT_OF" } else { "DESCENDANT_OF" },
                "relatedSpdxElement": base_id,
            }));
        }
    }
    let mut doc = json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": name,
        "documentNamespace": namespace,
        "creationInfo": { "created": created, "creators": [format!("Tool: fineprint-{tool_version}")] },
        "packages": packages,
        "relationships": relationships,
    });
    if !extracted.is_empty() {
        doc["hasExtractedLicensingInfos"] = json!(extracted);
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(files: &[(&str, &str)]) -> Report {
        crate::check(&crate::test_files(files))
    }

    #[test]
    fn standard_and_custom_licenses_take_their_forms() {
        let apache = report(&[("README.md", "---\nlicense: apache-2.0\ndatasets:\n- org/corpus\n---\n# M\n")]);
        let custom = report(&[(
            "README.md",
            "---\nlicense: other\nlicense_name: acme-model-license\nlicense_link: https://example.com/LICENSE\n---\n# M\n",
        )]);
        let none = report(&[("README.md", "# A model\n")]);
        let models = [
            Model { name: "org/apache", version: Some("abc"), report: &apache },
            Model { name: "org/custom", version: None, report: &custom },
            Model { name: "org/none", version: None, report: &none },
        ];
        let bom = cyclonedx(&models, "0.1.0", "2026-11-29T10:00:00Z");
        let c = &bom["components"];
        assert_eq!(c[0]["licenses"][0]["license"]["id"], "Apache-2.0");
        assert_eq!(c[0]["modelCard"]["modelParameters"]["datasets"][0]["name"], "org/corpus");
        assert_eq!(c[0]["type"], "machine-learning-model");
        assert!(c[1]["licenses"][0]["license"]["name"].as_str().unwrap().to_lowercase().contains("acme"));
        assert_eq!(c[1]["licenses"][0]["license"]["url"], "https://example.com/LICENSE");
        let doc = spdx(&models, "audit", "https://example.invalid/x", "0.1.0", "2026-11-29T10:00:00Z");
        let p = &doc["packages"];
        assert_eq!(p[0]["licenseConcluded"], "Apache-2.0");
        let lr = p[1]["licenseConcluded"].as_str().unwrap();
        assert!(lr.starts_with("LicenseRef-"), "{lr}");
        assert_eq!(doc["hasExtractedLicensingInfos"][0]["licenseId"], lr);
        assert_eq!(p[2]["licenseConcluded"], "NONE");
    }

    #[test]
    fn lineage_and_openness_reach_both_formats() {
        let tune = report(&[(
            "README.md",
            "---\nlicense: llama3.2\nbase_model: meta-llama/Llama-3.2-1B-Instruct\n---\n# Llama-3.2-1B-Medical\n",
        )]);
        let quant = report(&[(
            "README.md",
            "---\nlicense: apache-2.0\nbase_model: Qwen/Qwen2.5-0.5B-Instruct\n---\n# Qwen2.5-0.5B-Instruct-GGUF\n",
        )]);
        let models = [
            Model { name: "a/tune", version: None, report: &tune },
            Model { name: "b/quant", version: None, report: &quant },
        ];
        let bom = cyclonedx(&models, "0.1.0", "2026-11-29T10:00:00Z");
        let a = &bom["components"][0]["pedigree"]["ancestors"][0];
        assert_eq!(a["name"], "meta-llama/Llama-3.2-1B-Instruct");
        assert_eq!(a["purl"], "pkg:huggingface/meta-llama/Llama-3.2-1B-Instruct");
        assert_eq!(a["licenses"][0]["license"]["name"], "Llama 3.2 Community License");
        assert_eq!(bom["components"][1]["pedigree"]["ancestors"][0]["licenses"][0]["license"]["id"], "Apache-2.0");
        let props = bom["components"][0]["modelCard"]["properties"].as_array().expect("properties");
        assert!(props.iter().any(|p| p["name"] == "fineprint:openness:mof_class" && p["value"] == "none"), "{props:?}");
        assert!(props.iter().any(|p| p["name"] == "fineprint:mof:model-card" && p["value"] == "present"));

        let doc = spdx(&models, "x", "https://example.invalid/y", "0.1.0", "2026-11-29T10:00:00Z");
        let rel = doc["relationships"].as_array().expect("relationships");
        let of = |kind: &str, from: &str| {
            rel.iter().find(|r| r["relationshipType"] == kind && r["spdxElementId"] == from).cloned()
        };
        assert_eq!(
            of("DESCENDANT_OF", "SPDXRef-Model-1").expect("descendant")["relatedSpdxElement"],
            "SPDXRef-Model-1-Base-1"
        );
        assert_eq!(
            of("VARIANT_OF", "SPDXRef-Model-2").expect("variant")["relatedSpdxElement"],
            "SPDXRef-Model-2-Base-1"
        );
        let base = doc["packages"]
            .as_array()
            .expect("packages")
            .iter()
            .find(|p| p["SPDXID"] == "SPDXRef-Model-2-Base-1")
            .cloned()
            .expect("base package");
        assert_eq!(base["licenseConcluded"], "Apache-2.0");
        assert_eq!(base["downloadLocation"], "https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct");
    }

    #[test]
    fn license_refs_use_only_allowed_characters() {
        assert_eq!(
            license_ref("Llama 3.2 Community License (modified)"),
            "LicenseRef-Llama-3.2-Community-License-modified"
        );
    }
}
