//! The JSON API of scheduled calls (`docs/scheduling.md`):
//!
//! - `POST /api/calls`: an organizer creates a call; each party gets its
//!   private link (a capability: whoever holds it acts for the party);
//! - `GET /api/parties/{key}`: a party's view of the negotiation;
//! - `PUT /api/parties/{key}/windows`: when the party can, in its local time;
//! - `PUT /api/parties/{key}/acceptance`: the slot it accepts (or none);
//! - `POST /api/parties/{key}/agenda`, `PUT …/agenda/{item}/acceptance`,
//!   `PUT …/agenda/order`: agenda items, agreed when every party accepts;
//! - `PUT /api/parties/{key}/release`: approve announcing the agreed time;
//! - `GET /api/calls/{call}/public`: the public page's data (no time before
//!   every party approved);
//! - `GET /api/members/{key}`, `POST …/token`, `GET …/invite.ics`: a
//!   member's personal link: the call in its time zone, a room token from
//!   15 minutes before the agreed start to its end (grants by role), and a
//!   calendar invitation;
//! - `POST /api/calls/{call}/parties/{party}/link`: the organizer replaces a
//!   party's link (the old one stops working);
//! - `GET /api/openapi.json`: the OpenAPI document of all this.
//!
//! Every change carries the `version` the party last saw; a change made
//! meanwhile answers 409. Refusals are 4xx with `{"error": "..."}` in words
//! for the user, and nothing partial is stored.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use hotline_auth::Language;
use hotline_schedule::call::{Call, NewCall, Refusal};
use hotline_schedule::call::{Member, Role};
use hotline_schedule::slots::LocalWindow;
use hotline_schedule::store::{PartyLink, Store, UpdateError};
use hotline_schedule::view::{MemberView, PartyView, PublicView};
use hotline_schedule::Clock;
use serde::{Deserialize, Serialize};
use tracing::{error, info};

use crate::http::{bearer_claims, AppState};

/// Largest request body of this API.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// The store and the clock the API works with.
#[derive(Clone)]
pub struct ScheduleState {
    pub store: Arc<Store>,
    pub clock: Clock,
    /// `https` or `http`: how the server is reached, for links that leave
    /// the browser (calendar invitations).
    pub scheme: &'static str,
    /// Told when a call's time is announced.
    pub webhook: Option<crate::webhook::Webhook>,
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/calls", post(create_call))
        .route("/api/parties/{key}", get(party_view))
        .route("/api/parties/{key}/windows", put(set_windows))
        .route("/api/parties/{key}/acceptance", put(accept))
        .route("/api/parties/{key}/agenda", post(propose_item))
        .route("/api/parties/{key}/agenda/order", put(reorder))
        .route(
            "/api/parties/{key}/agenda/{item}/acceptance",
            put(accept_item),
        )
        .route("/api/parties/{key}/release", put(approve_release))
        .route("/api/calls/{call}/public", get(public_view))
        .route("/api/members/{key}", get(member_view))
        .route("/api/members/{key}/token", post(member_token))
        .route("/api/members/{key}/invite.ics", get(member_invitation))
        .route("/api/calls/{call}/parties/{party}/link", post(replace_link))
        .route("/api/openapi.json", get(openapi))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// The OpenAPI document of this API; `tests/schedule.rs` checks it against
/// what the server answers.
const OPENAPI: &str = include_str!("../api/openapi.json");

async fn openapi() -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
}

/// A refusal, as JSON.
pub struct ApiError(StatusCode, String);

#[derive(Serialize)]
struct ErrorBody {
    error: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(ErrorBody { error: self.1 })).into_response()
    }
}

impl From<(StatusCode, String)> for ApiError {
    fn from((status, message): (StatusCode, String)) -> Self {
        ApiError(status, message)
    }
}

impl From<UpdateError> for ApiError {
    fn from(e: UpdateError) -> Self {
        let status = match &e {
            UpdateError::NotFound => StatusCode::NOT_FOUND,
            UpdateError::Conflict { .. } => StatusCode::CONFLICT,
            UpdateError::Refused(_) => StatusCode::BAD_REQUEST,
            UpdateError::Store(_) => return internal(e),
        };
        ApiError(status, e.to_string())
    }
}

