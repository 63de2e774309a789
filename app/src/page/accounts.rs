//! The accounts page, for admins: every account, adding one, changing a role, disabling one,
//! and the registry's settings (four-eyes). Other roles get a clear "admins only" (and the
//! server functions refuse them anyway).

use leptos::prelude::*;

use crate::api::account::{
    list_accounts, registry_settings, AccountRow, CreateAccount, DisableAccount, EnableAccount,
    SetAccountRole, SetFourEyes,
};
use crate::component::flash::QueryError;
use crate::domain::review::Role;
use crate::error::AppError;
use crate::shell::SignedInResource;

/// The page: admins get the accounts, everyone else an explanation.
#[component]
pub fn AccountsPage() -> impl IntoView {
    let me = expect_context::<SignedInResource>();
    view! {
        <leptos_meta::Title text="Accounts · Schemagate"/>
        <h1>"Accounts"</h1>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let is_admin = matches!(me.await, Ok(Some(me)) if me.role.allows(Role::Admin));
                if is_admin {
                    view! { <Accounts/> }.into_any()
                } else {
                    view! {
                        <p class="flash error" role="alert" data-testid="admins-only">
                            "Admins only: accounts are managed by admins. Ask an admin to add an account or change a role."
                        </p>
                    }
                    .into_any()
                }
            })}
        </Suspense>
    }
}

