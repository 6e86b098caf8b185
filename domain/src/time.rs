//! Time as a value: milliseconds since the Unix epoch, passed in by the caller.

/// Milliseconds since the Unix epoch.
///
/// The domain never reads a clock; whoever proposes a command stamps it, so every replica
/// applying the command records the same instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Millis(pub u64);

impl Millis {
    pub fn as_u64(self) -> u64 {
        self.0
    }
}
