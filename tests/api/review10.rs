//! Issue 10, attacked after the merge: holes found by the review, one test each.

use std::time::Duration;

use crate::common::{OWNER_EMAIL, OWNER_PASSWORD, Page, Server};

fn asks_step_up(r: &Page) -> bool {
    r.status == 303
        && r.location
            .as_deref()
            .is_some_and(|l| l.starts_with("/admin/step-up?next="))
}

/// Turning the second factor on is a way past step-up: once on, step-up asks a code
/// of that factor. So a session whose identity is not fresh (a browser left open, a
/// stolen cookie) must not enrol its own authenticator without the password again —
/// not even a person whose role must enrol (the step-up page is open to them).
#[tokio::test]
async fn a_stale_session_cannot_enrol_a_factor_to_get_past_step_up() {
    for required in ["none", "owner,staff"] {
        let s = Server::start_with(&[("OTM_STEP_UP_SECONDS", "2"), ("OTM_MFA_REQUIRED", required)]);
        s.create_owner();
        let br = s.browser();
        br.login(OWNER_EMAIL, OWNER_PASSWORD).await;
        tokio::time::sleep(Duration::from_millis(2300)).await;
        let page = br.get("/admin/profile/mfa").await;
        assert_eq!(page.status, 200, "{required}");
        let csrf = page.csrf();
        let r = br
            .post("/admin/profile/mfa/start", &[("csrf_token", &csrf)])
            .await;
        assert!(
            asks_step_up(&r),
            "{required}: {} {:?}",
            r.status,
            r.location
        );
        let r = br
            .post(
                "/admin/profile/mfa/confirm",
                &[("csrf_token", &csrf), ("otp", "123456")],
            )
            .await;
        assert!(
            asks_step_up(&r),
            "{required}: {} {:?}",
            r.status,
            r.location
        );
        // The step-up page answers (no loop back to the enrolment page), and the
        // password leads back to the enrolment, which then starts.
        let next = "/admin/profile/mfa";
        let form = br.get("/admin/step-up?next=%2Fadmin%2Fprofile%2Fmfa").await;
        assert_eq!(form.status, 200, "{required}: {:?}", form.location);
        let r = br
            .submit(
                "/admin/profile/mfa",
                "/admin/step-up",
                &[("answer", OWNER_PASSWORD), ("next", next)],
            )
            .await;
        assert_eq!(r.location.as_deref(), Some(next), "{required}");
        let r = br
            .submit("/admin/profile/mfa", "/admin/profile/mfa/start", &[])
            .await;
        assert_eq!(r.location.as_deref(), Some(next), "{required}");
        assert!(br.get(next).await.body.contains("mfa-secret"), "{required}");
    }
}
