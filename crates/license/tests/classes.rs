//! The classes of folder the engine missed on folders it had never seen, one
//! case each shaped like a public model folder of that class (not copied from
//! the development fixtures). Each asserts what the fixture README's labels
//! would say.

use fineprint_license::report::{Summary, TriWord, Tristate};
use fineprint_license::{check, InputFile, Report};

fn folder(files: &[(&str, &str)]) -> Report {
    let input: Vec<InputFile> = files
        .iter()
        .map(|(p, t)| InputFile { path: (*p).to_owned(), size: t.len() as u64, bytes: t.as_bytes().to_vec() })
        .collect();
    let report = check(&input);
    // Every quote stands in the file it names, at the line it names (HTML and
    // YAML-escaped text aside, which are read converted).
    for f in report.findings.iter().filter(|f| f.line > 0) {
        let (_, text) = files.iter().find(|(p, _)| *p == f.file).expect("finding names a file of the folder");
        assert!(f.line <= text.lines().count(), "{f:?}");
    }
    report
}

fn text_of(id: &str) -> &'static str {
    spdx::license_id(id).unwrap_or_else(|| panic!("spdx knows {id}")).text()
}

fn id(s: &Summary) -> (&str, &str, bool) {
    (s.license_id.as_deref().unwrap_or("none"), s.family.as_str(), s.osi_approved)
}

#[test]
fn a_readme_bullet_names_a_license_and_its_use_policy() {
    // A card with no front matter and no license file (Cohere's research releases).
    let r = folder(&[(
        "README.md",
        "# Model Card for Acme Command 7B\n\nAcme Command 7B is an open weights research release of a 7 billion parameter model.\n\n* Point of Contact: Acme Labs\n* License: [CC-BY-NC](https://acme.example/cc-by-nc-license), requires also adhering to [Acme's Acceptable Use Policy](https://acme.example/aup)\n* Model Size: 7 billion parameters\n",
    )]);
    let s = &r.summary;
    assert_eq!(id(s), ("cc-by-nc-4.0", "cc", false));
    assert_eq!(format!("{:?}", s.commercial_use), "Forbidden");
    assert!(s.use_restrictions, "the card makes the use policy binding");
    assert_eq!(s.declared_license.as_deref(), Some("CC-BY-NC"));
    assert_eq!(s.declared_matches_text, None);
}

#[test]
fn license_name_with_a_link_to_a_file_the_folder_lacks() {
    let card = "---\nlicense: other\nlicense_name: tongyi-qianwen\nlicense_link: https://huggingface.co/acme/qwen-7b/blob/main/LICENSE\n---\n# Qwen 7B fine-tune\n\nA chat model.\n";
    let s = folder(&[("README.md", card)]).summary;
    assert_eq!(id(&s), ("other", "qwen", false));
    assert_eq!(s.user_threshold_mau, Some(100_000_000));
    assert!(s.output_training_restriction);
    // A name the table does not know still says what it can.
    let card = "---\nlicense: other\nlicense_name: acme-research-license\nlicense_link: LICENSE\n---\n# Acme 2B\n\nA 2B model.\n";
    let s = folder(&[("README.md", card)]).summary;
    assert_eq!(s.license_id.as_deref(), Some("other"));
    assert_eq!(format!("{:?} {:?}", s.category, s.commercial_use), "ResearchOnly Forbidden");
}

#[test]
fn two_licenses_declared_together_resolve_to_the_weights_half() {
    let card = "---\nlicense: other\nlicense_name: Apache 2.0 + Llama 3.1 Community License\n---\n# Acme 8B\n\nFine-tuned from Llama 3.1 8B.\n";
    let s = folder(&[("README.md", card)]).summary;
    assert_eq!(id(&s), ("llama3.1", "llama", false));
    assert_eq!(s.user_threshold_mau, Some(700_000_000));
    assert!(s.use_restrictions && s.derivative_naming);
}

#[test]
fn a_standard_text_under_a_new_title_with_terms_added_anywhere_is_modified() {
    let apache = text_of("Apache-2.0");
    // New title; an added definition; a use restriction written into section 4; an appendix.
    let body = apache.replacen("Apache License", "ACME MODEL LICENSE AGREEMENT", 1).replacen(
        "\"Licensor\" shall mean",
        "\"Acceptable Use Policy\" shall mean the policy at acme.example/aup, which You agree to follow; You will not use the Model for military purposes or to provide the Model as a hosted service to third parties.\n\n\"Licensor\" shall mean",
        1,
    );
    let body = format!("{body}\n\nAPPENDIX B: ATTRIBUTION\n\nAny product built with the Model must display \"Built with Acme\" on its website or user interface.\n");
    let s = folder(&[("LICENSE", &body)]).summary;
    assert_eq!(id(&s), ("other", "apache", false), "{s:?}");
    assert_eq!(s.spdx, None);
    assert!(s.use_restrictions && s.attribution_required);
    // The same text untouched is Apache-2.0 and OSI-approved, its notice duty quoted from anywhere in it.
    let r = folder(&[("LICENSE", apache)]);
    assert_eq!(id(&r.summary), ("apache-2.0", "apache", true));
    let notice = r.findings_for("attribution_required").next().expect("attribution quoted");
    // The sentence of Apache-2.0's clause sheet, quoted from the folder's copy, not its title.
    assert!(notice.quote.contains("a copy of this License") && notice.line > 1, "{notice:?}");
}

