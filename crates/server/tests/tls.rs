//! HTTPS served by the binary itself (rustls), and signaling over wss.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::Message;

mod common;

#[tokio::test]
async fn serves_https_and_wss_with_the_given_certificate() {
    let _ = tokio_rustls::rustls::crypto::aws_lc_rs::default_provider().install_default();
    let dir = std::env::temp_dir().join(format!("hotline-tls-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();

    let (server, data_dir) = common::server_with(|c| {
        c.dev = true;
        c.tls = Some((cert_path, key_path));
        c.turn = Some(hotline_server::config::TurnPorts {
            port: None,
            tls_port: Some(0),
        });
    })
    .await;
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );

    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(cert.cert.der().to_vec()))
        .unwrap();
    let connector = TlsConnector::from(Arc::new(
        ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    ));
    let name = ServerName::try_from("localhost").unwrap();

    // HTTPS: the client configuration endpoint, with the security headers.
    let tcp = TcpStream::connect(server.http_addr).await.unwrap();
    let mut tls = connector
        .connect(name.clone(), tcp)
        .await
        .expect("TLS handshake");
    tls.write_all(b"GET /api/config HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    tls.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        response.contains("referrer-policy: no-referrer"),
        "{response}"
    );
    assert!(response.contains(r#""dev":true"#), "{response}");

    // wss: a join over the encrypted socket is welcomed.
    let tcp = TcpStream::connect(server.http_addr).await.unwrap();
    let tls = connector.connect(name, tcp).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::client_async("wss://localhost/ws", tls)
        .await
        .expect("websocket over TLS");
    let join = common::join_message("secure", "alice");
    ws.send(Message::Text(serde_json::to_string(&join).unwrap().into()))
        .await
        .unwrap();
    let mut next = async || {
        let reply = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        reply.to_text().unwrap().to_owned()
    };
    // Relays first; TURN over TLS is named by the host of the page, which
    // the certificate is for.
    let relays = next().await;
    let tls_port = server.turn_tls_addr.expect("TURN over TLS").port();
    assert!(
        relays.contains(&format!("turns:localhost:{tls_port}?transport=tcp")),
        "{relays}"
    );
    assert!(next().await.contains(r#""type":"welcome""#));

    // TURN over TLS: the relay answers through the encrypted stream (here
    // its challenge to an unsigned Allocate).
    use hotline_turn::message::{attr, Class, MessageBuilder, Method};
    let tcp = TcpStream::connect(server.turn_tls_addr.unwrap())
        .await
        .unwrap();
    let mut tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .expect("TLS handshake with the relay");
    let allocate = MessageBuilder::new(Method::Allocate, Class::Request, rand::random())
        .attribute(attr::REQUESTED_TRANSPORT, &[17, 0, 0, 0])
        .build();
    tls.write_all(&allocate).await.unwrap();
    let answer = common::read_turn_frame(&mut tls)
        .await
        .expect("a TURN frame");
    let answer = hotline_turn::message::Message::parse(&answer).unwrap();
    assert_eq!(answer.class, Class::Error);
    assert_eq!(answer.text(attr::REALM), Some("hotline"));
    server.stop();
    std::fs::remove_dir_all(dir).unwrap();
    std::fs::remove_dir_all(data_dir).unwrap();
}
