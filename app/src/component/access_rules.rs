//! A change's access rules: the ones it changes in a table, the ones it leaves alone folded
//! away behind their count.

use leptos::prelude::*;

use crate::api::change::AclRow;

/// `rules` split into (changed, unchanged), each in its original order.
pub fn split_changed(rules: Vec<AclRow>) -> (Vec<AclRow>, Vec<AclRow>) {
    rules
        .into_iter()
        .partition(|rule| rule.before != rule.after)
}

/// The access rules section of the change page.
#[component]
pub fn AccessRules(rules: Vec<AclRow>) -> impl IntoView {
    let (changed, unchanged) = split_changed(rules);
    let summary = match unchanged.len() {
        1 => "1 unchanged rule".to_string(),
        n => format!("{n} unchanged rules"),
    };
    view! {
        <section aria-labelledby="acl-h" class="access-rules">
            <h2 id="acl-h">"Access rules"</h2>
            {match (changed.is_empty(), unchanged.is_empty()) {
                (true, true) => view! { <p class="muted">"No access rules."</p> }.into_any(),
                (true, false) => view! { <p class="muted" data-testid="acl-unchanged-only">"This change leaves every access rule as it is."</p> }.into_any(),
                (false, _) => view! { <RuleTable rules=changed label="Changed access rules" show_change=true/> }.into_any(),
            }}
            {(!unchanged.is_empty()).then(|| view! {
                <details class="unchanged-rules">
                    <summary>{summary}</summary>
                    <RuleTable rules=unchanged label="Unchanged access rules" show_change=false/>
                </details>
            })}
        </section>
    }
    .into_any()
}

#[component]
fn RuleTable(rules: Vec<AclRow>, label: &'static str, show_change: bool) -> impl IntoView {
    view! {
        <div class="scroll"><table class="acl" aria-label=label>
            <thead><tr>
                <th scope="col">"Entity"</th><th scope="col">"Operation"</th>
                {if show_change {
                    view! { <th scope="col">"Before"</th><th scope="col">"After"</th> }.into_any()
                } else {
                    view! { <th scope="col">"Rule"</th> }.into_any()
                }}
            </tr></thead>
            <tbody>
                {rules.into_iter().map(|rule| view! {
                    <tr class:changed=show_change>
                        <td>{rule.entity}</td><td>{rule.op}</td>
                        {if show_change {
                            let before = if rule.before.is_empty() { "(none)".to_string() } else { rule.before };
                            let after = if rule.after.is_empty() { "(none)".to_string() } else { rule.after };
                            view! { <td>{before}</td><td>{after}</td> }.into_any()
                        } else {
                            view! { <td>{rule.after}</td> }.into_any()
                        }}
                    </tr>
                }).collect_view()}
            </tbody>
        </table></div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(op: &str, before: &str, after: &str) -> AclRow {
        AclRow {
            entity: "Post".to_string(),
            op: op.to_string(),
            before: before.to_string(),
            after: after.to_string(),
        }
    }

    #[test]
    fn changed_rules_are_split_from_unchanged_ones_in_order() {
        let (changed, unchanged) = split_changed(vec![
            rule("create", "user", "user"),
            rule("read", "user", "public"),
            rule("update", "owner", "owner"),
            rule("delete", "", "admin"),
        ]);
        let ops = |rules: &[AclRow]| rules.iter().map(|r| r.op.clone()).collect::<Vec<_>>();
        assert_eq!(ops(&changed), ["read", "delete"]);
        assert_eq!(ops(&unchanged), ["create", "update"]);
    }
}
