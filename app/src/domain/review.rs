//! The review process: account roles, the states a schema change moves through, and which
//! moves are legal. The database guards races; this module decides legality.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What an account may do. Ordered: every role can do what the roles below it can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything.
    Viewer,
    /// Reads everything and comments.
    Reviewer,
    /// Decides changes, runs scans and applies, manages accounts.
    Admin,
}

impl Role {
    /// Every role, lowest first.
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Reviewer, Role::Admin];

    /// The role's name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Reviewer => "reviewer",
            Role::Admin => "admin",
        }
    }

    /// Whether this role includes `required`.
    pub fn allows(self, required: Role) -> bool {
        self >= required
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not one of admin, reviewer, viewer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role \"{0}\": expected admin, reviewer or viewer")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(name: &str) -> Result<Role, UnknownRole> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == name)
            .ok_or_else(|| UnknownRole(name.to_string()))
    }
}

/// Where a schema change is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeStatus {
    /// Waiting for a decision.
    Pending,
    /// Approved for the target checksum; the restart job will apply it.
    Approved,
    /// The restart job is applying it.
    Applying,
    /// Live.
    Applied,
    /// The restart job could not apply it.
    Failed,
    /// Refused by an admin; the same content is not queued again.
    Rejected,
    /// Replaced by newer content before it was applied.
    Superseded,
}

impl ChangeStatus {
    /// Every state, in lifecycle order.
    pub const ALL: [ChangeStatus; 7] = [
        ChangeStatus::Pending,
        ChangeStatus::Approved,
        ChangeStatus::Applying,
        ChangeStatus::Applied,
        ChangeStatus::Failed,
        ChangeStatus::Rejected,
        ChangeStatus::Superseded,
    ];

    /// The state's name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeStatus::Pending => "pending",
            ChangeStatus::Approved => "approved",
            ChangeStatus::Applying => "applying",
            ChangeStatus::Applied => "applied",
            ChangeStatus::Failed => "failed",
            ChangeStatus::Rejected => "rejected",
            ChangeStatus::Superseded => "superseded",
        }
    }

    /// Whether the change still waits for a decision or for the restart job.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            ChangeStatus::Pending | ChangeStatus::Approved | ChangeStatus::Applying
        )
    }

    /// The state `event` leads to from here.
    ///
    /// # Errors
    /// [`IllegalTransition`] when `event` is not allowed in this state.
    pub fn next(self, event: ChangeEvent) -> Result<ChangeStatus, IllegalTransition> {
        use ChangeEvent as E;
        use ChangeStatus as S;
        let next = match (self, event) {
            (S::Pending, E::Approve) => S::Approved,
            (S::Pending, E::Reject) => S::Rejected,
            (S::Pending | S::Approved, E::Supersede) => S::Superseded,
            (S::Approved, E::StartApply) => S::Applying,
            // A killed runner leaves `applying` behind; the next run takes it up again.
            (S::Applying, E::StartApply) => S::Applying,
            (S::Applying, E::FinishApply) => S::Applied,
            (S::Approved | S::Applying, E::FailApply) => S::Failed,
            (S::Failed, E::Retry) => S::Approved,
            (S::Failed, E::Supersede) => S::Superseded,
            (from, event) => return Err(IllegalTransition { from, event }),
        };
        Ok(next)
    }
}

impl fmt::Display for ChangeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A state name that is not one of the seven states.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown status \"{0}\": expected pending, approved, applying, applied, failed, rejected or superseded"
)]
pub struct UnknownStatus(pub String);

impl FromStr for ChangeStatus {
    type Err = UnknownStatus;

    fn from_str(name: &str) -> Result<ChangeStatus, UnknownStatus> {
        ChangeStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == name)
            .ok_or_else(|| UnknownStatus(name.to_string()))
    }
}

