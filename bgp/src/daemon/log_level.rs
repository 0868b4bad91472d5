//! `log_level` applied on reload.
//!
//! The tracing subscriber belongs to the binary (`main.rs` installs it with
//! a reload handle); the daemon only calls the hook the binary registered,
//! so library users and tests that install no subscriber are unaffected.

use std::sync::OnceLock;

use tracing::{info, warn};

use crate::config::LogLevel;

/// Changes the process's log level; `Err` says why it could not.
pub type LogLevelHook = Box<dyn Fn(LogLevel) -> Result<(), String> + Send + Sync>;

static HOOK: OnceLock<LogLevelHook> = OnceLock::new();

/// Registers how a reload changes the log level (once per process);
/// `false` if a hook was already registered.
pub fn set_log_level_hook(hook: LogLevelHook) -> bool {
    HOOK.set(hook).is_ok()
}

/// Applies `level` through the registered hook; a no-op without one.
pub fn apply(level: LogLevel) {
    let Some(hook) = HOOK.get() else { return };
    match hook(level) {
        // Logged after the change, so it shows at any level but error.
        Ok(()) => info!("reload: log level is now {}", level.as_str()),
        Err(e) => warn!("reload: log level {} not applied: {e}", level.as_str()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[test]
    fn reload_calls_the_registered_hook_with_the_new_level() {
        static SEEN: Mutex<Vec<LogLevel>> = Mutex::new(Vec::new());
        apply(LogLevel::Warn); // nothing registered yet: ignored
        assert!(set_log_level_hook(Box::new(|l| {
            SEEN.lock().map_err(|e| e.to_string())?.push(l);
            Ok(())
        })));
        assert!(!set_log_level_hook(Box::new(|_| Ok(()))), "only one hook per process");
        apply(LogLevel::Debug);
        assert_eq!(*SEEN.lock().unwrap(), [LogLevel::Debug]);
    }
}
