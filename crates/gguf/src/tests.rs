use super::*;

/// A GGUF header from (key, type, value bytes) entries.
fn header(entries: &[(&str, u32, Vec<u8>)]) -> Vec<u8> {
    let mut b = b"GGUF".to_vec();
    b.extend_from_slice(&3u32.to_le_bytes());
    b.extend_from_slice(&0u64.to_le_bytes());
    b.extend_from_slice(&(entries.len() as u64).to_le_bytes());
    for (k, t, v) in entries {
        b.extend_from_slice(&(k.len() as u64).to_le_bytes());
        b.extend_from_slice(k.as_bytes());
        b.extend_from_slice(&t.to_le_bytes());
        b.extend_from_slice(v);
    }
    b
}

fn text(s: &str) -> (u32, Vec<u8>) {
    let mut v = (s.len() as u64).to_le_bytes().to_vec();
    v.extend_from_slice(s.as_bytes());
    (8, v)
}

fn entry(key: &str, (t, v): (u32, Vec<u8>)) -> (&str, u32, Vec<u8>) {
    (key, t, v)
}

fn string_list(items: &[&str]) -> (u32, Vec<u8>) {
    let mut v = 8u32.to_le_bytes().to_vec();
    v.extend_from_slice(&(items.len() as u64).to_le_bytes());
    for s in items {
        v.extend_from_slice(&text(s).1);
    }
    (9, v)
}

fn both(b: &[u8]) -> Metadata {
    let from_slice = read_metadata(b, b.len() as u64).expect("valid");
    let from_reader = read_metadata_from(&mut std::io::Cursor::new(b)).expect("valid");
    assert_eq!(from_slice, from_reader, "the two sources read the same header");
    from_slice
}

#[test]
fn reads_every_value_type_and_keeps_general_strings() {
    let b = header(&[
        entry("general.architecture", text("llama")),
        entry("general.license", text("apache-2.0")),
        entry("general.tags", string_list(&["a", "b"])),
        entry("tokenizer.ggml.tokens", string_list(&["x", "y", "z"])),
        ("llama.block_count", 4, 30u32.to_le_bytes().to_vec()),
        ("llama.rope.freq_base", 6, 10000f32.to_le_bytes().to_vec()),
        ("x.i8", 1, vec![0xff]),
        ("x.i64", 11, (-5i64).to_le_bytes().to_vec()),
        ("x.bool", 7, vec![1]),
        ("x.f64", 12, 0.5f64.to_le_bytes().to_vec()),
    ]);
    let m = both(&b);
    assert!(m.complete);
    assert_eq!(m.text("general.license"), Some("apache-2.0"));
    assert_eq!(m.values["general.tags"], Value::List(vec!["a".into(), "b".into()]));
    assert_eq!(m.values["tokenizer.ggml.tokens"], Value::Other { len: 3 });
    assert_eq!(m.values["llama.block_count"].as_integer(), Some(30));
    assert_eq!(m.values["llama.rope.freq_base"], Value::Number(10000.0));
    assert_eq!(m.values["x.i8"], Value::Number(-1.0));
    assert_eq!(m.values["x.i64"].as_integer(), Some(-5));
    assert_eq!(m.values["x.bool"], Value::Bool(true));
    assert_eq!(m.values["x.f64"], Value::Number(0.5));
}

#[test]
fn truncation_of_a_whole_file_is_an_error_but_of_a_prefix_is_not() {
    let b = header(&[entry("general.license", text("mit")), entry("general.name", text("x"))]);
    let cut = &b[..b.len() - 3];
    assert!(matches!(read_metadata(cut, cut.len() as u64), Err(GgufError::Truncated { .. })));
    assert!(matches!(read_metadata_from(&mut std::io::Cursor::new(cut)), Err(GgufError::Truncated { .. })));
    let m = read_metadata(cut, 1 << 30).expect("prefix");
    assert!(!m.complete);
    assert_eq!(m.text("general.license"), Some("mit"));
}

