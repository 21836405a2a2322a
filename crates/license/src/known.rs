//! The one table of licenses this tool knows by name: Hugging Face ids, SPDX
//! ids, the values seen in GGUF `general.license`, the phrases that identify a
//! full text, and each license's terms as published (used when a folder names
//! a license but does not carry its text).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    Permissive,
    Copyleft,
    WeakCopyleft,
    PublicDomain,
    OpenWeightsRestricted,
    NonCommercial,
    ResearchOnly,
    NoLicense,
    Proprietary,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Commercial {
    Allowed,
    /// Allowed subject to caps, registration or approval.
    Conditional,
    Forbidden,
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redistribution {
    Allowed,
    Conditional,
    Forbidden,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terms {
    pub category: Category,
    pub commercial: Commercial,
    pub mau: Option<u64>,
    pub revenue_usd: Option<u64>,
    pub use_restrictions: bool,
    pub attribution: bool,
    pub naming: bool,
    pub output_training: bool,
    pub share_alike: bool,
    pub redistribution: Redistribution,
    /// Access is refused to people or companies in the EU (multimodal Llama).
    pub eu_excluded: bool,
}

#[derive(Debug)]
pub struct Known {
    /// Hugging Face style id ("apache-2.0", "llama3.1", "other").
    pub id: &'static str,
    /// The `license_name` the Hub uses when `id` is "other".
    pub license_name: Option<&'static str>,
    pub name: &'static str,
    pub spdx: Option<&'static str>,
    pub family: &'static str,
    /// Other spellings seen in cards, GGUF metadata and prose.
    pub aliases: &'static [&'static str],
    /// Normalised phrases that identify the full text (checked near its top).
    pub markers: &'static [&'static str],
    pub terms: Terms,
}

impl Known {
    pub fn osi_approved(&self) -> bool {
        self.spdx.and_then(spdx::license_id).is_some_and(|l| l.is_osi_approved())
    }
    pub fn is_standard(&self) -> bool {
        self.spdx.is_some()
    }
}

use Category as C;
use Commercial as K;
use Redistribution as R;

const fn std_terms(category: Category, attribution: bool, share_alike: bool) -> Terms {
    Terms {
        category,
        commercial: match category {
            C::NonCommercial => K::Forbidden,
            _ => K::Allowed,
        },
        mau: None,
        revenue_usd: None,
        use_restrictions: false,
        attribution,
        naming: false,
        output_training: false,
        share_alike,
        redistribution: R::Allowed,
        eu_excluded: false,
    }
}

const fn model_terms(commercial: Commercial, mau: Option<u64>, naming: bool, output_training: bool) -> Terms {
    Terms {
        category: C::OpenWeightsRestricted,
        commercial,
        mau,
        revenue_usd: None,
        use_restrictions: true,
        attribution: true,
        naming,
        output_training,
        share_alike: false,
        redistribution: R::Conditional,
        eu_excluded: false,
    }
}

const PERMISSIVE: Terms = std_terms(C::Permissive, true, false);
const NOTICE_FREE: Terms = std_terms(C::Permissive, false, false);
const PUBLIC: Terms = std_terms(C::PublicDomain, false, false);
const COPYLEFT: Terms = std_terms(C::Copyleft, true, true);
const WEAK: Terms = std_terms(C::WeakCopyleft, true, true);
const NC: Terms = std_terms(C::NonCommercial, true, false);
const NC_SA: Terms = std_terms(C::NonCommercial, true, true);
const ND: Terms = Terms { category: C::OpenWeightsRestricted, ..PERMISSIVE };
const NC_ND: Terms = Terms { category: C::NonCommercial, ..NC };
const RAIL: Terms = model_terms(K::Allowed, None, false, false);
const LLAMA3X: Terms = model_terms(K::Conditional, Some(700_000_000), true, false);
const LLAMA_MM: Terms = Terms { eu_excluded: true, ..LLAMA3X };

macro_rules! standard {
    ($id:literal, $spdx:literal, $family:literal, $name:literal, $terms:expr, [$($alias:literal),*], [$($m:literal),*]) => {
        Known { id: $id, license_name: None, name: $name, spdx: Some($spdx), family: $family,
                aliases: &[$($alias),*], markers: &[$($m),*], terms: $terms }
    };
}
macro_rules! model {
    ($id:literal, $lname:expr, $family:literal, $name:literal, $terms:expr, [$($alias:literal),*], [$($m:literal),*]) => {
        Known { id: $id, license_name: $lname, name: $name, spdx: None, family: $family,
                aliases: &[$($alias),*], markers: &[$($m),*], terms: $terms }
    };
}

