//! The fan-out hub: property tests over random publish / subscribe / lag schedules, and the
//! behaviours a server relies on (waking, closing, eviction without polling).

#![cfg(feature = "hub")]

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_core::Stream;
use proptest::prelude::*;
use ssekit::hub::{Cursor, Delivery, Eviction, Hub, HubConfig, Position, PublishError};

fn frame(id: u64) -> Bytes {
    Bytes::from(format!("id: {id}\ndata: {id}\n\n"))
}

/// Polls once without a runtime.
fn poll(cursor: &mut Cursor<u64>) -> Poll<Option<Delivery<u64>>> {
    let mut cx = Context::from_waker(Waker::noop());
    Pin::new(cursor).poll_next(&mut cx)
}

#[derive(Debug, Clone)]
enum Op {
    /// Publish this many frames (ids go up by 1..=3 each).
    Publish(u8, u8),
    /// Subscribe: none, a published id (by index from the end), or any id.
    Subscribe(u8, u64),
    /// Take up to n items from subscriber k.
    Read(u8, u8),
    /// Drop subscriber k.
    Drop(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (1u8..6, 1u8..4).prop_map(|(n, step)| Op::Publish(n, step)),
        2 => (0u8..4, 0u64..80).prop_map(|(how, id)| Op::Subscribe(how, id)),
        4 => (any::<u8>(), 1u8..12).prop_map(|(k, n)| Op::Read(k, n)),
        1 => any::<u8>().prop_map(Op::Drop),
    ]
}

struct Subscriber {
    cursor: Option<Cursor<u64>>,
    after: Option<u64>,
    position: Position<u64>,
    /// Published count when it subscribed.
    start: usize,
    /// What it got, with the number of frames published when each item came out.
    got: Vec<(Delivery<u64>, usize)>,
    ended: bool,
}

