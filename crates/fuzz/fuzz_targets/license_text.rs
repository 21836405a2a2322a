#![no_main]
//! The whole license pipeline on arbitrary bytes as LICENSE and README.md:
//! decoding, identification, clause extraction, quoting, use answers.
use fineprint_license::{check_for_use, InputFile, UseProfile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.len() / 2;
    let files = vec![
        InputFile { path: "LICENSE".into(), size: split as u64, bytes: data[..split].to_vec() },
        InputFile { path: "README.md".into(), size: (data.len() - split) as u64, bytes: data[split..].to_vec() },
    ];
    let report = check_for_use(&files, &UseProfile { monthly_users: Some(1_000_000_000), train_on_outputs: true, fine_tune_and_share: true, ..UseProfile::default() });
    // Every quote is a slice of the input: it must stand in the named file.
    for f in &report.findings {
        if f.line > 0 {
            let file = files.iter().find(|x| x.path == f.file).expect("finding names a dropped file");
            let text = String::from_utf8_lossy(&file.bytes);
            let fold = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
            // HTML is read as its text (quotes then stand in the file without its markup).
            let html = fineprint_license::html::looks_like_html(&text);
            assert!(html || fold(&text).contains(&fold(&f.quote)) || text.contains('\u{FFFD}') || file.bytes.starts_with(&[0xFF, 0xFE]) || file.bytes.starts_with(&[0xFE, 0xFF]) || file.bytes.starts_with(b"\xEF\xBB\xBF"));
        }
    }
});
