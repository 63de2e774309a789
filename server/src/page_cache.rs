//! Rendered pages, kept while what they show stays the same. A page is served again from memory
//! to the same account when the registry, the background scan and the files on disk (as of
//! [`DISK_LAG`] ago at most) are as they were when it was rendered, for at most [`FRESH_FOR`]
//! (its relative times, "3 min ago", stay right). Each answer carries a nonce of its own, so a
//! served-again page is as strict as a fresh one.
//!
//! The registry's state is a counter that moves on every write: PostgreSQL notifies the server
//! once a writing transaction commits (migration 0011), and the server's own state-changing
//! requests move it as they answer, before their redirect is followed. While the server is not
//! listening for notices, nothing is cached.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use sqlx::postgres::PgListener;
use sqlx::PgPool;

/// The channel migration 0011's triggers notify on.
const CHANNEL: &str = "schemagate_registry";

/// How long a page is served again at most, whatever else changes.
pub const FRESH_FOR: Duration = Duration::from_secs(20);

/// Kept pages follow edits of the package files within this: while requests come in, the files
/// are looked at again (a `stat` of each) in the background twice per lag, not on every request.
pub const DISK_LAG: Duration = Duration::from_secs(1);

/// Memory all kept pages may take together.
const BUDGET_BYTES: u64 = 48 * 1024 * 1024;

/// A page larger than this is never kept.
const MAX_PAGE_BYTES: usize = 4 * 1024 * 1024;

/// Pages never kept: the database page shows the live platform database, which sends no
/// notices; the sign-in page reads nothing worth keeping.
const NEVER_KEPT: [&str; 2] = ["/database", "/login"];

/// The registry's state as this server knows it: a counter that moves on every write.
#[derive(Debug, Default)]
pub struct RegistryVersion {
    counter: AtomicU64,
    listening: AtomicBool,
}

impl RegistryVersion {
    /// The current count, or `None` while notices may be missed (no listener connected).
    pub fn current(&self) -> Option<u64> {
        self.listening
            .load(Ordering::Acquire)
            .then(|| self.counter.load(Ordering::Acquire))
    }

    /// The registry changed (or may have).
    pub fn moved(&self) {
        self.counter.fetch_add(1, Ordering::AcqRel);
    }

    fn set_listening(&self, listening: bool) {
        self.listening.store(listening, Ordering::Release);
        self.moved();
    }
}