#[test]
fn the_readme_names_the_weights_license_beside_a_code_license() {
    let mit = text_of("MIT").replace("<year>", "2024").replace("<copyright holders>", "Acme");
    let readme = "# Acme TTS\n\n## License\n\nThe code is released under the MIT license. The model weights are released under CC BY-NC 4.0 because of the training data.\n";
    let s = folder(&[("LICENSE", &mit), ("README.md", readme)]).summary;
    assert_eq!(id(&s), ("cc-by-nc-4.0", "cc", false));
    assert_eq!(format!("{:?}", s.commercial_use), "Forbidden");
    // The same from the card's metadata: the model's own declaration.
    let card = "---\nlicense: llama3.2\n---\n# Acme 1B\n\nA Llama 3.2 1B fine-tune.\n";
    let s = folder(&[("LICENSE", &mit), ("README.md", card)]).summary;
    assert_eq!(id(&s), ("llama3.2", "llama", false));
}

#[test]
fn research_only_licenses_forbid_commercial_use() {
    let text = "ACME RESEARCH-ONLY MODEL LICENSE\n\n1. Grant. Acme grants you a non-exclusive, worldwide, royalty-free license to use, reproduce and modify the Model solely for non-commercial research purposes.\n\n2. Restrictions. You may not use the Model for any commercial purpose.\n";
    let s = folder(&[("LICENSE", text)]).summary;
    assert_eq!(format!("{:?} {:?}", s.category, s.commercial_use), "ResearchOnly Forbidden");
    assert!(!s.osi_approved);
}

#[test]
fn lgpl_is_not_gpl() {
    for (lesser, want) in [("LGPL-3.0-only", "lgpl-3.0"), ("LGPL-2.1-only", "lgpl-2.1")] {
        let s = folder(&[("COPYING.LESSER", text_of(lesser))]).summary;
        assert_eq!(id(&s), (want, "gpl", true), "{lesser}");
        assert_eq!(format!("{:?}", s.category), "WeakCopyleft");
        // The GNU layout: COPYING (GPL) beside COPYING.LESSER; the lesser one applies.
        let s = folder(&[("COPYING", text_of("GPL-3.0-only")), ("COPYING.LESSER", text_of(lesser))]).summary;
        assert_eq!(s.license_id.as_deref(), Some(want), "{lesser} beside the GPL");
    }
}

#[test]
fn a_license_text_in_the_front_matter_is_compared_with_the_declaration() {
    // Gated cards carry the license in `extra_gated_prompt`, as a YAML double-quoted scalar.
    let card = "---\nlicense: llama3.2\nextra_gated_prompt: \"### LLAMA 3.2 COMMUNITY LICENSE AGREEMENT\\n\\nLlama 3.2 Version\\\n  \\ Release Date: September 25, 2024\\n\\n“Agreement” means the terms and conditions\\\n  \\ for use, reproduction, distribution and modification of the Llama Materials set\\\n  \\ forth herein.\\n\\n2. Additional Commercial Terms. If, on the Llama 3.2 version\\\n  \\ release date, the monthly active users of the products or services made available\\\n  \\ by or for Licensee, or Licensee’s affiliates, is greater than 700 million monthly\\\n  \\ active users in the preceding calendar month, you must request a license from\\\n  \\ Meta, which Meta may grant to you in its sole discretion.\\n\\nYou will not use the Llama Materials to violate the Acceptable Use Policy. If you use the Llama Materials to create, train, fine tune, or otherwise improve an AI model, you shall include “Llama” at the beginning of any such AI model name.\"\nextra_gated_button_content: Submit\n---\n# Llama 3.2 1B\n\nThe Llama 3.2 collection of multilingual large language models.\n";
    let r = folder(&[("README.md", card)]);
    let s = &r.summary;
    assert_eq!(id(s), ("llama3.2", "llama", false));
    assert_eq!(s.declared_matches_text, Some(true));
    let named = r.findings_for("license_id").next().expect("license finding");
    assert_eq!(named.line, 3, "points at the front matter line: {named:?}");
}