impl From<Refusal> for ApiError {
    fn from(e: Refusal) -> Self {
        ApiError(StatusCode::BAD_REQUEST, e.to_string())
    }
}

/// A failure of the server itself: logged, and said without details.
fn internal(e: impl std::fmt::Display) -> ApiError {
    error!("schedule: {e}");
    ApiError(
        StatusCode::INTERNAL_SERVER_ERROR,
        "the server could not do that: try again later".into(),
    )
}

/// Parses a JSON body, saying what was wrong with it.
fn body<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError(
            StatusCode::BAD_REQUEST,
            format!("the request is not valid: {e}"),
        )
    })
}

/// Runs a store call off the async threads (SQLite blocks).
/// Stores, off the media task, each admission to a scheduled call's room
/// that the media worker reports: a member a host let in stays let in,
/// across restarts.
pub fn store_admissions(
    schedule: ScheduleState,
) -> tokio::sync::mpsc::UnboundedSender<crate::media::Admission> {
    let (sink, mut admissions) = tokio::sync::mpsc::unbounded_channel::<crate::media::Admission>();
    tokio::spawn(async move {
        while let Some(admission) = admissions.recv().await {
            let Some(call_id) = Call::id_of_room(&admission.room).map(str::to_string) else {
                continue;
            };
            let store = schedule.store.clone();
            let now = schedule.clock.now();
            let stored = tokio::task::spawn_blocking(move || {
                store.admit(&call_id, &admission.identity, now)
            })
            .await;
            if !matches!(stored, Ok(Ok(()))) {
                error!(room = %admission.room, "could not store an admission: the member will wait in the lobby again after a restart");
            }
        }
    });
    sink
}

/// Whether a host let `identity` into the scheduled call whose room
/// `room` is, before (it then skips the lobby). False for other rooms.
pub async fn admitted_before(schedule: &ScheduleState, room: &str, identity: &str) -> bool {
    let Some(call_id) = Call::id_of_room(room).map(str::to_string) else {
        return false;
    };
    let store = schedule.store.clone();
    let identity = identity.to_string();
    tokio::task::spawn_blocking(move || store.is_admitted(&call_id, &identity))
        .await
        .is_ok_and(|admitted| admitted.unwrap_or(false))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(internal)?
}

#[derive(Serialize)]
struct CreatedCall {
    call_id: String,
    /// The call's public page (says no time before every party approves).
    public_link: String,
    parties: Vec<CreatedParty>,
}

#[derive(Serialize)]
struct CreatedParty {
    party_id: String,
    name: String,
    /// The party page: hand it to that party only.
    link: String,
}

fn party_link(link: &PartyLink) -> String {
    format!("/party/{}", link.key)
}