/// Something that happens to a schema change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeEvent {
    /// An admin approves it.
    Approve,
    /// An admin rejects it.
    Reject,
    /// A scan found newer content for its package.
    Supersede,
    /// The restart job takes it up.
    StartApply,
    /// The restart job applied it.
    FinishApply,
    /// The restart job could not apply it.
    FailApply,
    /// An admin sends a failed change back to the restart job.
    Retry,
}

impl ChangeEvent {
    /// The event's name, as used in audit actions (`change.approve`).
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeEvent::Approve => "approve",
            ChangeEvent::Reject => "reject",
            ChangeEvent::Supersede => "supersede",
            ChangeEvent::StartApply => "start_apply",
            ChangeEvent::FinishApply => "finish_apply",
            ChangeEvent::FailApply => "fail_apply",
            ChangeEvent::Retry => "retry",
        }
    }

    /// The states from which this event is legal.
    pub fn legal_from(self) -> Vec<ChangeStatus> {
        ChangeStatus::ALL
            .into_iter()
            .filter(|status| status.next(self).is_ok())
            .collect()
    }
}

/// An event that the change's state does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot {} a change that is {from}", event.as_str().replace('_', " "))]
pub struct IllegalTransition {
    /// The state the change is in.
    pub from: ChangeStatus,
    /// What was attempted.
    pub event: ChangeEvent,
}

/// A reviewer's verdict on a pending change. A verdict is advice, not a decision: only an
/// admin's approval or rejection moves the change, but requested changes must be overridden
/// explicitly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The reviewer finds the change good to go.
    Approve,
    /// The reviewer wants the package changed first (the comment says what).
    RequestChanges,
}

impl Verdict {
    /// Both verdicts.
    pub const ALL: [Verdict; 2] = [Verdict::Approve, Verdict::RequestChanges];

    /// The verdict's name as stored and posted.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Approve => "approve",
            Verdict::RequestChanges => "request_changes",
        }
    }

    /// The verdict in words, for people.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Approve => "approved as reviewer",
            Verdict::RequestChanges => "changes requested",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A verdict name that is not one of the two.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown verdict \"{0}\": expected approve or request_changes")]
pub struct UnknownVerdict(pub String);

impl FromStr for Verdict {
    type Err = UnknownVerdict;

    fn from_str(name: &str) -> Result<Verdict, UnknownVerdict> {
        Verdict::ALL
            .into_iter()
            .find(|verdict| verdict.as_str() == name)
            .ok_or_else(|| UnknownVerdict(name.to_string()))
    }
}

/// Who may give the second approval of a change that four-eyes covers: an admin who neither
/// gave the first one nor authored the change. `author` is the package's declared owner (the
/// `owner:` of its `entities.yaml`), if it names one: scanning is not authoring, so the admin
/// who ran the scan is no author. `first` holds the admins who approved it so far.
///
/// # Errors
/// Why `approver` may not give it, in words.
pub fn second_approval_problem(
    approver: &str,
    author: Option<&str>,
    first: &[String],
) -> Result<(), String> {
    if first.iter().any(|name| name == approver) {
        return Err(format!(
            "{approver} already gave the first approval; four-eyes needs a second admin"
        ));
    }
    if author == Some(approver) {
        return Err(format!(
            "{approver} is the package's declared owner (its owner: key), so the author of this change; four-eyes needs a second admin who is not its author"
        ));
    }
    Ok(())
}