/// Follows the registry's change notices for as long as the server runs, reconnecting after a
/// lost connection; pages are kept only while a listener is connected.
pub fn follow_registry(pool: PgPool, version: Arc<RegistryVersion>) {
    tokio::spawn(async move {
        loop {
            match listen(&pool).await {
                Ok(mut listener) => {
                    version.set_listening(true);
                    // `Ok(None)`: the connection was lost, and notices with it.
                    while let Ok(Some(_)) = listener.try_recv().await {
                        version.moved();
                    }
                    version.set_listening(false);
                    tracing::warn!("lost the registry's change notices: pages are not kept");
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for registry changes: pages are not kept");
                }
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}

async fn listen(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// What a page was rendered from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sources {
    /// [`RegistryVersion::current`].
    pub registry: u64,
    /// [`app::scan_job::ScanJob::version`].
    pub scan: u64,
    /// [`app::api::disk::disk_state`].
    pub disk: u64,
}

/// A page as one account sees it, rendered from `sources`: a page rendered from older sources
/// is never asked for again, and leaves the cache as newer pages need the room.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    account: i64,
    /// Path and query.
    target: String,
    sources: Sources,
}

#[derive(Debug)]
struct Page {
    rendered_at: Instant,
    headers: HeaderMap,
    /// The body up to the end of its last nonce (the document's head): copied for each answer
    /// with a new nonce.
    head: Bytes,
    /// The rest of the body, sent as it is without a copy.
    tail: Bytes,
    /// The nonce the page was rendered with; each answer replaces it with a new one.
    nonce: Option<String>,
}

#[derive(Clone)]
struct PageWeight;

impl quick_cache::Weighter<Key, Arc<Page>> for PageWeight {
    fn weight(&self, key: &Key, page: &Arc<Page>) -> u64 {
        (key.target.len() + page.head.len() + page.tail.len() + 256) as u64
    }
}

/// The kept pages, shared by every request (cheap to clone).
#[derive(Clone)]
pub struct PageCache {
    pages: Arc<quick_cache::sync::Cache<Key, Arc<Page>, PageWeight>>,
    /// The registry's state.
    pub registry: Arc<RegistryVersion>,
}

impl Default for PageCache {
    fn default() -> Self {
        PageCache {
            pages: Arc::new(quick_cache::sync::Cache::with_weighter(
                1024,
                BUDGET_BYTES,
                PageWeight,
            )),
            registry: Arc::default(),
        }
    }
}

/// Whether a request for `path` may be answered from the cache.
pub fn may_keep(method: &Method, path: &str) -> bool {
    method == Method::GET && !NEVER_KEPT.contains(&path) && !path.starts_with("/api/")
}

impl PageCache {
    /// Answers `request` for `account` with the kept page when it was rendered from `sources`
    /// and is still fresh; otherwise renders it with `next` and keeps it if it is a plain page
    /// (a page whose answer is not kept, such as a redirect, is rendered one request at a time).
    pub async fn answer(
        &self,
        account: i64,
        sources: Sources,
        request: Request,
        next: Next,
    ) -> Response {
        let target = request.uri().path_and_query().map_or_else(
            || request.uri().path().to_string(),
            |p| p.as_str().to_string(),
        );
        let key = Key {
            account,
            target,
            sources,
        };
        // Requests for a page being rendered wait for it instead of rendering it again.
        let guard = loop {
            match self.pages.get_value_or_guard_async(&key).await {
                Ok(page) if page.rendered_at.elapsed() < FRESH_FOR => return page.answer(),
                Ok(_) => {
                    self.pages
                        .remove_if(&key, |page| page.rendered_at.elapsed() >= FRESH_FOR);
                }
                Err(guard) => break guard,
            }
        };
        let rendered_at = Instant::now();
        let response = next.run(request).await;
        if !is_plain_page(&response) {
            return response;
        }
        let (parts, body) = response.into_parts();
        let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
            return Response::from_parts(parts, Body::empty());
        };
        if body.len() <= MAX_PAGE_BYTES {
            let nonce = nonce_of(&parts.headers);
            let split = nonce.as_ref().map_or(0, |nonce| {
                memchr::memmem::rfind(&body, nonce.as_bytes()).map_or(0, |at| at + nonce.len())
            });
            let page = Page {
                rendered_at,
                nonce,
                headers: parts.headers.clone(),
                head: body.slice(..split),
                tail: body.slice(split..),
            };
            let _ = guard.insert(Arc::new(page));
        }
        Response::from_parts(parts, Body::from(body))
    }
}

/// A complete HTML page for everyone who may see it: 200, no redirect, no cookie.
fn is_plain_page(response: &Response) -> bool {
    let headers = response.headers();
    response.status() == StatusCode::OK
        && !headers.contains_key(header::LOCATION)
        && !headers.contains_key(header::SET_COOKIE)
        && headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/html"))
}

/// The `'nonce-…'` source of a page's Content-Security-Policy.
fn nonce_of(headers: &HeaderMap) -> Option<String> {
    let policy = headers
        .get(header::CONTENT_SECURITY_POLICY)?
        .to_str()
        .ok()?;
    let start = policy.find("'nonce-")? + "'nonce-".len();
    let end = start + policy[start..].find('\'')?;
    Some(policy[start..end].to_string())
}

impl Page {
    /// The kept page with a new nonce in its policy and its scripts.
    fn answer(&self) -> Response {
        let mut headers = self.headers.clone();
        let head = match &self.nonce {
            Some(old) => {
                let new = leptos::nonce::Nonce::new().to_string();
                if let Some(policy) = headers
                    .get(header::CONTENT_SECURITY_POLICY)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| HeaderValue::from_str(&v.replace(old, &new)).ok())
                {
                    headers.insert(header::CONTENT_SECURITY_POLICY, policy);
                }
                Bytes::from(replace_all(&self.head, old.as_bytes(), new.as_bytes()))
            }
            None => self.head.clone(),
        };
        headers.insert(
            header::CONTENT_LENGTH,
            HeaderValue::from(head.len() + self.tail.len()),
        );
        let chunks = [head, self.tail.clone()].map(Ok::<_, std::convert::Infallible>);
        let mut response = Response::new(Body::from_stream(futures_util::stream::iter(chunks)));
        *response.headers_mut() = headers;
        response
    }
}

/// `text` with every `old` replaced by `new`.
fn replace_all(text: &[u8], old: &[u8], new: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut rest = 0;
    for at in memchr::memmem::find_iter(text, old) {
        out.extend_from_slice(&text[rest..at]);
        out.extend_from_slice(new);
        rest = at + old.len();
    }
    out.extend_from_slice(&text[rest..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_occurrence_is_replaced_and_the_rest_kept() {
        assert_eq!(replace_all(b"a-N-b-N", b"N", b"MM"), b"a-MM-b-MM".to_vec());
        assert_eq!(replace_all(b"plain", b"N", b"M"), b"plain".to_vec());
        assert_eq!(replace_all(b"", b"N", b"M"), b"".to_vec());
    }

    #[test]
    fn the_nonce_is_read_from_the_policy() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("script-src 'self' 'nonce-AbC_12' 'wasm-unsafe-eval'"),
        );
        assert_eq!(nonce_of(&headers).as_deref(), Some("AbC_12"));
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'"),
        );
        assert_eq!(nonce_of(&headers), None);
    }

    #[test]
    fn a_version_is_known_only_while_listening() {
        let version = RegistryVersion::default();
        assert_eq!(version.current(), None);
        version.set_listening(true);
        let first = version.current().unwrap();
        version.moved();
        assert_eq!(version.current(), Some(first + 1));
        version.set_listening(false);
        assert_eq!(version.current(), None);
    }

    #[test]
    fn only_gets_of_plain_pages_may_be_kept() {
        assert!(may_keep(&Method::GET, "/changes"));
        assert!(may_keep(&Method::GET, "/"));
        assert!(!may_keep(&Method::HEAD, "/changes"));
        assert!(!may_keep(&Method::POST, "/changes"));
        assert!(!may_keep(&Method::GET, "/database"));
        assert!(!may_keep(&Method::GET, "/login"));
    }
}
