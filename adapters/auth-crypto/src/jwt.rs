//! Nacos's access tokens: a JWT with a fixed header per algorithm (HS256, HS384 or HS512,
//! chosen by the secret's length as Java chooses it), the claims `sub` (the user) and `exp`
//! (Unix seconds), signed with HMAC. Any node with the same secret accepts any node's token.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use ports::auth::{TokenCodec, TokenError};
use serde_json::{json, Value};
use sha2::{Sha256, Sha384, Sha512};
use subtle::ConstantTimeEq;

/// The shortest secret Nacos accepts, in decoded bytes.
pub const MIN_SECRET_BYTES: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Algorithm {
    Hs256,
    Hs384,
    Hs512,
}

impl Algorithm {
    /// By the key's size, as Java's `NacosSignatureAlgorithm`: 256-383 bits HS256, 384-511
    /// HS384, 512 and up HS512.
    fn for_key(key: &[u8]) -> Self {
        match key.len() * 8 {
            bits if bits >= 512 => Self::Hs512,
            bits if bits >= 384 => Self::Hs384,
            _ => Self::Hs256,
        }
    }

    /// base64url of `{"alg":"HS256"}` and its siblings: the header is a fixed string.
    fn header(self) -> &'static str {
        match self {
            Self::Hs256 => "eyJhbGciOiJIUzI1NiJ9",
            Self::Hs384 => "eyJhbGciOiJIUzM4NCJ9",
            Self::Hs512 => "eyJhbGciOiJIUzUxMiJ9",
        }
    }

    fn sign(self, key: &[u8], message: &[u8]) -> Vec<u8> {
        fn mac<M: Mac + hmac::digest::KeyInit>(key: &[u8], message: &[u8]) -> Vec<u8> {
            // HMAC takes a key of any length, so this never fails; if it did, the empty
            // signature would match no token (it fails closed).
            let Ok(mut mac) = <M as hmac::digest::KeyInit>::new_from_slice(key) else { return Vec::new() };
            mac.update(message);
            mac.finalize().into_bytes().to_vec()
        }
        match self {
            Self::Hs256 => mac::<Hmac<Sha256>>(key, message),
            Self::Hs384 => mac::<Hmac<Sha384>>(key, message),
            Self::Hs512 => mac::<Hmac<Sha512>>(key, message),
        }
    }
}

/// Why a token secret is refused (the server then refuses to start with auth on).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("the token secret must be base64 (standard alphabet)")]
    NotBase64,
    #[error("the token secret must decode to at least {MIN_SECRET_BYTES} bytes, it decodes to {0}")]
    TooShort(usize),
}

/// The JWT [`TokenCodec`].
#[derive(Clone)]
pub struct JwtCodec {
    key: Vec<u8>,
    algorithm: Algorithm,
}

impl std::fmt::Debug for JwtCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtCodec").field("algorithm", &self.algorithm).finish_non_exhaustive()
    }
}

impl JwtCodec {
    /// A codec for the base64 secret Nacos's `token.secret.key` holds.
    pub fn new(secret_base64: &str) -> Result<Self, SecretError> {
        let key = STANDARD.decode(secret_base64.trim()).map_err(|_| SecretError::NotBase64)?;
        if key.len() < MIN_SECRET_BYTES {
            return Err(SecretError::TooShort(key.len()));
        }
        Ok(Self { algorithm: Algorithm::for_key(&key), key })
    }
}

impl TokenCodec for JwtCodec {
    fn issue(&self, username: &str, expires_at: u64) -> String {
        let claims = URL_SAFE_NO_PAD.encode(json!({ "sub": username, "exp": expires_at }).to_string());
        let signed = format!("{}.{claims}", self.algorithm.header());
        let signature = URL_SAFE_NO_PAD.encode(self.algorithm.sign(&self.key, signed.as_bytes()));
        format!("{signed}.{signature}")
    }

    fn verify(&self, token: &str, now: u64) -> Result<(String, u64), TokenError> {
        let parts: Vec<&str> = token.split('.').collect();
        let [header, claims, signature] = parts[..] else { return Err(TokenError::Malformed) };
        if header != self.algorithm.header() {
            return Err(TokenError::UnsupportedAlgorithm);
        }
        let expected = self.algorithm.sign(&self.key, format!("{header}.{claims}").as_bytes());
        let given = URL_SAFE_NO_PAD.decode(signature).map_err(|_| TokenError::BadSignature)?;
        if !bool::from(expected.ct_eq(&given)) {
            return Err(TokenError::BadSignature);
        }
        let claims = URL_SAFE_NO_PAD.decode(claims).map_err(|_| TokenError::Malformed)?;
        let claims: Value = serde_json::from_slice(&claims).map_err(|_| TokenError::Malformed)?;
        let username = claims["sub"].as_str().filter(|sub| !sub.is_empty()).ok_or(TokenError::Malformed)?;
        let expiry = claims["exp"].as_u64().ok_or(TokenError::Malformed)?;
        if expiry < now {
            return Err(TokenError::Expired);
        }
        Ok((username.to_owned(), expiry))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 32 bytes, base64: HS256.
    const SECRET: &str = "U2VjcmV0S2V5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI=";

    #[test]
    fn tokens_verify_until_they_expire() {
        let codec = JwtCodec::new(SECRET).unwrap();
        let token = codec.issue("dev", 1_000);
        assert!(token.starts_with("eyJhbGciOiJIUzI1NiJ9."), "{token}");
        assert_eq!(codec.verify(&token, 999), Ok(("dev".to_owned(), 1_000)));
        assert_eq!(codec.verify(&token, 1_000), Ok(("dev".to_owned(), 1_000)));
        assert_eq!(codec.verify(&token, 1_001), Err(TokenError::Expired));
    }

    #[test]
    fn forged_and_malformed_tokens_are_refused_with_nacos_s_reasons() {
        let codec = JwtCodec::new(SECRET).unwrap();
        let other = JwtCodec::new("T3RoZXJLZXkwMTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NQ==").unwrap();
        let token = codec.issue("dev", 1_000);
        assert_eq!(other.verify(&token, 0), Err(TokenError::BadSignature), "another secret");
        let parts: Vec<&str> = token.split('.').collect();
        let admin = URL_SAFE_NO_PAD.encode(r#"{"sub":"nacos","exp":1000}"#);
        assert_eq!(codec.verify(&format!("{}.{admin}.{}", parts[0], parts[2]), 0), Err(TokenError::BadSignature));
        assert_eq!(codec.verify("a.b", 0), Err(TokenError::Malformed));
        assert_eq!(codec.verify("eyJhbGciOiJub25lIn0.e30.", 0), Err(TokenError::UnsupportedAlgorithm), "alg none");
        assert_eq!(codec.verify("", 0), Err(TokenError::Malformed));
    }

    #[test]
    fn the_algorithm_follows_the_secret_s_length_and_short_secrets_are_refused() {
        assert_eq!(JwtCodec::new("c2hvcnQ=").map(|_| ()), Err(SecretError::TooShort(5)));
        assert_eq!(JwtCodec::new("not base64!").map(|_| ()), Err(SecretError::NotBase64));
        let long = STANDARD.encode([7u8; 64]);
        assert!(JwtCodec::new(&long).unwrap().issue("u", 1).starts_with("eyJhbGciOiJIUzUxMiJ9."));
        let middle = STANDARD.encode([7u8; 48]);
        assert!(JwtCodec::new(&middle).unwrap().issue("u", 1).starts_with("eyJhbGciOiJIUzM4NCJ9."));
    }
}