/// Checks one subscriber's output against what was published.
fn check(sub: &Subscriber, published: &[u64], capacity: usize, max_lag: Option<u64>) {
    let next_after = |id: u64| published.iter().copied().find(|&p| p > id);
    // The frame that must come next if nothing is skipped.
    let mut want = match (&sub.position, sub.after) {
        (Position::Live, _) => published.get(sub.start).copied(),
        (Position::Backfill { oldest }, _) => Some(*oldest),
        (_, Some(after)) => next_after(after),
        (_, None) => unreachable!("only Live comes without an id"),
    };
    let mut last = sub.after;
    let mut evicted = false;
    for (item, published_then) in &sub.got {
        assert!(!evicted, "items after an eviction: {:?}", sub.got);
        match item {
            Delivery::Frame { id, frame: bytes } => {
                assert_eq!(
                    bytes,
                    &frame(*id),
                    "the frame is the one published under its id"
                );
                assert_eq!(
                    Some(*id),
                    want,
                    "not contiguous after {last:?}: {:?}",
                    sub.got
                );
                last = Some(*id);
                want = next_after(*id);
            }
            Delivery::Gap {
                last: gap_last,
                next,
            } => {
                assert_eq!(*gap_last, last, "a gap names the last id delivered");
                let missed = want.expect("a gap before anything was published");
                assert!(*next > missed, "a gap that skips nothing: {item:?}");
                // It fell off: the frame it missed had left the ring when the gap came out,
                // and it goes on at the oldest frame still there.
                let missed_index = published.iter().position(|&p| p == missed).unwrap();
                assert!(
                    missed_index + capacity < *published_then,
                    "gap while {missed} was in the ring"
                );
                assert_eq!(*next, published[published_then - capacity]);
                want = Some(*next);
            }
            Delivery::Jump { .. } => panic!("a jump in a log published with `publish`: {item:?}"),
            Delivery::Evicted(reason) => {
                assert_eq!(*reason, Eviction::TooManyBehind);
                assert!(max_lag.is_some(), "evicted without a policy");
                evicted = true;
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn every_subscriber_gets_a_contiguous_run_with_explicit_gaps(
        capacity in 1usize..10,
        max_lag in prop_oneof![Just(None), (1u64..12).prop_map(Some)],
        ops in proptest::collection::vec(op(), 1..80),
    ) {
        let hub: Hub<u64> = Hub::new(HubConfig::new(capacity).max_lag_events(max_lag));
        let mut published: Vec<u64> = Vec::new();
        let mut subs: Vec<Subscriber> = Vec::new();
        let mut dropped: Vec<Subscriber> = Vec::new();
        let mut next_id = 1u64;
        for op in ops {
            match op {
                Op::Publish(n, step) => {
                    for _ in 0..n {
                        hub.publish(next_id, frame(next_id)).unwrap();
                        published.push(next_id);
                        next_id += u64::from(step);
                    }
                }
                Op::Subscribe(how, id) => {
                    let after = match how {
                        0 => None,
                        1 | 2 if !published.is_empty() => {
                            let back = (id as usize) % published.len();
                            Some(published[published.len() - 1 - back])
                        }
                        _ => Some(id),
                    };
                    let join = hub.subscribe(after.as_ref()).unwrap();
                    // Where it stands follows from the ring at this moment.
                    let ring = &published[published.len().saturating_sub(capacity)..];
                    let expected = match after {
                        None => Position::Live,
                        Some(a) if ring.is_empty() => { let _ = a; Position::Ahead }
                        Some(a) if a < ring[0] => Position::Backfill { oldest: ring[0] },
                        Some(a) if a > *ring.last().unwrap() => Position::Ahead,
                        Some(a) if ring.contains(&a) => Position::Resumed,
                        Some(_) => Position::Unknown,
                    };
                    prop_assert_eq!(&join.position, &expected);
                    subs.push(Subscriber {
                        cursor: Some(join.cursor),
                        after,
                        position: join.position,
                        start: published.len(),
                        got: Vec::new(),
                        ended: false,
                    });
                }
                Op::Read(k, n) if !subs.is_empty() => {
                    let len = subs.len();
                    let sub = &mut subs[k as usize % len];
                    for _ in 0..n {
                        match poll(sub.cursor.as_mut().unwrap()) {
                            Poll::Ready(Some(item)) => sub.got.push((item, published.len())),
                            Poll::Ready(None) => { sub.ended = true; break; }
                            Poll::Pending => break,
                        }
                    }
                }
                Op::Drop(k) if !subs.is_empty() => {
                    let mut sub = subs.remove(k as usize % subs.len());
                    sub.cursor = None; // unsubscribes
                    dropped.push(sub);
                }
                _ => {}
            }
        }
        prop_assert_eq!(hub.subscriber_count(), subs.len(), "dropped cursors unsubscribe");
        // Drain everyone: nobody stops short of the head without saying why.
        for sub in &mut subs {
            loop {
                match poll(sub.cursor.as_mut().unwrap()) {
                    Poll::Ready(Some(item)) => sub.got.push((item, published.len())),
                    Poll::Ready(None) => { sub.ended = true; break; }
                    Poll::Pending => break,
                }
            }
            let evicted = sub.got.iter().any(|(d, _)| matches!(d, Delivery::Evicted(_)));
            prop_assert_eq!(sub.ended, evicted, "only an evicted cursor ends while the hub is open");
            if !evicted {
                let last_frame = sub.got.iter().rev().find_map(|(d, _)| match d {
                    Delivery::Frame { id, .. } => Some(*id),
                    _ => None,
                });
                let reachable = match sub.position {
                    Position::Live => published.len() > sub.start,
                    _ => published.last().is_some_and(|&l| l > sub.after.unwrap()),
                };
                let expected = if reachable { published.last().copied() } else { None };
                prop_assert_eq!(last_frame, expected, "stopped short of the head");
            }
        }
        for sub in subs.iter().chain(&dropped) {
            check(sub, &published, capacity, max_lag);
        }
    }
}

#[test]
fn publish_refuses_ids_out_of_order_and_after_close() {
    let hub: Hub<u64> = Hub::new(HubConfig::new(4));
    hub.publish(3, frame(3)).unwrap();
    assert_eq!(
        hub.publish(2, frame(2)),
        Err(PublishError::NotAfterHead { head: 3 })
    );
    assert_eq!(
        hub.publish(3, frame(3)),
        Err(PublishError::NotAfterHead { head: 3 })
    );
    hub.close();
    assert_eq!(hub.publish(4, frame(4)), Err(PublishError::Closed));
}

#[test]
fn a_waiting_subscriber_is_woken_from_another_thread() {
    let hub: Hub<u64> = Hub::new(HubConfig::new(128));
    let mut cursors: Vec<Cursor<u64>> = (0..8)
        .map(|_| hub.subscribe(None).unwrap().cursor)
        .collect();
    let publisher = {
        let hub = hub.clone();
        std::thread::spawn(move || {
            // Publish only once every subscriber waits.
            while hub.subscriber_count() < 8 {
                std::thread::yield_now();
            }
            std::thread::sleep(Duration::from_millis(20));
            for id in 1..=100 {
                hub.publish(id, frame(id)).unwrap();
            }
            hub.close();
        })
    };
    let readers: Vec<_> = cursors
        .drain(..)
        .map(|cursor| {
            std::thread::spawn(move || {
                use futures_util::StreamExt;
                futures_executor::block_on(cursor.collect::<Vec<_>>())
            })
        })
        .collect();
    publisher.join().unwrap();
    for reader in readers {
        let got = reader.join().unwrap();
        let ids: Vec<u64> = got
            .iter()
            .map(|d| match d {
                Delivery::Frame { id, .. } => *id,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(ids, (1..=100).collect::<Vec<_>>());
    }
}

#[test]
fn eviction_resolves_without_polling_the_cursor() {
    let hub: Hub<u64> = Hub::new(HubConfig::new(100).max_lag_events(Some(3)));
    let frozen = hub.subscribe(None).unwrap();
    let mut eviction = Box::pin(frozen.cursor.eviction());
    let mut reader = hub.subscribe(None).unwrap().cursor;
    let mut cx = Context::from_waker(Waker::noop());
    for id in 1..=3 {
        hub.publish(id, frame(id)).unwrap();
        assert!(matches!(
            poll(&mut reader),
            Poll::Ready(Some(Delivery::Frame { .. }))
        ));
    }
    assert!(
        eviction.as_mut().poll(&mut cx).is_pending(),
        "3 behind is not more than 3"
    );
    hub.publish(4, frame(4)).unwrap();
    assert_eq!(
        eviction.as_mut().poll(&mut cx),
        Poll::Ready(Eviction::TooManyBehind)
    );
    // The reader kept up and is still there.
    assert!(matches!(
        poll(&mut reader),
        Poll::Ready(Some(Delivery::Frame { id: 4, .. }))
    ));
    let mut frozen = frozen.cursor;
    assert_eq!(
        poll(&mut frozen),
        Poll::Ready(Some(Delivery::Evicted(Eviction::TooManyBehind)))
    );
    assert_eq!(poll(&mut frozen), Poll::Ready(None));
}

#[test]
fn time_policy_evicts_only_the_subscriber_that_waits_too_long() {
    let hub: Hub<u64> = Hub::new(HubConfig::new(100).max_lag_time(Some(Duration::from_secs(10))));
    let t0 = Instant::now();
    let mut slow = hub.subscribe(None).unwrap().cursor;
    let mut fast = hub.subscribe(None).unwrap().cursor;
    hub.publish_at(1, frame(1), t0).unwrap();
    assert!(matches!(
        poll(&mut fast),
        Poll::Ready(Some(Delivery::Frame { id: 1, .. }))
    ));
    hub.publish_at(2, frame(2), t0 + Duration::from_secs(10))
        .unwrap();
    assert!(matches!(
        poll(&mut fast),
        Poll::Ready(Some(Delivery::Frame { id: 2, .. }))
    ));
    assert_eq!(
        hub.evict_lagging(t0 + Duration::from_secs(10)),
        0,
        "exactly 10 s is not more"
    );
    assert_eq!(hub.evict_lagging(t0 + Duration::from_secs(11)), 1);
    assert_eq!(
        poll(&mut slow),
        Poll::Ready(Some(Delivery::Evicted(Eviction::TooLongBehind)))
    );
    // The fast one has nothing waiting, so no age: it stays.
    hub.publish_at(3, frame(3), t0 + Duration::from_secs(30))
        .unwrap();
    assert!(matches!(
        poll(&mut fast),
        Poll::Ready(Some(Delivery::Frame { id: 3, .. }))
    ));
}

#[test]
fn memory_is_bounded_by_the_ring_not_the_subscribers() {
    let hub: Hub<u64> = Hub::new(HubConfig::new(8));
    let mut idle: Vec<Cursor<u64>> = (0..1000)
        .map(|_| hub.subscribe(None).unwrap().cursor)
        .collect();
    for c in &mut idle {
        assert!(poll(c).is_pending());
    }
    for id in 1..=10_000 {
        hub.publish(id, frame(id)).unwrap();
    }
    assert_eq!(hub.len(), 8);
    assert_eq!(hub.frames_after(None).len(), 8);
    // Each idle subscriber learns what it missed, then gets the last 8.
    let c = &mut idle[0];
    assert_eq!(
        poll(c),
        Poll::Ready(Some(Delivery::Gap {
            last: None,
            next: 9993
        }))
    );
    // Coming and going without publishes leaves nothing behind.
    for _ in 0..10_000 {
        let mut c = hub.subscribe(None).unwrap().cursor;
        assert!(poll(&mut c).is_pending());
    }
    assert_eq!(hub.subscriber_count(), 1000);
}
