//! Validated field values: [`EventType`] and [`EventId`].

use crate::error::{Field, InvalidField, Problem};
use crate::text::Text;
use alloc::string::String;
use bytes::Bytes;
use core::fmt;

/// Finds the first byte that may not appear in a field's value.
const fn find_forbidden(bytes: &[u8], nul_too: bool) -> Option<(usize, u8)> {
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'\n' || b == b'\r' || (nul_too && b == 0) {
            return Some((i, b));
        }
        i += 1;
    }
    None
}

fn check(field: Field, text: &str) -> Result<(), InvalidField> {
    let bytes = text.as_bytes();
    // memchr finds the common case (no break) fast on long values.
    let nul_too = matches!(field, Field::Id);
    let hit = if nul_too {
        memchr::memchr3(b'\n', b'\r', 0, bytes)
    } else {
        memchr::memchr2(b'\n', b'\r', bytes)
    };
    match hit {
        None => Ok(()),
        Some(at) => Err(InvalidField::new(field, Problem::from_byte(bytes[at]), at)),
    }
}

fn text_from_bytes(field: Field, bytes: Bytes) -> Result<Text, InvalidField> {
    Text::try_from_bytes(bytes).map_err(|e| {
        let bytes = e.into_bytes();
        let at = core::str::from_utf8(&bytes)
            .err()
            .map_or(0, |err| err.valid_up_to());
        InvalidField::new(field, Problem::NotUtf8, at)
    })
}

