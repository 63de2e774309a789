//! The expected answer: `acl check`'s decision, and the rows it lets through.

use app::domain::access::{AccessDecision, EntityPolicy};
use app::domain::policy_sql::{entity_policies, Models};
use app::domain::predicate::{CompareOp, Operand, Predicate};
use app::domain::{BaseSchema, Config, Entity};

use crate::world::{Val, World};
use crate::{flag_of, owner_of, tenant_of, ACTING_TENANT};

/// Who acts: the user setting (None: anonymous) and the role `acl check` is asked about.
#[derive(Debug, Clone)]
pub(crate) struct Actor {
    pub(crate) user: Option<&'static str>,
    pub(crate) role: String,
}

impl Actor {
    pub(crate) fn name(&self) -> String {
        format!("{}({})", self.role, self.user.unwrap_or("anonymous"))
    }
}

pub(crate) fn actors(config: &Config) -> Vec<Actor> {
    let mut actors = vec![Actor {
        user: None,
        role: "public".to_owned(),
    }];
    for role in &config.roles {
        if role != "public" {
            actors.push(Actor {
                user: Some("u1"),
                role: role.clone(),
            });
        }
    }
    // Signed in, owning nothing.
    actors.push(Actor {
        user: Some("u3"),
        role: "user".to_owned(),
    });
    actors
}

/// The policy `acl check` decides with: the ACL, and whether its owner grants fail closed.
pub(crate) fn entity_policy(world: &World<'_>, entity: &Entity) -> EntityPolicy {
    let acl = entity.acl.as_ref().expect("an acl");
    let base = BaseSchema::default();
    let models = Models::new(&base, world.entities.values().copied());
    let compiled = entity_policies(entity, &models, world.config)
        .expect("policies")
        .expect("an acl");
    EntityPolicy {
        rules: acl
            .rules
            .iter()
            .map(|(op, roles)| {
                (
                    op.as_str().to_owned(),
                    roles.iter().map(|r| r.name.clone()).collect(),
                )
            })
            .collect(),
        row_level: acl.row_level.as_ref().map(|r| r.source.clone()),
        unowned: compiled.unowned,
        unmatched: compiled.unmatched,
        conditions: compiled.conditions,
        tenant: compiled.tenant,
        platform_roles: world
            .config
            .row_security
            .tenant
            .iter()
            .flat_map(|t| &t.platform_roles)
            .flat_map(|role| world.config.row_security.hierarchy.admitted_by(role))
            .collect(),
    }
}

/// SQL's three-valued logic over the seeded rows (folds, not `try_fold`: NULL must not stop
/// an OR or an AND early).
#[allow(clippy::manual_try_fold)]
fn eval(
    world: &World<'_>,
    entity: &Entity,
    shape: usize,
    actor: &Actor,
    p: &Predicate,
) -> Option<bool> {
    let operand = |o: &Operand| -> Val {
        match o {
            Operand::Path(path) => {
                let mut current = entity;
                let (last, hops) = path.segments.split_last().expect("a path");
                for hop in hops {
                    let relation = current.relation(hop).expect("a relation");
                    current = world.entities.get(&relation.target).expect("a target");
                }
                world.value(current, last, shape, false)
            }
            Operand::Variable(segments) => match segments.join(".").as_str() {
                "user.id" => actor.user.map_or(Val::Null, |u| Val::Str(u.to_owned())),
                "user.role" => actor
                    .user
                    .map_or(Val::Null, |_| Val::Str(actor.role.clone())),
                _ => Val::Null,
            },
            Operand::Str(s) => Val::Str(s.clone()),
            Operand::Number(n) => Val::Float(n.parse().expect("a number")),
            Operand::Bool(b) => Val::Bool(*b),
            Operand::Null => Val::Null,
        }
    };
    let cmp = |l: &Val, op: CompareOp, r: &Val| -> Option<bool> {
        let ordering = match (l, r) {
            (Val::Null, _) | (_, Val::Null) => return None,
            (Val::Str(a), Val::Str(b)) => a.cmp(b),
            (Val::Bool(a), Val::Bool(b)) => a.cmp(b),
            (a, b) => {
                let number = |v: &Val| match v {
                    Val::Int(i) => *i as f64,
                    Val::Float(x) => *x,
                    other => panic!("not a number: {other:?}"),
                };
                number(a).partial_cmp(&number(b))?
            }
        };
        Some(match op {
            CompareOp::Eq => ordering.is_eq(),
            CompareOp::Ne => ordering.is_ne(),
            CompareOp::Lt => ordering.is_lt(),
            CompareOp::Le => ordering.is_le(),
            CompareOp::Gt => ordering.is_gt(),
            CompareOp::Ge => ordering.is_ge(),
        })
    };
    match p {
        Predicate::Or { parts } => parts.iter().fold(Some(false), |acc, part| {
            match (acc, eval(world, entity, shape, actor, part)) {
                (Some(true), _) | (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            }
        }),
        Predicate::And { parts } => parts.iter().fold(Some(true), |acc, part| {
            match (acc, eval(world, entity, shape, actor, part)) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            }
        }),
        Predicate::Not { inner } => eval(world, entity, shape, actor, inner).map(|b| !b),
        Predicate::Compare { left, op, right } => {
            let (l, r) = (operand(left), operand(right));
            match (&l, &r) {
                (Val::Null, _) | (_, Val::Null)
                    if matches!(left, Operand::Null) || matches!(right, Operand::Null) =>
                {
                    let other = if matches!(left, Operand::Null) {
                        &r
                    } else {
                        &l
                    };
                    Some((*other == Val::Null) == (*op == CompareOp::Eq))
                }
                _ => cmp(&l, *op, &r),
            }
        }
        Predicate::IsNull {
            operand: o,
            negated,
        } => Some((operand(o) == Val::Null) != *negated),
        Predicate::In {
            operand: o,
            values,
            negated,
        } => {
            let tested = operand(o);
            let mut result = Some(false);
            for value in values {
                match cmp(&tested, CompareOp::Eq, &operand(value)) {
                    Some(true) => {
                        result = Some(true);
                        break;
                    }
                    None => result = None,
                    Some(false) => {}
                }
            }
            if *negated {
                result.map(|b| !b)
            } else {
                result
            }
        }
    }
}

