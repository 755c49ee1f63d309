//! Serving a loopback fake (Kubernetes API, Slack Web API) from a runtime of
//! its own, so tests and benches can stay synchronous.

/// Serve `app` on 127.0.0.1:0 from a runtime of its own (the loopback fakes):
/// its `http://` base URL and the runtime, which stops the server when dropped.
pub fn serve_loopback(app: axum::Router) -> (String, tokio::runtime::Runtime) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    runtime.spawn(async move { axum::serve(listener, app).await });
    (url, runtime)
}
