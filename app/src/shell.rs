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
            <Routes fallback=NotFoundPage>
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

/// An address no page answers: 404, inside the site's frame so the navigation is there.
#[component]
fn NotFoundPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Frame>
            <Title text="Page not found · Schemagate"/>
            <h1>"Page not found"</h1>
            <p>"No page has this address. "<a href="/changes">"See the open changes"</a>" or "<a href="/">"the dashboard"</a>"."</p>
        </Frame>
    }
}

/// Who is signed in, fetched once per page by the layout; pages that need it await it.
pub type SignedInResource = Resource<Result<Option<SignedIn>, crate::error::AppError>>;

/// Header, navigation and the page. Visitors without a session are sent to the sign-in page.
/// The page itself sits outside the header's suspense, so it renders (and fetches) once.
#[component]
fn SignedInLayout() -> impl IntoView {
    view! { <Frame><Outlet/></Frame> }
}

/// The header around `children`; visitors without a session go to the sign-in page.
#[component]
fn Frame(children: Children) -> impl IntoView {
    let me: SignedInResource = Resource::new(|| (), |_| whoami());
    provide_context(me);
    let location = leptos_router::hooks::use_location();
    let (path, search) = (
        location.pathname.get_untracked(),
        location.search.get_untracked(),
    );
    let asked = if search.is_empty() {
        path
    } else {
        format!("{path}?{search}")
    };
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let asked = asked.clone();
                Suspend::new(async move {
                match me.await {
                    Ok(Some(account)) => view! { <Header account/> }.into_any(),
                    Ok(None) => {
                        // On the server, answer with a redirect before any byte is sent.
                        let login = crate::api::session::login_path(&asked);
                        #[cfg(feature = "ssr")]
                        leptos_axum::redirect(&login);
                        view! { <Redirect path=login/> }.into_any()
                    }
                    Err(error) => view! { <p role="alert">{error.to_string()}</p> }.into_any(),
                }
            })}}
        </Suspense>
        <main id="main">{children()}</main>
        <crate::component::time::LocalTimes/>
    }
}

/// The section a path belongs to, for marking the current page in the navigation.
fn section(path: &str) -> &str {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    match first {
        "changes" | "packages" | "entities" | "database" | "audit" | "accounts" => first,
        _ => "",
    }
}

/// The navigation links; the current section's link carries `aria-current="page"`.
fn nav_links(current: &str, is_admin: bool) -> impl IntoView {
    let mut links = vec![
        ("/", "Dashboard"),
        ("/changes", "Changes"),
        ("/packages", "Packages"),
        ("/entities", "Entities"),
        ("/database", "Database"),
        ("/audit", "Audit"),
    ];
    if is_admin {
        links.push(("/accounts", "Accounts"));
    }
    links.push(("/help", "Help"));
    let current = current.to_string();
    links
        .into_iter()
        .map(|(href, name)| {
            let here = section(href) == current;
            view! { <a href=href aria-current=here.then_some("page")>{name}</a> }
        })
        .collect_view()
}

/// The header: on wide screens the navigation in a row; on narrow ones the same links in a
/// "Menu" disclosure, which opens without JavaScript.
#[component]
fn Header(account: SignedIn) -> impl IntoView {
    let logout = ServerAction::<Logout>::new();
    let menu_logout = ServerAction::<Logout>::new();
    let is_admin = account.role.allows(Role::Admin);
    let path = leptos_router::hooks::use_location()
        .pathname
        .get_untracked();
    let current = section(&path).to_string();
    let who = format!("({})", account.role);
    view! {
        <header class="top">
            <a class="skip" href="#main">"Skip to content"</a>
            <a class="brand" href="/">"Schemagate"</a>
            <nav aria-label="Main" class="wide">{nav_links(&current, is_admin)}</nav>
            <span class="who wide" data-testid="signed-in">
                {account.username.clone()}" "<span class="role">{who.clone()}</span>
            </span>
            <ActionForm action=logout attr:class="signout wide">
                <button type="submit">"Sign out"</button>
            </ActionForm>
            <details class="menu">
                <summary>"Menu"</summary>
                <div class="menu-body">
                    <nav aria-label="Menu">{nav_links(&current, is_admin)}</nav>
                    <span class="who">
                        {account.username.clone()}" "<span class="role">{who}</span>
                    </span>
                    <ActionForm action=menu_logout attr:class="signout">
                        <button type="submit">"Sign out"</button>
                    </ActionForm>
                </div>
            </details>
        </header>
    }
}
