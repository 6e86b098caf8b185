//! The auth ports' crypto: bcrypt password hashes ([`Bcrypt`]) and Nacos's JWT access tokens
//! ([`JwtCodec`]).

mod bcrypt_hasher;
mod jwt;

pub use bcrypt_hasher::Bcrypt;
pub use jwt::{JwtCodec, SecretError, MIN_SECRET_BYTES};
