#![no_main]
//! The one GGUF header reader (`fineprint-gguf`), on whole files and on
//! prefixes, from memory and from a seekable reader: it must refuse, never
//! panic or allocate wildly, and both sources must read a whole file alike.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let whole = fineprint_gguf::read_metadata(data, data.len() as u64);
    let _ = fineprint_gguf::read_metadata(data, u64::MAX);
    let from_reader = fineprint_gguf::read_metadata_from(&mut std::io::Cursor::new(data));
    if let (Ok(a), Ok(b)) = (&whole, &from_reader) {
        // Compared as printed: a NaN value is not equal to itself.
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
    }
    assert_eq!(whole.is_ok(), from_reader.is_ok(), "{whole:?} / {from_reader:?}");
    if let Ok(m) = whole {
        let _ = m.alignment();
    }
});
