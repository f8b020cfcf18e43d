//! Janus VideoRoom's public WebSocket API, translated to and from Hotline's
//! signaling messages, so that the same [`SimClient`] drives both servers.
//!
//! A participant has one Janus session; its publisher connection is a
//! VideoRoom publisher handle (the client offers, Janus answers) and its
//! subscriber connection one multistream subscriber handle for every feed
//! of the room (Janus offers, the client answers) — the same shape as
//! Hotline's two peer connections.
//!
//! [`SimClient`]: hotline_testkit::SimClient

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures_util::{SinkExt, StreamExt};
use hotline_proto::{
    ClientMessage, Grants, ServerMessage, SubscribedTrack, TrackKind, TrackSource, PROTOCOL_VERSION,
};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::participant::Role;

const PLUGIN: &str = "janus.plugin.videoroom";
/// Janus ends sessions silent for 60 s.
const KEEPALIVE_EVERY: Duration = Duration::from_secs(20);
/// Replies to the requests made while connecting.
const REPLY_TIMEOUT: Duration = Duration::from_secs(20);

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The feed ids of a room's publishers, as they start publishing.
#[derive(Clone)]
pub(crate) struct Feeds {
    ids: Arc<watch::Sender<Vec<u64>>>,
    expected: usize,
}

impl Feeds {
    pub fn new(expected: usize) -> Feeds {
        Feeds {
            ids: Arc::new(watch::Sender::new(Vec::new())),
            expected,
        }
    }

    fn add(&self, id: u64) {
        self.ids.send_modify(|ids| ids.push(id));
    }

    fn subscribe(&self) -> watch::Receiver<Vec<u64>> {
        self.ids.subscribe()
    }
}

/// Creates a VideoRoom room for the run (or keeps the one that exists).
pub(crate) async fn create_room(url: &str, room: &str, publishers: usize) -> anyhow::Result<()> {
    let room: u64 = room.parse().context("a Janus room is a number")?;
    let mut socket = open(url).await?;
    let mut next = 0;
    let session = request(&mut socket, &mut next, json!({"janus": "create"})).await?;
    let session = data_id(&session)?;
    let handle = request(
        &mut socket,
        &mut next,
        json!({"janus": "attach", "session_id": session, "plugin": PLUGIN}),
    )
    .await?;
    let handle = data_id(&handle)?;
    let body = json!({
        "request": "create",
        "room": room,
        "publishers": publishers.max(1),
        "bitrate": 0,
        "audiocodec": "opus",
        "videocodec": "vp8",
        "notify_joining": false,
    });
    let reply = request(
        &mut socket,
        &mut next,
        json!({"janus": "message", "session_id": session, "handle_id": handle, "body": body}),
    )
    .await?;
    let data = &reply["plugindata"]["data"];
    // 427: the room exists already (a previous run); it is reused.
    if data["videoroom"] != "created" && data["error_code"] != 427 {
        bail!("Janus did not create room {room}: {data}");
    }
    let _ = request(
        &mut socket,
        &mut next,
        json!({"janus": "destroy", "session_id": session}),
    )
    .await;
    Ok(())
}

async fn open(url: &str) -> anyhow::Result<Socket> {
    let mut request = url
        .into_client_request()
        .with_context(|| format!("bad Janus URL {url}"))?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("janus-protocol"),
    );
    let (socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .with_context(|| format!("connecting to Janus at {url}"))?;
    Ok(socket)
}

/// Sends a request and waits for its final reply (skipping acks and
/// unrelated events); only used while no media flows yet.
async fn request(socket: &mut Socket, next: &mut u64, mut message: Value) -> anyhow::Result<Value> {
    *next += 1;
    let transaction = format!("t{next}");
    message["transaction"] = json!(transaction);
    socket.send(Message::text(message.to_string())).await?;
    let deadline = tokio::time::Instant::now() + REPLY_TIMEOUT;
    loop {
        let reply = tokio::time::timeout_at(deadline, next_json(socket))
            .await
            .context("Janus did not answer in time")??
            .context("Janus closed the connection")?;
        if reply["transaction"] != json!(transaction) || reply["janus"] == "ack" {
            continue;
        }
        if reply["janus"] == "error" {
            bail!("Janus refused {}: {}", message["janus"], reply["error"]);
        }
        return Ok(reply);
    }
}

