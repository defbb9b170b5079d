//! The match engine shared by the `live_scores` and `hyper_server` examples: it plays one match
//! from `match.json` into an `ssekit::channel::Channel` (a broadcast, not a replay per
//! connection), and the channel gives each connection exactly what it missed.
//!
//! Framework-agnostic: it needs tokio and ssekit, nothing from axum or hyper.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use serde::Deserialize;
use serde_json::{json, Value};
use ssekit::channel::{Channel, ChannelConfig, Seq, SubscribeError};
use ssekit::encode::Encoded;
use ssekit::Event;
use tokio::sync::watch;

/// The match file shipped with the example.
pub const MATCH_JSON: &str = include_str!("match.json");

/// How long a browser waits before reconnecting, sent as `retry:` with the first event of
/// every connection.
pub const RETRY: Duration = Duration::from_millis(1000);

/// The epoch of the match's event ids (`<epoch>-<n>`): fixed, because the match is the same
/// every time it is played, so that a client can resume on a restarted server.
pub const EPOCH: u64 = 1_671_375_600_000;

#[derive(Deserialize)]
struct MatchFile {
    title: String,
    venue: String,
    home: Value,
    away: Value,
    events: Vec<FileMoment>,
}

/// One moment of the match, ready to publish.
pub struct Moment {
    /// How long to wait before it.
    pub wait: Duration,
    /// Its event type; `None` for commentary (the default `message`).
    pub kind: Option<String>,
    /// Its data.
    pub data: Value,
}

#[derive(Deserialize, Clone)]
struct FileMoment {
    minute: u32,
    kind: String,
    text: String,
    #[serde(default)]
    team: Option<String>,
    #[serde(flatten)]
    extra: HashMap<String, Value>,
}

/// One match, shared by every connection.
pub struct Game {
    info: Value,
    moments: Vec<FileMoment>,
    /// The match as it is played: every event, with its id, for every connection.
    channel: Channel,
    /// Moments published so far.
    played: AtomicUsize,
    /// Bumped by `/admin/disconnect`: every open stream ends.
    cut: watch::Sender<u64>,
}

/// A connection's stream of encoded events.
pub type Events = Pin<Box<dyn Stream<Item = Encoded> + Send>>;

/// What a connection gets.
pub enum Connection {
    /// The events after the client's last id, then the live ones, until full time.
    Stream(Events),
    /// The client has seen the whole match: `204 No Content` tells it to stop reconnecting.
    Over,
    /// Too many connections: `503 Service Unavailable` with `Retry-After`.
    Full(SubscribeError),
}

impl Game {
    pub fn new() -> Arc<Game> {
        let file: MatchFile = serde_json::from_str(MATCH_JSON).expect("match.json is valid");
        let info = json!({
            "title": file.title,
            "venue": file.venue,
            "home": file.home,
            "away": file.away,
            "events": file.events.len(),
        });
        // The whole match fits the history, and a new client gets all of it so far; an id
        // not played yet (a client of a server restarted mid-match) waits for what follows.
        let channel = Channel::new(
            ChannelConfig::new()
                .with_epoch(EPOCH)
                .with_history_events(file.events.len())
                .with_replay_to_new(file.events.len())
                .with_wait_for_ahead(true)
                .with_max_subscribers(max_subscribers())
                .with_retry(Some(RETRY)),
        );
        let (cut, _) = watch::channel(0);
        Arc::new(Game {
            info,
            moments: file.events,
            channel,
            played: AtomicUsize::new(0),
            cut,
        })
    }

    /// Teams, title and the number of events, for the page.
    pub fn info(&self) -> &Value {
        &self.info
    }

    /// Plays the match at `speed` times real time (`0`: all at once).
    pub async fn play(self: Arc<Self>, speed: f64) {
        for moment in self.script(speed) {
            tokio::time::sleep(moment.wait).await;
            let mut builder = Event::builder().json(&moment.data);
            if let Some(kind) = moment.kind {
                builder = builder.event(kind);
            }
            let event = builder.build().expect("match events are valid");
            self.channel
                .publish(event)
                .expect("match events fit the channel");
            self.played.fetch_add(1, Ordering::Release);
        }
    }

    /// The match as a script: for each moment, the wait before it at `speed` times real time,
    /// its event type (`None`: commentary, sent as the default `message`) and its data.
    pub fn script(&self, speed: f64) -> Vec<Moment> {
        let mut score = [0u32; 2];
        let mut previous_minute = 0;
        let mut script = Vec::new();
        for moment in &self.moments {
            let wait = if speed > 0.0 {
                let match_seconds =
                    f64::from(moment.minute.saturating_sub(previous_minute)) * 60.0 + 20.0;
                // A speed so small that the wait overflows waits as long as a Duration can.
                Duration::try_from_secs_f64(match_seconds / speed).unwrap_or(Duration::MAX)
            } else {
                Duration::ZERO
            };
            previous_minute = moment.minute;
            if moment.kind == "goal" {
                score[usize::from(moment.team.as_deref() == Some("away"))] += 1;
            }
            let mut data = json!({
                "minute": moment.minute,
                "text": moment.text,
                "score": { "home": score[0], "away": score[1] },
            });
            if let Some(team) = &moment.team {
                data["team"] = json!(team);
            }
            for (k, v) in &moment.extra {
                data[k] = v.clone();
            }
            let kind = (moment.kind != "commentary").then(|| moment.kind.clone());
            script.push(Moment { wait, kind, data });
        }
        script
    }

    /// Ends every stream of the match: each is sent `retry: <come_back_in>`, and clients
    /// resume then, here or on the server that replaces this one.
    pub fn shutdown(&self, come_back_in: Duration) {
        self.channel.shutdown(come_back_in);
    }

