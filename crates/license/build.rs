//! Fingerprints the canonical texts of the standard licenses that model folders
//! actually carry, so the crate embeds ~4 KB per license instead of the 5.8 MB
//! of texts in `spdx`'s `text` feature (which also matches 25-140 ms per file
//! through askalono; see the README's "License matching" section).

#[path = "src/shingle.rs"]
mod shingle;

/// Licenses worth a full-text fingerprint: those seen in model and dataset
/// repositories. Anything else is still recognised by id, name or URL.
const INDEXED: &[&str] = &[
    "Apache-2.0",
    "MIT",
    "MIT-0",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "BSD-3-Clause-Clear",
    "ISC",
    "Zlib",
    "0BSD",
    "Unlicense",
    "WTFPL",
    "BSL-1.0",
    "CC0-1.0",
    "CC-BY-4.0",
    "CC-BY-SA-4.0",
    "CC-BY-NC-4.0",
    "CC-BY-NC-SA-4.0",
    "CC-BY-ND-4.0",
    "CC-BY-NC-ND-4.0",
    "CC-BY-3.0",
    "CC-BY-SA-3.0",
    "CC-BY-NC-3.0",
    "CC-BY-NC-SA-3.0",
    "CC-BY-NC-ND-3.0",
    "GPL-2.0-only",
    "GPL-3.0-only",
    "LGPL-2.1-only",
    "LGPL-3.0-only",
    "AGPL-3.0-only",
    "MPL-2.0",
    "EPL-2.0",
    "Artistic-2.0",
    "OFL-1.1",
    "UPL-1.0",
    "MS-PL",
    "ECL-2.0",
    "AFL-3.0",
    "ODC-By-1.0",
    "ODbL-1.0",
    "PDDL-1.0",
    "CDLA-Permissive-2.0",
    "CDLA-Sharing-1.0",
];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/shingle.rs");
    let mut out = Vec::new();
    for id in INDEXED {
        let Some(lic) = spdx::license_id(id) else {
            // An id the SPDX list does not know (yet) is skipped, not fatal:
            // recognition by name still covers it.
            println!("cargo:warning=spdx has no license {id}");
            continue;
        };
        let sh = shingle::shingles(lic.text());
        out.push(id.len() as u8);
        out.extend_from_slice(id.as_bytes());
        out.extend_from_slice(&(sh.len() as u32).to_le_bytes());
        for h in sh {
            out.extend_from_slice(&h.to_le_bytes());
        }
    }
    let dest = std::path::Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("fingerprints.bin");
    std::fs::write(dest, out).expect("write fingerprints");
}
