//! Access tokens: compact JWS (JWT) signed with HMAC-SHA256.
//!
//! A token names one room, one identity and what that identity may do there
//! (its [`Grants`]). Verification is pure: the caller passes `now`, so tests
//! and the server agree on time without a clock in this crate.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

pub use hotline_proto::{Grants, Language};

/// The room claim of an organizer's credential (the `organize` grant): no
/// room can have this name, so it opens none.
pub const ORGANIZER_ROOM: &str = "hotline:organizer";

/// Clock skew tolerated between the minting machine and the server.
pub const CLOCK_LEEWAY_SECS: u64 = 30;

/// Longest token accepted for verification; real tokens are a few hundred bytes.
const MAX_TOKEN_BYTES: usize = 4096;

/// The signed content of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The participant's stable identity in the room.
    pub sub: String,
    /// Display name shown to others.
    pub name: String,
    /// The one room this token opens.
    pub room: String,
    /// Issued at, Unix seconds.
    pub iat: u64,
    /// Not valid before, Unix seconds.
    pub nbf: u64,
    /// Expiry, Unix seconds. Checked at join only: a call outlives its token.
    pub exp: u64,
    pub grants: Grants,
    /// The room's languages, when this token opens it (the first in a room
    /// without declared languages): its interpretation channels.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<Language>,
    /// The room is end-to-end encrypted: it becomes so when this token
    /// joins it (a token never turns encryption off).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub e2ee: bool,
}

/// The server's signing secret. Its `Debug` never prints the bytes.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Shortest secret accepted: HS256 wants at least 256 bits of key.
    pub const MIN_BYTES: usize = 32;

    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Secret, TokenError> {
        let bytes = bytes.into();
        if bytes.len() < Self::MIN_BYTES {
            return Err(TokenError::WeakSecret);
        }
        Ok(Secret(bytes))
    }

    /// A fresh random secret, as text safe to store in a file or variable.
    pub fn generate_text() -> String {
        let bytes: [u8; 32] = rand::random();
        B64.encode(bytes)
    }

    /// A key for another purpose (e.g. relay credentials), derived so that
    /// the signing key itself is never used for anything but tokens.
    pub fn derive_key(&self, purpose: &str) -> [u8; 32] {
        let mut mac = self.mac();
        mac.update(b"hotline derived key\0");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC accepts keys of any length.
        Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length")
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    #[error("token is not a well-formed signed token")]
    Malformed,
    #[error("token signature does not match")]
    BadSignature,
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet")]
    NotYetValid,
    #[error("token claims are invalid")]
    InvalidClaims,
    #[error("secret must be at least 32 bytes")]
    WeakSecret,
}

const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// Signs `claims` into a compact token.
pub fn sign(claims: &Claims, secret: &Secret) -> String {
    let header = B64.encode(HEADER);
    // Claims are plain strings and numbers: serialising cannot fail.
    let payload = B64.encode(serde_json::to_vec(claims).expect("claims serialise"));
    let signing_input = format!("{header}.{payload}");
    let mut mac = secret.mac();
    mac.update(signing_input.as_bytes());
    let signature = B64.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{signature}")
}

/// Verifies signature and validity window at `now` (Unix seconds).
pub fn verify(token: &str, secret: &Secret, now: u64) -> Result<Claims, TokenError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let signature = B64.decode(signature).map_err(|_| TokenError::Malformed)?;
    let mut mac = secret.mac();
    mac.update(header.as_bytes());
    mac.update(b".");
    mac.update(payload.as_bytes());
    // Constant-time comparison.
    mac.verify_slice(&signature)
        .map_err(|_| TokenError::BadSignature)?;

    // Only after the signature holds do we look inside.
    let header: serde_json::Value = B64
        .decode(header)
        .ok()
        .and_then(|h| serde_json::from_slice(&h).ok())
        .ok_or(TokenError::Malformed)?;
    if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
        return Err(TokenError::Malformed);
    }
    let claims: Claims = B64
        .decode(payload)
        .ok()
        .and_then(|p| serde_json::from_slice(&p).ok())
        .ok_or(TokenError::Malformed)?;
    if claims.sub.is_empty() || claims.room.is_empty() || claims.exp < claims.nbf {
        return Err(TokenError::InvalidClaims);
    }
    if now > claims.exp.saturating_add(CLOCK_LEEWAY_SECS) {
        return Err(TokenError::Expired);
    }
    if now.saturating_add(CLOCK_LEEWAY_SECS) < claims.nbf {
        return Err(TokenError::NotYetValid);
    }
    Ok(claims)
}

/// What to put in a new token; [`TokenRequest::mint`] fills in the times.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub room: String,
    pub identity: String,
    pub name: Option<String>,
    pub ttl_secs: u64,
    pub grants: Grants,
    /// See [`Claims::languages`].
    pub languages: Vec<Language>,
    /// See [`Claims::e2ee`].
    pub e2ee: bool,
}

