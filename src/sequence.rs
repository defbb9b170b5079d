//! Telling gaps by arithmetic on `<epoch>-<offset>` event ids ([`Sequence`]), as servers that
//! number events densely within an epoch allow (Redis Streams entry ids are such ids).

/// How a new event id follows the previous one, for servers whose ids are
/// `<epoch>-<offset>`: offsets dense from 0 within an epoch, a new, larger epoch whenever the
/// history restarts. See [`Sequence`].
///
/// ```
/// use ssekit::sequence::Continuity;
/// assert!(Continuity::Gap { missed: 2 }.is_gap());
/// assert!(!Continuity::Next.is_gap());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Continuity {
    /// The first id seen, or the offset right after the previous one.
    Next,
    /// Same epoch, but `missed` offsets were skipped: events were lost.
    Gap {
        /// How many events are missing.
        missed: u64,
    },
    /// A later epoch began: the history restarted, and events of the old epoch after the last
    /// one seen may be lost (how many cannot be known).
    NewEpoch,
    /// Not after the previous id (a repeat, or an earlier epoch): a duplicate or a server going
    /// back in time.
    NotAfter,
    /// The id is not of the form `<epoch>-<offset>`; nothing can be told.
    Unsequenced,
}

impl Continuity {
    /// Whether events may have been lost before this one ([`Gap`](Self::Gap) or
    /// [`NewEpoch`](Self::NewEpoch)).
    ///
    /// ```
    /// assert!(ssekit::sequence::Continuity::NewEpoch.is_gap());
    /// ```
    #[must_use]
    pub fn is_gap(self) -> bool {
        matches!(self, Continuity::Gap { .. } | Continuity::NewEpoch)
    }
}

/// Tells gaps by arithmetic on `<epoch>-<offset>` ids (both decimal `u64`s), so that a client
/// knows it lost events even when the server could not say so. Feed it every message's id in
/// order, across reconnects.
///
/// ```
/// use ssekit::sequence::{Continuity, Sequence};
/// let mut seq = Sequence::new();
/// assert_eq!(seq.observe("1700-0"), Continuity::Next);
/// assert_eq!(seq.observe("1700-1"), Continuity::Next);
/// assert_eq!(seq.observe("1700-4"), Continuity::Gap { missed: 2 });
/// assert_eq!(seq.observe("1700-4"), Continuity::NotAfter);
/// assert_eq!(seq.observe("1800-0"), Continuity::NewEpoch);
/// assert_eq!(seq.observe("not-a-number"), Continuity::Unsequenced);
/// assert_eq!(seq.last(), Some((1800, 0)));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Sequence {
    last: Option<(u64, u64)>,
}

impl Sequence {
    /// A sequence with nothing seen yet.
    ///
    /// ```
    /// assert_eq!(ssekit::sequence::Sequence::new().last(), None);
    /// ```
    #[must_use]
    pub fn new() -> Sequence {
        Sequence::default()
    }

    /// Starts from a known id (the one a client resumes after).
    ///
    /// ```
    /// use ssekit::sequence::{Continuity, Sequence};
    /// let mut seq = Sequence::starting_after("5-9").unwrap();
    /// assert_eq!(seq.observe("5-10"), Continuity::Next);
    /// ```
    #[must_use]
    pub fn starting_after(id: &str) -> Option<Sequence> {
        parse_epoch_offset(id).map(|last| Sequence { last: Some(last) })
    }

    /// The last `(epoch, offset)` seen.
    ///
    /// ```
    /// let mut seq = ssekit::sequence::Sequence::new();
    /// let _ = seq.observe("3-4");
    /// assert_eq!(seq.last(), Some((3, 4)));
    /// ```
    #[must_use]
    pub fn last(&self) -> Option<(u64, u64)> {
        self.last
    }

    /// Classifies `id` against the previous one and remembers it (unless it is not after it,
    /// or not sequenced).
    ///
    /// ```
    /// use ssekit::sequence::{Continuity, Sequence};
    /// let mut seq = Sequence::new();
    /// assert_eq!(seq.observe("9-3"), Continuity::Next);
    /// assert_eq!(seq.observe("9-2"), Continuity::NotAfter);
    /// assert_eq!(seq.observe("9-4"), Continuity::Next);
    /// ```
    pub fn observe(&mut self, id: &str) -> Continuity {
        let Some((epoch, offset)) = parse_epoch_offset(id) else {
            return Continuity::Unsequenced;
        };
        let verdict = match self.last {
            None => Continuity::Next,
            Some((e, o)) if epoch == e && offset > o => match offset - o - 1 {
                0 => Continuity::Next,
                missed => Continuity::Gap { missed },
            },
            Some((e, _)) if epoch > e => Continuity::NewEpoch,
            Some(_) => return Continuity::NotAfter,
        };
        self.last = Some((epoch, offset));
        verdict
    }
}

fn parse_epoch_offset(id: &str) -> Option<(u64, u64)> {
    let (epoch, offset) = id.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(epoch) || !digits(offset) {
        return None;
    }
    Some((epoch.parse().ok()?, offset.parse().ok()?))
}