macro_rules! field_type {
    (
        $(#[$meta:meta])*
        $name:ident, $field:expr, $nul:expr, $what:literal, $example:literal, $bad:literal
    ) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Text);

        impl $name {
            #[doc = concat!("Wraps a literal ", $what, " without allocating.")]
            ///
            /// # Panics
            ///
            /// If the literal contains a forbidden byte. In a `const` this is a compile-time
            /// error, which is how this constructor is meant to be used; for text known only at
            /// run time use `TryFrom`, which returns an error instead.
            ///
            /// ```
            #[doc = concat!("const T: ssekit::", stringify!($name), " = ssekit::", stringify!($name), "::from_static(\"", $example, "\");")]
            #[doc = concat!("assert_eq!(T.as_str(), \"", $example, "\");")]
            /// ```
            #[must_use]
            pub const fn from_static(s: &'static str) -> $name {
                if find_forbidden(s.as_bytes(), $nul).is_some() {
                    panic!(concat!("invalid ", $what, ": line breaks are not allowed"));
                }
                $name(Text::from_static(s))
            }

            #[doc = concat!("The ", $what, " as a string slice.")]
            ///
            /// ```
            #[doc = concat!("let v = ssekit::", stringify!($name), "::try_from(\"", $example, "\").unwrap();")]
            #[doc = concat!("assert_eq!(v.as_str(), \"", $example, "\");")]
            /// ```
            #[must_use]
            #[inline]
            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }

            /// The underlying [`Text`], without copying.
            ///
            /// ```
            #[doc = concat!("let v = ssekit::", stringify!($name), "::try_from(\"", $example, "\").unwrap();")]
            #[doc = concat!("assert_eq!(v.into_text(), \"", $example, "\");")]
            /// ```
            #[must_use]
            pub fn into_text(self) -> Text {
                self.0
            }

            /// Validates a [`Text`] without copying it.
            ///
            /// # Errors
            ///
            #[doc = concat!("[`InvalidField`] if the text contains ", $bad, ".")]
            ///
            /// ```
            /// use ssekit::Text;
            #[doc = concat!("assert!(ssekit::", stringify!($name), "::from_text(Text::from_static(\"", $example, "\")).is_ok());")]
            #[doc = concat!("assert!(ssekit::", stringify!($name), "::from_text(Text::from_static(\"a\\nb\")).is_err());")]
            /// ```
            pub fn from_text(text: Text) -> Result<$name, InvalidField> {
                check($field, &text)?;
                Ok($name(text))
            }

            /// Wraps text that the parser has read from one line (so it holds no CR or LF,
            /// and for ids no NUL).
            #[inline]
            pub(crate) fn from_parsed(text: Text) -> $name {
                debug_assert!(check($field, &text).is_ok());
                $name(text)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(self.as_str(), f)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl core::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                self.as_str()
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl TryFrom<&str> for $name {
            type Error = InvalidField;
            /// Validates and copies the text (inline when short); `from_static` keeps a literal
            /// without copying.
            fn try_from(s: &str) -> Result<$name, InvalidField> {
                $name::from_text(Text::from(s))
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidField;
            fn try_from(s: String) -> Result<$name, InvalidField> {
                $name::from_text(Text::from(s))
            }
        }

        impl TryFrom<&String> for $name {
            type Error = InvalidField;
            fn try_from(s: &String) -> Result<$name, InvalidField> {
                $name::from_text(Text::copy_lossy(s.as_bytes()))
            }
        }

        impl TryFrom<Text> for $name {
            type Error = InvalidField;
            fn try_from(t: Text) -> Result<$name, InvalidField> {
                $name::from_text(t)
            }
        }

        impl TryFrom<Bytes> for $name {
            type Error = InvalidField;
            /// Validates UTF-8 and the forbidden bytes, without copying.
            fn try_from(b: Bytes) -> Result<$name, InvalidField> {
                $name::from_text(text_from_bytes($field, b)?)
            }
        }

        impl From<$name> for Text {
            fn from(v: $name) -> Text {
                v.0
            }
        }
    };
}

field_type! {
    /// The type of an event (the `event:` field), which a browser dispatches to listeners
    /// added with `addEventListener(type, …)`.
    ///
    /// It never contains CR or LF, so it can never start a new line on the wire.
    ///
    /// # Examples
    ///
    /// ```
    /// use ssekit::EventType;
    ///
    /// let goal = EventType::from_static("goal");
    /// assert_eq!(goal, "goal");
    /// assert!(EventType::try_from("x\revent: evil").is_err());
    /// assert!(EventType::try_from(String::from("card")).is_ok());
    /// ```
    EventType, Field::Event, false, "event type", "goal", "CR, LF or bytes that are not UTF-8"
}

field_type! {
    /// An event id (the `id:` field): what a client sends back as `Last-Event-ID` when it
    /// reconnects.
    ///
    /// It never contains CR, LF or NUL (a browser ignores an id with NUL), so it can never
    /// start a new line on the wire and is always a valid header value once it is ASCII.
    ///
    /// # Examples
    ///
    /// ```
    /// use ssekit::EventId;
    ///
    /// let id = EventId::try_from(42.to_string()).unwrap();
    /// assert_eq!(id, "42");
    /// assert!(EventId::try_from("1\n\ndata: forged").is_err());
    /// assert!(EventId::try_from("a\0b").is_err());
    /// ```
    EventId, Field::Id, true, "event id", "42", "CR, LF, NUL or bytes that are not UTF-8"
}

impl EventType {
    /// The type a message has when its block sets none: `message`.
    ///
    /// ```
    /// assert_eq!(ssekit::EventType::MESSAGE, "message");
    /// ```
    pub const MESSAGE: EventType = EventType::from_static("message");
}

impl EventId {
    /// The empty id: what an `id:` line with no value sets, which clears the last event id.
    ///
    /// ```
    /// assert!(ssekit::EventId::EMPTY.is_empty());
    /// ```
    pub const EMPTY: EventId = EventId(Text::new());
}

impl Default for EventId {
    fn default() -> EventId {
        EventId::EMPTY
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn rejects_line_breaks_with_position() {
        let e = EventType::try_from("ab\rc").unwrap_err();
        assert_eq!(e.field(), Field::Event);
        assert_eq!(e.position(), 2);
        assert_eq!(
            e.to_string(),
            "invalid event type: carriage return at byte 2"
        );
        let e = EventId::try_from("1\n").unwrap_err();
        assert_eq!(e.to_string(), "invalid event id: line feed at byte 1");
        let e = EventId::try_from("\0").unwrap_err();
        assert_eq!(e.to_string(), "invalid event id: NUL at byte 0");
        assert!(EventType::try_from("a\0b").is_ok(), "NUL is fine in a type");
        let e = EventId::try_from(Bytes::from_static(b"ab\xff")).unwrap_err();
        assert_eq!(e.to_string(), "invalid event id: not UTF-8 at byte 2");
    }

    #[test]
    fn const_scan() {
        assert_eq!(find_forbidden(b"abc", true), None);
        assert_eq!(find_forbidden(b"a\0", true), Some((1, 0)));
        assert_eq!(find_forbidden(b"a\0", false), None);
        assert_eq!(find_forbidden(b"\r", false), Some((0, b'\r')));
    }
}
