//! The lease decision with synthetic time.

use super::*;

const T: LeaseTiming = LeaseTiming {
    ttl: Duration::from_secs(3),
    renew_every: Duration::from_millis(500),
};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn a_free_lease_makes_it_active_and_renewals_keep_it() {
    let t0 = Instant::now();
    let mut c = LeaseCore::new(T, t0);
    assert_eq!(c.role(t0), Role::Standby);
    assert_eq!(c.poll_attempt(t0), Some(0), "first try takes the lease");
    assert_eq!(c.poll_attempt(t0), None, "one attempt at a time");
    c.on_result(Ok(Attempt::Held(7)));
    assert_eq!(c.role(t0 + ms(10)), Role::Active { token: 7 });
    assert_eq!(c.poll_timeout(), t0 + ms(500));
    for k in 1..20u64 {
        let now = t0 + ms(500 * k);
        c.handle_timeout(now);
        assert_eq!(c.poll_attempt(now), Some(7), "renews with its token");
        c.on_result(Ok(Attempt::Held(7)));
        assert_eq!(c.role(now), Role::Active { token: 7 });
    }
}

#[test]
fn a_holder_that_cannot_renew_stops_at_half_the_ttl_after_its_last_renewal_was_sent() {
    let t0 = Instant::now();
    let mut c = LeaseCore::new(T, t0);
    c.poll_attempt(t0);
    c.on_result(Ok(Attempt::Held(3)));
    let lost = || Err(LeaseError::Unavailable("down".into()));
    for now in [t0 + ms(500), t0 + ms(1000)] {
        c.handle_timeout(now);
        assert_eq!(c.poll_attempt(now), Some(3));
        c.on_result(lost());
        assert_eq!(c.role(now), Role::Active { token: 3 });
    }
    assert_eq!(
        c.poll_timeout(),
        t0 + ms(1500),
        "wakes when the role lapses"
    );
    c.handle_timeout(t0 + ms(1500));
    assert_eq!(
        c.role(t0 + ms(1500)),
        Role::Standby,
        "fenced before the ttl can expire"
    );
    // Renewing still works if the lease never expired meanwhile.
    assert_eq!(c.poll_attempt(t0 + ms(1500)), Some(3));
    c.on_result(Ok(Attempt::Held(3)));
    assert_eq!(c.role(t0 + ms(1600)), Role::Active { token: 3 });
}

#[test]
fn a_late_answer_does_not_make_it_active() {
    let t0 = Instant::now();
    let mut c = LeaseCore::new(T, t0);
    assert_eq!(c.poll_attempt(t0), Some(0));
    // The answer comes after half the ttl: the lease may have little left.
    c.on_result(Ok(Attempt::Held(9)));
    assert_eq!(c.role(t0 + ms(1500)), Role::Standby);
    assert_eq!(c.role(t0 + ms(1499)), Role::Active { token: 9 });
}

#[test]
fn another_holder_makes_it_standby_and_it_keeps_trying() {
    let t0 = Instant::now();
    let mut c = LeaseCore::new(T, t0);
    c.poll_attempt(t0);
    c.on_result(Ok(Attempt::Held(4)));
    assert!(!c.take_superseded());
    c.poll_attempt(t0 + ms(500));
    c.on_result(Ok(Attempt::Taken));
    assert_eq!(c.role(t0 + ms(501)), Role::Standby);
    assert!(c.take_superseded(), "its calls are the new holder's");
    assert!(!c.take_superseded(), "said once");
    assert_eq!(
        c.poll_attempt(t0 + ms(1000)),
        Some(0),
        "tries to take, not renew"
    );
}

#[test]
fn giving_up_returns_the_token_once() {
    let t0 = Instant::now();
    let mut c = LeaseCore::new(T, t0);
    assert_eq!(c.give_up(), None);
    c.poll_attempt(t0);
    c.on_result(Ok(Attempt::Held(5)));
    assert_eq!(c.give_up(), Some(5));
    assert_eq!(c.role(t0), Role::Standby);
    assert_eq!(c.give_up(), None);
}
