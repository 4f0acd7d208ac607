use crate::{config, connect};
use vg_testkit::PostgresServer;
use voice_gateway::adapter::postgres::{MIGRATIONS, run_migrations};

#[tokio::test]
async fn migrations_apply_to_an_empty_database_and_twice_is_a_no_op() {
    let server = PostgresServer::start().unwrap();
    connect(&server.url("postgres"))
        .await
        .batch_execute("CREATE DATABASE empty")
        .await
        .unwrap();
    let cfg = config(&server.url("empty"));
    let all: Vec<i64> = MIGRATIONS.iter().map(|m| m.version).collect();
    assert_eq!(run_migrations(&cfg).await.unwrap(), all);
    assert_eq!(run_migrations(&cfg).await.unwrap(), Vec::<i64>::new());
    let sql = connect(&server.url("empty")).await;
    let recorded: i64 = sql
        .query_one("SELECT count(*) FROM schema_migrations", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(recorded, all.len() as i64);
    for table in ["tenants", "dids", "call_records"] {
        let n: i64 = sql
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 0, "{table} exists and is empty");
    }
}

#[tokio::test]
async fn gateways_starting_together_apply_each_migration_once() {
    let server = PostgresServer::start().unwrap();
    connect(&server.url("postgres"))
        .await
        .batch_execute("CREATE DATABASE race")
        .await
        .unwrap();
    let cfg = config(&server.url("race"));
    let runs = (0..4).map(|_| run_migrations(&cfg));
    let mut applied: Vec<i64> = futures_util::future::join_all(runs)
        .await
        .into_iter()
        .flat_map(|r| r.unwrap())
        .collect();
    applied.sort();
    let all: Vec<i64> = MIGRATIONS.iter().map(|m| m.version).collect();
    assert_eq!(applied, all);
}