async fn create_call(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    bytes: axum::body::Bytes,
) -> Result<(StatusCode, Json<CreatedCall>), ApiError> {
    let organizer = organizer(&state, &headers)?;
    let new: NewCall = body(&bytes)?;
    let schedule = state.schedule.clone();
    let now = schedule.clock.now();
    let call = Call::create(new, &organizer, now)?;
    let created = blocking(move || {
        let links = schedule.store.create(&call).map_err(internal)?;
        info!(call = %call.id, %organizer, parties = call.parties.len(), "scheduled call created");
        Ok(CreatedCall {
            call_id: call.id.clone(),
            public_link: format!("/call/{}", call.id),
            parties: call
                .parties
                .iter()
                .zip(&links)
                .map(|(p, link)| CreatedParty {
                    party_id: p.id.clone(),
                    name: p.name.clone(),
                    link: party_link(link),
                })
                .collect(),
        })
    })
    .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// The identity of a valid organizer credential.
fn organizer(state: &AppState, headers: &axum::http::HeaderMap) -> Result<String, ApiError> {
    let claims = bearer_claims(
        headers,
        &state.secret,
        "an organizer's token (hotline token --organizer)",
    )?;
    if !claims.grants.organize || claims.room != hotline_auth::ORGANIZER_ROOM {
        return Err(ApiError(
            StatusCode::FORBIDDEN,
            "this token is not an organizer's: make one with hotline token --organizer".into(),
        ));
    }
    Ok(claims.sub)
}

/// The call and party a link opens.
fn party_of(store: &Store, key: &str) -> Result<(String, String), ApiError> {
    store.party_of(key).map_err(internal)?.ok_or(ApiError(
        StatusCode::NOT_FOUND,
        "this party link is not valid (it may have been replaced): ask the organizer for the current one".into(),
    ))
}

async fn party_view(
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<Json<PartyView>, ApiError> {
    let schedule = state.schedule.clone();
    let secret = state.secret.clone();
    blocking(move || {
        let (call_id, party_id) = party_of(&schedule.store, &key)?;
        let (call, version) = schedule
            .store
            .load(&call_id)
            .map_err(internal)?
            .ok_or(ApiError(StatusCode::NOT_FOUND, "no such call".into()))?;
        let link = |m: &Member| member_link(&secret, &call, m);
        Ok(Json(PartyView::of(
            &call,
            version,
            &party_id,
            schedule.clock.now(),
            link,
        )))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WindowsChange {
    version: u64,
    windows: Vec<LocalWindow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Acceptance {
    version: u64,
    /// The slot's start; `null` withdraws.
    start: Option<DateTime<Utc>>,
}

/// Applies a party's change and answers with its new view.
async fn change(
    state: AppState,
    key: String,
    version: u64,
    apply: impl FnOnce(&mut Call, &str, DateTime<Utc>) -> Result<(), Refusal> + Send + 'static,
) -> Result<Json<PartyView>, ApiError> {
    let schedule = state.schedule.clone();
    let secret = state.secret.clone();
    blocking(move || {
        let (call_id, party_id) = party_of(&schedule.store, &key)?;
        let now = schedule.clock.now();
        let (call, version) = schedule
            .store
            .update(&call_id, version, |call| apply(call, &party_id, now))?;
        let link = |m: &Member| member_link(&secret, &call, m);
        Ok(Json(PartyView::of(&call, version, &party_id, now, link)))
    })
    .await
}

async fn set_windows(
    State(state): State<AppState>,
    Path(key): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Json<PartyView>, ApiError> {
    let WindowsChange { version, windows } = body(&bytes)?;
    change(state, key, version, move |call, party, now| {
        call.set_windows(party, windows, now)
    })
    .await
}

async fn accept(
    State(state): State<AppState>,
    Path(key): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Json<PartyView>, ApiError> {
    let Acceptance { version, start } = body(&bytes)?;
    change(state, key, version, move |call, party, now| {
        call.accept(party, start, now)
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewItem {
    version: u64,
    title: String,
}

async fn propose_item(
    State(state): State<AppState>,
    Path(key): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Json<PartyView>, ApiError> {
    let NewItem { version, title } = body(&bytes)?;
    change(state, key, version, move |call, party, now| {
        call.propose_item(party, &title, now).map(|_| ())
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemAcceptance {
    version: u64,
    accept: bool,
}

async fn accept_item(
    State(state): State<AppState>,
    Path((key, item)): Path<(String, String)>,
    bytes: axum::body::Bytes,
) -> Result<Json<PartyView>, ApiError> {
    let ItemAcceptance { version, accept } = body(&bytes)?;
    change(state, key, version, move |call, party, now| {
        call.accept_item(party, &item, accept, now)
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Order {
    version: u64,
    item_ids: Vec<String>,
}

async fn reorder(
    State(state): State<AppState>,
    Path(key): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Json<PartyView>, ApiError> {
    let Order { version, item_ids } = body(&bytes)?;
    change(state, key, version, move |call, party, now| {
        call.reorder(party, &item_ids, now)
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Release {
    version: u64,
    approve: bool,
}

async fn approve_release(
    State(state): State<AppState>,
    Path(key): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Json<PartyView>, ApiError> {
    let Release { version, approve } = body(&bytes)?;
    let webhook = state.schedule.webhook.clone();
    let announced = Arc::new(std::sync::Mutex::new(None));
    let record = announced.clone();
    let view = change(state, key, version, move |call, party, now| {
        let before = call.released;
        call.approve_release(party, approve, now)?;
        if call.released && !before {
            *record.lock().unwrap_or_else(|e| e.into_inner()) = Some(PublicView::of(call));
        }
        Ok(())
    })
    .await?;
    // Only once the change is stored.
    let announced = announced.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let (Some(public), Some(webhook)) = (announced, webhook) {
        webhook.send(serde_json::json!({
            "event": "call.announced",
            "call_id": view.call.id,
            "call": public,
        }));
    }
    Ok(view)
}

/// The public page's data: the same shape, and the same work, whether the
/// time is released or not; no time before.
async fn public_view(
    State(state): State<AppState>,
    Path(call_id): Path<String>,
) -> Result<Json<PublicView>, ApiError> {
    let schedule = state.schedule.clone();
    blocking(move || {
        let (call, _) = schedule
            .store
            .load(&call_id)
            .map_err(internal)?
            .ok_or(ApiError(StatusCode::NOT_FOUND, "no such call".into()))?;
        Ok(Json(PublicView::of(&call)))
    })
    .await
}

#[derive(Serialize)]
struct ReplacedLink {
    party_id: String,
    link: String,
}

async fn replace_link(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    Path((call_id, party_id)): Path<(String, String)>,
) -> Result<Json<ReplacedLink>, ApiError> {
    let organizer = organizer(&state, &headers)?;
    let schedule = state.schedule.clone();
    blocking(move || {
        let not_found = || ApiError(StatusCode::NOT_FOUND, "no such call or party".into());
        let (call, _) = schedule
            .store
            .load(&call_id)
            .map_err(internal)?
            .ok_or_else(not_found)?;
        // Another organizer's call is not told apart from none.
        if call.organizer != organizer || call.party(&party_id).is_none() {
            return Err(not_found());
        }
        let link = schedule
            .store
            .replace_link(&call_id, &party_id, schedule.clock.now())
            .map_err(internal)?;
        info!(call = %call_id, party = %party_id, "party link replaced");
        Ok(Json(ReplacedLink {
            party_id,
            link: party_link(&link),
        }))
    })
    .await
}

/// A member's personal link key: the call, the member, and a MAC of both
/// (and of the link's generation, bumped to revoke it) under a key derived
/// from the server's secret. Nothing is stored, and none can be made up.
fn member_key(
    secret: &hotline_auth::Secret,
    call_id: &str,
    member_id: &str,
    generation: u32,
) -> String {
    use base64::Engine;
    let mac = secret.derive_key(&format!(
        "member link\0{call_id}\0{member_id}\0{generation}"
    ));
    let mac = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&mac[..18]);
    format!("{call_id}.{member_id}.{mac}")
}

fn member_link(secret: &hotline_auth::Secret, call: &Call, member: &Member) -> String {
    format!(
        "/join/{}",
        member_key(secret, &call.id, &member.id, member.link_generation)
    )
}

/// The call and member a personal link key opens.
fn member_of(state: &AppState, key: &str) -> Result<(Call, String), ApiError> {
    let invalid = || {
        ApiError(
            StatusCode::NOT_FOUND,
            "this personal link is not valid (it may have been replaced): ask your delegation for the current one".into(),
        )
    };
    let mut parts = key.split('.');
    let (Some(call_id), Some(member_id), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid());
    };
    let (call, _) = state
        .schedule
        .store
        .load(call_id)
        .map_err(internal)?
        .ok_or_else(invalid)?;
    let generation = call
        .member(member_id)
        .ok_or_else(invalid)?
        .1
        .link_generation;
    let expected = member_key(&state.secret, call_id, member_id, generation);
    // Constant time: the key is a credential.
    let same = expected.len() == key.len()
        && expected
            .bytes()
            .zip(key.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if !same {
        return Err(invalid());
    }
    Ok((call, member_id.to_string()))
}

async fn member_view(
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<Json<MemberView>, ApiError> {
    blocking(move || {
        let (call, member) = member_of(&state, &key)?;
        MemberView::of(&call, &member)
            .map(Json)
            .ok_or_else(|| internal("member vanished"))
    })
    .await
}

#[derive(Serialize)]
struct MemberToken {
    token: String,
    room: String,
}

/// What each role may do in the call.
fn grants_of(member: &Member) -> hotline_auth::Grants {
    let all = hotline_auth::Grants {
        host: member.is_host(),
        ..hotline_auth::Grants::default()
    };
    match member.role {
        Role::Principal | Role::Adviser | Role::NoteTaker => all,
        // An interpreter publishes its voice on a language channel only.
        Role::Interpreter => hotline_auth::Grants {
            interpret: member
                .languages
                .as_ref()
                .and_then(|[a, b]| Some([Language::parse(a)?, Language::parse(b)?])),
            ..all
        },
        // An observer watches and listens.
        Role::Observer => hotline_auth::Grants {
            publish: false,
            publish_data: false,
            ..all
        },
    }
}

/// A time, for a member: in its own zone, e.g. `Thu 3 Dec 17:15 MSK`.
fn local_time(t: DateTime<Utc>, zone: chrono_tz::Tz) -> String {
    t.with_timezone(&zone)
        .format("%a %-d %b %H:%M %Z")
        .to_string()
}

async fn member_token(
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<Json<MemberToken>, ApiError> {
    let now = state.schedule.clock.now();
    blocking(move || {
        let (call, member_id) = member_of(&state, &key)?;
        let (party, member) = call
            .member(&member_id)
            .ok_or_else(|| internal("member vanished"))?;
        let zone = party.zone();
        let not_now = |message: String| ApiError(StatusCode::CONFLICT, message);
        let Some((opens, closes)) = call.join_window() else {
            return Err(not_now(
                "No time is agreed for this call yet. Your delegation will tell you when it is."
                    .into(),
            ));
        };
        if now < opens {
            return Err(not_now(format!(
                "The call opens at {}, {} minutes before it starts. Come back then.",
                local_time(opens, zone),
                Call::JOIN_EARLY.num_minutes()
            )));
        }
        if now >= closes {
            return Err(not_now(format!(
                "The call ended at {}.",
                local_time(closes, zone)
            )));
        }
        let room = call.room();
        let token = hotline_auth::TokenRequest {
            room: room.clone(),
            identity: member.id.clone(),
            name: Some(member.name.clone()),
            ttl_secs: (closes - now).num_seconds().max(60) as u64,
            languages: call
                .languages
                .iter()
                .filter_map(|l| Language::parse(l))
                .collect(),
            grants: grants_of(member),
            e2ee: call.e2ee_required,
        }
        .mint(&state.secret, crate::cli::unix_now());
        info!(call = %call.id, member = %member.id, "join token minted");
        Ok(Json(MemberToken { token, room }))
    })
    .await
}

async fn member_invitation(
    State(state): State<AppState>,
    Path(key): Path<String>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    let now = state.schedule.clock.now();
    // The Host header as the browser sent it (with its port), when it is a
    // plain host name or address.
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            crate::http::host_name(h).is_some()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .map(str::to_string);
    let scheme = state.schedule.scheme;
    blocking(move || {
        let (call, member_id) = member_of(&state, &key)?;
        let (party, member) = call
            .member(&member_id)
            .ok_or_else(|| internal("member vanished"))?;
        let link = member_link(&state.secret, &call, member);
        let url = match host {
            Some(host) => format!("{scheme}://{host}{link}"),
            None => link,
        };
        let ics = hotline_schedule::ics::invitation(&call, party, member, &url, now)
            .ok_or(ApiError(
            StatusCode::CONFLICT,
            "No time is agreed for this call yet, so there is no invitation to add to a calendar."
                .into(),
        ))?;
        Ok((
            [
                (
                    axum::http::header::CONTENT_TYPE,
                    "text/calendar; charset=utf-8",
                ),
                (
                    axum::http::header::CONTENT_DISPOSITION,
                    "attachment; filename=\"call.ics\"",
                ),
            ],
            ics,
        )
            .into_response())
    })
    .await
}
