//! The browser client, embedded in the binary at build time (release
//! builds; debug builds read `client/web` from disk, so edits show at once).

use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "../../client/web/"]
struct ClientFiles;

/// Serves one embedded file; the app's pages all share `index.html`.
pub fn serve_file(path: &str) -> Response {
    let path = path.trim_start_matches('/');
    let path = if path.is_empty()
        || path == "schedule"
        || path == "schedule/"
        || ["room/", "party/", "call/", "join/"]
            .iter()
            .any(|page| path.starts_with(page))
    {
        "index.html"
    } else {
        path
    };
    match ClientFiles::get(path) {
        Some(file) => {
            let mime = mime_guess::from_path(path).first_or_octet_stream();
            (
                [
                    (header::CONTENT_TYPE, mime.as_ref().to_string()),
                    (header::CACHE_CONTROL, "no-cache".to_string()),
                ],
                Body::from(file.data.into_owned()),
            )
                .into_response()
        }
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