/// The next JSON message; `None` when the connection closed. Cancel-safe.
async fn next_json(socket: &mut Socket) -> anyhow::Result<Option<Value>> {
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => {
                return serde_json::from_str(&text)
                    .with_context(|| format!("Janus sent something not JSON: {text}"))
                    .map(Some)
            }
            Some(Ok(Message::Close(_))) | None => return Ok(None),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e).context("Janus connection"),
        }
    }
}

fn data_id(reply: &Value) -> anyhow::Result<u64> {
    reply["data"]["id"]
        .as_u64()
        .with_context(|| format!("Janus reply without an id: {reply}"))
}

pub(crate) struct Connection {
    pub(crate) socket: Socket,
    next: u64,
    session: u64,
    room: u64,
    publisher_handle: Option<u64>,
    subscriber_handle: Option<u64>,
    own_feed: Option<u64>,
    feeds: Feeds,
    feed_ids: watch::Receiver<Vec<u64>>,
    subscribed: bool,
    /// Translated messages for the client.
    pending: VecDeque<ServerMessage>,
    last_keepalive: Instant,
}

/// Opens a session with the handles `role` needs and joins the room.
pub(crate) async fn connect(
    url: &str,
    room: &str,
    name: &str,
    role: Role,
    feeds: Feeds,
) -> anyhow::Result<Connection> {
    let room: u64 = room.parse().context("a Janus room is a number")?;
    let mut socket = open(url).await?;
    let mut next = 0;
    let session = request(&mut socket, &mut next, json!({"janus": "create"})).await?;
    let session = data_id(&session)?;
    let attach = async |socket: &mut Socket, next: &mut u64| {
        let reply = request(
            socket,
            next,
            json!({"janus": "attach", "session_id": session, "plugin": PLUGIN}),
        )
        .await?;
        data_id(&reply)
    };
    let publisher_handle = match role.publishes() {
        true => Some(attach(&mut socket, &mut next).await?),
        false => None,
    };
    let subscriber_handle = match role.subscribes() {
        true => Some(attach(&mut socket, &mut next).await?),
        false => None,
    };
    let mut own_feed = None;
    if let Some(handle) = publisher_handle {
        let body = json!({"request": "join", "ptype": "publisher", "room": room, "display": name});
        let joined = request(
            &mut socket,
            &mut next,
            json!({"janus": "message", "session_id": session, "handle_id": handle, "body": body}),
        )
        .await?;
        let data = &joined["plugindata"]["data"];
        if data["videoroom"] != "joined" {
            bail!("Janus did not let the publisher join room {room}: {data}");
        }
        own_feed = Some(
            data["id"]
                .as_u64()
                .with_context(|| format!("joined without a feed id: {data}"))?,
        );
    }
    let participant_id = own_feed.unwrap_or(session).to_string();
    let welcome = ServerMessage::Welcome {
        protocol_version: PROTOCOL_VERSION,
        participant_id,
        room: room.to_string(),
        identity: name.to_string(),
        name: name.to_string(),
        grants: Grants {
            publish: role.publishes(),
            subscribe: role.subscribes(),
            publish_data: false,
            inspect: false,
            organize: false,
            host: false,
            interpret: None,
        },
        participants: Vec::new(),
        disconnect_timeout_ms: 60_000,
        resume_token: String::new(),
        locked: false,
        e2ee: false,
    };
    let feed_ids = feeds.subscribe();
    Ok(Connection {
        socket,
        next,
        session,
        room,
        publisher_handle,
        subscriber_handle,
        own_feed,
        feeds,
        feed_ids,
        subscribed: false,
        pending: VecDeque::from([welcome]),
        last_keepalive: Instant::now(),
    })
}

impl Connection {
    async fn post(&mut self, handle: Option<u64>, mut message: Value) -> anyhow::Result<()> {
        self.next += 1;
        message["transaction"] = json!(format!("t{}", self.next));
        message["session_id"] = json!(self.session);
        if let Some(handle) = handle {
            message["handle_id"] = json!(handle);
        }
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .context("sending to Janus")
    }

    /// Sends what the client asks for, as the Janus request that does it.
    pub async fn send(&mut self, message: ClientMessage) -> anyhow::Result<()> {
        match message {
            ClientMessage::PublishOffer { sdp, .. } => {
                let body = json!({"request": "publish", "audio": true, "video": true});
                self.send_jsep(self.publisher_handle, body, "offer", sdp)
                    .await
            }
            ClientMessage::SubscriberAnswer { sdp } => {
                let body = json!({"request": "start"});
                self.send_jsep(self.subscriber_handle, body, "answer", sdp)
                    .await
            }
            ClientMessage::Ping => {
                if self.last_keepalive.elapsed() >= KEEPALIVE_EVERY {
                    self.last_keepalive = Instant::now();
                    self.post(None, json!({"janus": "keepalive"})).await?;
                }
                self.subscribe_when_ready().await
            }
            ClientMessage::Leave => self.post(None, json!({"janus": "destroy"})).await,
            _ => Ok(()),
        }
    }