#[component]
fn Accounts() -> impl IntoView {
    let create = ServerAction::<CreateAccount>::new();
    let set_role = ServerAction::<SetAccountRole>::new();
    let disable = ServerAction::<DisableAccount>::new();
    let enable = ServerAction::<EnableAccount>::new();
    let accounts = Resource::new(
        move || {
            (
                create.version().get(),
                set_role.version().get(),
                disable.version().get(),
                enable.version().get(),
            )
        },
        |_| list_accounts(),
    );
    // The outcome of whichever action finished last.
    let outcome = RwSignal::new(None::<Result<String, AppError>>);
    for value in [
        create.value(),
        set_role.value(),
        disable.value(),
        enable.value(),
    ] {
        Effect::new(move |_| {
            if let Some(result) = value.get() {
                outcome.set(Some(result));
            }
        });
    }
    let form = NodeRef::<leptos::html::Form>::new();
    Effect::new(move |_| {
        if matches!(create.value().get(), Some(Ok(_))) {
            if let Some(form) = form.get() {
                form.reset();
            }
        }
    });

    view! {
        <QueryError/>
        <div aria-live="polite">
            {move || outcome.get().map(|result| match result {
                Ok(message) => view! { <p class="flash ok" role="status">{message}</p> }.into_any(),
                Err(error) => view! { <p class="flash error" role="alert">{error.to_string()}</p> }.into_any(),
            })}
        </div>
        <section class="panel" aria-labelledby="add-h">
            <h2 id="add-h">"Add an account"</h2>
            <ActionForm action=create node_ref=form attr:class="add-account">
                <label for="new-username">"Username"</label>
                <input id="new-username" name="username" required autocomplete="off" maxlength="64"
                    aria-describedby="new-username-help"/>
                <span id="new-username-help" class="muted help">"Lowercase letters, digits, '.', '_' or '-'."</span>
                <label for="new-role">"Role"</label>
                <select id="new-role" name="role">
                    <option value="viewer" selected>"viewer: reads everything"</option>
                    <option value="reviewer">"reviewer: reads and comments"</option>
                    <option value="admin">"admin: decides changes, manages accounts"</option>
                </select>
                <label for="new-password">"Password"</label>
                <input id="new-password" name="password" type="password" required minlength="8" autocomplete="new-password"
                    aria-describedby="new-password-help"/>
                <span id="new-password-help" class="muted help">"At least 8 characters."</span>
                <button type="submit" class="primary">"Add account"</button>
            </ActionForm>
        </section>
        <Settings/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match accounts.await {
                    Ok(rows) => view! { <AccountTable rows set_role disable enable/> }.into_any(),
                    Err(error) => view! { <p class="flash error" role="alert">{error.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn AccountTable(
    rows: Vec<AccountRow>,
    set_role: ServerAction<SetAccountRole>,
    disable: ServerAction<DisableAccount>,
    enable: ServerAction<EnableAccount>,
) -> impl IntoView {
    view! {
        <div class="scroll"><table class="accounts">
            <caption class="visually-hidden">"Accounts"</caption>
            <thead><tr>
                <th scope="col">"Username"</th><th scope="col">"Role"</th><th scope="col">"Status"</th>
                <th scope="col">"Created (UTC)"</th><th scope="col">"Actions"</th>
            </tr></thead>
            <tbody>
                {rows.into_iter().map(|row| {
                    let name = row.username.clone();
                    let select_id = format!("role-{name}");
                    view! {
                        <tr data-account=name.clone() class:disabled=row.disabled>
                            <th scope="row">{name.clone()}{row.is_self.then_some(" (you)")}</th>
                            <td data-testid="role">{row.role.clone()}</td>
                            <td>{if row.disabled {
                                view! { <span class="badge account-disabled">"✗ disabled"</span> }.into_any()
                            } else {
                                view! { <span class="badge account-active">"✓ active"</span> }.into_any()
                            }}</td>
                            <td><crate::component::time::Time at=row.created_at.clone()/></td>
                            <td class="actions">{if row.is_self {
                                view! { <span class="muted">"Your own account: another admin can change it."</span> }.into_any()
                            } else if row.disabled {
                                let enable_name = name.clone();
                                view! {
                                    <span class="muted">"Cannot sign in. "</span>
                                    <ActionForm action=enable attr:class="inline">
                                        <input type="hidden" name="username" value=enable_name.clone()/>
                                        <button type="submit">"Enable"<span class="visually-hidden">{format!(" {enable_name}")}</span></button>
                                    </ActionForm>
                                }.into_any()
                            } else {
                                let (role_name, disable_name) = (name.clone(), name.clone());
                                let current = row.role.clone();
                                view! {
                                    <ActionForm action=set_role attr:class="inline">
                                        <input type="hidden" name="username" value=role_name.clone()/>
                                        <label for=select_id.clone() class="visually-hidden">{format!("Role of {role_name}")}</label>
                                        <select id=select_id name="role">
                                            {Role::ALL.iter().map(|r| view! {
                                                <option value=r.as_str() selected=current == r.as_str()>{r.as_str()}</option>
                                            }).collect_view()}
                                        </select>
                                        <button type="submit">"Change role"<span class="visually-hidden">{format!(" of {role_name}")}</span></button>
                                    </ActionForm>
                                    <details class="confirm">
                                        <summary>"Disable…"<span class="visually-hidden">{format!(" {disable_name}")}</span></summary>
                                        <ActionForm action=disable attr:class="inline">
                                            <input type="hidden" name="username" value=disable_name.clone()/>
                                            <span>{format!("{disable_name} will no longer be able to sign in (Enable undoes it).")}</span>
                                            <button type="submit" class="danger">{format!("Disable {disable_name}")}</button>
                                        </ActionForm>
                                    </details>
                                }.into_any()
                            }}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table></div>
    }
}

/// The registry's settings: they hold for every server and command line.
#[component]
fn Settings() -> impl IntoView {
    let set = ServerAction::<SetFourEyes>::new();
    let settings = Resource::new(move || set.version().get(), |_| registry_settings());
    view! {
        <section class="panel" aria-labelledby="settings-h">
            <h2 id="settings-h">"Settings"</h2>
            {move || set.value().get().map(|result| match result {
                Ok(message) => view! { <p class="flash ok" role="status">{message}</p> }.into_any(),
                Err(error) => view! { <p class="flash error" role="alert">{error.to_string()}</p> }.into_any(),
            })}
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match settings.await {
                        Ok(current) => {
                            let (state, value, button) = if current.four_eyes {
                                ("on", "off", "Turn four-eyes off")
                            } else {
                                ("off", "on", "Turn four-eyes on")
                            };
                            view! {
                                <p data-testid="four-eyes">
                                    <strong>{format!("Four-eyes is {state}.")}</strong>
                                    " When on, destructive, breaking and security changes need the approvals of two admins (the second neither the first approver nor the change's author), whichever server or command line approves."
                                </p>
                                <ActionForm action=set attr:class="inline">
                                    <input type="hidden" name="four_eyes" value=value/>
                                    <button type="submit">{button}</button>
                                </ActionForm>
                            }.into_any()
                        }
                        Err(error) => view! { <p class="flash error" role="alert">{error.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
