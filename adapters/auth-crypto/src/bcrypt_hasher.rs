//! bcrypt, as Nacos (Spring's `BCryptPasswordEncoder`) stores passwords: `$2a$`, cost 10,
//! so users exported from Nacos log in here and the other way round.
//!
//! A client that sends its user name and password with every request (the Node SDK does)
//! would cost a bcrypt check, tens of milliseconds of CPU, per request. So a successful
//! check is remembered: as an HMAC, under a key made at start-up, of the password and the
//! stored hash. A changed password (a new hash) misses, failures are never remembered (a
//! guess costs the full check every time), and no password is kept.

use std::collections::HashSet;
use std::sync::Mutex;

use hmac::{Hmac, Mac};
use ports::auth::PasswordHasher;
use rand::seq::SliceRandom;
use rand::Rng;
use sha2::Sha256;

const COST: u32 = 10;
/// Most remembered checks; then the memory starts over (a miss costs one bcrypt check).
const REMEMBERED: usize = 4096;

/// The bcrypt [`PasswordHasher`].
pub struct Bcrypt {
    key: [u8; 32],
    /// Fingerprints of (password, hash) pairs that matched. A std lock, held for a set
    /// operation.
    matched: Mutex<HashSet<[u8; 32]>>,
}

impl Default for Bcrypt {
    fn default() -> Self {
        Self { key: rand::thread_rng().gen(), matched: Mutex::default() }
    }
}

impl std::fmt::Debug for Bcrypt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bcrypt").finish_non_exhaustive()
    }
}

impl Bcrypt {
    fn fingerprint(&self, password: &str, hash: &str) -> [u8; 32] {
        // HMAC takes a key of any length; the empty fingerprint would only ever miss.
        let Ok(mut mac) = <Hmac<Sha256> as hmac::digest::KeyInit>::new_from_slice(&self.key) else { return [0; 32] };
        mac.update(&(password.len() as u64).to_be_bytes());
        mac.update(password.as_bytes());
        mac.update(hash.as_bytes());
        mac.finalize().into_bytes().into()
    }

    fn matched(&self) -> std::sync::MutexGuard<'_, HashSet<[u8; 32]>> {
        self.matched.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl PasswordHasher for Bcrypt {
    fn hash(&self, password: &str) -> Result<String, String> {
        bcrypt::hash_with_result(password, COST)
            .map(|parts| parts.format_for_version(bcrypt::Version::TwoA))
            .map_err(|err| err.to_string())
    }

    fn verify(&self, password: &str, hash: &str) -> bool {
        let fingerprint = self.fingerprint(password, hash);
        if self.matched().contains(&fingerprint) {
            return true;
        }
        let ok = bcrypt::verify(password, hash).unwrap_or(false);
        if ok {
            let mut matched = self.matched();
            if matched.len() >= REMEMBERED {
                matched.clear();
            }
            matched.insert(fingerprint);
        }
        ok
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
        let bcrypt = Bcrypt::default();
        let hash = bcrypt.hash("s3cret").unwrap();
        assert!(hash.starts_with("$2a$10$"), "{hash}");
        assert!(bcrypt.verify("s3cret", &hash));
        assert!(!bcrypt.verify("S3cret", &hash));
        assert!(!bcrypt.verify("s3cret", "not a hash"));
        // The hash Nacos 2.x shipped for nacos/nacos.
        assert!(bcrypt.verify("nacos", "$2a$10$EuWPZHzz32dJN7jexM34MOeYirDdFAZm2kuWj7VEOJhhZkDrxfvUu"));
    }

    #[test]
    fn a_match_is_remembered_for_that_hash_only_and_a_failure_never() {
        let bcrypt = Bcrypt::default();
        let hash = bcrypt.hash("s3cret").unwrap();
        assert!(bcrypt.verify("s3cret", &hash));
        assert!(bcrypt.verify("s3cret", &hash), "remembered");
        assert_eq!(bcrypt.matched().len(), 1);
        assert!(!bcrypt.verify("wrong", &hash) && !bcrypt.verify("wrong", &hash));
        assert_eq!(bcrypt.matched().len(), 1, "failures are not remembered");
        let changed = bcrypt.hash("n3w").unwrap();
        assert!(!bcrypt.verify("s3cret", &changed), "the old password against the new hash");
        assert!(bcrypt.verify("n3w", &changed));
        let other = Bcrypt::default();
        assert_ne!(other.fingerprint("s3cret", &hash), bcrypt.fingerprint("s3cret", &hash), "a key per process");
    }

    #[test]
    fn random_passwords_hold_every_kind_of_character() {
        let bcrypt = Bcrypt::default();
        let password = bcrypt.random_password();
        assert_eq!(password.len(), 16);
        assert!(password.chars().any(|c| c.is_ascii_lowercase()) && password.chars().any(|c| c.is_ascii_uppercase()));
        assert!(password.chars().any(|c| c.is_ascii_digit()) && password.chars().any(|c| "!@#$%&".contains(c)));
        assert_ne!(password, bcrypt.random_password());
    }
}
