//! The YAML front matter of a Hugging Face model card (`---` ... `---`).

use yaml_rust2::{Yaml, YamlLoader};

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct FrontMatter {
    /// `license:` (a list is joined with " OR ", as the Hub reads it).
    pub license: Option<String>,
    pub license_name: Option<String>,
    pub license_link: Option<String>,
    pub datasets: Vec<String>,
    pub base_model: Vec<String>,
    /// `base_model_relation:` (finetune, adapter, quantized, merge).
    pub base_model_relation: Option<String>,
    /// The model's own name: `model_name:`, else the first `model-index` entry's name.
    pub model_name: Option<String>,
    /// 1-based line of the `license:` key in the card, for quoting.
    pub license_line: Option<usize>,
    pub license_name_line: Option<usize>,
    pub base_model_line: Option<usize>,
    pub model_name_line: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FrontMatterError {
    #[error("has front matter that is not valid YAML (line {line}: {reason}); fix the block between the `---` lines")]
    Invalid { line: usize, reason: String },
    #[error("opens front matter with `---` but never closes it")]
    Unclosed,
}

/// Splits off and parses the front matter. `Ok(None)` when the card has none.
pub fn parse(text: &str) -> Result<Option<FrontMatter>, FrontMatterError> {
    let body = text.trim_start_matches('\u{feff}');
    let mut lines = body.lines();
    if lines.next().map(str::trim_end) != Some("---") {
        return Ok(None);
    }
    let mut yaml = String::new();
    let mut closed = false;
    for line in lines {
        if matches!(line.trim_end(), "---" | "...") {
            closed = true;
            break;
        }
        yaml.push_str(line);
        yaml.push('\n');
    }
    if !closed {
        return Err(FrontMatterError::Unclosed);
    }
    let docs = YamlLoader::load_from_str(&yaml).map_err(|e| FrontMatterError::Invalid {
        // +1 for the opening `---`, +1 to make the marker 1-based.
        line: e.marker().line() + 1,
        reason: e.info().to_owned(),
    })?;
    let Some(doc) = docs.into_iter().next() else {
        return Ok(Some(FrontMatter::default()));
    };
    let key_line = |key: &str| {
        yaml.lines().position(|l| l.starts_with(key) && l[key.len()..].trim_start().starts_with(':')).map(|i| i + 2)
    };
    Ok(Some(FrontMatter {
        license: strings(&doc["license"]).map(|v| v.join(" OR ")),
        license_name: strings(&doc["license_name"]).and_then(|v| v.into_iter().next()),
        license_link: strings(&doc["license_link"]).and_then(|v| v.into_iter().next()),
        datasets: strings(&doc["datasets"]).unwrap_or_default(),
        base_model: strings(&doc["base_model"]).unwrap_or_default(),
        // The Hub tags a derivative `base_model:<relation>:<repo>` when the card does not say.
        base_model_relation: strings(&doc["base_model_relation"]).and_then(|v| v.into_iter().next()).or_else(|| {
            strings(&doc["tags"])?.iter().find_map(|t| {
                let rest = t.strip_prefix("base_model:")?;
                let (relation, repo) = rest.split_once(':')?;
                (!repo.is_empty()).then(|| relation.to_owned())
            })
        }),
        model_name: strings(&doc["model_name"])
            .or_else(|| strings(&doc["model-index"][0]["name"]))
            .and_then(|v| v.into_iter().next()),
        license_line: key_line("license"),
        license_name_line: key_line("license_name"),
        base_model_line: key_line("base_model"),
        model_name_line: key_line("model_name").or_else(|| key_line("model-index")),
    }))
}

fn strings(y: &Yaml) -> Option<Vec<String>> {
    match y {
        Yaml::String(s) => Some(vec![s.clone()]),
        Yaml::Integer(i) => Some(vec![i.to_string()]),
        Yaml::Real(r) => Some(vec![r.clone()]),
        Yaml::Array(a) => {
            let v: Vec<String> = a.iter().filter_map(strings).flatten().collect();
            (!v.is_empty()).then_some(v)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_license_fields_and_lines() {
        let fm = parse("---\nlicense: other\nlicense_name: yi-license\ndatasets:\n- a/b\n---\n# Card")
            .expect("valid")
            .expect("present");
        assert_eq!(fm.license.as_deref(), Some("other"));
        assert_eq!(fm.license_name.as_deref(), Some("yi-license"));
        assert_eq!(fm.datasets, vec!["a/b"]);
        assert_eq!(fm.license_line, Some(2));
        assert_eq!(fm.license_name_line, Some(3));
    }

    #[test]
    fn reads_lineage_fields() {
        let fm = parse("---\nbase_model:\n- a/b\n- c/d\nbase_model_relation: merge\nmodel-index:\n- name: My-Merge\n  results: []\n---\n")
            .expect("valid")
            .expect("present");
        assert_eq!(fm.base_model, vec!["a/b", "c/d"]);
        assert_eq!(fm.base_model_relation.as_deref(), Some("merge"));
        assert_eq!(fm.model_name.as_deref(), Some("My-Merge"));
        assert_eq!(fm.base_model_line, Some(2));
    }

    #[test]
    fn malformed_front_matter_names_the_line() {
        let err = parse("---\nlicense: [apache\n---\n").expect_err("invalid");
        assert!(matches!(err, FrontMatterError::Invalid { .. }));
        assert_eq!(parse("---\nlicense: mit\n"), Err(FrontMatterError::Unclosed));
        assert_eq!(parse("# no front matter"), Ok(None));
    }
}
