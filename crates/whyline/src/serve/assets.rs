//! The page and every file it loads, embedded at build time: the binary
//! works offline and never sends the browser elsewhere.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::api::ApiError;

/// (name, content type, bytes) of every asset.
#[cfg(not(whyline_plain_page))]
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../../web/src/app.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../../../../web/src/app.css"),
    ),
    (
        "cytoscape.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!(env!("WHYLINE_ASSET_CYTOSCAPE")),
    ),
    (
        "dagre.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!(env!("WHYLINE_ASSET_DAGRE")),
    ),
    (
        "uPlot.iife.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!(env!("WHYLINE_ASSET_UPLOT_JS")),
    ),
    (
        "uPlot.min.css",
        "text/css; charset=utf-8",
        include_bytes!(env!("WHYLINE_ASSET_UPLOT_CSS")),
    ),
];

#[cfg(not(whyline_plain_page))]
const INDEX: &str = include_str!("../../../../web/src/index.html");

/// Built without Node.js and npm: no libraries to embed, so no page to run.
#[cfg(whyline_plain_page)]
const FILES: &[(&str, &str, &[u8])] = &[];

/// The plain page of a build without Node.js: what is served, and how to get
/// the interactive page.
#[cfg(whyline_plain_page)]
const INDEX: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>whyline</title></head>
<body>
<h1>whyline</h1>
<p>This build of whyline has no interactive page: it was built without Node.js and npm,
which fetch the page's libraries at build time.</p>
<p>The API works: its routes are listed at <a href="/api/openapi.json">/api/openapi.json</a>;
for example <code>/api/status</code>, <code>/api/why/METRIC</code>, <code>/api/review</code>.</p>
<p>For the map page, install Node.js and npm and rebuild
(<code>cargo build --release</code>, or <code>cargo install --path crates/whyline</code>).</p>
</body></html>
"#;

/// The page.
pub(crate) async fn index() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        INDEX,
    )
        .into_response()
}

/// One embedded file.
pub(crate) async fn file(Path(name): Path<String>) -> Response {
    match FILES.iter().find(|(n, _, _)| *n == name) {
        Some((_, kind, bytes)) => (
            [
                (header::CONTENT_TYPE, *kind),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            *bytes,
        )
            .into_response(),
        None => ApiError::new(StatusCode::NOT_FOUND, format!("no asset `{name}`")).into_response(),
    }
}
