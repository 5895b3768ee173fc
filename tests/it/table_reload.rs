//! The table is reloaded while the broker runs; a broken edit changes
//! nothing.

use crate::support::stack::{Stack, USERS};
use std::time::{Duration, Instant};

async fn status_within(stack: &Stack, token: &str, want: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if stack.presign(token, None).await.status().as_u16() == want {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn edits_take_effect_without_restart_and_broken_edits_change_nothing() {
    let stack = Stack::start(|c| c.limits = "mints_per_minute = 0".into()).await;
    let alice = stack.token("alice").await;
    let dave = stack.token("dave").await;
    let path = stack.broker.users_path();
    assert_eq!(stack.presign(&dave, None).await.status(), 403);

    let with_dave =
        format!("{USERS}\n[[users]]\nidentity = \"dave\"\ndomain = \"ml\"\nprofile = \"alice\"\n");
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, &with_dave).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    assert!(
        status_within(&stack, &dave, 200).await,
        "{}",
        stack.broker.logs()
    );

    std::fs::write(
        &path,
        "[[users]]\nidentity = \"dave\"\ndomain = \"nope\"\nprofile = \"x\"\n",
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(stack.presign(&dave, None).await.status(), 200);
    assert_eq!(stack.presign(&alice, None).await.status(), 200);
    let logs = stack.broker.logs();
    assert!(
        logs.contains("domain = \\\"nope\\\": not a configured domain"),
        "{logs}"
    );

    let without_alice = USERS.replacen("identity = \"alice\"", "identity = \"alice-gone\"", 1);
    std::fs::write(&path, without_alice).unwrap();
    stack.broker.signal("HUP");
    assert!(status_within(&stack, &alice, 403).await);
}