impl TokenRequest {
    pub fn mint(&self, secret: &Secret, now: u64) -> String {
        let claims = Claims {
            sub: self.identity.clone(),
            name: self.name.clone().unwrap_or_else(|| self.identity.clone()),
            room: self.room.clone(),
            iat: now,
            nbf: now,
            exp: now.saturating_add(self.ttl_secs),
            grants: self.grants,
            languages: self.languages.clone(),
            e2ee: self.e2ee,
        };
        sign(&claims, secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> Secret {
        Secret::new(b"0123456789abcdef0123456789abcdef".to_vec()).unwrap()
    }

    #[test]
    fn derived_keys_differ_by_purpose_and_from_the_secret() {
        let a = secret().derive_key("relay");
        assert_eq!(a, secret().derive_key("relay"));
        assert_ne!(a, secret().derive_key("other"));
        let other = Secret::new(b"fedcba9876543210fedcba9876543210".to_vec()).unwrap();
        assert_ne!(a, other.derive_key("relay"));
    }

    fn request() -> TokenRequest {
        TokenRequest {
            room: "summit".into(),
            identity: "alice".into(),
            name: Some("Alice".into()),
            ttl_secs: 3600,
            languages: Vec::new(),
            e2ee: false,
            grants: Grants::default(),
        }
    }

    #[test]
    fn minted_token_verifies_with_its_claims() {
        let token = request().mint(&secret(), 1_000);
        let claims = verify(&token, &secret(), 1_000).unwrap();
        assert_eq!(claims.sub, "alice");
        assert_eq!(claims.name, "Alice");
        assert_eq!(claims.room, "summit");
        assert_eq!(claims.exp, 4_600);
        assert_eq!(claims.grants, Grants::default());
    }

    #[test]
    fn name_defaults_to_identity() {
        let mut req = request();
        req.name = None;
        let claims = verify(&req.mint(&secret(), 0), &secret(), 0).unwrap();
        assert_eq!(claims.name, "alice");
    }

    #[test]
    fn other_secret_is_a_bad_signature() {
        let token = request().mint(&secret(), 1_000);
        let other = Secret::new(vec![7u8; 32]).unwrap();
        assert_eq!(verify(&token, &other, 1_000), Err(TokenError::BadSignature));
    }

    #[test]
    fn tampered_payload_is_a_bad_signature() {
        let token = request().mint(&secret(), 1_000);
        let mut parts: Vec<&str> = token.split('.').collect();
        let mut claims = verify(&token, &secret(), 1_000).unwrap();
        claims.grants.publish = true;
        claims.room = "other".into();
        let forged = B64.encode(serde_json::to_vec(&claims).unwrap());
        parts[1] = &forged;
        assert_eq!(
            verify(&parts.join("."), &secret(), 1_000),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn expiry_and_not_before_respect_the_leeway() {
        let token = request().mint(&secret(), 1_000);
        assert!(verify(&token, &secret(), 4_600 + CLOCK_LEEWAY_SECS).is_ok());
        assert_eq!(
            verify(&token, &secret(), 4_601 + CLOCK_LEEWAY_SECS),
            Err(TokenError::Expired)
        );
        assert!(verify(&token, &secret(), 1_000 - CLOCK_LEEWAY_SECS).is_ok());
        assert_eq!(
            verify(&token, &secret(), 999 - CLOCK_LEEWAY_SECS),
            Err(TokenError::NotYetValid)
        );
    }

    #[test]
    fn garbage_is_malformed_never_a_panic() {
        for bad in [
            "",
            ".",
            "..",
            "a.b.c",
            "a.b.c.d",
            "###.###.###",
            &"x".repeat(10_000),
        ] {
            let err = verify(bad, &secret(), 0).unwrap_err();
            assert!(
                matches!(err, TokenError::Malformed | TokenError::BadSignature),
                "{bad:?} gave {err:?}"
            );
        }
    }

    #[test]
    fn other_algorithm_in_header_is_refused_even_if_signed() {
        let header = B64.encode(r#"{"alg":"none"}"#);
        let payload = B64.encode(
            serde_json::to_vec(&verify(&request().mint(&secret(), 0), &secret(), 0).unwrap())
                .unwrap(),
        );
        let input = format!("{header}.{payload}");
        let mut mac = secret().mac();
        mac.update(input.as_bytes());
        let sig = B64.encode(mac.finalize().into_bytes());
        assert_eq!(
            verify(&format!("{input}.{sig}"), &secret(), 0),
            Err(TokenError::Malformed)
        );
    }

    #[test]
    fn short_secrets_are_refused_and_never_printed() {
        assert_eq!(
            Secret::new(b"short".to_vec()).unwrap_err(),
            TokenError::WeakSecret
        );
        assert_eq!(format!("{:?}", secret()), "Secret(..)");
        assert!(Secret::new(Secret::generate_text()).is_ok());
    }
}