    /// A VideoRoom request carrying an SDP offer or answer. The client's SDP
    /// holds all its candidates, so Janus is told to expect none by trickle.
    async fn send_jsep(
        &mut self,
        handle: Option<u64>,
        body: Value,
        kind: &str,
        sdp: String,
    ) -> anyhow::Result<()> {
        let jsep = json!({"type": kind, "sdp": sdp});
        self.post(
            handle,
            json!({"janus": "message", "body": body, "jsep": jsep}),
        )
        .await?;
        self.post(
            handle,
            json!({"janus": "trickle", "candidate": {"completed": true}}),
        )
        .await
    }

    /// Joins the subscriber handle to every other feed of the room once all
    /// of them publish.
    async fn subscribe_when_ready(&mut self) -> anyhow::Result<()> {
        let Some(handle) = self.subscriber_handle else {
            return Ok(());
        };
        if self.subscribed {
            return Ok(());
        }
        let others: Vec<u64> = self
            .feed_ids
            .borrow()
            .iter()
            .copied()
            .filter(|id| Some(*id) != self.own_feed)
            .collect();
        let wanted = self.feeds.expected - usize::from(self.own_feed.is_some());
        if others.len() < wanted {
            return Ok(());
        }
        self.subscribed = true;
        let streams: Vec<Value> = others.iter().map(|id| json!({"feed": id})).collect();
        let body = json!({
            "request": "join",
            "ptype": "subscriber",
            "room": self.room,
            "streams": streams,
        });
        self.post(Some(handle), json!({"janus": "message", "body": body}))
            .await
    }

    /// The next message for the client. Cancel-safe: Janus's messages are
    /// read whole and translated into `pending`.
    pub async fn recv(&mut self) -> anyhow::Result<Option<ServerMessage>> {
        loop {
            if let Some(message) = self.pending.pop_front() {
                return Ok(Some(message));
            }
            let Some(event) = next_json(&mut self.socket).await? else {
                return Ok(None);
            };
            self.translate(event)?;
        }
    }

    fn translate(&mut self, event: Value) -> anyhow::Result<()> {
        let sender = event["sender"].as_u64();
        match event["janus"].as_str() {
            Some("error") => bail!("Janus: {}", event["error"]),
            Some("hangup") => bail!("Janus hung up: {}", event["reason"]),
            Some("event") => {}
            _ => return Ok(()),
        }
        let data = &event["plugindata"]["data"];
        if data["error"].is_string() {
            bail!("Janus VideoRoom: {}", data["error"]);
        }
        let jsep = &event["jsep"];
        let sdp = jsep["sdp"].as_str().map(str::to_string);
        if sender == self.publisher_handle && sender.is_some() {
            if data["configured"] == "ok" {
                if let Some(feed) = self.own_feed {
                    self.feeds.add(feed);
                }
            }
            if let (Some(sdp), Some("answer")) = (sdp, jsep["type"].as_str()) {
                self.pending.push_back(ServerMessage::PublishAnswer { sdp });
            }
        } else if sender == self.subscriber_handle && sender.is_some() {
            if let (Some(sdp), Some("offer")) = (sdp, jsep["type"].as_str()) {
                let tracks = data["streams"]
                    .as_array()
                    .map(|streams| streams.iter().filter_map(subscribed_track).collect())
                    .unwrap_or_default();
                self.pending
                    .push_back(ServerMessage::SubscriberOffer { sdp, tracks });
            }
        }
        Ok(())
    }
}

/// A stream of a subscriber's `attached`/`updated` event as a track.
fn subscribed_track(stream: &Value) -> Option<SubscribedTrack> {
    let (kind, source) = match stream["type"].as_str()? {
        "audio" => (TrackKind::Audio, TrackSource::Microphone),
        "video" => (TrackKind::Video, TrackSource::Camera),
        _ => return None,
    };
    let mid = stream["mid"].as_str()?.to_string();
    let feed = stream["feed_id"].as_u64()?;
    Some(SubscribedTrack {
        track_id: format!("{feed}/{}", stream["feed_mid"].as_str().unwrap_or(&mid)),
        participant_id: feed.to_string(),
        mid,
        kind,
        source,
    })
}
