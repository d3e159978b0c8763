//! Fuzz the catalog parser: any bytes, split into up to three files, must give a
//! catalog or diagnostics, never a panic, and every location must be in bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use whyline_catalog::{parse, SourceFile};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // A 0x00 byte splits the input into files, so cross-file rules get exercised.
    let files: Vec<SourceFile> = text
        .split('\0')
        .take(3)
        .enumerate()
        .map(|(i, part)| SourceFile {
            path: format!("f{i}.yaml").into(),
            text: part.to_string(),
        })
        .collect();
    let checked = parse(files);
    for d in &checked.diagnostics {
        for l in d.location.iter().chain(d.related.iter().map(|r| &r.location)) {
            let text = &checked.catalog.files[l.file].text;
            assert!(l.offset + l.len <= text.len());
            assert!(text.is_char_boundary(l.offset) && text.is_char_boundary(l.offset + l.len));
        }
    }
});
