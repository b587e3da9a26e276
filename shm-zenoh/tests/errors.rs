//! Zenoh's errors reach the user as what failed and why, naming the
//! endpoint, without the places in Zenoh's source code they carry.

use shm_zenoh::BridgeConfig;

#[test]
fn a_listen_endpoint_in_use_says_so_without_source_paths() {
    let endpoint = "tcp/127.0.0.1:17499".to_owned();
    let config = BridgeConfig {
        listen: vec![endpoint.clone()],
        ..BridgeConfig::default()
    };
    let _first = config.open_session().expect("the first session listens");
    let message = match config.open_session() {
        Ok(_) => panic!("a second session listened on {endpoint} too"),
        Err(e) => e.to_string(),
    };
    assert!(message.contains("127.0.0.1:17499"), "{message}");
    assert!(message.contains("in use"), "{message}");
    assert!(!message.contains(".rs:"), "a source path in: {message}");
}
