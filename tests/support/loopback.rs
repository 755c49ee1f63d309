//! Serving a loopback fake (Kubernetes API, Slack Web API) from a runtime of
//! its own, so tests and benches can stay synchronous; and finding where a
//! `hoist serve` child listens.

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

/// The address a `hoist serve` child listens on, from its first stdout line
/// (`hoist: listening on http://ADDR`); stdout must be piped.
#[allow(dead_code)] // not every test crate starts `hoist serve`
pub fn listening(child: &mut std::process::Child) -> String {
    use std::io::BufRead;
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout is piped"))
        .read_line(&mut line)
        .expect("hoist serve prints where it listens");
    line.trim()
        .strip_prefix("hoist: listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_string()
}
