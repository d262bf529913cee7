use super::*;

#[test]
fn user_from_token_claims() {
    // {"alg":"HS256","typ":"JWT"}.{"exp":1,"iat":0,"sun":"root"}.sig
    let token =
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjEsImlhdCI6MCwic3VuIjoicm9vdCJ9.c2ln";
    assert_eq!(token_user(token).as_deref(), Some("root"));
    assert_eq!(token_user("garbage"), None);
    assert_eq!(token_user("a.!!!.c"), None);
}

#[test]
fn expired_and_malformed_tokens_are_auth_errors() {
    // payload {"exp":1,"iat":0,"sun":"root"}
    let expired =
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjEsImlhdCI6MCwic3VuIjoicm9vdCJ9.c2ln";
    assert_eq!(
        check_token(expired, 100).err().map(|e| e.reason()),
        Some("auth")
    );
    assert!(check_token(expired, 0).is_ok());
    assert_eq!(
        check_token("not-a-jwt", 0).err().map(|e| e.reason()),
        Some("auth")
    );
}

#[test]
fn error_bodies_are_summarized() {
    let body = br#"{"meta":{},"errors":[{"description":"slurmctld config is unable to load","error_number":-1,"error":"Unspecified error","source":"slurm_load_ctl_conf"}]}"#;
    assert_eq!(
        summarize_error_body(body),
        "slurmctld config is unable to load / Unspecified error / slurm_load_ctl_conf"
    );
    assert_eq!(
        summarize_error_body(b"Authentication\nfailure\n"),
        "Authentication failure"
    );
}

/// A slurmrestd on a unix socket that answers the version probe, then for data
/// either sends headers and half a body and stalls (`stall`) or neither reads nor
/// answers (`silent`). Each data connection is handed to the test as it arrives.
async fn unix_restd(
    socket: &std::path::Path,
    mode: &'static str,
) -> tokio::sync::mpsc::UnboundedReceiver<tokio::net::UnixStream> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::UnixListener::bind(socket).unwrap_or_else(|e| panic!("bind: {e}"));
    let ping = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/slurm-22.05/rest-v0.0.38-ping.json"),
    )
    .unwrap_or_else(|e| panic!("ping fixture: {e}"));
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            if mode == "silent" {
                if tx.send(stream).is_err() {
                    return;
                }
                continue;
            }
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                match stream.read(&mut byte).await {
                    Ok(1) => head.push(byte[0]),
                    _ => break,
                }
            }
            let head = String::from_utf8_lossy(&head).to_string();
            let answer = |status: &str, len: usize| {
                format!("HTTP/1.1 {status}\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n")
            };
            if head.starts_with("GET /slurm/v0.0.38/ping") {
                let _ = stream
                    .write_all(answer("200 OK", ping.len()).as_bytes())
                    .await;
                let _ = stream.write_all(&ping).await;
            } else if head.contains("/ping") {
                let _ = stream
                    .write_all(answer("404 Not Found", 0).as_bytes())
                    .await;
            } else {
                let _ = stream.write_all(answer("200 OK", 100_000).as_bytes()).await;
                let _ = stream.write_all(br#"{"nodes": [{"name": "n1", "#).await;
                if tx.send(stream).is_err() {
                    return;
                }
            }
        }
    });
    rx
}

/// Whether the exporter closes `stream` within 10 s (reading what it sent first).
async fn closed_by_exporter(mut stream: tokio::net::UnixStream) -> bool {
    use tokio::io::AsyncReadExt;
    let mut rest = Vec::new();
    let read = stream.read_to_end(&mut rest);
    matches!(
        tokio::time::timeout(std::time::Duration::from_secs(10), read).await,
        Ok(Ok(_))
    )
}

/// Issue 14 (rest-stall): a query abandoned at its timeout, while slurmrestd
/// stalls mid-body or never reads the request, closes its connection (before,
/// the parser thread kept reading the stalled body for ever).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_query_closes_its_connection() {
    for mode in ["stall", "silent"] {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let socket = dir.path().join("restd.sock");
        let mut connections = unix_restd(&socket, mode).await;
        // {"alg":"HS256"}.{"exp":4102444800,"iat":0,"sun":"root"}.sig
        let token = "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjQxMDI0NDQ4MDAsImlhdCI6MCwic3VuIjoicm9vdCJ9.c2lnbmF0dXJl";
        let source = RestSource::new(
            RestEndpoint::Unix { path: socket },
            TokenSource::Value(token.into()),
            None,
        );
        if mode == "silent" {
            *source.version.lock().await = Some("v0.0.38");
        }
        let abandoned = tokio::time::timeout(
            std::time::Duration::from_millis(500),
            source.fetch(DataKind::Nodes),
        )
        .await;
        assert!(abandoned.is_err(), "{mode}: the query was not stalled");
        let stream = connections
            .recv()
            .await
            .unwrap_or_else(|| panic!("{mode}: no data connection"));
        assert!(
            closed_by_exporter(stream).await,
            "{mode}: the connection stayed open after the query was abandoned"
        );
    }
}
