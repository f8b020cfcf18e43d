//! Short-lived relay credentials, derived from a key only the server holds
//! (the "TURN REST API" scheme: the username carries its own expiry and
//! whom it was made for; the password is a MAC of the username). Nothing is
//! stored: any server with the key can check any credential.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use sha1::Sha1;

use crate::message::{attr, MessageBuilder};

/// The realm of the long-term credential mechanism.
pub const REALM: &str = "hotline";

/// The key credentials are made and checked with.
#[derive(Clone)]
pub struct CredentialKey([u8; 32]);

impl CredentialKey {
    pub fn new(bytes: [u8; 32]) -> CredentialKey {
        CredentialKey(bytes)
    }

    fn mac(&self) -> Hmac<Sha1> {
        Hmac::<Sha1>::new_from_slice(&self.0).expect("HMAC takes any key length")
    }

    /// The password for `username`.
    pub fn password(&self, username: &str) -> String {
        let mut mac = self.mac();
        mac.update(username.as_bytes());
        B64.encode(mac.finalize().into_bytes())
    }

    /// Credentials for `user` valid until `now + ttl_secs` (Unix seconds).
    pub fn mint(&self, user: &str, now: u64, ttl_secs: u64) -> Credentials {
        let username = format!("{}:{user}", now.saturating_add(ttl_secs));
        Credentials {
            password: self.password(&username),
            username,
        }
    }

    /// A nonce bound to the time it was made, so that it can be checked
    /// without keeping it.
    pub fn nonce(&self, now: u64) -> String {
        let mut mac = self.mac();
        mac.update(b"nonce");
        mac.update(&now.to_be_bytes());
        let tag = mac.finalize().into_bytes();
        let tag: String = tag[..8].iter().map(|b| format!("{b:02x}")).collect();
        format!("{now:016x}{tag}")
    }

    /// Whether `nonce` was made by [`CredentialKey::nonce`] less than
    /// `max_age` seconds ago.
    pub fn nonce_fresh(&self, nonce: &str, now: u64, max_age: u64) -> bool {
        let Some(made) = nonce
            .get(..16)
            .and_then(|t| u64::from_str_radix(t, 16).ok())
        else {
            return false;
        };
        made <= now && now - made < max_age && self.nonce(made) == nonce
    }
}

impl std::fmt::Debug for CredentialKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CredentialKey(..)")
    }
}

/// A username and password for the relay.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// What a username says: until when it is valid, and for whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username<'a> {
    pub expires: u64,
    pub user: &'a str,
}

impl<'a> Username<'a> {
    pub fn parse(username: &'a str) -> Option<Username<'a>> {
        let (expires, user) = username.split_once(':')?;
        Some(Username {
            expires: expires.parse().ok()?,
            user,
        })
    }
}

impl MessageBuilder {
    /// Signs a request as a client does under the long-term credential
    /// mechanism: USERNAME, REALM and NONCE, then MESSAGE-INTEGRITY.
    pub fn signed(self, credentials: &Credentials, nonce: &str) -> MessageBuilder {
        let key = long_term_key(&credentials.username, &credentials.password);
        self.attribute(attr::USERNAME, credentials.username.as_bytes())
            .attribute(attr::REALM, REALM.as_bytes())
            .attribute(attr::NONCE, nonce.as_bytes())
            .integrity(&key)
    }
}

/// The long-term credential key of RFC 8489 section 9.2.2:
/// MD5(username ":" realm ":" password).
pub fn long_term_key(username: &str, password: &str) -> [u8; 16] {
    let mut md5 = Md5::new();
    md5.update(username.as_bytes());
    md5.update(b":");
    md5.update(REALM.as_bytes());
    md5.update(b":");
    md5.update(password.as_bytes());
    md5.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> CredentialKey {
        CredentialKey::new([7; 32])
    }

    #[test]
    fn minted_credentials_carry_expiry_and_user() {
        let credentials = key().mint("p0123456789ab", 1_000, 600);
        let username = Username::parse(&credentials.username).unwrap();
        assert_eq!(username.expires, 1_600);
        assert_eq!(username.user, "p0123456789ab");
        assert_eq!(credentials.password, key().password(&credentials.username));
        assert_ne!(
            credentials.password,
            CredentialKey::new([8; 32]).password(&credentials.username)
        );
        assert!(!format!("{credentials:?}").contains(&credentials.password));
    }

    #[test]
    fn nonces_expire_and_cannot_be_forged() {
        let nonce = key().nonce(5_000);
        assert!(key().nonce_fresh(&nonce, 5_010, 600));
        assert!(!key().nonce_fresh(&nonce, 5_600, 600));
        assert!(!key().nonce_fresh(&nonce, 4_000, 600));
        assert!(!CredentialKey::new([1; 32]).nonce_fresh(&nonce, 5_010, 600));
        let forged = format!("{:016x}{}", 5_005, &nonce[16..]);
        assert!(!key().nonce_fresh(&forged, 5_010, 600));
        assert!(!key().nonce_fresh("", 5_010, 600));
        assert!(!key().nonce_fresh("é", 5_010, 600));
    }

    #[test]
    fn long_term_key_is_md5_of_user_realm_password() {
        // MD5("user:hotline:pass"), computed with Python's hashlib.
        let hex: String = long_term_key("user", "pass")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hex, "e213a3980ee0b138f1407c5abc7f74b8");
        assert_ne!(long_term_key("user", "pass"), long_term_key("user", "pas"));
    }
}
