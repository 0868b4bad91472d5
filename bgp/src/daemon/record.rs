//! `calico-bgpd --record FILE`: every [`Input`] the owner task acts on,
//! written as one JSON line, in the order it was acted on.
//!
//! ```text
//!   select! { reports, inputs } --> Input --> Recorder::write (one line) --> match input
//! ```
//!
//! A recording is for replaying a run in a test or under a debugger. The
//! owner only serialises each input; a thread of the recorder's own writes
//! and flushes the lines, so a slow or stalled disk never holds up the
//! owner (and with it routing). Each line is flushed as written, so what
//! the daemon did before a crash is on disk, but for what was still
//! queued. A failed write, or a disk so slow that [`QUEUE`] lines wait,
//! stops the recording (logged once) and never the daemon: routing matters
//! more than its record.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::Duration;

use tracing::error;

use super::{Input, Owner};

/// Lines that may wait for the writer thread.
pub const QUEUE: usize = 4096;

/// How long the end of a run waits for the queued lines to be written.
const END_WAIT: Duration = Duration::from_secs(5);

/// Writes inputs to a file, one JSON object per line.
pub struct Recorder {
    /// The lines to the writer thread; `None` once the recording stopped.
    lines: Option<SyncSender<Vec<u8>>>,
    /// Disconnected when the writer thread ends.
    done: Receiver<()>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder").field("recording", &self.lines.is_some()).finish()
    }
}

impl Recorder {
    /// Creates (or truncates) `path`.
    pub fn create(path: &Path) -> io::Result<Self> {
        Recorder::to_writer(Box::new(File::create(path)?))
    }

    /// Records to any writer (tests), from a thread of its own.
    pub fn to_writer(w: Box<dyn Write + Send>) -> io::Result<Self> {
        let (tx, rx) = sync_channel::<Vec<u8>>(QUEUE);
        let (ended, done) = sync_channel::<()>(0);
        std::thread::Builder::new().name("recorder".into()).spawn(move || {
            let _ended = ended;
            let mut out = BufWriter::new(w);
            for line in rx {
                if let Err(e) = out.write_all(&line).and_then(|()| out.flush()) {
                    error!("recording inputs: {e}; recording stopped");
                    return;
                }
            }
        })?;
        Ok(Recorder { lines: Some(tx), done })
    }

    /// Queues `input` as one line; after a failure, does nothing.
    pub fn write(&mut self, input: &Input) {
        let Some(lines) = &self.lines else { return };
        let mut line = match serde_json::to_vec(input) {
            Ok(l) => l,
            Err(e) => {
                error!("recording inputs: {e}; recording stopped");
                self.lines = None;
                return;
            }
        };
        line.push(b'\n');
        match lines.try_send(line) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                error!(
                    "recording inputs: {QUEUE} lines wait for the disk; recording stopped \
                     rather than slow the daemon down"
                );
                self.lines = None;
            }
            // The writer failed and said why.
            Err(TrySendError::Disconnected(_)) => self.lines = None,
        }
    }
}

impl Drop for Recorder {
    /// Waits for the queued lines to be written, so a recording ends
    /// whole, for `END_WAIT` at most: a hung disk does not keep the
    /// daemon from stopping.
    fn drop(&mut self) {
        self.lines = None;
        let _ = self.done.recv_timeout(END_WAIT);
    }
}

impl Owner {
    /// Records every input from now on (`--record`).
    pub fn record(&mut self, recorder: Recorder) {
        self.recorder = Some(recorder);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A writer the test can read back.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Fails every write, like a full disk.
    struct Full;

    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::other("no space left on device"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Err(io::Error::other("no space left on device"))
        }
    }

    #[test]
    fn each_input_is_one_json_line_that_reads_back() {
        let buf = Shared::default();
        let mut r = Recorder::to_writer(Box::new(buf.clone())).unwrap();
        let inputs = [
            Input::Reload,
            Input::Refused { remote: "10.0.0.9".parse().unwrap() },
            Input::NextHop {
                addr: "fd00::3".parse().unwrap(),
                cost: Some(10),
                iface: Some("eth0".into()),
            },
            Input::Shutdown,
        ];
        for i in &inputs {
            r.write(i);
        }
        drop(r);
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let back: Vec<Input> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(back, inputs);
    }

    #[test]
    fn failed_write_stops_the_recording_without_panicking() {
        let mut r = Recorder::to_writer(Box::new(Full)).unwrap();
        r.write(&Input::Reload);
        // The writer thread ends at its first failure; the next writes see it.
        let _ = r.done.recv();
        r.write(&Input::Shutdown);
        assert!(r.lines.is_none());
    }

    /// Blocks every write until `release` is dropped, like a hung disk.
    struct Stalled(Mutex<std::sync::mpsc::Receiver<()>>);

    impl Write for Stalled {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let _ = self.0.lock().unwrap().recv();
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_stalled_disk_stops_the_recording_instead_of_blocking_the_owner() {
        let (release, stalled) = std::sync::mpsc::channel::<()>();
        let mut r = Recorder::to_writer(Box::new(Stalled(Mutex::new(stalled)))).unwrap();
        // Every call returns although nothing reaches the disk.
        for _ in 0..QUEUE + 10 {
            r.write(&Input::Reload);
        }
        assert!(r.lines.is_none(), "the recording stopped once the queue was full");
        drop(release);
        drop(r);
    }
}