/// Order matters where markers overlap: the more specific license comes first.
pub static KNOWN: &[Known] = &[
    // Model licenses: identified by their own titles.
    model!(
        "llama2",
        None,
        "llama",
        "Llama 2 Community License",
        model_terms(K::Conditional, Some(700_000_000), false, true),
        ["llama-2", "llama 2 community license"],
        ["llama 2 community license", "llama 2 version release date"]
    ),
    model!(
        "llama3.1",
        None,
        "llama",
        "Llama 3.1 Community License",
        LLAMA3X,
        ["llama-3.1", "llama 3.1 community license"],
        ["llama 3.1 community license", "llama 3.1 version release date"]
    ),
    model!(
        "llama3.2",
        None,
        "llama",
        "Llama 3.2 Community License",
        LLAMA_MM,
        ["llama-3.2", "llama 3.2 community license"],
        ["llama 3.2 community license", "llama 3.2 version release date"]
    ),
    model!(
        "llama3.3",
        None,
        "llama",
        "Llama 3.3 Community License",
        LLAMA3X,
        ["llama-3.3", "llama 3.3 community license"],
        ["llama 3.3 community license", "llama 3.3 version release date"]
    ),
    model!(
        "llama4",
        None,
        "llama",
        "Llama 4 Community License",
        LLAMA_MM,
        ["llama-4", "llama 4 community license"],
        ["llama 4 community license", "llama 4 version effective date"]
    ),
    model!(
        "llama3",
        None,
        "llama",
        "Meta Llama 3 Community License",
        model_terms(K::Conditional, Some(700_000_000), true, true),
        ["llama-3", "meta llama 3 community license"],
        ["meta llama 3 community license", "meta llama 3 version release date"]
    ),
    model!("gemma", None, "gemma", "Gemma Terms of Use", RAIL, ["gemma terms of use"], ["gemma terms of use"]),
    model!(
        "other",
        Some("qwen-research"),
        "qwen",
        "Qwen Research License",
        Terms {
            category: C::ResearchOnly,
            commercial: K::Forbidden,
            use_restrictions: false,
            ..model_terms(K::Forbidden, None, false, true)
        },
        ["qwen-research", "qwen research license"],
        ["qwen research license agreement"]
    ),
    model!(
        "other",
        Some("tongyi-qianwen"),
        "qwen",
        "Tongyi Qianwen License",
        Terms { use_restrictions: false, ..model_terms(K::Conditional, Some(100_000_000), false, true) },
        ["tongyi-qianwen", "tongyi qianwen license"],
        ["tongyi qianwen license agreement", "tongyi qianwen research license"]
    ),
    model!(
        "other",
        Some("qwen"),
        "qwen",
        "Qwen License",
        Terms { use_restrictions: false, ..model_terms(K::Conditional, Some(100_000_000), false, true) },
        ["qwen", "qwen license"],
        ["qwen license agreement"]
    ),
    model!(
        "openrail++",
        None,
        "rail",
        "CreativeML Open RAIL++-M",
        RAIL,
        ["creativeml-openrail++-m", "openrail++-m"],
        ["open rail++-m license", "openrail++"]
    ),
    model!(
        "creativeml-openrail-m",
        None,
        "rail",
        "CreativeML Open RAIL-M",
        RAIL,
        ["creativeml openrail m"],
        ["creativeml open rail-m"]
    ),
    model!(
        "bigscience-bloom-rail-1.0",
        None,
        "rail",
        "BigScience BLOOM RAIL 1.0",
        RAIL,
        [],
        ["bigscience rail license v1.0", "bigscience bloom rail"]
    ),
    model!(
        "bigscience-openrail-m",
        None,
        "rail",
        "BigScience OpenRAIL-M",
        RAIL,
        [],
        ["bigscience open rail-m", "bigscience openrail-m"]
    ),
    model!(
        "bigcode-openrail-m",
        None,
        "rail",
        "BigCode OpenRAIL-M",
        RAIL,
        [],
        ["bigcode open rail-m", "bigcode openrail-m"]
    ),
    model!(
        "openrail-m",
        None,
        "rail",
        "Open RAIL-M",
        RAIL,
        ["open rail-m", "openrail-m"],
        ["open rail-m license", "openrail-m license"]
    ),
    model!("openrail", None, "rail", "Open RAIL", RAIL, ["open rail"], ["responsible ai license", "open rail license"]),
    model!(
        "other",
        Some("deepseek"),
        "deepseek",
        "DeepSeek License Agreement",
        RAIL,
        ["deepseek", "deepseek-license", "deepseek license"],
        ["deepseek license agreement"]
    ),
    model!(
        "other",
        Some("yi-license"),
        "yi",
        "Yi Series Models License",
        Terms { commercial: K::Conditional, ..RAIL },
        ["yi-license", "yi license"],
        ["yi series models license agreement", "yi series models community license"]
    ),
    model!(
        "other",
        Some("glm-4"),
        "glm",
        "GLM-4 License",
        Terms { commercial: K::Conditional, ..RAIL },
        ["glm-4", "glm-4 license"],
        ["glm-4 license", "glm-4-9b license"]
    ),
    model!(
        "other",
        Some("chatglm"),
        "glm",
        "ChatGLM Model License",
        Terms { commercial: K::Conditional, ..RAIL },
        ["chatglm", "chatglm2-6b", "chatglm3-6b"],
        ["chatglm3-6b license", "chatglm2-6b license", "chatglm-6b license", "chatglm-6b 模型许可"]
    ),
    model!(
        "other",
        Some("sai-nc-community"),
        "stability",
        "Stability AI Non-Commercial Research Community License",
        Terms { category: C::NonCommercial, commercial: K::Forbidden, ..RAIL },
        ["sai-nc-community"],
        ["stability ai non-commercial research community license"]
    ),
    model!(
        "other",
        Some("stabilityai-ai-community"),
        "stability",
        "Stability AI Community License",
        Terms { commercial: K::Conditional, revenue_usd: Some(1_000_000), output_training: true, ..RAIL },
        ["stabilityai-ai-community", "stability ai community license"],
        ["stability ai community license agreement"]
    ),
    model!(
        "other",
        Some("svd-nc-community"),
        "stability",
        "Stable Video Diffusion Non-Commercial Community License",
        Terms { category: C::NonCommercial, commercial: K::Forbidden, ..RAIL },
        [],
        ["stable video diffusion non-commercial community license"]
    ),
    model!(
        "other",
        Some("falcon-llm-license"),
        "falcon",
        "TII Falcon License",
        Terms { commercial: K::Conditional, ..RAIL },
        ["falcon-llm-license", "tii falcon"],
        ["tii falcon llm license", "falcon llm license", "tii falcon license"]
    ),
    model!(
        "other",
        Some("dbrx"),
        "dbrx",
        "Databricks Open Model License",
        Terms { commercial: K::Conditional, mau: Some(700_000_000), ..RAIL },
        ["databricks-open-model-license"],
        ["databricks open model license"]
    ),
    model!(
        "other",
        Some("nvidia-open-model-license"),
        "nvidia",
        "NVIDIA Open Model License",
        RAIL,
        ["nvidia-open-model-license"],
        ["nvidia open model license"]
    ),
    model!(
        "apple-amlr",
        None,
        "apple",
        "Apple Machine Learning Research Model License",
        Terms { category: C::ResearchOnly, commercial: K::Forbidden, ..RAIL },
        [],
        ["apple machine learning research model"]
    ),
    model!(
        "apple-ascl",
        None,
        "apple",
        "Apple Sample Code License",
        Terms { use_restrictions: false, ..PERMISSIVE },
        [],
        ["apple sample code license"]
    ),
    model!(
        "other",
        Some("baichuan"),
        "baichuan",
        "Baichuan Community License",
        Terms { commercial: K::Conditional, ..RAIL },
        ["baichuan"],
        ["baichuan 2 模型社区许可协议", "community license for baichuan"]
    ),
    model!(
        "other",
        Some("mnpl"),
        "mistral",
        "Mistral AI Non-Production License",
        Terms { category: C::NonCommercial, commercial: K::Forbidden, use_restrictions: false, ..RAIL },
        ["mnpl", "mistral ai non-production license"],
        ["mistral ai non-production license"]
    ),
    model!(
        "other",
        Some("mrl"),
        "mistral",
        "Mistral AI Research License",
        Terms { category: C::ResearchOnly, commercial: K::Forbidden, use_restrictions: false, ..RAIL },
        ["mrl", "mistral ai research license"],
        ["mistral ai research license"]
    ),
    model!(
        "deepfloyd-if-license",
        None,
        "deepfloyd",
        "DeepFloyd IF License",
        Terms { category: C::ResearchOnly, commercial: K::Forbidden, ..RAIL },
        [],
        ["deepfloyd if license"]
    ),
    model!(
        "other",
        Some("tencent-hunyuan-community"),
        "hunyuan",
        "Tencent Hunyuan Community License",
        Terms { commercial: K::Conditional, mau: Some(100_000_000), eu_excluded: true, ..RAIL },
        [],
        ["tencent hunyuan community license"]
    ),
    model!(
        "other",
        Some("nvidia-source-code-license"),
        "nvidia",
        "NVIDIA Source Code License",
        Terms {
            category: C::ResearchOnly,
            commercial: K::Forbidden,
            use_restrictions: false,
            ..model_terms(K::Forbidden, None, false, false)
        },
        ["nvidia source code license", "nvidia-source-code-license", "nscl"],
        ["nvidia source code license"]
    ),
    model!(
        "other",
        Some("microsoft-research-license"),
        "microsoft",
        "Microsoft Research License",
        Terms {
            category: C::ResearchOnly,
            commercial: K::Forbidden,
            use_restrictions: false,
            attribution: false,
            ..model_terms(K::Forbidden, None, false, false)
        },
        ["microsoft-research-license", "msrla", "microsoft research license agreement"],
        ["microsoft research license agreement"]
    ),
    model!(
        "other",
        Some("exaone"),
        "exaone",
        "EXAONE AI Model License Agreement 1.1 - NC",
        Terms { category: C::NonCommercial, commercial: K::Forbidden, ..RAIL },
        ["exaone", "exaone ai model license"],
        ["exaone ai model license agreement"]
    ),
    model!(
        "other",
        Some("fair-noncommercial-research-license"),
        "meta",
        "FAIR Noncommercial Research License",
        Terms { category: C::ResearchOnly, commercial: K::Forbidden, ..RAIL },
        ["fair-noncommercial-research-license", "fair noncommercial research license"],
        ["fair noncommercial research license"]
    ),
    model!(
        "other",
        Some("jamba-open-model-license"),
        "ai21",
        "Jamba Open Model License",
        Terms { commercial: K::Conditional, revenue_usd: Some(50_000_000), ..RAIL },
        ["jamba-open-model-license", "jamba open model license"],
        ["jamba open model license agreement"]
    ),
    model!(
        "other",
        Some("health-ai-developer-foundations"),
        "google",
        "Health AI Developer Foundations Terms of Use",
        RAIL,
        ["health-ai-developer-foundations", "hai-def"],
        ["health ai developer foundations terms of use"]
    ),
    // Standard licenses: identified by their text fingerprints (build.rs), these markers only
    // settle near-ties between variants.
    standard!(
        "apache-2.0",
        "Apache-2.0",
        "apache",
        "Apache License 2.0",
        PERMISSIVE,
        ["apache 2", "apache 2.0", "apache license 2.0", "apache license, version 2.0", "apache2", "apache-2"],
        []
    ),
    standard!("mit", "MIT", "mit", "MIT License", PERMISSIVE, ["mit license", "expat"], []),
    standard!("mit-0", "MIT-0", "mit", "MIT No Attribution", NOTICE_FREE, [], []),
    standard!("bsd-2-clause", "BSD-2-Clause", "bsd", "BSD 2-Clause", PERMISSIVE, ["bsd-2", "simplified bsd"], []),
    standard!(
        "bsd-3-clause",
        "BSD-3-Clause",
        "bsd",
        "BSD 3-Clause",
        PERMISSIVE,
        ["bsd-3", "bsd", "new bsd", "modified bsd"],
        []
    ),
    standard!("bsd-3-clause-clear", "BSD-3-Clause-Clear", "bsd", "BSD 3-Clause Clear", PERMISSIVE, [], []),
    standard!("isc", "ISC", "isc", "ISC License", PERMISSIVE, [], []),
    standard!("zlib", "Zlib", "zlib", "zlib License", PERMISSIVE, [], []),
    standard!("0bsd", "0BSD", "bsd", "BSD Zero Clause", NOTICE_FREE, [], []),
    standard!("bsl-1.0", "BSL-1.0", "boost", "Boost Software License 1.0", PERMISSIVE, ["boost"], []),
    standard!("unlicense", "Unlicense", "public-domain", "The Unlicense", PUBLIC, ["the unlicense"], []),
    standard!("wtfpl", "WTFPL", "wtfpl", "WTFPL", NOTICE_FREE, [], []),
    standard!("cc0-1.0", "CC0-1.0", "public-domain", "CC0 1.0 Universal", PUBLIC, ["cc0", "cc0 1.0"], []),
    standard!(
        "cc-by-4.0",
        "CC-BY-4.0",
        "cc",
        "Creative Commons Attribution 4.0",
        PERMISSIVE,
        ["cc by 4.0", "cc-by 4.0"],
        []
    ),
    standard!(
        "cc-by-sa-4.0",
        "CC-BY-SA-4.0",
        "cc",
        "Creative Commons Attribution-ShareAlike 4.0",
        COPYLEFT,
        ["cc by-sa 4.0", "cc-by-sa 4.0"],
        []
    ),
    standard!(
        "cc-by-nc-4.0",
        "CC-BY-NC-4.0",
        "cc",
        "Creative Commons Attribution-NonCommercial 4.0",
        NC,
        ["cc by-nc 4.0", "cc-by-nc 4.0", "cc-by-nc"],
        []
    ),
    standard!(
        "cc-by-nc-sa-4.0",
        "CC-BY-NC-SA-4.0",
        "cc",
        "Creative Commons Attribution-NonCommercial-ShareAlike 4.0",
        NC_SA,
        ["cc by-nc-sa 4.0", "cc-by-nc-sa 4.0", "cc-by-nc-sa"],
        []
    ),
    standard!(
        "cc-by-nd-4.0",
        "CC-BY-ND-4.0",
        "cc",
        "Creative Commons Attribution-NoDerivatives 4.0",
        ND,
        ["cc by-nd 4.0"],
        []
    ),
    standard!(
        "cc-by-nc-nd-4.0",
        "CC-BY-NC-ND-4.0",
        "cc",
        "Creative Commons Attribution-NonCommercial-NoDerivatives 4.0",
        NC_ND,
        ["cc by-nc-nd 4.0"],
        []
    ),
    standard!("cc-by-3.0", "CC-BY-3.0", "cc", "Creative Commons Attribution 3.0", PERMISSIVE, [], []),
    standard!("cc-by-sa-3.0", "CC-BY-SA-3.0", "cc", "Creative Commons Attribution-ShareAlike 3.0", COPYLEFT, [], []),
    standard!("cc-by-nc-3.0", "CC-BY-NC-3.0", "cc", "Creative Commons Attribution-NonCommercial 3.0", NC, [], []),
    standard!(
        "cc-by-nc-sa-3.0",
        "CC-BY-NC-SA-3.0",
        "cc",
        "Creative Commons Attribution-NonCommercial-ShareAlike 3.0",
        NC_SA,
        [],
        []
    ),
    standard!(
        "cc-by-nc-nd-3.0",
        "CC-BY-NC-ND-3.0",
        "cc",
        "Creative Commons Attribution-NonCommercial-NoDerivs 3.0",
        NC_ND,
        [],
        []
    ),
    standard!("gpl-2.0", "GPL-2.0-only", "gpl", "GNU GPL 2.0", COPYLEFT, ["gpl-2", "gplv2", "gpl 2.0"], []),
    standard!(
        "gpl-3.0",
        "GPL-3.0-only",
        "gpl",
        "GNU GPL 3.0",
        COPYLEFT,
        ["gpl-3", "gplv3", "gpl 3.0", "gnu general public license v3"],
        []
    ),
    standard!(
        "lgpl-2.1",
        "LGPL-2.1-only",
        "gpl",
        "GNU LGPL 2.1",
        WEAK,
        ["lgpl-2.1", "lgplv2.1"],
        ["gnu lesser general public license version 2.1"]
    ),
    standard!(
        "lgpl-3.0",
        "LGPL-3.0-only",
        "gpl",
        "GNU LGPL 3.0",
        WEAK,
        ["lgpl-3", "lgplv3", "lgpl"],
        ["gnu lesser general public license version 3"]
    ),
    standard!(
        "agpl-3.0",
        "AGPL-3.0-only",
        "gpl",
        "GNU AGPL 3.0",
        COPYLEFT,
        ["agpl-3", "agplv3", "agpl 3.0", "agpl"],
        []
    ),
    standard!("mpl-2.0", "MPL-2.0", "mpl", "Mozilla Public License 2.0", WEAK, ["mpl 2.0"], []),
    standard!("epl-2.0", "EPL-2.0", "epl", "Eclipse Public License 2.0", WEAK, [], []),
    standard!("artistic-2.0", "Artistic-2.0", "artistic", "Artistic License 2.0", PERMISSIVE, [], []),
    standard!("ofl-1.1", "OFL-1.1", "ofl", "SIL Open Font License 1.1", WEAK, [], []),
    standard!("upl-1.0", "UPL-1.0", "upl", "Universal Permissive License 1.0", PERMISSIVE, [], []),
    standard!("ms-pl", "MS-PL", "ms", "Microsoft Public License", PERMISSIVE, [], []),
    standard!("ecl-2.0", "ECL-2.0", "apache", "Educational Community License 2.0", PERMISSIVE, [], []),
    standard!("afl-3.0", "AFL-3.0", "afl", "Academic Free License 3.0", PERMISSIVE, [], []),
    standard!("odc-by", "ODC-By-1.0", "odc", "Open Data Commons Attribution 1.0", PERMISSIVE, ["odc-by-1.0"], []),
    standard!("odbl", "ODbL-1.0", "odc", "Open Database License 1.0", COPYLEFT, ["odbl-1.0"], []),
    standard!(
        "pddl",
        "PDDL-1.0",
        "public-domain",
        "Open Data Commons Public Domain Dedication",
        PUBLIC,
        ["pddl-1.0"],
        []
    ),
    standard!(
        "cdla-permissive-2.0",
        "CDLA-Permissive-2.0",
        "cdla",
        "Community Data License Agreement Permissive 2.0",
        PERMISSIVE,
        [],
        []
    ),
    standard!(
        "cdla-sharing-1.0",
        "CDLA-Sharing-1.0",
        "cdla",
        "Community Data License Agreement Sharing 1.0",
        COPYLEFT,
        [],
        []
    ),
];

