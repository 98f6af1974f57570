//! The unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters from a
//! 31-character alphabet (no I, O, S, V, Z), the last one a check character.

const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// The check character for the first 17 characters, `None` when one is outside the alphabet.
pub fn check_character(first17: &str) -> Option<char> {
    let bytes = first17.as_bytes();
    if bytes.len() != 17 {
        return None;
    }
    let mut sum = 0;
    for (byte, weight) in bytes.iter().zip(WEIGHTS) {
        let value = ALPHABET.iter().position(|c| c == byte)? as u32;
        sum += value * weight;
    }
    let check = (31 - sum % 31) % 31;
    Some(ALPHABET[check as usize] as char)
}

/// Why a code is not valid, or `None` when it is.
pub fn problem(code: &str) -> Option<&'static str> {
    if code.len() != 18 || !code.is_ascii() {
        return Some("must be 18 characters");
    }
    if !code.bytes().all(|b| ALPHABET.contains(&b)) {
        return Some("may contain only digits and upper-case letters other than I, O, S, V, Z");
    }
    match check_character(&code[..17]) {
        Some(check) if code.ends_with(check) => None,
        _ => Some("has a wrong check character"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_codes_validate() {
        // Check characters computed independently with the standard's weights.
        for code in ["11100000000013127D", "91350100M000100Y43"] {
            assert_eq!(problem(code), None, "{code}");
        }
        assert_eq!(
            problem("11100000000013127E"),
            Some("has a wrong check character")
        );
        assert_eq!(problem("1110000000001312"), Some("must be 18 characters"));
        assert!(problem("11100000000013127I").is_some());
    }
}
