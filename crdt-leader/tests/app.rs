//! `/app/`: the example app's static files (`--app-dir`), served read-only.

mod common;

use common::{config, t};
use crdt_leader::Node;

#[tokio::test]
async fn the_app_directory_is_served_read_only_at_app() {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("app");
    std::fs::create_dir_all(app.join("pkg")).unwrap();
    std::fs::write(app.join("index.html"), "<h1>list</h1>").unwrap();
    std::fs::write(app.join("pkg/m.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(dir.path().join("secret.txt"), "outside").unwrap();
    let mut c = config(1, &dir.path().join("data"));
    c.app_dir = Some(app);
    let node = t(Node::start(c)).await.unwrap();
    let base = format!("http://{}", node.http_addr().unwrap());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let get = |path: &str| t(client.get(format!("{base}{path}")).send());

    let r = get("/app").await.unwrap();
    assert_eq!(r.status(), 308);
    assert_eq!(r.headers()["location"], "/app/");
    let r = get("/app/").await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(r.text().await.unwrap(), "<h1>list</h1>");
    let r = get("/app/pkg/m.wasm").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/wasm");
    for outside in [
        "/app/../secret.txt",
        "/app/%2e%2e/secret.txt",
        "/app/missing.js",
    ] {
        let r = get(outside).await.unwrap();
        assert_eq!(r.status(), 404, "{outside}");
    }
    // Files are read-only and the API is unchanged next to them.
    let r = t(client.post(format!("{base}/app/index.html")).send())
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    t(node.shutdown()).await;
}

#[tokio::test]
async fn without_an_app_directory_nothing_is_served_at_app() {
    let dir = tempfile::tempdir().unwrap();
    let node = t(Node::start(config(1, dir.path()))).await.unwrap();
    let url = format!("http://{}/app/", node.http_addr().unwrap());
    assert_eq!(t(reqwest::get(url)).await.unwrap().status(), 404);
    t(node.shutdown()).await;
}
