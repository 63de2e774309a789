//! Sealed audit events, anchors and the audit page's incremental verification, on a real
//! PostgreSQL database.
#![cfg(feature = "ssr")]

use app::registry::audit::seal::{self, AuditKey};
use app::registry::audit::{self, ChainProblem, NewEvent};
use sqlx::PgPool;

/// Every test in this binary seals with the same key, registered as the first event.
async fn registered_key(pool: &PgPool) -> AuditKey {
    let key = AuditKey::from_material(&"k".repeat(40), "test").unwrap();
    seal::install(key.clone());
    audit::register_key(pool, Some(&key))
        .await
        .expect("register");
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
    let key = registered_key(&pool).await;
    append(&pool, 5).await;
    let first = audit::verify_with(&pool, Some(&key), None).await.unwrap();
    assert_eq!((first.events, first.checked, first.problem), (6, 6, None));
    assert!(first.head.sealed);

    append(&pool, 3).await;
    let second = audit::verify_with(&pool, Some(&key), Some(&first.head))
        .await
        .unwrap();
    assert_eq!(
        (second.events, second.checked, second.problem),
        (9, 3, None)
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
            expected: 9,
            last: 4
        })
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn the_audit_page_verifies_only_events_it_has_not_seen(pool: PgPool) {
    registered_key(&pool).await;
    append(&pool, 4).await;
    let first = audit::verify_cached(&pool).await.unwrap();
    assert_eq!((first.events, first.checked), (5, 5));
    let second = audit::verify_cached(&pool).await.unwrap();
    assert_eq!(
        (second.events, second.checked, second.problem),
        (5, 0, None)
    );
    append(&pool, 2).await;
    let third = audit::verify_cached(&pool).await.unwrap();
    assert_eq!((third.events, third.checked, third.problem), (7, 2, None));

    tamper(
        &pool,
        "update audit_event set actor = 'mallory' where seq = 7",
    )
    .await;
    let tampered = audit::verify_cached(&pool).await.unwrap();
    assert_eq!(tampered.problem, Some(ChainProblem::Altered { seq: 7 }));
}

/// Re-chains `events` in their order from the first, as an attacker without the key can: each
/// event gets its position, the hash before it and its own recomputed hash.
fn rechain(events: &mut [audit::AuditEvent]) {
    for i in 0..events.len() {
        events[i].seq = i as i64 + 1;
        events[i].prev_hash = if i == 0 {
            audit::GENESIS_HASH.to_string()
        } else {
            events[i - 1].hash.clone()
        };
        events[i].hash = events[i].expected_hash();
    }
}

/// What an insider with database access but without the key can do to a sealed history, and
/// what each costs: every rewrite is caught by the seals or by the key's registration.
#[sqlx::test(migrations = "../migrations")]
async fn a_history_rewritten_without_the_key_fails_however_it_is_rewritten(pool: PgPool) {
    let key = registered_key(&pool).await;
    append(&pool, 6).await;
    let original = audit::list(&pool, &Default::default()).await.unwrap();
    assert_eq!(original[0].action, audit::KEY_REGISTERED);
    assert_eq!(audit::verify_events(&original, Some(&key)).problem, None);

    // Change an approval's actor and re-chain: the seals no longer match.
    let mut rewritten = original.clone();
    rewritten[2].actor = "mallory".to_string();
    rechain(&mut rewritten);
    assert_eq!(audit::verify_events(&rewritten, None).problem, None);
    assert_eq!(
        audit::verify_events(&rewritten, Some(&key)).problem,
        Some(ChainProblem::Forged { seq: 3 })
    );

    // Strip every seal as well: the key's registration carries none now.
    for event in &mut rewritten {
        event.mac = None;
    }
    assert_eq!(
        audit::verify_events(&rewritten, Some(&key)).problem,
        Some(ChainProblem::RegistrationUnsealed { seq: 1 })
    );

    // Remove the registration too: the log no longer registers the key it is checked with.
    let mut unregistered: Vec<_> = rewritten[1..].to_vec();
    rechain(&mut unregistered);
    assert_eq!(
        audit::verify_events(&unregistered, Some(&key)).problem,
        Some(ChainProblem::Unregistered {
            key: key.fingerprint()
        })
    );

    // Move the registration later, so that earlier events would predate sealing: its seal
    // covers its position, so the moved one no longer matches.
    let mut moved = original.clone();
    let registration = moved.remove(0);
    moved.insert(4, registration);
    for event in &mut moved[..4] {
        event.mac = None;
    }
    rechain(&mut moved);
    assert_eq!(
        audit::verify_events(&moved, Some(&key)).problem,
        Some(ChainProblem::Forged { seq: 5 })
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn an_anchor_catches_the_last_event_deleted_and_a_forged_anchor_is_refused(pool: PgPool) {
    let key = registered_key(&pool).await;
    append(&pool, 3).await;
    let anchor = audit::anchor(&pool, &key).await.unwrap();
    assert_eq!(anchor.seq, 4);
    assert_eq!(
        audit::check_anchor(&pool, &key, &anchor).await.unwrap(),
        None
    );
    tamper(&pool, "delete from audit_event where seq = 4").await;
    assert_eq!(
        audit::check_anchor(&pool, &key, &anchor).await.unwrap(),
        Some(ChainProblem::Truncated {
            expected: 4,
            last: 3
        })
    );
    let forged = seal::Anchor {
        seq: 3,
        ..anchor.clone()
    };
    assert!(matches!(
        audit::check_anchor(&pool, &key, &forged).await.unwrap(),
        Some(ChainProblem::AnchorForged { .. })
    ));
}
