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