/// Letters and digits only, lower case, with the filler words dropped, so
/// "Apache License, Version 2.0", "apache-2.0" and "Apache 2.0" meet.
pub fn key(name: &str) -> String {
    let lower = name.to_lowercase().replace("++", "pp");
    let mut out = String::new();
    for word in lower.split(|c: char| !c.is_alphanumeric() && c != '.') {
        let word = word.trim_matches('.');
        if matches!(word, "" | "the" | "license" | "licence" | "version" | "only" | "agreement" | "international") {
            continue;
        }
        // "v2.0", "2.0" and "2" name the same version.
        let mut word = match word.strip_prefix('v') {
            Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => rest,
            _ => word,
        };
        while let Some(rest) = word.strip_suffix(".0") {
            word = rest;
        }
        out.extend(word.chars().filter(|c| c.is_alphanumeric()));
    }
    out
}

/// Resolves an id or name as written in a card, GGUF metadata or prose.
pub fn lookup(name: &str) -> Option<&'static Known> {
    let name = name.trim().trim_matches(|c| c == '"' || c == '\'' || c == '[' || c == ']');
    if name.is_empty() || name.eq_ignore_ascii_case("other") || name.eq_ignore_ascii_case("unknown") {
        return None;
    }
    let k = key(name);
    if k.is_empty() {
        return None;
    }
    let by_key = KNOWN.iter().find(|kn| {
        (kn.license_name.is_none() && key(kn.id) == k)
            || kn.license_name.is_some_and(|n| key(n) == k)
            || kn.spdx.is_some_and(|s| key(s) == k)
            || kn.aliases.iter().any(|a| key(a) == k)
            || key(kn.name) == k
    });
    if by_key.is_some() {
        return by_key;
    }
    // Fall back to the SPDX list's own fuzzy matcher for standard names.
    let (id, _) = spdx::imprecise_license_id(name)?;
    KNOWN.iter().find(|kn| kn.spdx.is_some_and(|s| key(s) == key(id.name)))
}

