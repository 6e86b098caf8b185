//! The console's routes: its page and modules, the redirects to it, and that they leave
//! every other path and method to the API's own answers.

use warp::http::StatusCode;

use super::Mocks;

async fn request(method: &str, path: &str) -> warp::http::Response<bytes::Bytes> {
    warp::test::request().method(method).path(path).reply(&Mocks::default().api().routes()).await
}

#[tokio::test]
async fn the_page_is_served_under_nacos_and_the_root_redirects_there() {
    for path in ["/", "/nacos"] {
        let response = request("GET", path).await;
        assert_eq!(response.status(), StatusCode::FOUND, "{path}");
        assert_eq!(response.headers()["location"], "/nacos/");
    }
    for path in ["/nacos/", "/nacos/index.html"] {
        let response = request("GET", path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        assert!(response.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'self'"));
    }
    let module = request("GET", "/nacos/console-ui/pages/configs.js").await;
    assert_eq!(module.status(), StatusCode::OK);
    assert!(module.headers()["content-type"].to_str().unwrap().starts_with("text/javascript"));
    assert_eq!(request("GET", "/nacos/console-ui/../../Cargo.toml").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(request("GET", "/nacos/console-ui/missing.js").await.status(), StatusCode::NOT_FOUND);
}

/// Found by CI: the page's filter checked the method before the path, so a POST to any
/// unknown path was answered 405 instead of 404.
#[tokio::test]
async fn other_paths_and_methods_keep_their_own_answers() {
    assert_eq!(request("POST", "/nacos/v3/client/ns/service").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(request("POST", "/nacos/nowhere").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(request("POST", "/nacos/").await.status(), StatusCode::METHOD_NOT_ALLOWED);
}
