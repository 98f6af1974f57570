//! Any bytes, as a lexicon file and as a text to scan: refused or read, scanned, and every hit
//! pointing at original text that holds the wording found — never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    govmedia_scanner::check_one_input(data);
});