/// Who publishes a license, as the family of a custom model license: the
/// first publisher named near the top of its text or in its name.
const PUBLISHERS: &[(&str, &str)] = &[
    ("google deepmind", "google"),
    ("google llc", "google"),
    ("deepmind", "google"),
    ("google", "google"),
    ("nvidia", "nvidia"),
    ("microsoft", "microsoft"),
    ("meta platforms", "meta"),
    ("alibaba", "qwen"),
    ("zhipu", "glm"),
    ("thudm", "glm"),
    ("智谱", "glm"),
    ("tencent", "hunyuan"),
    ("deepseek", "deepseek"),
    ("01.ai", "yi"),
    ("mistral ai", "mistral"),
    ("stability ai", "stability"),
    ("technology innovation institute", "falcon"),
    ("baichuan", "baichuan"),
    ("apple inc", "apple"),
    ("lg ai research", "exaone"),
    ("lg management development institute", "exaone"),
    ("databricks", "databricks"),
    ("ai21 labs", "ai21"),
];

/// The family of a license no entry of the table matches, from its title and
/// the first part of its text: a RAIL variant by its name, else the publisher.
pub fn family_of_custom(title_norm: &str, head_norm: &str) -> Option<&'static str> {
    let title = title_norm.split(". ").next().unwrap_or(title_norm);
    let words = |s: &str| s.split(|c: char| !c.is_alphanumeric()).any(|w| w == "rail");
    if words(title) {
        return Some("rail");
    }
    // A name starts a word ("zhipuai.cn" is Zhipu's), but does not end inside one.
    let is_word_at = |s: &str, at: usize, _len: usize| s[..at].chars().next_back().is_none_or(|c| !c.is_alphanumeric());
    PUBLISHERS
        .iter()
        .filter_map(|(name, family)| {
            head_norm
                .match_indices(name)
                .find(|(at, _)| is_word_at(head_norm, *at, name.len()))
                .map(|(at, _)| (at, *family))
        })
        .min_by_key(|(at, _)| *at)
        .map(|(_, f)| f)
}

