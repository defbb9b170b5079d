//! The match engine shared by the `live_scores` and `hyper_server` examples: it plays one match
//! from `match.json` for everyone (a broadcast, not a replay per connection), keeps the history
//! so that a late joiner or a reconnecting client gets exactly what it missed, and hands each
//! connection a stream of `ssekit::Event`s.
//!
//! Framework-agnostic: it needs tokio and ssekit, nothing from axum or hyper.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::Stream;
use serde::Deserialize;
use serde_json::{json, Value};
use ssekit::Event;
use tokio::sync::{broadcast, watch};

/// The match file shipped with the example.
pub const MATCH_JSON: &str = include_str!("match.json");

/// How long a browser waits before reconnecting, sent as `retry:` with the first event of
/// every connection (not as a block of its own, which some clients take for an empty event).
pub const RETRY: Duration = Duration::from_millis(1000);

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

/// One published event: its id (1, 2, 3, … in match order) and the event to send.
#[derive(Clone)]
pub struct Published {
    pub id: u64,
    pub event: Event,
}

struct History {
    events: Vec<Published>,
    over: bool,
}

/// One match, shared by every connection.
pub struct Game {
    info: Value,
    moments: Vec<FileMoment>,
    history: Mutex<History>,
    live: broadcast::Sender<Published>,
    /// Bumped by `/admin/disconnect`: every open stream ends.
    cut: watch::Sender<u64>,
}

/// What a connection gets.
pub enum Subscription {
    /// The events after the client's last id, then the live ones, until full time.
    Stream(Pin<Box<dyn Stream<Item = Event> + Send>>),
    /// The client has seen the whole match: `204 No Content` tells it to stop reconnecting.
    Over,
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
        let (live, _) = broadcast::channel(64);
        let (cut, _) = watch::channel(0);
        Arc::new(Game {
            info,
            moments: file.events,
            history: Mutex::new(History {
                events: Vec::new(),
                over: false,
            }),
            live,
            cut,
        })
    }

    /// Teams, title and the number of events, for the page.
    pub fn info(&self) -> &Value {
        &self.info
    }

    /// Plays the match at `speed` times real time (`0`: all at once).
    pub async fn play(self: Arc<Self>, speed: f64) {
        let script = self.script(speed);
        let total = script.len();
        for (i, moment) in script.into_iter().enumerate() {
            tokio::time::sleep(moment.wait).await;
            let id = i as u64 + 1;
            let mut builder = Event::builder().id(id).json(&moment.data);
            if let Some(kind) = moment.kind {
                builder = builder.event(kind);
            }
            let event = builder.build().expect("match events are valid");
            self.publish(Published { id, event }, i + 1 == total);
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

    fn publish(&self, published: Published, last: bool) {
        let mut history = self.history.lock().unwrap();
        history.events.push(published.clone());
        history.over = last;
        // Sent under the lock, so that a subscriber sees each event exactly once: either in
        // the history it copied or on the channel it joined while holding the lock.
        let _ = self.live.send(published);
    }

    /// Ends every open stream, as a server restart would: browsers reconnect with
    /// `Last-Event-ID`.
    pub fn cut_connections(&self) {
        self.cut.send_modify(|n| *n += 1);
    }

    /// The stream for a client that last saw `after` (`None`: a new client).
    ///
    /// Every id gets a well-defined answer: full time's id (the last) is `Over`; an id this
    /// match never has (past the last) is treated as none, so the client gets the match so
    /// far; an id not played yet (a server restarted mid-match, a client from its earlier run)
    /// waits for the events after it. Every stream ends at full time.
    pub fn subscribe(self: &Arc<Self>, after: Option<u64>) -> Subscription {
        let last = self.moments.len() as u64;
        let after = match after {
            Some(id) if id > last => {
                eprintln!("client connected with an id past the match ({id}), from the start");
                0
            }
            Some(id) => {
                eprintln!("client connected, resuming after event {id}");
                if id == last {
                    return Subscription::Over;
                }
                id
            }
            None => {
                eprintln!("client connected, from the start");
                0
            }
        };
        let (backlog, live, over) = {
            let history = self.history.lock().unwrap();
            let start = usize::try_from(after)
                .unwrap_or(usize::MAX)
                .min(history.events.len());
            (
                history.events[start..].to_vec(),
                self.live.subscribe(),
                history.over,
            )
        };
        if over && backlog.is_empty() {
            return Subscription::Over;
        }
        let state = Conn {
            game: Arc::clone(self),
            pending: backlog.into(),
            sent: after,
            live,
            cut: self.cut.subscribe(),
            done: false,
            retry: Some(RETRY),
        };
        Subscription::Stream(Box::pin(futures_util::stream::unfold(state, Conn::next)))
    }

    fn history_after(&self, after: u64) -> Vec<Published> {
        let history = self.history.lock().unwrap();
        let start = usize::try_from(after)
            .unwrap_or(usize::MAX)
            .min(history.events.len());
        history.events[start..].to_vec()
    }
}

struct Conn {
    game: Arc<Game>,
    pending: std::collections::VecDeque<Published>,
    sent: u64,
    live: broadcast::Receiver<Published>,
    cut: watch::Receiver<u64>,
    done: bool,
    /// Sent with the first event.
    retry: Option<Duration>,
}

impl Conn {
    async fn next(mut self) -> Option<(Event, Conn)> {
        loop {
            if self.done {
                return None;
            }
            if let Some(p) = self.pending.pop_front() {
                if p.id <= self.sent {
                    continue; // already sent (the backlog and the channel overlap after a lag)
                }
                self.sent = p.id;
                if p.id == self.game.moments.len() as u64 {
                    self.done = true; // full time: end the stream after this event
                }
                let event = match self.retry.take() {
                    Some(retry) => p.event.with_retry(retry),
                    None => p.event,
                };
                return Some((event, self));
            }
            tokio::select! {
                received = self.live.recv() => match received {
                    Ok(p) => self.pending.push_back(p),
                    // Too slow for the channel: catch up from the history; nothing is lost.
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        self.pending = self.game.history_after(self.sent).into();
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                _ = self.cut.changed() => return None,
            }
        }
    }
}

/// Where a client resumes, from the id that [`ssekit::body::last_event_id`] found in its
/// request. This game's ids are numbers: any other id is treated as none, and the client gets
/// the match from the start.
pub fn resume_after(id: Option<ssekit::EventId>) -> Option<u64> {
    id?.trim().parse().ok()
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
    let (played, over) = {
        let history = game.history.lock().unwrap();
        (history.events.len(), history.over)
    };
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
    futures_util::StreamExt::then(
        futures_util::stream::iter(chunks.chain([done])),
        |e| async {
            tokio::time::sleep(Duration::from_millis(15)).await;
            e
        },
    )
}
