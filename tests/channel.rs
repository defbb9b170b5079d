//! Broadcast channels: exact resume, topics as filters on one log, bounds, gap signals that
//! cannot be forged, shutdown, and the response body.
#![cfg(all(feature = "channel", feature = "tokio", feature = "http-body"))]

use std::time::Duration;

use bytes::Bytes;
use futures_util::{FutureExt, StreamExt};
use proptest::prelude::*;
use ssekit::channel::{
    Channel, ChannelConfig, Page, PageFuture, PublishError, Seq, Store, StoreError, Stored,
    SubscribeError, Subscription, Topic,
};
use ssekit::{Event, Item, Parser};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

const EPOCH: u64 = 1_700_000_000_000;

fn channel(config: ChannelConfig) -> Channel {
    Channel::new(config.with_epoch(EPOCH))
}

fn id(offset: u64) -> String {
    Seq::new(EPOCH, offset).to_string()
}

/// What a client reads from a subscription: every frame it has now, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Got {
    Message {
        id: String,
        data: String,
    },
    Gap(serde_json::Value),
    /// An id-only block or `retry`: no event.
    Quiet {
        id: String,
    },
}

fn take_ready(sub: &mut Subscription, parser: &mut Parser, gap_type: &str) -> Vec<Got> {
    let mut got = Vec::new();
    while let Some(Some(frame)) = sub.next().now_or_never() {
        parser.feed(frame.into_bytes());
        while let Some(item) = parser.next() {
            match item.unwrap() {
                Item::Message(m) if m.event_type() == gap_type => {
                    got.push(Got::Gap(serde_json::from_str(m.data()).unwrap()));
                }
                Item::Message(m) => got.push(Got::Message {
                    id: m.last_event_id().to_string(),
                    data: m.data().to_string(),
                }),
                Item::LastEventId(id) => got.push(Got::Quiet { id: id.to_string() }),
                _ => {}
            }
        }
    }
    got
}

/// The client's last event id after reading `got`, if it changed.
fn last_id(got: &[Got]) -> Option<String> {
    got.iter().rev().find_map(|g| match g {
        Got::Message { id, .. } | Got::Quiet { id } => Some(id.clone()),
        Got::Gap(_) => None,
    })
}

fn messages(got: &[Got]) -> Vec<(String, String)> {
    got.iter()
        .filter_map(|g| match g {
            Got::Message { id, data } => Some((id.clone(), data.clone())),
            _ => None,
        })
        .collect()
}