#[test]
fn an_array_claiming_more_than_the_file_holds_is_truncation_not_a_long_skip() {
    let mut big = 0u32.to_le_bytes().to_vec();
    big.extend_from_slice(&(1u64 << 40).to_le_bytes());
    let b = header(&[("tokenizer.ggml.scores", 9, big)]);
    assert!(matches!(read_metadata_from(&mut std::io::Cursor::new(&b)), Err(GgufError::Truncated { .. })));
    let mut huge = 6u32.to_le_bytes().to_vec();
    huge.extend_from_slice(&u64::MAX.to_le_bytes());
    let b = header(&[("x", 9, huge)]);
    assert!(matches!(read_metadata(&b, b.len() as u64), Err(GgufError::Corrupt { .. })));
}

#[test]
fn rejects_other_files_versions_absurd_counts_and_unknown_types() {
    assert_eq!(read_metadata(b"PK\x03\x04rest", 8), Err(GgufError::NotGguf));
    let mut b = b"GGUF".to_vec();
    b.extend_from_slice(&1u32.to_le_bytes());
    assert_eq!(read_metadata(&b, 1 << 20), Err(GgufError::Version(1)));
    let mut b = b"GGUF".to_vec();
    b.extend_from_slice(&3u32.to_le_bytes());
    b.extend_from_slice(&0u64.to_le_bytes());
    b.extend_from_slice(&u64::MAX.to_le_bytes());
    assert!(matches!(read_metadata(&b, b.len() as u64), Err(GgufError::Corrupt { .. })));
    let b = header(&[("x", 13, vec![0; 8])]);
    assert!(matches!(read_metadata(&b, b.len() as u64), Err(GgufError::Corrupt { .. })));
}

#[test]
fn nested_arrays_are_skipped_to_a_bounded_depth() {
    // An array of two arrays of three u8.
    let mut v = 9u32.to_le_bytes().to_vec();
    v.extend_from_slice(&2u64.to_le_bytes());
    for _ in 0..2 {
        v.extend_from_slice(&0u32.to_le_bytes());
        v.extend_from_slice(&3u64.to_le_bytes());
        v.extend_from_slice(&[1, 2, 3]);
    }
    let m = both(&header(&[("x.nested", 9, v), entry("general.name", text("n"))]));
    assert_eq!(m.values["x.nested"], Value::Other { len: 2 });
    assert_eq!(m.text("general.name"), Some("n"));
    // Arrays of arrays nested past any real file's depth are damage.
    let mut deep = Vec::new();
    for _ in 0..8 {
        deep.extend_from_slice(&9u32.to_le_bytes());
        deep.extend_from_slice(&1u64.to_le_bytes());
    }
    let b = header(&[("x", 9, deep)]);
    assert!(matches!(read_metadata(&b, b.len() as u64), Err(GgufError::Corrupt { .. })));
}

#[test]
fn alignment_must_be_a_power_of_two_up_to_a_mebibyte_and_trailing_nuls_name_the_same_key() {
    let aligned = |t: u32, v: Vec<u8>| both(&header(&[("general.alignment\0", t, v)])).alignment();
    assert_eq!(aligned(4, 64u32.to_le_bytes().to_vec()), Ok(Some(64)));
    assert_eq!(aligned(10, 32u64.to_le_bytes().to_vec()), Ok(Some(32)));
    assert!(aligned(4, 0u32.to_le_bytes().to_vec()).is_err());
    assert!(aligned(4, 48u32.to_le_bytes().to_vec()).is_err());
    assert!(aligned(5, (-32i32).to_le_bytes().to_vec()).is_err());
    assert!(aligned(10, (1u64 << 40).to_le_bytes().to_vec()).is_err());
    assert!(both(&header(&[entry("general.alignment", text("32"))])).alignment().is_err());
    assert_eq!(both(&header(&[])).alignment(), Ok(None));
}

#[test]
fn the_reader_stops_where_the_tensor_table_begins() {
    let mut b = header(&[entry("general.name", text("n"))]);
    let end = b.len() as u64;
    b.extend_from_slice(b"tensor table");
    let mut cur = std::io::Cursor::new(&b);
    read_metadata_from(&mut cur).expect("valid");
    assert_eq!(cur.position(), end);
}
