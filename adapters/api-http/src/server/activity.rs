//! What one HTTP connection is doing, and when it has waited too long.
//!
//! hyper closes nothing by itself: a connection that never sends a byte, one that sends
//! half a request head (slow-loris), and an idle keep-alive connection all stay open for
//! ever, each holding a file descriptor. [`Activity`] is fed by the socket ([`Watched`]) and
//! by the request service, and [`Activity::expired`] resolves when the connection has broken
//! one of the [`Timeouts`]. A request in flight never expires: a long poll is held on
//! purpose, and the handlers bound their own holds.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

/// How long a connection may wait on its client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// From accepting a connection, or from the first byte of a later request, to a whole
    /// request head.
    pub header: Duration,
    /// From a response to the first byte of the next request on a kept-alive connection.
    pub idle: Duration,
}

/// Milliseconds since the connection was accepted; `0` in [`Activity::head_started`]
/// means "no request head begun", so times are stored plus one.
type Stamp = u64;

/// Shared between the socket wrapper, the service and the watchdog of one connection.
///
/// Only atomics: the hot path (every request, every write) stores a time and wakes
/// nothing. The watchdog instead wakes at least every [`Timeouts::shortest`]: any change
/// sets a deadline at least that far after itself, so the watchdog always wakes in time to
/// see it.
#[derive(Debug)]
pub(crate) struct Activity {
    accepted: Instant,
    /// Requests whose responses are not finished yet.
    in_flight: AtomicU64,
    /// Requests answered so far.
    served: AtomicU64,
    /// When the connection last became idle (accepted, or a response finished or wrote).
    idle_since: AtomicU64,
    /// When the first byte of the next request head arrived, plus one; `0` when none has.
    head_started: AtomicU64,
}

impl Activity {
    pub(crate) fn new() -> Self {
        Self {
            accepted: Instant::now(),
            in_flight: AtomicU64::new(0),
            served: AtomicU64::new(0),
            idle_since: AtomicU64::new(0),
            head_started: AtomicU64::new(0),
        }
    }

    fn now(&self) -> Stamp {
        u64::try_from(self.accepted.elapsed().as_millis()).unwrap_or(u64::MAX - 1)
    }

    /// Bytes arrived from the client.
    fn read_some(&self) {
        if self.in_flight.load(Ordering::Acquire) == 0 && self.head_started.load(Ordering::Acquire) == 0 {
            self.head_started.store(self.now() + 1, Ordering::Release);
        }
    }

    /// Bytes went to the client: a slow reader of a large answer is not idle.
    fn wrote_some(&self) {
        if self.in_flight.load(Ordering::Acquire) == 0 {
            self.idle_since.store(self.now(), Ordering::Release);
        }
    }

    /// A whole request head was read; until [`Self::request_finished`] nothing expires.
    pub(crate) fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.head_started.store(0, Ordering::Release);
    }

    pub(crate) fn request_finished(&self) {
        self.idle_since.store(self.now(), Ordering::Release);
        self.served.fetch_add(1, Ordering::AcqRel);
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
    }

    /// When the connection expires as things stand, if it can.
    fn deadline(&self, timeouts: Timeouts) -> Option<Instant> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let at = |stamp: Stamp, wait: Duration| self.accepted + Duration::from_millis(stamp) + wait;
        let head_started = self.head_started.load(Ordering::Acquire);
        if head_started > 0 {
            return Some(at(head_started - 1, timeouts.header));
        }
        let idle_since = self.idle_since.load(Ordering::Acquire);
        let wait = if self.served.load(Ordering::Acquire) == 0 { timeouts.header } else { timeouts.idle };
        Some(at(idle_since, wait))
    }

    /// Resolves once the connection has waited on its client longer than `timeouts` allow.
    pub(crate) async fn expired(&self, timeouts: Timeouts) {
        let period = timeouts.shortest();
        loop {
            let now = Instant::now();
            let wake = match self.deadline(timeouts) {
                Some(deadline) if deadline <= now => return,
                Some(deadline) => deadline.min(now + period),
                None => now + period,
            };
            tokio::time::sleep_until(wake).await;
        }
    }
}

impl Timeouts {
    /// The shortest wait: how often an unchanged connection is looked at.
    fn shortest(self) -> Duration {
        self.header.min(self.idle).max(Duration::from_millis(1))
    }
}

/// A socket that reports its traffic to an [`Activity`].
pub(crate) struct Watched<Io> {
    io: Io,
    activity: Arc<Activity>,
}

impl<Io> Watched<Io> {
    pub(crate) fn new(io: Io, activity: Arc<Activity>) -> Self {
        Self { io, activity }
    }
}

impl<Io: AsyncRead + Unpin> AsyncRead for Watched<Io> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.read_some();
        }
        polled
    }
}

impl<Io: AsyncWrite + Unpin> AsyncWrite for Watched<Io> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(written)) if written > 0) {
            self.activity.wrote_some();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(written)) if written > 0) {
            self.activity.wrote_some();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::pin;
    use std::task::Poll;

    use super::*;

    const TIMEOUTS: Timeouts = Timeouts { header: Duration::from_secs(10), idle: Duration::from_secs(60) };

    /// Whether `expired` has resolved after `secs` more seconds of paused time.
    async fn expired_within(expired: &mut Pin<&mut impl Future<Output = ()>>, secs: u64) -> bool {
        tokio::time::advance(Duration::from_secs(secs)).await;
        futures::poll!(expired.as_mut()) == Poll::Ready(())
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_connection_expires_at_the_header_timeout() {
        let activity = Activity::new();
        let mut expired = pin!(activity.expired(TIMEOUTS));
        assert!(!expired_within(&mut expired, 9).await);
        assert!(expired_within(&mut expired, 2).await);
    }

    #[tokio::test(start_paused = true)]
    async fn a_begun_head_must_finish_within_the_header_timeout_of_its_first_byte() {
        let activity = Arc::new(Activity::new());
        activity.request_started();
        activity.request_finished();
        let mut expired = pin!(activity.expired(TIMEOUTS));
        assert!(!expired_within(&mut expired, 30).await, "idle, not a head");
        activity.read_some();
        assert!(!expired_within(&mut expired, 9).await);
        activity.read_some();
        assert!(expired_within(&mut expired, 2).await, "more bytes do not extend a head's time");
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_in_flight_never_expires_and_idleness_counts_from_its_end() {
        let activity = Arc::new(Activity::new());
        let mut expired = pin!(activity.expired(TIMEOUTS));
        activity.read_some();
        activity.request_started();
        assert!(!expired_within(&mut expired, 600).await, "a held long poll is not idle");
        activity.request_finished();
        assert!(!expired_within(&mut expired, 59).await, "keep-alive gets the idle timeout");
        activity.wrote_some();
        assert!(!expired_within(&mut expired, 59).await, "writing a slow answer is not idle");
        assert!(expired_within(&mut expired, 2).await);
    }
}