/// Whether `actor` may do `op` on the row of `shape`, by `acl check`'s decision.
pub(crate) fn expected(
    world: &World<'_>,
    entity: &Entity,
    op: &str,
    actor: &Actor,
    shape: usize,
) -> bool {
    let decision = entity_policy(world, entity)
        .decide_with(&actor.role, op, &world.config.row_security.hierarchy)
        .expect("a decision");
    let row_level = || {
        entity
            .acl
            .as_ref()
            .and_then(|acl| acl.row_level.as_ref())
            .is_none_or(|r| eval(world, entity, shape, actor, &r.predicate) == Some(true))
    };
    // Tenant isolation: only the acting tenant's rows, unless the role is platform-wide.
    let in_tenant = |tenant: &Option<String>| {
        tenant.is_none()
            || in_acting_tenant(world, entity, actor, shape, &mut Vec::new()) == Some(true)
    };
    match decision {
        AccessDecision::Deny { .. } => false,
        AccessDecision::Allow { tenant, .. } => in_tenant(&tenant) && row_level(),
        AccessDecision::Conditional { grants, tenant, .. } => {
            let admitted = grants.iter().any(|grant| match grant.as_str() {
                "self" | "owner" => actor.user == Some(owner_of(shape)),
                _ => flag_of(shape),
            });
            admitted && in_tenant(&tenant) && row_level()
        }
    }
}

/// Whether the row of `shape` belongs to the acting tenant as PostgreSQL sees it: by its tenant
/// field, else through the first parent that has a tenant (belongsTo in declared order, then
/// hasMany/hasOne of other entities), whose row the request must be able to read, since the
/// `EXISTS` over the parent's table runs under the parent's own policies. `None`: no tenant.
fn in_acting_tenant(
    world: &World<'_>,
    entity: &Entity,
    actor: &Actor,
    shape: usize,
    visiting: &mut Vec<String>,
) -> Option<bool> {
    let config = world.config;
    let tenant = config.row_security.tenant.as_ref()?;
    if visiting.contains(&entity.name) {
        return None;
    }
    visiting.push(entity.name.clone());
    let acting = tenant_of(shape) == ACTING_TENANT;
    if tenant.fields.iter().any(|f| entity.field(f).is_some()) {
        return Some(acting);
    }
    let declared = entity
        .relations
        .iter()
        .filter(|r| r.kind == app::domain::RelationKind::BelongsTo)
        .map(|r| r.target.clone());
    let reverse = world.entities.values().flat_map(|parent| {
        parent
            .relations
            .iter()
            .filter(|r| {
                r.target == entity.name
                    && matches!(
                        r.kind,
                        app::domain::RelationKind::HasMany | app::domain::RelationKind::HasOne
                    )
            })
            .map(|_| parent.name.clone())
    });
    for parent in declared.chain(reverse).collect::<Vec<_>>() {
        if parent == entity.name {
            continue;
        }
        if parent == config.root_model {
            return Some(acting);
        }
        let Some(parent_entity) = world.entities.get(&parent) else {
            continue;
        };
        if let Some(in_tenant) = in_acting_tenant(world, parent_entity, actor, shape, visiting) {
            let readable =
                parent_entity.acl.is_none() || expected(world, parent_entity, "read", actor, shape);
            return Some(in_tenant && readable);
        }
    }
    None
}
