//! The test harness starts a real redis-server and the gateway's Redis client talks to it.

use redis::AsyncCommands;
use vg_testkit::RedisServer;

#[tokio::test]
async fn harness_starts_a_real_redis_and_stops_it() {
    let server = RedisServer::start().expect("redis-server starts");
    let client = redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = conn.set("voicegw:test", "hello").await.unwrap();
    let v: String = conn.get("voicegw:test").await.unwrap();
    assert_eq!(v, "hello");
    let info: String = redis::cmd("INFO")
        .arg("server")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(
        info.contains(&format!("tcp_port:{}", server.port())),
        "a server of our own"
    );

    let pid = server.pid();
    drop(conn);
    drop(server);
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "server reaped on drop"
    );
}
