//! Sealed audit events, anchors and the audit page's incremental verification, on a real
//! PostgreSQL database.
#![cfg(feature = "ssr")]

use app::registry::audit::seal::{self, AuditKey};
use app::registry::audit::{self, ChainProblem, NewEvent};
use sqlx::PgPool;

/// Every test in this binary seals with the same key.
fn key() -> AuditKey {
    let key = AuditKey::from_material(&"k".repeat(40), "test").unwrap();
    seal::install(key.clone());
    key
}

async fn append(pool: &PgPool, n: usize) {
    for i in 0..n {
        let event = NewEvent {
            actor: "tester",
            action: "test.event",
            change_id: None,
            package: None,
            details: serde_json::json!({ "i": i }),
        };
        audit::append_alone(pool, event).await.expect("append");
    }
}

/// Runs `sql` with the append-only triggers off, as someone with database access could.
async fn tamper(pool: &PgPool, sql: &str) {
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("set local session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query(sql).execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
}

#[sqlx::test(migrations = "../migrations")]
async fn verification_goes_on_from_a_checkpoint_and_catches_deleted_newest_events(pool: PgPool) {
    let key = key();
    append(&pool, 5).await;
    let first = audit::verify_with(&pool, Some(&key), None).await.unwrap();
    assert_eq!((first.events, first.checked, first.problem), (5, 5, None));
    assert!(first.head.sealed);

    append(&pool, 3).await;
    let second = audit::verify_with(&pool, Some(&key), Some(&first.head))
        .await
        .unwrap();
    assert_eq!(
        (second.events, second.checked, second.problem),
        (8, 3, None)
    );

    tamper(&pool, "delete from audit_event where seq > 4").await;
    // The shortened chain is intact in itself...
    let whole = audit::verify_with(&pool, Some(&key), None).await.unwrap();
    assert_eq!(whole.problem, None);
    // ...but not from where it was verified before.
    let again = audit::verify_with(&pool, Some(&key), Some(&second.head))
        .await
        .unwrap();
    assert_eq!(
        again.problem,
        Some(ChainProblem::Truncated {
            expected: 8,
            last: 4
        })
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn the_audit_page_verifies_only_events_it_has_not_seen(pool: PgPool) {
    key();
    append(&pool, 4).await;
    let first = audit::verify_cached(&pool).await.unwrap();
    assert_eq!((first.events, first.checked), (4, 4));
    let second = audit::verify_cached(&pool).await.unwrap();
    assert_eq!(
        (second.events, second.checked, second.problem),
        (4, 0, None)
    );
    append(&pool, 2).await;
    let third = audit::verify_cached(&pool).await.unwrap();
    assert_eq!((third.events, third.checked, third.problem), (6, 2, None));

    tamper(
        &pool,
        "update audit_event set actor = 'mallory' where seq = 6",
    )
    .await;
    let tampered = audit::verify_cached(&pool).await.unwrap();
    assert_eq!(tampered.problem, Some(ChainProblem::Altered { seq: 6 }));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_chain_rewritten_with_recomputed_hashes_fails_on_its_seals(pool: PgPool) {
    let key = key();
    append(&pool, 6).await;
    let mut events = audit::list(&pool, &Default::default()).await.unwrap();
    // Rewrite event 2 and recompute every plain hash after it, as an attacker without the key.
    events[1].actor = "mallory".to_string();
    for i in 1..events.len() {
        events[i].prev_hash = events[i - 1].hash.clone();
        events[i].hash = events[i].expected_hash();
    }
    assert_eq!(audit::verify_events(&events, None).problem, None);
    assert_eq!(
        audit::verify_events(&events, Some(&key)).problem,
        Some(ChainProblem::Forged { seq: 2 })
    );
    // Dropping the seals does not help once a later event is sealed.
    for event in &mut events {
        event.mac = None;
    }
    let mut sealed_tail = events.clone();
    sealed_tail.push(audit::AuditEvent {
        seq: 7,
        prev_hash: events[5].hash.clone(),
        mac: None,
        ..events[5].clone()
    });
    let last = sealed_tail.last_mut().unwrap();
    last.hash = last.expected_hash();
    last.mac = Some(key.event_mac(7, &last.hash));
    assert_eq!(audit::verify_events(&sealed_tail, Some(&key)).problem, None);
    assert_eq!(
        audit::verify_events(&sealed_tail, Some(&key)).unsealed_prefix,
        6
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn an_anchor_catches_the_last_event_deleted_and_a_forged_anchor_is_refused(pool: PgPool) {
    let key = key();
    append(&pool, 3).await;
    let anchor = audit::anchor(&pool, &key).await.unwrap();
    assert_eq!(anchor.seq, 3);
    assert_eq!(
        audit::check_anchor(&pool, &key, &anchor).await.unwrap(),
        None
    );
    tamper(&pool, "delete from audit_event where seq = 3").await;
    assert_eq!(
        audit::check_anchor(&pool, &key, &anchor).await.unwrap(),
        Some(ChainProblem::Truncated {
            expected: 3,
            last: 2
        })
    );
    let forged = seal::Anchor {
        seq: 2,
        ..anchor.clone()
    };
    assert!(matches!(
        audit::check_anchor(&pool, &key, &forged).await.unwrap(),
        Some(ChainProblem::AnchorForged { .. })
    ));
}
