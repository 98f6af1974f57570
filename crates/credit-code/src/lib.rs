//! The unified social credit code (统一社会信用代码, GB 32100-2015) that every legal person in
//! China carries: 18 characters from a 31-character alphabet (the digits and the upper-case
//! letters but I, O, S, V and Z), the last one a check character over the first 17.
//!
//! One implementation for the suite: the registry checks the codes of organizations with it, the
//! vendor service those of vendors (and of assessors' employers).

#![forbid(unsafe_code)]

/// The characters a code is made of, in the order of their values (0..=30).
const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// The weight of each of the first 17 positions: 3^i mod 31.
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// Length of a code.
pub const LEN: usize = 18;

/// The check character for the first 17 characters, `None` when they are not 17 characters of
/// the alphabet.
pub fn check_character(first17: &str) -> Option<char> {
    let bytes = first17.as_bytes();
    if bytes.len() != LEN - 1 {
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

/// Why `code` is not a valid code, as a field violation's description, or `None` when it is.
pub fn problem(code: &str) -> Option<&'static str> {
    if code.len() != LEN || !code.is_ascii() {
        return Some("must be 18 characters");
    }
    if !code.bytes().all(|b| ALPHABET.contains(&b)) {
        return Some("may contain only digits and upper-case letters other than I, O, S, V, Z");
    }
    match check_character(&code[..LEN - 1]) {
        Some(check) if code.ends_with(check) => None,
        _ => Some("has a wrong check character"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
        assert!(problem("91350100m000100Y43").is_some());
    }

    #[test]
    fn the_weights_are_powers_of_three() {
        let mut weight = 1;
        for expected in WEIGHTS {
            assert_eq!(weight, expected);
            weight = weight * 3 % 31;
        }
    }

    proptest! {
        /// Any 17 characters of the alphabet complete to a valid code, and changing the check
        /// character to any other makes it invalid.
        #[test]
        fn every_body_has_exactly_one_check_character(
            body in proptest::collection::vec(0usize..31, 17),
            other in 0usize..31,
        ) {
            let body: String = body.iter().map(|&i| ALPHABET[i] as char).collect();
            let check = check_character(&body).expect("17 characters of the alphabet");
            prop_assert_eq!(problem(&format!("{body}{check}")), None);
            let other = ALPHABET[other] as char;
            let wrong = format!("{body}{other}");
            if other != check {
                prop_assert!(problem(&wrong).is_some());
            }
        }
    }
}