/// The known license whose text starts with one of its markers.
pub fn by_marker(title_norm: &str) -> Option<&'static Known> {
    KNOWN.iter().find(|k| k.markers.iter().any(|m| title_norm.contains(m)))
}

pub fn by_spdx(id: &str) -> Option<&'static Known> {
    KNOWN.iter().find(|k| k.spdx == Some(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_meet_ids() {
        for (name, id) in [
            ("Apache 2.0", "apache-2.0"),
            ("Apache License, Version 2.0", "apache-2.0"),
            ("apache-2.0", "apache-2.0"),
            ("MIT", "mit"),
            ("CC-BY-NC 4.0", "cc-by-nc-4.0"),
            ("AGPL-3.0", "agpl-3.0"),
            ("llama3.1", "llama3.1"),
            ("Llama 3.1 Community License", "llama3.1"),
            ("openrail++", "openrail++"),
            ("GPL-3.0-only", "gpl-3.0"),
        ] {
            assert_eq!(lookup(name).map(|k| k.id), Some(id), "{name}");
        }
        assert_eq!(lookup("yi-license").and_then(|k| k.license_name), Some("yi-license"));
        assert!(lookup("other").is_none());
        assert!(lookup("Proprietary").is_none());
        assert!(lookup("llama3").is_some_and(|k| k.id == "llama3"));
    }

    #[test]
    fn custom_licenses_get_their_publisher_family() {
        assert_eq!(family_of_custom("acme research-only rail-ams", ""), Some("rail"));
        assert_eq!(
            family_of_custom("foo terms of use", "foo is a model developed by google deepmind and others"),
            Some("google")
        );
        assert_eq!(family_of_custom("foo license", "copyright (c) 2024, nvidia corporation."), Some("nvidia"));
        assert_eq!(family_of_custom("foo license", "contact license@zhipuai.cn"), Some("glm"));
        assert_eq!(family_of_custom("foo license", "xgoogle anvidia"), None);
    }

    #[test]
    fn osi_flags_come_from_spdx() {
        assert!(lookup("apache-2.0").expect("known").osi_approved());
        assert!(!lookup("cc-by-4.0").expect("known").osi_approved());
        assert!(!lookup("llama2").expect("known").osi_approved());
    }
}