fn gaps(got: &[Got]) -> Vec<serde_json::Value> {
    got.iter()
        .filter_map(|g| match g {
            Got::Gap(v) => Some(v.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn resume_is_exact_and_a_new_client_learns_the_head_first() {
    let channel = channel(ChannelConfig::new());
    for n in 0..5 {
        channel.publish(Event::new(format!("e{n}"))).unwrap();
    }
    let mut parser = Parser::new();
    let mut resumed = channel.subscribe(Some(&id(2))).unwrap();
    channel.publish(Event::new("e5")).unwrap();
    let got = take_ready(&mut resumed, &mut parser, "gap");
    assert_eq!(
        messages(&got),
        [
            (id(3), "e3".into()),
            (id(4), "e4".into()),
            (id(5), "e5".into())
        ]
    );
    assert!(gaps(&got).is_empty());

    // A new client gets `id: <head>` with no data first: it resumes after the head.
    let mut fresh = channel.subscribe(None).unwrap();
    let first = fresh.next().now_or_never().unwrap().unwrap();
    assert_eq!(first.as_bytes(), &format!("id: {}\n\n", id(5)));
    assert!(fresh.next().now_or_never().is_none(), "nothing else yet");
    let seq = channel.publish(Event::new("e6")).unwrap();
    assert_eq!(seq.to_string(), id(6));
    let frame = fresh.next().now_or_never().unwrap().unwrap();
    assert_eq!(frame.as_bytes(), &format!("id: {}\ndata: e6\n\n", id(6)));
}

#[test]
fn one_frame_shared_by_every_subscriber() {
    let channel = channel(ChannelConfig::new());
    channel.publish(Event::new("zero")).unwrap();
    let mut a = channel.subscribe(Some(&id(0))).unwrap();
    let mut b = channel.subscribe(Some(&id(0))).unwrap();
    channel
        .publish(Event::new(Bytes::from(vec![b'x'; 100_000])))
        .unwrap();
    let fa = a.next().now_or_never().unwrap().unwrap();
    let fb = b.next().now_or_never().unwrap().unwrap();
    assert_eq!(
        fa.len(),
        100_000 + format!("id: {}\ndata: \n\n", id(1)).len()
    );
    assert_eq!(fa.as_bytes().as_ptr(), fb.as_bytes().as_ptr(), "not copied");
}

fn subscribe_topics(channel: &Channel, topics: &[Topic], last: Option<&str>) -> Subscription {
    channel.subscribe_to(topics, last).unwrap()
}

/// The test: a page subscribed to two of three topics sees exactly its events, in
/// order, across a cut.
#[test]
fn two_of_three_topics_exactly_in_order_across_a_cut() {
    let channel = channel(ChannelConfig::new());
    let topics = [
        channel.topic("scores"),
        channel.topic("news"),
        channel.topic("chat"),
    ];
    let mine = [topics[0].clone(), topics[2].clone()];
    let mut expected = Vec::new();
    let mut parser = Parser::new();
    let mut page = subscribe_topics(&channel, &mine, None);
    let mut got = take_ready(&mut page, &mut parser, "gap");
    for n in 0..60u64 {
        let topic = &topics[usize::try_from(n % 3).unwrap()];
        let data = format!("{}-{n}", topic.name());
        let seq = channel.publish_to(topic, Event::new(data.clone())).unwrap();
        if topic != &topics[1] {
            expected.push((seq.to_string(), data));
        }
        if n == 30 {
            // The cut: the page reads what it has, drops, and comes back with its last id,
            // while events go on being published.
            got.extend(take_ready(&mut page, &mut parser, "gap"));
            drop(page);
            let last = messages(&got).last().unwrap().0.clone();
            for m in 0..3u64 {
                let topic = &topics[usize::try_from(m).unwrap()];
                let data = format!("{}-cut{m}", topic.name());
                let seq = channel.publish_to(topic, Event::new(data.clone())).unwrap();
                if topic != &topics[1] {
                    expected.push((seq.to_string(), data));
                }
            }
            parser = Parser::new();
            page = subscribe_topics(&channel, &mine, Some(&last));
        }
    }
    got.extend(take_ready(&mut page, &mut parser, "gap"));
    assert!(gaps(&got).is_empty(), "{got:?}");
    assert_eq!(messages(&got), expected);
}

#[test]
fn a_subscriber_to_one_topic_is_never_woken_by_the_others() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Context, Wake, Waker};
    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let channel = channel(ChannelConfig::new());
    let (quiet, busy) = (channel.topic("quiet"), channel.topic("busy"));
    channel.publish_to(&busy, Event::new("first")).unwrap();
    let mut sub = channel.subscribe_to([&quiet], Some(&id(0))).unwrap();
    let count = Arc::new(Count(AtomicUsize::new(0)));
    let waker = Waker::from(Arc::clone(&count));
    let mut cx = Context::from_waker(&waker);
    assert!(sub.poll_next_unpin(&mut cx).is_pending());
    for n in 0..1000 {
        channel
            .publish_to(&busy, Event::new(format!("{n}")))
            .unwrap();
    }
    assert_eq!(count.0.load(Ordering::SeqCst), 0);
    channel.publish_to(&quiet, Event::new("mine")).unwrap();
    assert_eq!(count.0.load(Ordering::SeqCst), 1);
    let frame = sub.next().now_or_never().unwrap().unwrap();
    assert_eq!(
        frame.as_bytes(),
        &format!("id: {}\ndata: mine\n\n", id(1001))
    );
}

#[test]
fn history_is_bounded_by_bytes_and_what_is_lost_is_announced() {
    let channel = channel(ChannelConfig::new().with_history_bytes(64 << 10));
    for n in 0..100 {
        channel
            .publish(Event::new(format!("{n:04}{}", "x".repeat(4096))))
            .unwrap();
    }
    let mut parser = Parser::new();
    let mut sub = channel.subscribe(Some(&id(0))).unwrap();
    let got = take_ready(&mut sub, &mut parser, "gap");
    let msgs = messages(&got);
    assert!(
        (10..16).contains(&msgs.len()),
        "64 KiB of 4 KiB events: {}",
        msgs.len()
    );
    assert_eq!(msgs.last().unwrap().0, id(99));
    let gap = &gaps(&got)[0];
    assert_eq!(gap["reason"], "history_too_short");
    assert_eq!(gap["last_event_id"], id(0));
    assert_eq!(gap["resumes_at"], msgs[0].0.as_str());
    assert!(
        matches!(got[0], Got::Gap(_)),
        "the gap comes first: {:?}",
        got.first()
    );
}

#[test]
fn an_event_over_the_size_limit_is_refused_and_nothing_is_published() {
    let channel = channel(ChannelConfig::new().with_max_event_bytes(1024));
    channel.publish(Event::new("small")).unwrap();
    // Under the limit by its data, over it once encoded with its `id:` line.
    let err = channel.publish(Event::new("y".repeat(1000))).unwrap_err();
    assert!(
        matches!(err, PublishError::TooLarge { size, max: 1024 } if size > 1024),
        "{err:?}"
    );
    assert_eq!(channel.head(), Some(Seq::new(EPOCH, 0)));
    // Data over the limit is refused by its length, before it is encoded.
    let err = channel.publish(Event::new("z".repeat(5000))).unwrap_err();
    assert_eq!(
        err,
        PublishError::TooLarge {
            size: 5000,
            max: 1024
        }
    );
    // The next id is still dense.
    assert_eq!(
        channel.publish(Event::new("next")).unwrap(),
        Seq::new(EPOCH, 1)
    );
}

#[test]
fn the_gap_type_is_reserved_whatever_it_is_called() {
    let resync = ssekit::EventType::try_from("resync").unwrap();
    let channel = channel(ChannelConfig::new().with_gap_event(resync));
    let forged = |t: &str| Event::builder().event(t).data("{}").build().unwrap();
    assert_eq!(
        channel.publish(forged("resync")),
        Err(PublishError::Reserved)
    );
    let topic = channel.topic("t");
    assert_eq!(
        channel.publish_to(&topic, forged("resync")),
        Err(PublishError::Reserved)
    );
    assert!(
        channel.publish(forged("gap")).is_ok(),
        "only the configured one"
    );
    assert_eq!(channel.head(), Some(Seq::new(EPOCH, 0)));
    let with_id = Event::builder().id("9").data("x").build().unwrap();
    assert_eq!(channel.publish(with_id), Err(PublishError::HasId));
}

#[test]
fn every_kind_of_unusable_id_gets_a_gap_that_says_where_it_resumes() {
    let channel = channel(ChannelConfig::new());
    for n in 0..3 {
        channel.publish(Event::new(format!("e{n}"))).unwrap();
    }
    let first_gap = |last: &str| {
        let mut parser = Parser::new();
        let mut sub = channel.subscribe(Some(last)).unwrap();
        let got = take_ready(&mut sub, &mut parser, "gap");
        (gaps(&got)[0].clone(), messages(&got))
    };
    // Not one of our ids: not echoed back.
    let (gap, msgs) = first_gap("<script>alert(1)</script>");
    assert_eq!(gap["reason"], "unknown_id");
    assert_eq!(gap["last_event_id"], serde_json::Value::Null);
    assert!(msgs.is_empty(), "live from here");
    // A history before this one: everything held is new to it.
    let (gap, msgs) = first_gap(&Seq::new(EPOCH - 1, 7).to_string());
    assert_eq!(gap["reason"], "new_history");
    assert_eq!(gap["resumes_at"], id(0));
    assert_eq!(msgs.len(), 3);
    // From a later epoch, or ahead of the head: made up.
    for bogus in [Seq::new(EPOCH + 1, 0), Seq::new(EPOCH, 50)] {
        let (gap, msgs) = first_gap(&bogus.to_string());
        assert_eq!(gap["reason"], "unknown_id");
        assert_eq!(gap["last_event_id"], bogus.to_string());
        assert!(msgs.is_empty());
    }
    // Ahead of the head, then those ids published: they are not skipped.
    let mut parser = Parser::new();
    let mut sub = channel.subscribe(Some(&id(4))).unwrap();
    for n in 3..6 {
        channel.publish(Event::new(format!("e{n}"))).unwrap();
    }
    let got = take_ready(&mut sub, &mut parser, "gap");
    assert_eq!(messages(&got).len(), 3, "{got:?}");
}

#[test]
fn a_subscriber_that_falls_off_the_history_is_told() {
    let channel = channel(ChannelConfig::new().with_history_events(4));
    let mut parser = Parser::new();
    channel.publish(Event::new("e0")).unwrap();
    let mut slow = channel.subscribe(Some(&id(0))).unwrap();
    for n in 1..10 {
        channel.publish(Event::new(format!("e{n}"))).unwrap();
    }
    let got = take_ready(&mut slow, &mut parser, "gap");
    let gap = &gaps(&got)[0];
    assert_eq!(gap["reason"], "lagged");
    assert_eq!(gap["last_event_id"], id(0));
    assert_eq!(gap["resumes_at"], id(6));
    let ids: Vec<String> = messages(&got).into_iter().map(|m| m.0).collect();
    assert_eq!(ids, [id(6), id(7), id(8), id(9)]);
}

#[test]
fn a_new_subscriber_can_be_replayed_the_recent_history() {
    let channel = channel(ChannelConfig::new().with_replay_to_new(3));
    let (a, b) = (channel.topic("a"), channel.topic("b"));
    for n in 0..6u64 {
        let topic = if n % 2 == 0 { &a } else { &b };
        channel
            .publish_to(topic, Event::new(format!("{n}")))
            .unwrap();
    }
    let mut parser = Parser::new();
    let mut all = channel.subscribe(None).unwrap();
    let got = take_ready(&mut all, &mut parser, "gap");
    assert_eq!(
        messages(&got),
        [
            (id(3), "3".into()),
            (id(4), "4".into()),
            (id(5), "5".into())
        ]
    );
    // On some topics: theirs among the last three.
    let mut parser = Parser::new();
    let mut only_a = channel.subscribe_to([&a], None).unwrap();
    let got = take_ready(&mut only_a, &mut parser, "gap");
    assert_eq!(messages(&got), [(id(4), "4".into())]);
}

#[test]
fn an_id_ahead_waits_when_the_log_is_written_elsewhere_too() {
    let channel = channel(ChannelConfig::new().with_wait_for_ahead(true));
    channel.publish(Event::new("0")).unwrap();
    let mut parser = Parser::new();
    // Another instance published up to 3 already; this one has only 0.
    let mut sub = channel.subscribe(Some(&id(3))).unwrap();
    for n in 1..6 {
        channel
            .publish_with_id(Seq::new(EPOCH, n), None, Event::new(format!("{n}")))
            .unwrap();
    }
    let got = take_ready(&mut sub, &mut parser, "gap");
    assert!(gaps(&got).is_empty(), "{:?}", gaps(&got));
    assert_eq!(messages(&got), [(id(4), "4".into()), (id(5), "5".into())]);
    // The next id the channel assigns follows the ones given.
    assert_eq!(
        channel.publish(Event::new("6")).unwrap(),
        Seq::new(EPOCH, 6)
    );
}

#[test]
fn a_subscription_names_a_bounded_number_of_topics() {
    let channel = channel(ChannelConfig::new());
    let topics: Vec<Topic> = (0..40).map(|n| channel.topic(&format!("t{n}"))).collect();
    let err = channel.subscribe_to(&topics, None).unwrap_err();
    assert_eq!(err, SubscribeError::TooManyTopics { max: 32 });
    let response: http::Response<()> = err.into_http_response();
    assert_eq!(response.status(), 400);
    assert_eq!(channel.subscriber_count(), 0);
    assert!(channel.subscribe_to(&topics[..32], None).is_ok());
}

#[test]
fn a_full_channel_answers_503_with_retry_after() {
    let channel = channel(
        ChannelConfig::new()
            .with_max_subscribers(2)
            .with_retry_after(Duration::from_secs(7)),
    );
    let a = channel.subscribe(None).unwrap();
    let _b = channel.subscribe(None).unwrap();
    let err = channel.subscribe(None).unwrap_err();
    assert!(matches!(err, SubscribeError::Full { max: 2, .. }));
    let response: http::Response<()> = err.into_http_response();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "7");
    drop(a);
    assert!(channel.subscribe(None).is_ok());
}

#[tokio::test(start_paused = true)]
async fn a_subscriber_that_takes_nothing_within_the_send_timeout_is_dropped() {
    let channel = channel(ChannelConfig::new().with_send_timeout(Duration::from_millis(200)));
    channel.publish(Event::new("zero")).unwrap();
    let mut frozen = channel.subscribe(Some(&id(0))).unwrap();
    let mut reader = channel.subscribe(Some(&id(0))).unwrap();
    channel.publish(Event::new("one")).unwrap();
    assert!(reader.next().await.is_some());
    // One event waits for the frozen one: not many, but for too long.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(channel.evict_lagging(std::time::Instant::now()), 1);
    assert_eq!(frozen.next().await, None, "its stream ends");
    channel.publish(Event::new("two")).unwrap();
    assert!(reader.next().await.is_some(), "the reader goes on");
    // It comes back and resumes where it was.
    let mut back = channel.subscribe(Some(&id(0))).unwrap();
    let frame = back.next().await.unwrap();
    assert_eq!(frame.as_bytes(), &format!("id: {}\ndata: one\n\n", id(1)));
}

#[tokio::test]
async fn shutdown_tells_everyone_when_to_come_back() {
    let channel = channel(ChannelConfig::new().with_retry(Some(Duration::from_secs(1))));
    let sub = channel.subscribe(None).unwrap();
    channel.publish(Event::new("last")).unwrap();
    channel.shutdown(Duration::from_secs(10));
    let frames: Vec<String> = sub
        .map(|f| String::from_utf8(f.into_bytes().to_vec()).unwrap())
        .collect()
        .await;
    assert_eq!(
        frames,
        [
            // `retry` rides on the first block: never a block of its own.
            format!("retry: 1000\nid: {}\ndata: last\n\n", id(0)),
            "retry: 10000\n\n".to_string(),
        ]
    );
    assert_eq!(
        channel.publish(Event::new("late")),
        Err(PublishError::Closed)
    );
}

#[tokio::test(start_paused = true)]
async fn the_body_sends_keep_alives_every_15_seconds_by_default() {
    use http_body_util::BodyExt;
    let channel = channel(ChannelConfig::new());
    let response = channel
        .subscribe(None)
        .unwrap()
        .into_body()
        .into_http_response();
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut body = response.into_body();
    let start = tokio::time::Instant::now();
    let frame = body.frame().await.unwrap().unwrap();
    assert_eq!(frame.into_data().unwrap(), ": keep-alive\n");
    assert_eq!(start.elapsed(), Duration::from_secs(15));
    channel.publish(Event::new("x")).unwrap();
    let frame = body.frame().await.unwrap().unwrap();
    assert_eq!(
        frame.into_data().unwrap(),
        format!("id: {}\ndata: x\n\n", id(0))
    );
}

/// One subscriber's plan: its topics (a bit set of three), and when it reads and when it is
/// cut and comes back.
#[derive(Debug, Clone)]
struct Plan {
    topics: u8,
    steps: Vec<u8>,
}

fn plan() -> impl Strategy<Value = Plan> {
    (1u8..8, proptest::collection::vec(0u8..10, 1..60))
        .prop_map(|(topics, steps)| Plan { topics, steps })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the topics, the history's size, and when subscribers read or are cut: each
    /// gets its topics' events in order, never twice, and any it misses lie behind a gap event.
    #[test]
    fn every_subscriber_gets_its_topics_in_order_with_every_loss_announced(
        history in 1usize..12,
        publishes in proptest::collection::vec(0u8..3, 1..80),
        plans in proptest::collection::vec(plan(), 1..5),
    ) {
        let channel = channel(ChannelConfig::new().with_history_events(history));
        let topics = [channel.topic("a"), channel.topic("b"), channel.topic("c")];
        let wanted = |p: &Plan| -> Vec<Topic> {
            (0..3).filter(|i| p.topics & (1 << i) != 0).map(|i| topics[i].clone()).collect()
        };
        struct Client { sub: Subscription, parser: Parser, got: Vec<Got>, last: Option<String> }
        // Every client is there before anything is published: it is owed every event of its
        // topics.
        let mut clients: Vec<Client> = plans.iter().map(|p| Client {
            sub: subscribe_topics(&channel, &wanted(p), None),
            parser: Parser::new(),
            got: Vec::new(),
            last: None,
        }).collect();
        let mut log: Vec<(String, usize, String)> = Vec::new();
        for (n, &t) in publishes.iter().enumerate() {
            let t = usize::from(t);
            let data = format!("{}{n}", topics[t].name());
            let seq = channel.publish_to(&topics[t], Event::new(data.clone())).unwrap();
            log.push((seq.to_string(), t, data));
            for (c, p) in clients.iter_mut().zip(&plans) {
                match p.steps[n % p.steps.len()] {
                    0..=4 => {
                        let got = take_ready(&mut c.sub, &mut c.parser, "gap");
                        c.last = last_id(&got).or(c.last.take());
                        c.got.extend(got);
                    }
                    5 => {
                        let got = take_ready(&mut c.sub, &mut c.parser, "gap");
                        c.last = last_id(&got).or(c.last.take());
                        c.got.extend(got);
                        c.sub = subscribe_topics(&channel, &wanted(p), c.last.as_deref());
                        c.parser = Parser::new();
                    }
                    _ => {}
                }
            }
        }
        for (c, p) in clients.iter_mut().zip(&plans) {
            let got = take_ready(&mut c.sub, &mut c.parser, "gap");
            c.got.extend(got);
            let mine: Vec<(String, String)> = log.iter()
                .filter(|(_, t, _)| p.topics & (1 << t) != 0)
                .map(|(id, _, d)| (id.clone(), d.clone()))
                .collect();
            // Walk what it got: each message is the next of its topics, or the first after a
            // gap event (which must say where it resumes: at or before that message).
            let mut expected = mine.iter().peekable();
            let mut after_gap: Option<serde_json::Value> = None;
            for g in &c.got {
                match g {
                    Got::Gap(v) => after_gap = Some(v.clone()),
                    Got::Quiet { .. } => {}
                    Got::Message { id, data } => {
                        if let Some(gap) = after_gap.take() {
                            // Skip what was lost; it must be before this message.
                            while expected.peek().is_some_and(|(e, _)| e != id) {
                                expected.next();
                            }
                            // `null`: it resumes with the next event published.
                            if let Some(resumes) = gap["resumes_at"].as_str() {
                                let resumes: Seq = resumes.parse().unwrap();
                                prop_assert!(resumes <= id.parse::<Seq>().unwrap(), "{gap} then {id}");
                            }
                        }
                        let next = expected.next();
                        prop_assert_eq!(next, Some(&(id.clone(), data.clone())));
                    }
                }
            }
            // What is left was lost behind a last gap, or it is missed silently.
            // (`null`: everything published before it.)
            let lost_before = after_gap.map(|g| {
                g["resumes_at"].as_str().map_or(Seq::new(u64::MAX, 0), |r| r.parse().unwrap())
            });
            for (id, _) in expected {
                let lost = lost_before.is_some_and(|r| id.parse::<Seq>().unwrap() < r);
                prop_assert!(lost, "{} missed without a gap", id);
            }
        }
    }
}

/// A store in memory that can forget its oldest events (a trimmed stream) and fail.
#[derive(Default)]
struct MemoryStore {
    log: Mutex<Vec<Stored>>,
    failing: AtomicBool,
}

impl MemoryStore {
    fn push(&self, id: Seq, topic: &str, event: &Event) {
        self.log.lock().unwrap().push(Stored {
            id,
            topic: topic.to_owned(),
            event: event.clone(),
        });
    }

    fn forget_through(&self, id: Seq) {
        self.log.lock().unwrap().retain(|e| e.id > id);
    }
}

struct Shared(Arc<MemoryStore>);

impl Store for Shared {
    fn after(&self, after: Option<Seq>, limit: usize) -> PageFuture {
        let store = Arc::clone(&self.0);
        Box::pin(async move {
            if store.failing.load(Ordering::SeqCst) {
                return Err(StoreError::new("down"));
            }
            let log = store.log.lock().unwrap();
            Ok(Page {
                anchor: after.is_none_or(|after| log.iter().any(|e| e.id == after)),
                events: log
                    .iter()
                    .filter(|e| Some(e.id) > after)
                    .take(limit)
                    .cloned()
                    .collect(),
            })
        })
    }
}

/// A channel on a store, and a publisher that writes both, as an instance's tail would.
fn stored_channel(history: usize) -> (Channel, Arc<MemoryStore>, impl Fn(&Topic, Event) -> Seq) {
    let store = Arc::new(MemoryStore::default());
    let channel = Channel::with_store(
        ChannelConfig::new()
            .with_epoch(EPOCH)
            .with_history_events(history),
        Arc::new(Shared(Arc::clone(&store))),
    );
    let next = Arc::new(Mutex::new(0u64));
    let publish = {
        let (channel, store) = (channel.clone(), Arc::clone(&store));
        move |topic: &Topic, event: Event| {
            let mut next = next.lock().unwrap();
            let id = Seq::new(EPOCH, *next);
            *next += 1;
            store.push(id, topic.name(), &event);
            channel.publish_with_id(id, Some(topic), event).unwrap();
            id
        }
    };
    (channel, store, publish)
}

#[tokio::test]
async fn a_store_fills_in_what_the_history_no_longer_holds() {
    let (channel, store, publish) = stored_channel(4);
    let (a, b) = (channel.topic("a"), channel.topic("b"));
    for n in 0..20u64 {
        publish(if n % 2 == 0 { &a } else { &b }, Event::new(format!("{n}")));
    }
    // Every topic, resumed after 2: 3 to 19, from the store then the history, no gap.
    let mut parser = Parser::new();
    let mut sub = channel.subscribe(Some(&id(2))).unwrap();
    let got = collect_until(&mut sub, &mut parser, &id(19)).await;
    assert!(gaps(&got).is_empty(), "{:?}", gaps(&got));
    let expected: Vec<(String, String)> = (3..20).map(|n| (id(n), n.to_string())).collect();
    assert_eq!(messages(&got), expected);
    assert_eq!(sub.last_id(), Some(Seq::new(EPOCH, 19)));
    // Topic `b` only, resumed after 2: its odd ones.
    let mut parser = Parser::new();
    let mut sub = channel.subscribe_to([&b], Some(&id(2))).unwrap();
    let got = collect_until(&mut sub, &mut parser, &id(19)).await;
    let expected: Vec<(String, String)> = (3..20)
        .filter(|n| n % 2 == 1)
        .map(|n| (id(n), n.to_string()))
        .collect();
    assert_eq!(messages(&got), expected);
    // The store forgot up to 5: resuming after 2 is a gap, then 6 onwards.
    store.forget_through(Seq::new(EPOCH, 5));
    let mut parser = Parser::new();
    let mut sub = channel.subscribe(Some(&id(2))).unwrap();
    let got = collect_until(&mut sub, &mut parser, &id(19)).await;
    let gap = &gaps(&got)[0];
    assert_eq!(
        (gap["reason"].as_str(), gap["resumes_at"].as_str()),
        (Some("trimmed"), Some(id(6).as_str()))
    );
    assert_eq!(messages(&got)[0].0, id(6));
    // The store is down: a gap, then the history.
    store.failing.store(true, Ordering::SeqCst);
    let mut parser = Parser::new();
    let mut sub = channel.subscribe(Some(&id(2))).unwrap();
    let got = collect_until(&mut sub, &mut parser, &id(19)).await;
    assert_eq!(gaps(&got)[0]["reason"], "store_unavailable");
    assert_eq!(messages(&got).len(), 4, "the history's four");
}

#[tokio::test]
async fn a_subscriber_behind_the_history_is_caught_up_from_the_store() {
    let (channel, _store, publish) = stored_channel(4);
    let t = channel.topic("");
    publish(&t, Event::new("0"));
    let mut parser = Parser::new();
    let mut slow = channel.subscribe(Some(&id(0))).unwrap();
    for n in 1..30u64 {
        publish(&t, Event::new(format!("{n}")));
    }
    let got = collect_until(&mut slow, &mut parser, &id(29)).await;
    assert!(gaps(&got).is_empty(), "{:?}", gaps(&got));
    let ids: Vec<String> = messages(&got).into_iter().map(|m| m.0).collect();
    assert_eq!(ids, (1..30).map(id).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_jump_in_the_log_reaches_every_subscriber_whatever_its_topics() {
    let channel = channel(ChannelConfig::new());
    let (a, b) = (channel.topic("a"), channel.topic("b"));
    channel
        .publish_with_id(Seq::new(EPOCH, 0), Some(&a), Event::new("a0"))
        .unwrap();
    channel
        .publish_with_id(Seq::new(EPOCH, 1), Some(&b), Event::new("b1"))
        .unwrap();
    let mut only_a = channel.subscribe_to([&a], Some(&id(1))).unwrap();
    let mut only_b = channel.subscribe_to([&b], Some(&id(1))).unwrap();
    // The store restarted empty (a new epoch), and later skipped an offset.
    let e2 = EPOCH + 10;
    channel
        .publish_with_id(Seq::new(e2, 0), Some(&b), Event::new("b"))
        .unwrap();
    channel
        .publish_with_id(Seq::new(e2, 1), Some(&a), Event::new("a"))
        .unwrap();
    channel
        .publish_with_id(Seq::new(e2, 5), Some(&a), Event::new("a"))
        .unwrap();
    let mut parser = Parser::new();
    let got = take_ready(&mut only_a, &mut parser, "gap");
    let reasons: Vec<_> = gaps(&got)
        .iter()
        .map(|g| g["reason"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(reasons, ["new_history", "trimmed"], "{got:?}");
    let mut parser = Parser::new();
    let got = take_ready(&mut only_b, &mut parser, "gap");
    assert_eq!(gaps(&got)[0]["reason"], "new_history");
    assert_eq!(gaps(&got)[0]["resumes_at"], Seq::new(e2, 0).to_string());
}

/// Reads until the event with id `last`, at most 5 s.
async fn collect_until(sub: &mut Subscription, parser: &mut Parser, last: &str) -> Vec<Got> {
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !got
        .iter()
        .any(|g| matches!(g, Got::Message { id, .. } if id == last))
    {
        let frame = tokio::time::timeout_at(deadline, sub.next())
            .await
            .expect("the events within 5 s")
            .expect("the stream goes on");
        parser.feed(frame.into_bytes());
        while let Some(item) = parser.next() {
            match item.unwrap() {
                Item::Message(m) if m.event_type() == "gap" => {
                    got.push(Got::Gap(serde_json::from_str(m.data()).unwrap()));
                }
                Item::Message(m) => got.push(Got::Message {
                    id: m.last_event_id().to_string(),
                    data: m.data().to_string(),
                }),
                _ => {}
            }
        }
    }
    got
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// With a store that holds every event, nothing is ever lost, whatever the history's size
    /// and whenever subscribers read or are cut: no gap, every event of its topics once, in
    /// order.
    #[test]
    fn with_a_store_nothing_is_lost_and_nothing_is_announced(
        history in 1usize..8,
        publishes in proptest::collection::vec(0u8..3, 1..60),
        plans in proptest::collection::vec(plan(), 1..4),
    ) {
        let (channel, _store, publish) = stored_channel(history);
        let topics = [channel.topic("a"), channel.topic("b"), channel.topic("c")];
        let wanted = |p: &Plan| -> Vec<Topic> {
            (0..3).filter(|i| p.topics & (1 << i) != 0).map(|i| topics[i].clone()).collect()
        };
        let mut subs: Vec<(Subscription, Parser, Vec<Got>, Option<String>)> = plans
            .iter()
            .map(|p| (subscribe_topics(&channel, &wanted(p), None), Parser::new(), Vec::new(), None))
            .collect();
        let mut log = Vec::new();
        for (n, &t) in publishes.iter().enumerate() {
            let t = usize::from(t);
            let data = format!("{}{n}", topics[t].name());
            log.push((publish(&topics[t], Event::new(data.clone())).to_string(), t, data));
            for ((sub, parser, got, last), p) in subs.iter_mut().zip(&plans) {
                let step = p.steps[n % p.steps.len()];
                if step <= 5 {
                    let new = take_ready(sub, parser, "gap");
                    *last = last_id(&new).or(last.take());
                    got.extend(new);
                }
                if step == 5 {
                    *sub = subscribe_topics(&channel, &wanted(p), last.as_deref());
                    *parser = Parser::new();
                }
            }
        }
        for ((sub, parser, got, _), p) in subs.iter_mut().zip(&plans) {
            got.extend(take_ready(sub, parser, "gap"));
            prop_assert!(gaps(got).is_empty(), "{:?}", gaps(got));
            let mine: Vec<(String, String)> = log
                .iter()
                .filter(|(_, t, _)| p.topics & (1 << t) != 0)
                .map(|(id, _, d)| (id.clone(), d.clone()))
                .collect();
            prop_assert_eq!(messages(got), mine);
        }
    }
}

// Found by a hostile review: the send timeout must drop a stalled subscriber whose first
// untaken event has already left the history; replayed events that leave the history before
// they are read must be announced; an id the channel published in another epoch resumes.

#[test]
fn the_send_timeout_drops_a_stalled_subscriber_after_its_first_event_left_the_history() {
    let channel = channel(
        ChannelConfig::new()
            .with_history_events(2)
            .with_send_timeout(Duration::from_secs(1)),
    );
    // Polled once, then never again (its socket stopped draining): it waits, caught up.
    let mut stalled = channel.subscribe(None).unwrap();
    assert!(stalled.next().now_or_never().is_none());
    // Never polled at all.
    let _never_polled = channel.subscribe(None).unwrap();
    for n in 0..3 {
        channel.publish(Event::new(format!("e{n}"))).unwrap();
    }
    let later = std::time::Instant::now() + Duration::from_secs(60);
    assert_eq!(
        channel.evict_lagging(later),
        2,
        "both stalled subscribers are dropped"
    );
}

#[test]
fn the_send_timeout_drops_a_stalled_topic_subscriber_whose_events_left_the_history() {
    let channel = channel(
        ChannelConfig::new()
            .with_history_events(2)
            .with_send_timeout(Duration::from_secs(1)),
    );
    let (a, b) = (channel.topic("a"), channel.topic("b"));
    let _never_polled = channel.subscribe_to([&a], None).unwrap();
    channel.publish_to(&a, Event::new("for a")).unwrap();
    for _ in 0..2 {
        channel.publish_to(&b, Event::new("for b")).unwrap();
    }
    let later = std::time::Instant::now() + Duration::from_secs(60);
    assert_eq!(
        channel.evict_lagging(later),
        1,
        "its event of `a` waited 60 s untaken"
    );
}

#[test]
fn replayed_events_that_leave_the_history_before_they_are_read_are_announced() {
    let channel = channel(
        ChannelConfig::new()
            .with_history_events(4)
            .with_replay_to_new(4),
    );
    for n in 0..4 {
        channel.publish(Event::new(format!("e{n}"))).unwrap();
    }
    let mut parser = Parser::new();
    let mut new = channel.subscribe(None).unwrap();
    for n in 4..8 {
        channel.publish(Event::new(format!("e{n}"))).unwrap();
    }
    let got = take_ready(&mut new, &mut parser, "gap");
    let ids: Vec<String> = messages(&got).into_iter().map(|m| m.0).collect();
    assert_eq!(ids, [id(4), id(5), id(6), id(7)]);
    assert_eq!(
        gaps(&got).len(),
        1,
        "replayed events lost silently: {got:?}"
    );
}

#[test]
fn an_id_the_channel_published_in_another_epoch_resumes() {
    let channel = channel(ChannelConfig::new());
    for n in 0..3 {
        channel
            .publish_with_id(Seq::new(EPOCH + 5, n), None, Event::new(format!("{n}")))
            .unwrap();
    }
    let mut parser = Parser::new();
    let mut sub = channel
        .subscribe(Some(&Seq::new(EPOCH + 5, 0).to_string()))
        .unwrap();
    let got = take_ready(&mut sub, &mut parser, "gap");
    assert!(gaps(&got).is_empty(), "{:?}", gaps(&got));
    assert_eq!(messages(&got).len(), 2, "{got:?}");
}
