//! No text aborts the checker: license phrases wrapped in runs of multi-byte
//! characters of every length, in a LICENSE and in a model card's front matter.
//! Every pattern look-behind, sentence widening and quote cut then meets a
//! character boundary at every possible byte offset.

use fineprint_license::{check, InputFile};

/// Phrases that trigger the clause readers, the title checks and the declared-license readers.
const PHRASES: &[&str] = &[
    "free for commercial use",
    "You agree not to use the Model for military purposes.",
    "greater than 700 million monthly active users",
    "annual revenue of more than USD 1,000,000",
    "for research purposes only",
    "Non-Commercial",
    "you shall include \"Llama\" at the beginning of any such AI model name",
    "You will not use the outputs to train any other large language model.",
    "Licensed under the Apache License, Version 2.0",
    "The model weights are released under CC-BY-NC 4.0.",
    "**Apache 2.0 license**",
    "governed by the laws of the State of California, without",
    "Training Data",
    "trained on the Pile",
];

/// Two-, three- and four-byte characters, and U+FFFD (what a bad byte becomes).
const FILLERS: &[char] = &['é', '中', '😀', '\u{FFFD}'];

fn run(path: &str, text: String) {
    let files = [InputFile { path: path.to_owned(), size: text.len() as u64, bytes: text.into_bytes() }];
    let report = check(&files);
    // Every quote is a piece of the file, so it is valid UTF-8 by construction; a wrong
    // cut would have panicked above. Check the quotes still point into the file.
    for f in &report.findings {
        assert!(f.line <= 1 + files[0].bytes.iter().filter(|&&b| b == b'\n').count(), "{f:?}");
    }
}

#[test]
fn phrases_in_multibyte_runs_of_every_length_never_abort() {
    let mut cases = 0;
    for phrase in PHRASES {
        for &fill in FILLERS {
            for n in 0..=24 {
                let run_of = |k: usize| std::iter::repeat_n(fill, k).collect::<String>();
                // Before, after, and on both sides; with and without a space between.
                for (pre, post) in [(n, 0), (0, n), (n, n)] {
                    for sep in ["", " "] {
                        let body = format!("{}{sep}{phrase}{sep}{}", run_of(pre), run_of(post));
                        run("LICENSE", format!("{body}\n\n{body}\n"));
                        run(
                            "README.md",
                            format!(
                                "---\nlicense: other\nlicense_name: {body}\nextra_gated_prompt: {body}\n---\n{body}\n"
                            ),
                        );
                        cases += 2;
                    }
                }
            }
        }
    }
    assert!(cases > 5000, "{cases}");
}