    /// Ends every open stream, as a server restart would: browsers reconnect with
    /// `Last-Event-ID`.
    pub fn cut_connections(&self) {
        self.cut.send_modify(|n| *n += 1);
    }

    /// The id of the `n`th moment (from 0).
    pub fn id(n: u64) -> Seq {
        Seq::new(EPOCH, n)
    }

    /// The stream for a client that last saw `after` (`None`: a new client).
    ///
    /// Every id gets a well-defined answer: full time's id (the last) is `Over`; an id this
    /// match never has is treated as none, so the client gets the match so far; an id not
    /// played yet (a server restarted mid-match, a client from its earlier run) waits for the
    /// events after it. Every stream ends at full time.
    pub fn subscribe(&self, after: Option<Seq>) -> Connection {
        let full_time = Game::id(self.moments.len() as u64 - 1);
        let after = match after {
            Some(id) if id > full_time => {
                eprintln!("client connected with an id past the match ({id}), from the start");
                None
            }
            // The moment's number in the match, from 1.
            Some(id) => {
                eprintln!("client connected, resuming after event {}", id.offset() + 1);
                Some(id)
            }
            None => {
                eprintln!("client connected, from the start");
                None
            }
        };
        if after == Some(full_time) {
            return Connection::Over;
        }
        let last_event_id = after.map(|id| id.to_string());
        let events = match self.channel.subscribe(last_event_id.as_deref()) {
            Ok(events) => events,
            Err(full) => return Connection::Full(full),
        };
        let cut = self.cut.subscribe();
        // The channel's stream, until full time has been sent or the connection is cut.
        let stream = futures_util::stream::unfold(Some((events, cut)), move |state| async move {
            let (mut events, mut cut) = state?;
            let frame = tokio::select! {
                frame = events.next() => frame?,
                _ = cut.changed() => return None,
            };
            let over = events.last_id() == Some(full_time);
            Some((frame, (!over).then_some((events, cut))))
        });
        Connection::Stream(Box::pin(stream))
    }
}

/// Where a client resumes, from the id that [`ssekit::body::last_event_id`] found in its
/// request: one of this match's ids (`<epoch>-<n>`). Any other id is treated as none, and
/// the client gets the match so far.
pub fn resume_after(id: Option<ssekit::EventId>) -> Option<Seq> {
    id?.trim()
        .parse()
        .ok()
        .filter(|id: &Seq| id.epoch() == EPOCH)
}

/// Binds 127.0.0.1 on `PORT` (default 3000; `0` picks a free port) and starts playing the
/// match at `MATCH_SPEED`: what both scores servers do before serving.
pub async fn start() -> std::io::Result<(tokio::net::TcpListener, Arc<Game>)> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    let game = Game::new();
    tokio::spawn(Arc::clone(&game).play(match_speed()));
    Ok((listener, game))
}

/// `MAX_SUBSCRIBERS` (default 10,000): streams open at once; beyond, `503` with
/// `Retry-After`.
pub fn max_subscribers() -> usize {
    std::env::var("MAX_SUBSCRIBERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

/// `KEEP_ALIVE_SECS` (default 15): the keep-alive interval.
pub fn keep_alive() -> Duration {
    crate::env_secs("KEEP_ALIVE_SECS", Duration::from_secs(15))
}

/// `MATCH_SPEED` (times real time; default 30, a match in about 3½ minutes; `0` is instant).
pub fn match_speed() -> f64 {
    std::env::var("MATCH_SPEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|s: &f64| s.is_finite() && *s >= 0.0)
        .unwrap_or(30.0)
}

/// A one-shot, LLM-style stream: the report of the match so far (no spoilers while it is
/// live), a few words per `data:` chunk in the shape of a chat-completion delta, ending with
/// `data: [DONE]`.
pub fn report(game: &Game) -> impl Stream<Item = Event> + Send {
    let played = game.played.load(Ordering::Acquire);
    let over = played == game.moments.len();
    let (home, away) = (
        game.info["home"]["name"]
            .as_str()
            .unwrap_or("Home")
            .to_owned(),
        game.info["away"]["name"]
            .as_str()
            .unwrap_or("Away")
            .to_owned(),
    );
    let mut goals = Vec::new();
    let mut score = [0u32; 2];
    for m in &game.moments[..played] {
        if m.kind == "goal" {
            let away_goal = m.team.as_deref() == Some("away");
            score[usize::from(away_goal)] += 1;
            let scorer = m.extra.get("player").and_then(Value::as_str).unwrap_or("?");
            goals.push(format!("{scorer} {}'", m.minute));
        }
    }
    let goals = if goals.is_empty() {
        "none yet".to_owned()
    } else {
        goals.join(", ")
    };
    let text = match (over, game.moments[..played].last()) {
        (true, _) => format!(
            "{home} {} - {} {away}. Goals: {goals}. A final for the ages.",
            score[0], score[1]
        ),
        (false, Some(now)) => format!(
            "Live, {}': {home} {} - {} {away}. Goals: {goals}.",
            now.minute, score[0], score[1]
        ),
        (false, None) => format!("{home} v {away} has not kicked off yet."),
    };
    let words: Vec<String> = text.split_inclusive(' ').map(str::to_owned).collect();
    let chunks = words.into_iter().map(|w| {
        Event::builder()
            .json(&json!({ "choices": [{ "delta": { "content": w } }] }))
            .build()
            .expect("valid")
    });
    let done = Event::new("[DONE]");
    futures_util::stream::iter(chunks.chain([done])).then(|e| async {
        tokio::time::sleep(Duration::from_millis(15)).await;
        e
    })
}
