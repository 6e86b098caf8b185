//! bcrypt, as Nacos (Spring's `BCryptPasswordEncoder`) stores passwords: `$2a$`, cost 10,
//! so users exported from Nacos log in here and the other way round.

use ports::auth::PasswordHasher;
use rand::seq::SliceRandom;
use rand::Rng;

const COST: u32 = 10;

/// The bcrypt [`PasswordHasher`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Bcrypt;

impl PasswordHasher for Bcrypt {
    fn hash(&self, password: &str) -> Result<String, String> {
        bcrypt::hash_with_result(password, COST)
            .map(|parts| parts.format_for_version(bcrypt::Version::TwoA))
            .map_err(|err| err.to_string())
    }

    fn verify(&self, password: &str, hash: &str) -> bool {
        bcrypt::verify(password, hash).unwrap_or(false)
    }

    /// Sixteen characters with at least one of each kind Java's generator uses (lower,
    /// upper, digit, one of `!@#$%&`); Java's are eight long.
    fn random_password(&self) -> String {
        const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
        const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
        const DIGITS: &[u8] = b"23456789";
        const SYMBOLS: &[u8] = b"!@#$%&";
        let mut rng = rand::thread_rng();
        let all: Vec<u8> = [LOWER, UPPER, DIGITS, SYMBOLS].concat();
        let mut chars: Vec<u8> = Vec::with_capacity(16);
        for set in [LOWER, UPPER, DIGITS, SYMBOLS] {
            chars.push(set[rng.gen_range(0..set.len())]);
        }
        for _ in 0..12 {
            chars.push(all[rng.gen_range(0..all.len())]);
        }
        chars.shuffle(&mut rng);
        chars.into_iter().map(char::from).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_read_as_nacos_s() {
        let hash = Bcrypt.hash("s3cret").unwrap();
        assert!(hash.starts_with("$2a$10$"), "{hash}");
        assert!(Bcrypt.verify("s3cret", &hash));
        assert!(!Bcrypt.verify("S3cret", &hash));
        assert!(!Bcrypt.verify("s3cret", "not a hash"));
        // The hash Nacos 2.x shipped for nacos/nacos.
        assert!(Bcrypt.verify("nacos", "$2a$10$EuWPZHzz32dJN7jexM34MOeYirDdFAZm2kuWj7VEOJhhZkDrxfvUu"));
    }

    #[test]
    fn random_passwords_hold_every_kind_of_character() {
        let password = Bcrypt.random_password();
        assert_eq!(password.len(), 16);
        assert!(password.chars().any(|c| c.is_ascii_lowercase()) && password.chars().any(|c| c.is_ascii_uppercase()));
        assert!(password.chars().any(|c| c.is_ascii_digit()) && password.chars().any(|c| "!@#$%&".contains(c)));
        assert_ne!(password, Bcrypt.random_password());
    }
}
