//! The HTML document, the router, and the signed-in layout around every page.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::components::{Outlet, ParentRoute, Redirect, Route, Router, Routes};
use leptos_router::{path, SsrMode};

use crate::api::session::{whoami, Logout};
use crate::auth::SignedIn;
use crate::domain::review::Role;
use crate::page::accounts::AccountsPage;
use crate::page::audit::AuditPage;
use crate::page::bulk::BulkApprovalPage;
use crate::page::change::ChangePage;
use crate::page::changes::ChangesPage;
use crate::page::dashboard::DashboardPage;
use crate::page::database::DatabasePage;
use crate::page::entities::EntitiesPage;
use crate::page::login::LoginPage;
use crate::page::packages::PackagesPage;

/// The names of the built browser assets under the site's `pkg` directory. `make site` gives
/// them content hashes (so they can be cached forever) and lists them in `pkg/assets.txt`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteAssets {
    /// Stem of the hydration script and its wasm: `<script>.js` and `<script>.wasm`.
    pub script: String,
    /// The stylesheet's file name.
    pub style: String,
    /// The icon's file name.
    pub icon: String,
}

impl Default for SiteAssets {
    /// The unhashed names, for a site built without a manifest.
    fn default() -> Self {
        SiteAssets {
            script: "schemagate".to_string(),
            style: "schemagate.css".to_string(),
            icon: "favicon.svg".to_string(),
        }
    }
}

impl SiteAssets {
    /// Reads `assets.txt` (lines `script <stem>`, `style <file>`, `icon <file>`).
    ///
    /// # Errors
    /// A name is missing or could not be placed in a URL as it is.
    pub fn parse(manifest: &str) -> Result<SiteAssets, String> {
        let name = |key: &str| {
            manifest
                .lines()
                .filter_map(|line| line.split_once(' '))
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.trim().to_string())
                .filter(|v| !v.is_empty() && !v.contains(['/', '"', '<', '>']))
                .ok_or_else(|| format!("no {key} in the asset manifest"))
        };
        Ok(SiteAssets {
            script: name("script")?,
            style: name("style")?,
            icon: name("icon")?,
        })
    }
}

/// The full HTML document the server renders around [`App`]. The asset names come from the
/// [`SiteAssets`] in context (the unhashed defaults without one).
pub fn shell(mut options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    content_security_policy();
    let assets = use_context::<SiteAssets>().unwrap_or_default();
    let pkg = format!("/{}", options.site_pkg_dir);
    // Leptos asks for `<output_name>.js` and `<output_name>.wasm` (LEPTOS_OUTPUT_NAME is set at
    // compile time by .cargo/config.toml, so no `_bg` suffix is added).
    options.output_name = assets.script.clone().into();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href=format!("{pkg}/{}", assets.icon) type="image/svg+xml"/>
                <link rel="stylesheet" href=format!("{pkg}/{}", assets.style)/>
                <HydrationScripts options islands=true/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// Pages may run only our own scripts: the hydration script by its per-response nonce, the
/// module and wasm from our origin.
#[cfg(feature = "ssr")]
fn content_security_policy() {
    use axum::http::{header, HeaderValue};
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; \
         form-action 'self'; object-src 'none'"
    );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response.insert_header(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// The application. Pages render fully on the server (`SsrMode::Async`) so they read the same
/// with JavaScript disabled, and so redirects to the sign-in page happen before any byte is sent.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title text="Schemagate"/>
        <Router>
            <Routes fallback=|| view! { <main><h1>"Page not found"</h1></main> }>
                <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async/>
                <ParentRoute path=path!("") view=SignedInLayout ssr=SsrMode::Async>
                    <Route path=path!("") view=DashboardPage ssr=SsrMode::Async/>
                    <Route path=path!("changes") view=ChangesPage ssr=SsrMode::Async/>
                    <Route path=path!("changes/approve-all") view=BulkApprovalPage ssr=SsrMode::Async/>
                    <Route path=path!("changes/:id") view=ChangePage ssr=SsrMode::Async/>
                    <Route path=path!("packages") view=PackagesPage ssr=SsrMode::Async/>
                    <Route path=path!("entities") view=EntitiesPage ssr=SsrMode::Async/>
                    <Route path=path!("audit") view=AuditPage ssr=SsrMode::Async/>
                    <Route path=path!("database") view=DatabasePage ssr=SsrMode::Async/>
                    <Route path=path!("accounts") view=AccountsPage ssr=SsrMode::Async/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// Who is signed in, fetched once per page by the layout; pages that need it await it.
pub type SignedInResource = Resource<Result<Option<SignedIn>, crate::error::AppError>>;

/// Header, navigation and the page. Visitors without a session are sent to the sign-in page.
/// The page itself sits outside the header's suspense, so it renders (and fetches) once.
#[component]
fn SignedInLayout() -> impl IntoView {
    let me: SignedInResource = Resource::new(|| (), |_| whoami());
    provide_context(me);
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(account)) => view! { <Header account/> }.into_any(),
                    Ok(None) => {
                        // On the server, answer with a redirect before any byte is sent.
                        #[cfg(feature = "ssr")]
                        leptos_axum::redirect("/login");
                        view! { <Redirect path="/login"/> }.into_any()
                    }
                    Err(error) => view! { <p role="alert">{error.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
        <main id="main"><Outlet/></main>
    }
}

#[component]
fn Header(account: SignedIn) -> impl IntoView {
    let logout = ServerAction::<Logout>::new();
    let is_admin = account.role.allows(Role::Admin);
    view! {
        <header class="top">
            <a class="skip" href="#main">"Skip to content"</a>
            <a class="brand" href="/">"Schemagate"</a>
            <nav aria-label="Main">
                <a href="/changes">"Changes"</a>
                <a href="/packages">"Packages"</a>
                <a href="/entities">"Entities"</a>
                <a href="/database">"Database"</a>
                <a href="/audit">"Audit"</a>
                {is_admin.then(|| view! { <a href="/accounts">"Accounts"</a> })}
            </nav>
            <span class="who" data-testid="signed-in">
                {account.username.clone()}" "<span class="role">{format!("({})", account.role)}</span>
            </span>
            <ActionForm action=logout attr:class="signout">
                <button type="submit">"Sign out"</button>
            </ActionForm>
        </header>
    }
}