/// Under four-eyes, an admin account created after a change cannot give its second approval:
/// otherwise one admin could make a second account and approve alone. `approver_since` is when
/// the approving account was created, `change_created` when the change was.
///
/// # Errors
/// Why `approver` may not give it, in words.
#[cfg(feature = "ssr")]
pub fn newer_admin_problem(
    approver: &str,
    approver_since: time::OffsetDateTime,
    change_created: time::OffsetDateTime,
) -> Result<(), String> {
    if approver_since >= change_created {
        return Err(format!(
            "{approver}'s account was created after this change; four-eyes needs a second admin whose account existed before it"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_pending_change_can_be_approved_or_rejected() {
        for status in ChangeStatus::ALL {
            assert_eq!(
                status.next(ChangeEvent::Approve).is_ok(),
                status == ChangeStatus::Pending
            );
            assert_eq!(
                status.next(ChangeEvent::Reject).is_ok(),
                status == ChangeStatus::Pending
            );
        }
    }

    #[test]
    fn an_illegal_transition_names_the_state_and_the_event() {
        let error = ChangeStatus::Applied
            .next(ChangeEvent::Approve)
            .unwrap_err();
        assert_eq!(error.to_string(), "cannot approve a change that is applied");
        let error = ChangeStatus::Rejected
            .next(ChangeEvent::StartApply)
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "cannot start apply a change that is rejected"
        );
    }

    #[test]
    fn applied_and_rejected_and_superseded_are_final() {
        let events = [
            ChangeEvent::Approve,
            ChangeEvent::Reject,
            ChangeEvent::Supersede,
            ChangeEvent::StartApply,
            ChangeEvent::FinishApply,
            ChangeEvent::FailApply,
            ChangeEvent::Retry,
        ];
        for status in [
            ChangeStatus::Applied,
            ChangeStatus::Rejected,
            ChangeStatus::Superseded,
        ] {
            for event in events {
                assert!(status.next(event).is_err(), "{status} accepted {event:?}");
            }
        }
    }

    #[test]
    fn an_approval_is_revoked_by_newer_content() {
        assert_eq!(
            ChangeStatus::Approved.next(ChangeEvent::Supersede),
            Ok(ChangeStatus::Superseded)
        );
        assert!(ChangeStatus::Applying.next(ChangeEvent::Supersede).is_err());
    }

    #[test]
    fn roles_are_ordered_and_parse_from_their_names() {
        assert!(Role::Admin.allows(Role::Reviewer));
        assert!(!Role::Viewer.allows(Role::Reviewer));
        assert_eq!("reviewer".parse::<Role>(), Ok(Role::Reviewer));
        assert_eq!(
            "root".parse::<Role>().unwrap_err().to_string(),
            "unknown role \"root\": expected admin, reviewer or viewer"
        );
    }

    #[test]
    fn statuses_round_trip_through_their_names() {
        for status in ChangeStatus::ALL {
            assert_eq!(status.as_str().parse::<ChangeStatus>(), Ok(status));
        }
    }

    #[test]
    fn verdicts_round_trip_through_their_names() {
        for verdict in Verdict::ALL {
            assert_eq!(verdict.as_str().parse::<Verdict>(), Ok(verdict));
        }
        assert_eq!(
            "lgtm".parse::<Verdict>().unwrap_err().to_string(),
            "unknown verdict \"lgtm\": expected approve or request_changes"
        );
    }

    #[test]
    fn the_second_approval_needs_an_admin_who_is_neither_first_approver_nor_author() {
        let first = vec!["alice".to_string()];
        assert_eq!(
            second_approval_problem("alice", None, &first).unwrap_err(),
            "alice already gave the first approval; four-eyes needs a second admin"
        );
        assert!(second_approval_problem("bob", Some("bob"), &first)
            .unwrap_err()
            .contains("bob is the package's declared owner"));
        assert_eq!(
            second_approval_problem("bob", Some("carol"), &first),
            Ok(())
        );
        // A package that names no owner has no author: any second admin will do.
        assert_eq!(second_approval_problem("bob", None, &first), Ok(()));
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn an_admin_made_after_a_change_cannot_give_its_second_approval() {
        let change = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(10);
        let older = change - time::Duration::days(1);
        let newer = change + time::Duration::minutes(1);
        assert_eq!(newer_admin_problem("bob", older, change), Ok(()));
        assert_eq!(
            newer_admin_problem("sock", newer, change).unwrap_err(),
            "sock's account was created after this change; four-eyes needs a second admin whose account existed before it"
        );
    }
}
