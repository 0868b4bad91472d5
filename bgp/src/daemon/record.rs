//! `calico-bgpd --record FILE`: every [`Input`] the owner task acts on,
//! written as one JSON line, in the order it was acted on.
//!
//! ```text
//!   select! { reports, inputs } --> Input --> Recorder::write (one line) --> match input
//! ```
//!
//! A recording is for replaying a run in a test or under a debugger. Each
//! line is flushed as written, so what the daemon did before a crash is on
//! disk. A failed write stops the recording (logged once) and never the
//! daemon: routing matters more than its record.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use tracing::error;

use super::{Input, Owner};

/// Writes inputs to a file, one JSON object per line.
pub struct Recorder {
    out: Option<BufWriter<Box<dyn Write + Send>>>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder").field("recording", &self.out.is_some()).finish()
    }
}

impl Recorder {
    /// Creates (or truncates) `path`.
    pub fn create(path: &Path) -> io::Result<Self> {
        Ok(Recorder::to_writer(Box::new(File::create(path)?)))
    }

    /// Records to any writer (tests).
    pub fn to_writer(w: Box<dyn Write + Send>) -> Self {
        Recorder { out: Some(BufWriter::new(w)) }
    }

    /// Appends `input` as one line; after a failure, does nothing.
    pub fn write(&mut self, input: &Input) {
        let Some(out) = &mut self.out else { return };
        let r = serde_json::to_writer(&mut *out, input)
            .map_err(io::Error::from)
            .and_then(|()| out.write_all(b"\n"))
            .and_then(|()| out.flush());
        if let Err(e) = r {
            error!("recording inputs: {e}; recording stopped");
            self.out = None;
        }
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
        let mut r = Recorder::to_writer(Box::new(buf.clone()));
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
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let back: Vec<Input> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(back, inputs);
    }

    #[test]
    fn failed_write_stops_the_recording_without_panicking() {
        let mut r = Recorder::to_writer(Box::new(Full));
        r.write(&Input::Reload);
        assert!(r.out.is_none());
        r.write(&Input::Shutdown);
    }
}
