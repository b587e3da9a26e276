//! `Region::begin_within`: waits for a live holder at most as long as
//! asked, then `Error::Timeout`; takes the lock as soon as it is free.

use std::sync::mpsc;
use std::time::Duration;

use shm_runtime::{Error, Region, RegionOptions, Schema, SharedState};
use shm_testing::Scratch;

#[derive(SharedState, Clone, Copy, Debug, Default)]
#[repr(C)]
struct Pair {
    a: u64,
    b: u64,
}

#[test]
fn a_live_holder_makes_it_time_out_and_a_released_lock_is_taken() {
    for scratch in [Scratch::file(), Scratch::shm()] {
        let options = RegionOptions::new().schema(Schema::of::<Pair>()).clone();
        let region = scratch.target.open_region(&options).unwrap();
        let other = scratch.target.open_region(&RegionOptions::new()).unwrap();
        let (held, release) = (mpsc::channel(), mpsc::channel::<()>());
        std::thread::scope(|s| {
            let region = &region;
            s.spawn(move || {
                let mut transaction = region.begin().unwrap();
                transaction.bytes()[0] = 1;
                held.0.send(()).unwrap();
                release.1.recv().unwrap();
                transaction.commit().unwrap();
            });
            held.1.recv().unwrap();
            match other.begin_within(Duration::from_millis(20)) {
                Err(Error::Timeout { waiting_for, .. }) => {
                    assert!(waiting_for.contains("writer lock"), "{waiting_for}")
                }
                other => panic!("expected a timeout, got {other:?}"),
            }
            // Zero: one look, no wait.
            assert!(matches!(
                other.begin_within(Duration::ZERO),
                Err(Error::Timeout { .. })
            ));
            release.0.send(()).unwrap();
        });
        // Free now: taken at once, whatever the timeout.
        let mut transaction = other.begin_within(Duration::ZERO).unwrap();
        assert_eq!(
            transaction.bytes()[0],
            1,
            "the holder's update was published"
        );
        transaction.bytes()[8] = 2;
        transaction.commit().unwrap();
        assert_eq!(region.snapshot()[8], 2);
        // No deadline at all is a plain `begin`.
        drop(other.begin_within(Duration::MAX).unwrap());
        let read_only = scratch
            .target
            .open_region(RegionOptions::new().read_only(true))
            .unwrap();
        assert!(matches!(
            read_only.begin_within(Duration::ZERO),
            Err(Error::PermissionDenied { .. })
        ));
        drop::<Region>(region);
    }
}