#[test]
fn html_terms_are_read_and_quoted_by_line() {
    let html = "<!DOCTYPE html>\n<html><head><title>Acme Model Terms of Use</title></head>\n<body>\n<h1>Acme Model Terms of Use</h1>\n<p>You may use the Model for non-commercial purposes only.</p>\n<p>You agree not to use the Model for military purposes.</p>\n</body></html>\n";
    let r = folder(&[("ACME_TERMS.html", html)]);
    let s = &r.summary;
    assert_eq!(format!("{:?}", s.commercial_use), "Forbidden");
    assert!(s.use_restrictions);
    let f = r.findings_for("use_restrictions").next().expect("quoted");
    assert_eq!(f.line, 6);
    assert!(f.quote.contains("military"));
}

#[test]
fn training_data_follows_the_rule() {
    let conv = "---\nlicense: apache-2.0\nbase_model: acme/foo\n---\n# someone/foo-Q4_K_M-GGUF\nThis model was converted to GGUF format from `acme/foo` using llama.cpp.\nRefer to the original model card for more details on the model.\n";
    let s = folder(&[("README.md", conv)]).summary;
    assert_eq!(s.training_data_disclosed, Tristate::Word(TriWord::Unknown));
    let eval = "# Foo 1B\n\nFoo is a 1B parameter model pretrained on 2 trillion tokens of public web data.\n\n## Evaluation\n\nWe evaluated Foo on MMLU and HellaSwag.\n";
    assert_eq!(folder(&[("README.md", eval)]).summary.training_data_disclosed, Tristate::Bool(false));
    let named = "# Foo 1B\n\n## Training Data\n\nSee the data cards of [the corpus](https://huggingface.co/datasets/acme/web-corpus).\n";
    assert_eq!(folder(&[("README.md", named)]).summary.training_data_disclosed, Tristate::Bool(true));
}

#[test]
fn a_card_that_only_names_a_model_license_gets_its_published_terms_and_sentences() {
    // A card with no license file: a License section that names and links the terms.
    let card = "# Acme Chat 2B — Model Card\n\nAcme Chat 2B is a small chat model fine-tuned from Gemma 2 2B.\n\n## License\n\n- License: [Gemma Terms of Use](https://ai.google.dev/gemma/terms)\n";
    let r = folder(&[("README.md", card)]);
    let s = &r.summary;
    assert_eq!(id(s), ("gemma", "gemma", false));
    assert!(s.use_restrictions && s.attribution_required);
    assert_eq!(s.redistribution_allowed, Tristate::Word(TriWord::Conditional));
    // The folder's pointer is quoted, with the license's own sentence beside it.
    let f = r.findings_for("use_restrictions").next().expect("use restrictions quoted");
    assert_eq!((f.file.as_str(), f.line), ("README.md", 7), "{f:?}");
    let published = f.published.as_ref().expect("the published sentence");
    assert!(published.sentence.contains("Prohibited Use Policy"), "{published:?}");
    assert!(f.note.as_deref().is_some_and(|n| n.contains("not in this folder")), "{f:?}");
}

#[test]
fn a_metadata_file_beside_the_weights_declares_a_license() {
    // A PEFT adapter folder: adapter_config.json is the only file that states the license.
    let adapter = r#"{"base_model_name_or_path": "acme/acme-7b", "peft_type": "LORA", "license": "apache-2.0"}"#;
    let r = folder(&[("adapter_config.json", adapter)]);
    assert_eq!(r.summary.declared_license.as_deref(), Some("apache-2.0"));
    assert_eq!(id(&r.summary), ("apache-2.0", "apache", true));
}

#[test]
fn an_ollama_modelfile_carries_the_license_text() {
    // A model folder as Ollama publishes it: the weights, a Modelfile, no LICENSE file.
    let modelfile = "FROM ./acme-3b.Q4_K_M.gguf\nPARAMETER stop \"<|end|>\"\nLICENSE \"\"\"ACME RESEARCH MODEL LICENSE\n\nYou may use, copy and modify the Model for non-commercial research purposes only.\nYou may not use the Model or its outputs to train or improve any other large language model.\n\"\"\"\n";
    let r = folder(&[("Modelfile", modelfile)]);
    let s = &r.summary;
    assert_eq!(s.category, fineprint_license::known::Category::ResearchOnly, "{s:?}");
    assert!(s.output_training_restriction);
    let f = r.findings_for("output_training_restriction").next().expect("quoted");
    assert_eq!((f.file.as_str(), f.line), ("Modelfile", 6), "{f:?}");
}
