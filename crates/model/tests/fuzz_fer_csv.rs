//! Fuzz-style property tests (proptest, bounded case counts) for the FER-2013 CSV parser: arbitrary
//! bytes, arbitrary rows after a valid header, and single-byte mutations of valid files must never
//! panic; every row is either a sample of 48x48 pixels or a reported bad row with its line number.

use moodlens_model::fer_csv::{read_csv, CsvError};
use proptest::prelude::*;

const HEADER: &str = "emotion,pixels,Usage\n";

fn valid_row(label: u8, px: u8, usage: &str) -> String {
    let pixels: Vec<String> = (0..48 * 48)
        .map(|i| ((px as usize + i) % 256).to_string())
        .collect();
    format!("{label},{},{usage}\n", pixels.join(" "))
}

fn check(bytes: &[u8], max_bad: f64) {
    match read_csv(bytes, "fuzz", max_bad) {
        Ok(l) => {
            for s in &l.samples {
                assert_eq!(s.pixels.len(), 48 * 48);
            }
            for b in &l.bad {
                assert!(b.line >= 2, "bad row line {} is inside the header", b.line);
                assert!(!b.reason.is_empty());
            }
        }
        Err(CsvError::Header { .. } | CsvError::TooManyBad { .. }) => {}
        // In-memory input cannot fail to read; bytes that are not UTF-8 are bad rows, not I/O errors.
        Err(e @ CsvError::Io { .. }) => panic!("unexpected I/O error: {e}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        check(&bytes, 0.5);
        let mut with_header = HEADER.as_bytes().to_vec();
        with_header.extend_from_slice(&bytes);
        check(&with_header, 1.0);
    }

    #[test]
    fn arbitrary_rows_are_counted(rows in proptest::collection::vec("[0-9a-zA-Z ,\\-\\.\t\"]{0,80}", 0..20)) {
        let text = format!("{HEADER}{}", rows.join("\n"));
        let l = read_csv(text.as_bytes(), "fuzz", 1.0);
        if let Ok(l) = l {
            let nonempty = rows.iter().filter(|r| !r.trim().is_empty()).count();
            prop_assert_eq!(l.samples.len() + l.bad.len(), nonempty);
        }
    }

    #[test]
    fn mutated_valid_files_never_panic(
        label in 0u8..7,
        px in any::<u8>(),
        pos in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cut in any::<prop::sample::Index>(),
    ) {
        let text = format!("{HEADER}{}{}", valid_row(label, px, "Training"), valid_row(6 - label, px, "PrivateTest"));
        let mut bytes = text.into_bytes();
        // One byte replaced, then the file possibly truncated.
        let i = pos.index(bytes.len());
        bytes[i] = byte;
        check(&bytes, 1.0);
        let n = cut.index(bytes.len());
        check(&bytes[..n], 1.0);
    }
}

/// A byte that is not UTF-8 in one row must make that row bad, not fail the whole file.
#[test]
fn invalid_utf8_in_one_row_is_a_bad_row() {
    let mut bytes = HEADER.as_bytes().to_vec();
    for _ in 0..9 {
        bytes.extend_from_slice(valid_row(3, 10, "Training").as_bytes());
    }
    bytes.extend_from_slice(b"3,\xff\xfe 1 2,Training\n");
    let l = read_csv(&bytes[..], "fuzz", 0.2).expect("one bad row in ten is tolerated");
    assert_eq!(l.samples.len(), 9);
    assert_eq!(l.bad.len(), 1);
    assert_eq!(l.bad[0].line, 11);
}
