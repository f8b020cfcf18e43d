//! DTLS for every peer connection, with one dimpl configuration for the
//! whole process.
//!
//! str0m's default provider builds a fresh dimpl configuration for each
//! connection, and building one self-tests the crypto provider (an ECDH
//! exchange and an ECDSA verification): about 17 million instructions, two
//! connections per participant, most of what a join costs. The
//! configuration holds no per-connection state (each connection still does
//! its own handshake and derives its own keys), so it is built once per MTU
//! and shared.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use str0m::crypto::dtls::{
    DtlsCert, DtlsImplError, DtlsInstance, DtlsOutput, DtlsProvider, DtlsVersion, ProtocolVersion,
};
use str0m::crypto::{CryptoError, CryptoProvider};

/// One DTLS certificate for every peer connection of the process. Making one
/// costs milliseconds of CPU, twice per participant; the certificate only
/// authenticates the handshake (its fingerprint is in the SDP), and every
/// DTLS session still derives fresh keys. The simulated clients of the
/// tests and the load generator use it too, so that thousands of them join
/// cheaply.
pub fn process_certificate() -> Option<DtlsCert> {
    static CERT: OnceLock<Option<DtlsCert>> = OnceLock::new();
    CERT.get_or_init(|| {
        str0m::crypto::from_feature_flags()
            .dtls_provider
            .generate_certificate()
    })
    .clone()
}

/// The process's crypto provider: str0m's default, with shared DTLS
/// configurations.
pub(crate) fn crypto_provider() -> CryptoProvider {
    let default = str0m::crypto::from_feature_flags();
    let shared = SHARED.get_or_init(|| SharedConfigDtls {
        certificates: default.dtls_provider,
        configs: Mutex::new(Vec::new()),
    });
    CryptoProvider {
        dtls_provider: shared,
        ..default
    }
}

static SHARED: OnceLock<SharedConfigDtls> = OnceLock::new();

#[derive(Debug)]
struct SharedConfigDtls {
    /// Makes certificates (the default provider does it well).
    certificates: &'static dyn DtlsProvider,
    /// One configuration per MTU asked for (in practice one).
    configs: Mutex<Vec<(Option<usize>, Arc<dimpl::Config>)>>,
}

impl SharedConfigDtls {
    fn config(&self, mtu: Option<usize>) -> Result<Arc<dimpl::Config>, CryptoError> {
        // Poisoning cannot leave the list half-written: entries are pushed
        // whole.
        let mut configs = self.configs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, config)) = configs.iter().find(|(m, _)| *m == mtu) {
            return Ok(config.clone());
        }
        // ICE has checked the peer's address before DTLS starts: no cookie
        // exchange needed.
        let mut builder = dimpl::Config::builder().use_server_cookie(false);
        if let Some(mtu) = mtu {
            builder = builder.mtu(mtu);
        }
        let config = Arc::new(
            builder
                .build()
                .map_err(|e| CryptoError::Other(format!("DTLS configuration: {e}")))?,
        );
        configs.push((mtu, config.clone()));
        Ok(config)
    }
}

impl DtlsProvider for SharedConfigDtls {
    fn generate_certificate(&self) -> Option<DtlsCert> {
        self.certificates.generate_certificate()
    }

    fn new_dtls(
        &self,
        cert: &DtlsCert,
        now: Instant,
        dtls_version: DtlsVersion,
        mtu: Option<usize>,
    ) -> Result<Box<dyn DtlsInstance>, CryptoError> {
        let config = self.config(mtu)?;
        let cert = cert.clone();
        let dtls = match dtls_version {
            DtlsVersion::Dtls12 => dimpl::Dtls::new_12(config, cert, now),
            DtlsVersion::Dtls13 => dimpl::Dtls::new_13(config, cert, now),
            DtlsVersion::Auto => dimpl::Dtls::new_auto(config, cert, now),
            other => {
                return Err(CryptoError::Other(format!(
                    "DTLS version {other} not offered"
                )))
            }
        };
        Ok(Box::new(Connection(dtls)))
    }
}

/// One connection's DTLS, as str0m drives it.
struct Connection(dimpl::Dtls);

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Connection(..)")
    }
}

impl DtlsInstance for Connection {
    fn set_active(&mut self, active: bool) {
        self.0.set_active(active)
    }

    fn handle_packet(&mut self, packet: &[u8]) -> Result<(), DtlsImplError> {
        self.0.handle_packet(packet)
    }

    fn poll_output<'a>(&mut self, buf: &'a mut [u8]) -> DtlsOutput<'a> {
        self.0.poll_output(buf)
    }

    fn handle_timeout(&mut self, now: Instant) -> Result<(), DtlsImplError> {
        self.0.handle_timeout(now)
    }

    fn send_application_data(&mut self, data: &[u8]) -> Result<usize, DtlsImplError> {
        self.0.send_application_data(data)
    }

    fn is_active(&self) -> bool {
        self.0.is_active()
    }

    fn protocol_version(&self) -> Option<ProtocolVersion> {
        self.0.protocol_version()
    }

    fn is_closing(&self) -> bool {
        self.0.is_closing()
    }

    fn is_closed(&self) -> bool {
        self.0.is_closed()
    }

    fn close(&mut self) -> Result<(), DtlsImplError> {
        self.0.close()
    }
}
