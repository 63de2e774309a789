//! The probes: every operation run by every actor as the platform role, compared with the
//! expected answer.

use std::collections::BTreeSet;

use app::domain::policy_sql::{quote_ident, table_name};
use app::domain::Config;
use sqlx::{Connection, PgPool};

use crate::expected::{actors, expected, Actor};
use crate::world::World;
use crate::SHAPES;

pub(crate) async fn act(
    conn: &mut sqlx::PgConnection,
    role: &str,
    actor: &Actor,
    config: &Config,
) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(&format!("SET LOCAL ROLE {}", quote_ident(role)))
        .execute(&mut *conn)
        .await?;
    if let Some(tenant) = &config.row_security.tenant {
        sqlx::query("select set_config($1, $2, true)")
            .bind(&tenant.setting)
            .bind(crate::ACTING_TENANT)
            .execute(&mut *conn)
            .await?;
    }
    if let Some(user) = actor.user {
        sqlx::query("select set_config($1, $2, true), set_config($3, $4, true)")
            .bind(&config.row_security.user_setting)
            .bind(user)
            .bind(&config.row_security.role_setting)
            .bind(&actor.role)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Runs every operation for every actor on every entity with an ACL; returns the mismatches.
pub(crate) async fn matrix(pool: &PgPool, role: &str, world: &World<'_>) -> Vec<String> {
    let config = world.config;
    let mut conn = pool.acquire().await.expect("connection");
    let mut mismatches = Vec::new();
    let mut probes = 0;
    for entity in world.entities.values().filter(|e| e.acl.is_some()) {
        let table = quote_ident(table_name(entity));
        let key = quote_ident(&World::column(entity, &entity.primary_key[0]));
        let all: BTreeSet<String> = (0..SHAPES).map(|s| world.key_text(entity, s)).collect();
        for actor in actors(config) {
            let want = |op: &str| -> BTreeSet<String> {
                (0..SHAPES)
                    .filter(|s| expected(world, entity, op, &actor, *s))
                    .map(|s| world.key_text(entity, s))
                    .collect()
            };
            let mut report = |op: &str, want: BTreeSet<String>, got: BTreeSet<String>| {
                probes += 1;
                if want != got {
                    mismatches.push(format!(
                        "{} {op} by {}: acl check expects {want:?}, PostgreSQL gave {got:?}",
                        entity.name,
                        actor.name()
                    ));
                }
            };
            // read
            let mut tx = conn.begin().await.unwrap();
            act(&mut tx, role, &actor, config).await.unwrap();
            let got: BTreeSet<String> =
                sqlx::query_scalar(&format!("SELECT {key}::text FROM {table}"))
                    .fetch_all(&mut *tx)
                    .await
                    .unwrap()
                    .into_iter()
                    .collect();
            tx.rollback().await.unwrap();
            report("read", want("read"), got);
            // update: a probe column, so the statement reads no column (no SELECT policy)
            let mut tx = conn.begin().await.unwrap();
            act(&mut tx, role, &actor, config).await.unwrap();
            let outcome = sqlx::raw_sql(&format!("UPDATE {table} SET sg_probe = 1"))
                .execute(&mut *tx)
                .await;
            let got: BTreeSet<String> = match outcome {
                Ok(_) => {
                    sqlx::raw_sql("RESET ROLE").execute(&mut *tx).await.unwrap();
                    sqlx::query_scalar(&format!(
                        "SELECT {key}::text FROM {table} WHERE sg_probe = 1"
                    ))
                    .fetch_all(&mut *tx)
                    .await
                    .unwrap()
                    .into_iter()
                    .collect()
                }
                Err(error) => BTreeSet::from([format!("error: {error}")]),
            };
            tx.rollback().await.unwrap();
            report("update", want("update"), got);
            // delete
            let mut tx = conn.begin().await.unwrap();
            act(&mut tx, role, &actor, config).await.unwrap();
            sqlx::raw_sql(&format!("DELETE FROM {table}"))
                .execute(&mut *tx)
                .await
                .unwrap();
            sqlx::raw_sql("RESET ROLE").execute(&mut *tx).await.unwrap();
            let left: BTreeSet<String> =
                sqlx::query_scalar(&format!("SELECT {key}::text FROM {table}"))
                    .fetch_all(&mut *tx)
                    .await
                    .unwrap()
                    .into_iter()
                    .collect();
            tx.rollback().await.unwrap();
            report("delete", want("delete"), &all - &left);
            // create: one new row of each shape
            let mut tx = conn.begin().await.unwrap();
            act(&mut tx, role, &actor, config).await.unwrap();
            let mut got = BTreeSet::new();
            for shape in 0..SHAPES {
                sqlx::raw_sql("SAVEPOINT probe")
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                match sqlx::raw_sql(&world.insert(entity, shape, true))
                    .execute(&mut *tx)
                    .await
                {
                    Ok(_) => {
                        got.insert(world.key_text(entity, shape));
                    }
                    Err(error) => {
                        let text = error.to_string();
                        if !text.contains("row-level security") {
                            got.insert(format!("error: {text}"));
                        }
                    }
                }
                sqlx::raw_sql("ROLLBACK TO SAVEPOINT probe")
                    .execute(&mut *tx)
                    .await
                    .unwrap();
            }
            tx.rollback().await.unwrap();
            report("create", want("create"), got);
        }
    }
    assert!(probes > 0, "no entity with an acl");
    mismatches
}
